"""What a fitted `TransitionModel` holds (`TransitionFit`), and its netCDF file.

The file is an ArviZ InferenceData: the fit's groups, the counts fitted as
``observed_data/transition_counts``, and in the posterior's attrs the state space, the covariates
and the config as JSON with a hash (`riskmodel.models._common.config_attrs`), so that `read_fit`
refuses an edited file or one whose config differs from what the caller expects (file handling:
`riskmodel.models.model_files`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import xarray as xr

from riskmodel.models import _common as C
from riskmodel.models.model_files import open_idata, write_idata
from riskmodel.states import StateSpace

__all__ = ["KIND", "TransitionFit", "read_fit", "write_fit"]

KIND = "TransitionModel"


@dataclass
class TransitionFit:
    """What `TransitionModel.fit` (or `load`) leaves on the model.

    Attributes
    ----------
    config : dict
        The validated config, with the fitted ``segments`` (and ``macro_mean`` for covariate
        models); saved as JSON in the file's attrs.
    groups : dict of str to Dataset
        InferenceData groups: ``posterior`` (and ``sample_stats`` or ``constant_data``).
    free : list of str
        The sampled parameters users read (``["transition"]`` for conjugate fits).
    diagnostics : dict or None
        R-hat, ESS and divergences of an MCMC fit (None for conjugate fits).
    counts : DataArray or None
        The transition counts fitted (None for a file saved without them).
    """

    config: dict[str, Any]
    groups: dict[str, xr.Dataset]
    free: list[str]
    diagnostics: dict[str, Any] | None
    counts: xr.DataArray | None


def write_fit(path: str | PathLike[str], states: StateSpace, fit: TransitionFit) -> None:
    """Write `fit` to a netCDF file (``arviz.InferenceData``), replacing only our own file."""
    groups = {k: v.copy() for k, v in fit.groups.items()}
    groups["observed_data"] = xr.Dataset({"transition_counts": fit.counts})
    groups["observed_data"]["transition_counts"].attrs = {}
    cfg = dict(fit.config, free=fit.free, diagnostics=fit.diagnostics)
    groups["posterior"].attrs.update(
        {
            **states.to_attrs(),
            "covariates": ",".join(cfg["covariates"]),
            **C.config_attrs(KIND, cfg),
        }
    )
    write_idata(path, groups, kind=KIND)


def read_fit(
    path: str | PathLike[str],
    *,
    states: StateSpace | None,
    pooling: str | None,
    covariates: Sequence[str] | None,
    structural_zeros: Sequence[tuple[str, str]] | None,
    max_bytes: int | None,
) -> tuple[StateSpace, TransitionFit]:
    """Read a file written by `write_fit`: its state space and the fit.

    Arguments other than `path` and `max_bytes` that are not None are checked against the
    stored config (see `TransitionModel.load`).

    Raises
    ------
    ModelFileError
        If the file is not a saved TransitionModel, its config was edited or does not match the
        posterior inside, or it differs from the expected `states`/`pooling`/….
    ResourceLimitError
        If the file's arrays would take more memory than `max_bytes`.
    """
    idata = open_idata(path, max_bytes=max_bytes)
    if "posterior" not in idata.groups():
        raise C.ModelFileError(f"{path} has no posterior group; it is not a saved model.")
    post = idata.posterior
    cfg = C.read_config(post.attrs, KIND, path)
    stored_states = StateSpace.from_attrs(cfg["states"])
    C.refuse_mismatch(path, "states", stored_states, states)
    C.refuse_mismatch(path, "pooling", cfg["pooling"], pooling)
    C.refuse_mismatch(
        path, "covariates", cfg["covariates"], None if covariates is None else list(covariates)
    )
    if structural_zeros is not None:
        want = sorted([str(f), str(t)] for f, t in structural_zeros)
        C.refuse_mismatch(path, "structural_zeros", cfg["structural_zeros"], want)
    tr = post.get("transition")
    if (
        tr is None
        or [str(s) for s in tr.from_state.values] != list(stored_states.names)
        or [str(s) for s in tr.segment.values] != cfg["segments"]
    ):
        raise C.ModelFileError(
            f"{path}: the posterior's states or segments do not match the stored config "
            f"(states {list(stored_states.names)}, segments {cfg['segments']}); the file "
            "was altered. Refit and save the model."
        )
    groups = {g: idata[g].load() for g in idata.groups() if g != "observed_data"}
    counts = None
    if "observed_data" in idata.groups():
        counts = idata.observed_data["transition_counts"].load()
    free, diag = cfg.pop("free"), cfg.pop("diagnostics")
    fit = TransitionFit(config=cfg, groups=groups, free=free, diagnostics=diag, counts=counts)
    return stored_states, fit
