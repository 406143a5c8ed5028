"""`riskmodel fit` with ``model: sector``: the sector-factor default model beside the transitions.

The transition model is fitted as for ``model: transition``; `SectorDefaultModel` is then fitted
to the panel's default history by segment (`riskmodel.fitting.default_history`: customers in
transient states per period and segment, and how many defaulted), with the config's
``segment_factors``, ``prior`` and ``parameterization``, and the same draws, chains, tuning
steps and seed.

What the posterior file gains (a scenario reads its transition draws as usual):

- variables ``sector_correlation`` (``sector_draw, segment``) and ``sector_factor_correlation``
  (``sector_draw, factor_i, factor_j``): the posterior draws of each segment's asset correlation
  and of the factor correlation matrix (``sector_draw`` runs over chains × draws);
- attribute ``sector_systematic``: JSON of the scenario's ``systematic:`` block from the
  posterior means (`SectorDefaultModel.to_systematic`), ready to paste under ``systematic:``.

``OUT.summary.csv`` gains rows with ``quantity`` ``asset_correlation`` (per segment, with its
``factor``) and ``factor_correlation`` (per pair, ``factor`` = ``a~b``), and
``OUT.diagnostics.json`` the ``sector_model`` convergence checks.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.config.fit import FitConfig
from riskmodel.fit_output import FitOutcome

if TYPE_CHECKING:
    from riskmodel.models.sector import SectorDefaultModel

__all__ = ["fit_sector", "sector_estimates", "sector_variables"]


def fit_sector(history: pd.DataFrame, config: FitConfig, outcome: FitOutcome) -> FitOutcome:
    """Fit `SectorDefaultModel` to the panel's default history; add it to the transitions' fit.

    `history` is ``riskmodel.fitting.default_history(panel, states)`` (``period, segment,
    customers, defaults``); `outcome` the transition model's fit.

    Raises
    ------
    DefaultDataError
        If ``segment_factors`` misses a segment of the panel or names one it does not have.
    """
    from riskmodel.models.sector import SectorDefaultModel

    segment_factors = config.segment_factors or {}
    model = SectorDefaultModel(
        segment_factors, prior=config.prior, parameterization=config.parameterization
    )
    model.fit(history, draws=config.draws, chains=config.chains, tune=config.tune, seed=config.seed)
    segments = [s for s in outcome.draws.segments if s in segment_factors]
    return replace(
        outcome,
        model="sector",
        diagnostics={**outcome.diagnostics, "sector_model": model.diagnostics},
        models={**outcome.models, "sector_model": model},
        estimates=sector_estimates(model),
        variables={**outcome.variables, **sector_variables(model, segments)},
        attrs={**outcome.attrs, "sector_systematic": json.dumps(model.to_systematic())},
    )


def sector_variables(model: SectorDefaultModel, segments: list[str]) -> dict[str, xr.DataArray]:
    """Return the draws of ρ_s and R for the posterior file, segments in `segments` order."""
    rho = model.correlation_draws().sel(segment=segments).rename(draw="sector_draw")
    corr = model.factor_correlation_draws().rename(draw="sector_draw")
    return {"sector_correlation": rho, "sector_factor_correlation": corr}


def sector_estimates(model: SectorDefaultModel) -> pd.DataFrame:
    """Return posterior mean and 94% interval of each ρ_s and each factor correlation.

    Columns ``quantity`` (``asset_correlation`` or ``factor_correlation``), ``segment``,
    ``factor`` (the segment's factor, or the pair ``a~b``), ``mean``, ``q03``, ``q97``.
    """
    rows: list[dict[str, Any]] = []
    rho = model.correlation_draws()
    factor_of = dict(model.segment_factors)
    for s in model.segments:
        rows.append(_row("asset_correlation", s, factor_of[s], rho.sel(segment=s).values))
    corr = model.factor_correlation_draws()
    names = list(model.factors)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            values = corr.sel(factor_i=a, factor_j=b).values
            rows.append(_row("factor_correlation", None, f"{a}~{b}", values))
    return pd.DataFrame(rows, columns=["quantity", "segment", "factor", "mean", "q03", "q97"])


def _row(quantity: str, segment: str | None, factor: str, x: np.ndarray) -> dict[str, Any]:
    lo, hi = np.quantile(x, [0.03, 0.97])
    return {
        "quantity": quantity,
        "segment": segment,
        "factor": factor,
        "mean": float(np.mean(x)),
        "q03": float(lo),
        "q97": float(hi),
    }
