"""netCDF files of `IntensityModel`: ArviZ InferenceData with an ``mle`` or ``posterior`` group.

The config (JSON plus a hash, `riskmodel.models._common.config_attrs`) sits in the attrs of the
main group: ``mle`` for maximum likelihood (``log_intensity`` and ``covariance`` per segment),
``posterior`` for NUTS (``log_intensity`` with dims ``chain, draw, segment, transition``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from os import PathLike
from typing import Any

import xarray as xr

from riskmodel._files import replace_own_file
from riskmodel.models import _common as C
from riskmodel.models.netcdf_size import check_netcdf_size, netcdf_engine

__all__ = ["IntensityFit", "read_groups", "write_groups"]


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


def write_groups(path: str | PathLike, groups: dict[str, xr.Dataset], attrs: dict) -> None:
    """Write `groups`, with `attrs` on the main group (``mle`` or ``posterior``)."""
    import arviz as az

    groups = {k: v.copy() for k, v in groups.items()}
    main = "mle" if "mle" in groups else "posterior"
    groups[main].attrs.update(attrs)
    with warnings.catch_warnings():  # ArviZ warns that "mle" is not one of its group names
        warnings.filterwarnings("ignore", message=".*group.*", category=UserWarning)
        replace_own_file(
            path,
            lambda tmp: az.InferenceData(**groups).to_netcdf(  # type: ignore[arg-type]
                str(tmp), engine=netcdf_engine()
            ),  # (ArviZ annotates InferenceData's **kwargs as bool)
            kind="IntensityModel",
        )


def read_groups(
    path: str | PathLike, *, max_bytes: int | None = None
) -> tuple[dict[str, xr.Dataset], str]:
    """All groups of a saved model (loaded into memory) and the name of the main group.

    Raises
    ------
    ModelFileError
        If the file has neither an ``mle`` nor a ``posterior`` group.
    ResourceLimitError
        If its arrays would take more memory than `max_bytes` (see `check_netcdf_size`).
    """
    import arviz as az

    try:
        check_netcdf_size(path, max_bytes=max_bytes)
    except OSError:
        pass  # not netCDF: ArviZ says so below
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*group.*", category=UserWarning)
        idata = az.from_netcdf(str(path), engine=netcdf_engine())
    main = "mle" if "mle" in idata.groups() else "posterior"
    if main not in idata.groups():
        raise C.ModelFileError(f"{path} has no estimates; it is not a saved IntensityModel.")
    return {g: idata[g].load() for g in idata.groups()}, main
