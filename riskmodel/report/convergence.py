"""Convergence of a fitted posterior, as the fit report shows it.

One row per parameter group with the worst R-hat and ESS and a status (`convergence_table`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

_MODEL_LABELS = {
    "transition_model": "transitions",
    "default_model": "correlation",
    "intensity_model": "intensities",
}
"""Names of the fitted models in the tables of the fit report."""


def _arviz_summary(model: Any) -> pd.DataFrame | None:
    """``model.summary()`` (ArviZ: r_hat, ess_bulk, ess_tail per parameter), or None."""
    if model is None or not callable(getattr(model, "summary", None)):
        return None
    with warnings.catch_warnings():  # constant parameters (structural zeros) give NaN ESS
        warnings.simplefilter("ignore", RuntimeWarning)
        try:  # unrounded (ArviZ rounds to 2 decimals by default: 1.014 would pass as 1.01)
            table = model.summary(kind="diagnostics", round_to="none")
        except (ValueError, TypeError):  # a model without sampled parameters or these options
            return None
    need = {"r_hat", "ess_bulk", "ess_tail"}
    return table if isinstance(table, pd.DataFrame) and need <= set(table.columns) else None


def _status(diag: Mapping[str, Any], max_rhat: float, ess_bulk: float, ess_tail: float) -> str:
    from riskmodel.models._common import ESS_PER_CHAIN, RHAT_MAX

    if "max_rhat" not in diag:  # no MCMC: exact (conjugate) or a point fit (e.g. MLE)
        method = str(diag.get("method", "")).lower()
        return "exact" if "exact" in method or "conjugate" in method else "no MCMC"
    need = ESS_PER_CHAIN * int(diag.get("chains", 1))
    bad = (
        int(diag.get("divergences", 0)) > 0
        or (math.isfinite(max_rhat) and max_rhat > RHAT_MAX)
        or (math.isfinite(ess_bulk) and ess_bulk < need)
        or (math.isfinite(ess_tail) and ess_tail < need)
    )
    return "check" if bad else "ok"


def _nan_extreme(values: pd.Series, fn) -> float:
    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return float(fn(v)) if v.size else float("nan")


def convergence_table(
    diagnostics: Mapping[str, Mapping[str, Any]], models: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """R-hat, bulk and tail ESS per model and parameter group, with divergences.

    Parameters
    ----------
    diagnostics : mapping
        ``FitOutcome.diagnostics``: per model, `convergence_diagnostics` output or
        ``{"method": ...}`` for an exact fit.
    models : mapping, optional
        The fitted models by the same keys; their ArviZ ``summary()`` gives the per-parameter
        R-hat and ESS. Without one, a model gets one row from its `diagnostics`.

    Returns
    -------
    DataFrame
        ``model, method, group, parameters, max_rhat, min_ess_bulk, min_ess_tail,
        divergences, status`` (``status``: ``exact``, ``no MCMC``, ``ok`` or ``check``; the
        thresholds are those of `riskmodel.models._common.warn_on_diagnostics`, applied to tail
        ESS too).
    """
    models = models or {}
    rows: list[tuple[str, str, str, int | None, float, float, float, int | None, str]] = []
    for name, diag in diagnostics.items():
        label = _MODEL_LABELS.get(name, name)
        mcmc = "max_rhat" in diag
        method = (
            f"NUTS, {diag.get('chains')} chains × {diag.get('draws')} draws"
            if mcmc
            else str(diag.get("method", "exact"))
        )
        div = int(diag.get("divergences", 0)) if mcmc else None
        summ = _arviz_summary(models.get(name))
        if summ is None:
            r, b = float(diag.get("max_rhat", np.nan)), float(diag.get("min_ess_bulk", np.nan))
            group = str(diag.get("max_rhat_var") or "all") if mcmc else "all"
            rows.append(
                (label, method, group, None, r, b, np.nan, div, _status(diag, r, b, np.nan))
            )
            continue
        groups = summ.index.to_series().str.split("[", n=1).str[0]
        for group, sub in summ.groupby(groups.to_numpy(), sort=False):
            r = _nan_extreme(sub["r_hat"], np.max)
            b, t = _nan_extreme(sub["ess_bulk"], np.min), _nan_extreme(sub["ess_tail"], np.min)
            rows.append((label, method, str(group), len(sub), r, b, t, div, _status(diag, r, b, t)))
    cols = ["model", "method", "group", "parameters", "max_rhat", "min_ess_bulk",
            "min_ess_tail", "divergences", "status"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
