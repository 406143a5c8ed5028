"""netCDF files of `IntensityModel`: ArviZ InferenceData with an ``mle`` or ``posterior`` group.

The config (JSON plus a hash, `riskmodel.models._common.config_attrs`) sits in the attrs of the
main group: ``mle`` for maximum likelihood (``log_intensity`` and ``covariance`` per segment),
``posterior`` for NUTS (``log_intensity`` with dims ``chain, draw, segment, transition``).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Any

import xarray as xr

from riskmodel.models import _common as C
from riskmodel.models.model_files import open_idata, write_idata
from riskmodel.states import StateSpace

__all__ = ["KIND", "IntensityFit", "read_fit", "read_groups", "write_fit", "write_groups"]

KIND = "IntensityModel"


@dataclass
class IntensityFit:
    """What `IntensityModel.fit` (or `load`) leaves on the model.

    Attributes
    ----------
    config : dict
        The validated config with what the fit added (``method``, ``segments``, ``time_unit``,
        covariate centre and scale); saved as JSON in the main group's attrs.
    groups : dict of str to Dataset
        ``mle`` (estimates and covariances) or ``posterior`` (and ``sample_stats``).
    diagnostics : dict or None
        R-hat, ESS and divergences of a NUTS fit (None for MLE).
    """

    config: dict[str, Any]
    groups: dict[str, xr.Dataset]
    diagnostics: dict[str, Any] | None


def write_groups(
    path: str | PathLike[str], groups: dict[str, xr.Dataset], attrs: dict[str, Any]
) -> None:
    """Write `groups`, with `attrs` on the main group (``mle`` or ``posterior``)."""
    groups = {k: v.copy() for k, v in groups.items()}
    main = "mle" if "mle" in groups else "posterior"
    groups[main].attrs.update(attrs)
    write_idata(path, groups, kind=KIND)


def read_groups(
    path: str | PathLike[str], *, max_bytes: int | None = None
) -> tuple[dict[str, xr.Dataset], str]:
    """All groups of a saved model (loaded into memory) and the name of the main group.

    Raises
    ------
    ModelFileError
        If the file has neither an ``mle`` nor a ``posterior`` group.
    ResourceLimitError
        If its arrays would take more memory than `max_bytes` (see `check_netcdf_size`).
    """
    idata = open_idata(path, max_bytes=max_bytes)
    main = "mle" if "mle" in idata.groups() else "posterior"
    if main not in idata.groups():
        raise C.ModelFileError(f"{path} has no estimates; it is not a saved IntensityModel.")
    return {g: idata[g].load() for g in idata.groups()}, main


def write_fit(path: str | PathLike[str], states: StateSpace, fit: IntensityFit) -> None:
    """Write a fitted model: its groups, with the state space and the config in the attrs."""
    cfg = dict(fit.config, diagnostics=fit.diagnostics)
    write_groups(path, fit.groups, {**states.to_attrs(), **C.config_attrs(KIND, cfg)})


def read_fit(
    path: str | PathLike[str], *, states: StateSpace | None, max_bytes: int | None
) -> tuple[StateSpace, IntensityFit]:
    """Read a file written by `write_fit`: its state space and the fit.

    Raises
    ------
    ModelFileError
        If the file is not a saved IntensityModel, its config was edited, or it was fitted on
        other `states` (when given).
    ResourceLimitError
        If its arrays would take more memory than `max_bytes`.
    """
    groups, main = read_groups(path, max_bytes=max_bytes)
    cfg = C.read_config(groups[main].attrs, KIND, path)
    stored = StateSpace.from_attrs(cfg["states"])
    C.refuse_mismatch(path, "states", stored, states)
    diag = cfg.pop("diagnostics")
    return stored, IntensityFit(config=cfg, groups=groups, diagnostics=diag)
