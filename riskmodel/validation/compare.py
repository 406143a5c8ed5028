"""Out-of-time model comparison: log predictive density of a held-out panel (`compare_models`).

Each candidate (a posterior, a fitted TransitionModel or IntensityModel, a posterior file) is
scored on the same out-of-time panel, cell by cell: a *cell* is one (period, segment, origin
state) with its destination counts ``y`` out of ``n``. Its log predictive density is

    lpd(cell) = log( mean_d Multinomial(y | n, P_d[t, s, i]) ),

the posterior predictive mixed over the draws ``d`` (per period for covariate models). The sum
over cells is the expected log predictive density of the held-out data (a time split, the
out-of-sample counterpart of PSIS-LOO), and, as for LOO (Vehtari, Gelman & Gabry 2017), the
standard error of a difference between two models is ``sqrt(n_cells · var(lpd_a − lpd_b))``
over the cells, paired on the same data. The systematic factor is not mixed in: a correlation
changes how cells of one period move together, not the marginal probabilities of each.
A probability of exactly 0 for an observed move is floored at 1e-300 (log ≈ −691 per move).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from riskmodel.errors import ArgumentError
from riskmodel.validation.backtest import _as_counts, _as_draws, _macro_values
from riskmodel.validation.predictive import period_rows

__all__ = ["ModelComparison", "compare_models"]

_FLOOR = 1e-300


@dataclass(frozen=True)
class ModelComparison:
    """Outcome of `compare_models`.

    Attributes
    ----------
    table : DataFrame
        One row per model, best first: ``model``, ``elpd`` (sum of cell lpd), ``se``,
        ``elpd_diff`` and ``se_diff`` (against the best, paired over cells), ``rank``.
    pointwise : DataFrame
        ``period, segment, from_state, n`` and one lpd column per model.
    """

    table: pd.DataFrame
    pointwise: pd.DataFrame = field(repr=False)

    def to_dataframe(self) -> pd.DataFrame:
        """The ranking table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict:
        """``{"models": [...]}``, one record per row of `table`."""
        recs = self.table.to_dict(orient="records")
        return {"models": [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                           for r in recs]}  # fmt: skip

    def summary(self) -> str:
        """One sentence on which model the panel prefers, and by how much."""
        t = self.table
        if len(t) < 2:
            return f"only one model: {t['model'].iloc[0]} (elpd {t['elpd'].iloc[0]:.1f})."
        best, second = t.iloc[0], t.iloc[1]
        ratio = -second["elpd_diff"] / second["se_diff"] if second["se_diff"] > 0 else np.inf
        return (
            f"{best['model']} predicts the panel best: elpd {best['elpd']:.1f}, "
            f"{-second['elpd_diff']:.1f} ± {second['se_diff']:.1f} above {second['model']} "
            f"({ratio:.1f} standard errors)."
        )


def _cell_lpd(c: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """lpd per (period, segment, origin): c (T, S, I, n), rows (D, T', S, I, n) -> (T, S, I)."""
    y = c.astype(float)
    logp = np.log(np.maximum(rows, _FLOOR))
    ll = (y[None] * logp).sum(-1)  # (D, T, S, I) by broadcasting T'
    ll = ll + special.gammaln(y.sum(-1) + 1)[None] - special.gammaln(y + 1).sum(-1)[None]
    return special.logsumexp(ll, axis=0) - np.log(rows.shape[0])


def compare_models(
    models: Mapping[str, Any] | Sequence[Any],
    panel: Any,
    *,
    macro: Any = None,
    period_length: float = 1.0,
    segment_col: str = "segment",
) -> ModelComparison:
    """Rank models by the log predictive density of an out-of-time panel.

    Parameters
    ----------
    models : mapping name -> model, or sequence of models
        Each as `riskmodel.backtest` accepts it (ParameterDraws, fitted TransitionModel or
        IntensityModel, posterior path). A sequence is named ``model_0, model_1, …``. All must
        share the state space and hold every segment of the panel.
    panel : DataFrame, path or counts
        As for `riskmodel.backtest`.
    macro, period_length, segment_col
        As for `riskmodel.backtest` (macro: for covariate models).

    Returns
    -------
    ModelComparison

    Raises
    ------
    ArgumentError
        If fewer than one model is given or the state spaces differ.
    PanelError
        If the panel cannot be scored by every model.
    """
    named = dict(models) if isinstance(models, Mapping) else {
        f"model_{k}": m for k, m in enumerate(models)
    }  # fmt: skip
    if not named:
        raise ArgumentError("compare_models needs at least one model; got none.")
    draws = {name: _as_draws(m, period_length) for name, m in named.items()}
    first = next(iter(draws.values()))
    for name, d in draws.items():
        if tuple(d.states.names) != tuple(first.states.names):
            raise ArgumentError(
                f"model {name!r} has states {list(d.states.names)}, the first model "
                f"{list(first.states.names)}; compare models on one state space."
            )
    lpd = {}
    for name, d in draws.items():
        counts = _as_counts(panel, d, segment_col)
        segs = [str(s) for s in counts["segment"].values]
        periods = counts["period"].values
        rows = period_rows(d, np.array([d.segments.index(s) for s in segs]),
                           _macro_values(macro, periods, d))  # fmt: skip
        c = np.asarray(counts.values)[:, :, d.states.transient_idx].astype(np.int64)
        lpd[name] = _cell_lpd(c, rows)
    n = c.sum(-1)
    live = n > 0
    t, s, i = np.nonzero(live)
    pointwise = pd.DataFrame({"period": periods[t], "segment": np.asarray(segs)[s],
                              "from_state": np.asarray(first.states.transient)[i],
                              "n": n[live]})  # fmt: skip
    for name, v in lpd.items():
        pointwise[name] = v[live]
    elpd = {name: float(pointwise[name].sum()) for name in lpd}
    order = sorted(elpd, key=elpd.get, reverse=True)
    best = pointwise[order[0]].to_numpy()
    m = len(pointwise)
    rows_out = []
    for rank, name in enumerate(order, start=1):
        v = pointwise[name].to_numpy()
        diff = v - best
        rows_out.append({
            "model": name, "elpd": elpd[name], "se": float(np.sqrt(m * v.var())),
            "elpd_diff": float(diff.sum()), "se_diff": float(np.sqrt(m * diff.var())),
            "rank": rank, "cells": m,
        })  # fmt: skip
    return ModelComparison(pd.DataFrame(rows_out), pointwise)
