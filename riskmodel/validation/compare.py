"""Model comparison by expected log predictive density per cell (`compare_models`).

A *cell* is one (period, segment, origin state) of a panel with its destination counts ``y`` out
of ``n``; ``ll_d(cell) = log Multinomial(y | n, P_d[t, s, i])`` for posterior draw ``d`` (the
matrices of period ``t`` for covariate models). Two methods score the cells:

- ``method="loo"`` (default): PSIS-LOO on the panel the models were **fitted on**. Each cell's
  ``elpd_loo,i`` estimates ``log p(y_cell | y_-cell)``, the density of the cell under the
  posterior fitted without it, by Pareto-smoothed importance sampling of the full-data draws
  (`arviz.loo`, see `riskmodel.validation.compare_loo`); ``p_loo`` is the effective number of
  parameters and the Pareto ``k`` of each cell says whether the estimate can be trusted.
- ``method="time"``: a held-out (out-of-time) panel the models never saw;
  ``lpd(cell) = log mean_d exp(ll_d(cell))``, the posterior predictive density, mixed over the
  draws.

Either way the sum over cells is the model's ``elpd``, with ``se = sqrt(cells · var(elpd_i))``;
the difference to the best model, ``elpd_diff = Σ_i (elpd_best,i − elpd_i)``, has the paired
standard error ``se_diff = sqrt(cells · var(elpd_best,i − elpd_i))`` over the same cells (as
`arviz.compare`; Vehtari, Gelman & Gabry 2017). The systematic factor is not mixed in: a
correlation changes how cells of one period move together, not the marginal probabilities of
each cell. A probability of exactly 0 for an observed move is floored at 1e-300.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from riskmodel.errors import ArgumentError, PanelError, ParetoKWarning
from riskmodel.models.draws import ParameterDraws, load_parameter_draws, netcdf_engine
from riskmodel.validation.compare_loo import cell_log_likelihood, psis_loo
from riskmodel.validation.compare_result import PARETO_K_BAD, ModelComparison
from riskmodel.validation.inputs import as_counts, as_draws, macro_values
from riskmodel.validation.predictive import period_rows

__all__ = ["METHODS", "ModelComparison", "compare_models"]

METHODS = ("loo", "time")


@dataclass(frozen=True)
class _Candidate:
    """One model to compare: its draws and what is known of how they were made."""

    name: str
    draws: ParameterDraws
    chains: int = 1
    kind: str = "ParameterDraws"
    pooling: str | None = None
    covariates: tuple[str, ...] = ()
    fit_counts: xr.DataArray | None = None
    mle: bool = False


def _file_kind(path) -> tuple[str, dict]:
    """``riskmodel_kind`` and attrs of a file's posterior group (header only), or ("", {})."""
    try:
        with xr.open_dataset(path, group="posterior", engine=netcdf_engine()) as ds:
            return str(ds.attrs.get("riskmodel_kind", "")), dict(ds.attrs)
    except Exception:  # not netCDF or no posterior group: load_parameter_draws says which
        return "", {}


def _from_object(name: str, model: Any, period_length: float) -> _Candidate:
    draws = as_draws(model, period_length)
    if isinstance(model, ParameterDraws):
        return _Candidate(name, draws, covariates=draws.covariates)
    kind = type(model).__name__
    pooling = getattr(model, "pooling", None)
    covs = tuple(getattr(model, "covariates", None) or ())
    if hasattr(model, "generator"):  # IntensityModel
        mle = getattr(model, "method", "") == "mle"
        chains = 1 if mle else int(model.log_intensity_draws().sizes["chain"])
        return _Candidate(name, draws, chains, kind, pooling, covs, mle=mle)
    chains = int(model.posterior.sizes.get("chain", 1))
    counts = getattr(model, "counts", None)
    return _Candidate(name, draws, chains, kind, pooling, covs, counts)


def _from_path(name: str, path, period_length: float) -> _Candidate:
    kind, attrs = _file_kind(path)
    if kind in ("TransitionModel", "IntensityModel"):
        from riskmodel.models import IntensityModel, TransitionModel

        cls = TransitionModel if kind == "TransitionModel" else IntensityModel
        return _from_object(name, cls.load(path), period_length)
    draws = load_parameter_draws(path)
    chains = int(attrs.get("chains", 1))  # files of `riskmodel fit` keep the draws flattened
    pooling = attrs.get("pooling") or None
    if pooling is None and "riskmodel_config" in attrs:
        pooling = json.loads(attrs["riskmodel_config"]).get("pooling")
    return _Candidate(name, draws, chains, "TransitionModel", pooling, draws.covariates)


def _candidates(models, period_length: float) -> list[_Candidate]:
    if isinstance(models, Mapping):
        named = {str(k): m for k, m in models.items()}
    elif isinstance(models, Sequence) and not isinstance(models, str):
        named = {f"model_{k}": m for k, m in enumerate(models)}
    else:
        raise ArgumentError(
            "models must be a mapping name -> model or a list of models; got "
            f"{type(models).__name__}."
        )
    if not named:
        raise ArgumentError("compare_models needs at least one model; got none.")
    out = []
    for name, m in named.items():
        if isinstance(m, (str, PathLike)):
            out.append(_from_path(name, m, period_length))
        else:
            out.append(_from_object(name, m, period_length))
    first = out[0].draws.states
    for c in out[1:]:
        if tuple(c.draws.states.names) != tuple(first.names):
            raise ArgumentError(
                f"model {c.name!r} has states {list(c.draws.states.names)}, the first model "
                f"{list(first.names)}; compare models on one state space."
            )
    return out


def _check_fitting_panel(cand: _Candidate, counts: xr.DataArray) -> None:
    """Check the panel against the fit: PSIS-LOO needs the panel the model was fitted on.

    Compares totals where the model kept its fitted counts (fitted TransitionModel objects and
    their saved files).
    """
    fit = cand.fit_counts
    if fit is None:
        return
    if "period" in fit.dims:
        fit = fit.sum("period")
    ss = cand.draws.states
    panel = counts.sum("period")
    segs = [str(s) for s in panel["segment"].values]
    fit_segs = [str(s) for s in fit["segment"].values]
    trans = list(ss.transient)
    a = panel.sel(from_state=trans).transpose("segment", "from_state", "to_state").values
    same = sorted(segs) == sorted(fit_segs)
    if same:
        b = fit.sel(segment=segs, from_state=trans, to_state=list(ss.names))
        same = np.array_equal(np.asarray(b.transpose("segment", "from_state", "to_state")), a)
    if not same:
        raise PanelError(
            f"model {cand.name!r} was fitted on other data than this panel ({int(fit.sum()):,} "
            f"transitions in segments {fit_segs}; the panel has {int(a.sum()):,} in {segs}). "
            "PSIS-LOO (method='loo') scores the panel a model was fitted on; pass that panel, "
            "or use method='time' (CLI: --method time) for a held-out panel."
        )


def _log_lik(cand: _Candidate, panel, macro, segment_col):
    """Return ll (n_draws, n_cells) of the live cells, the cells' table and the panel's counts."""
    d = cand.draws
    counts = as_counts(panel, d, segment_col)
    segs = [str(s) for s in counts["segment"].values]
    periods = counts["period"].values
    rows = period_rows(d, np.array([d.segments.index(s) for s in segs]),
                       macro_values(macro, periods, d))  # fmt: skip
    c = np.asarray(counts.values)[:, :, d.states.transient_idx].astype(np.int64)
    n = c.sum(-1)
    live = n > 0
    t, s, i = np.nonzero(live)
    cells = pd.DataFrame({"period": periods[t], "segment": np.asarray(segs)[s],
                          "from_state": np.asarray(d.states.transient)[i],
                          "n": n[live]})  # fmt: skip
    return cell_log_likelihood(c, rows)[:, live], cells, counts


def _require_draws_for_loo(cand: _Candidate) -> None:
    if cand.mle or cand.draws.n_draws < 2:
        raise ArgumentError(
            f"model {cand.name!r} has {cand.draws.n_draws} draw(s) (an MLE fit or a point "
            "estimate); PSIS-LOO needs posterior draws. Fit it with NUTS (method='nuts') or "
            "compare on a held-out panel with method='time'."
        )
    if cand.kind == "IntensityModel" and cand.covariates:
        raise ArgumentError(
            f"model {cand.name!r} is an IntensityModel with covariates {list(cand.covariates)}; "
            "its cell probabilities depend on the subjects' covariates, which the panel's "
            "cells do not carry. Compare it with method='time' or without covariates."
        )


def _score(cands, panel, macro, segment_col, method):
    """Per model: (elpd_i per cell, Pareto k per cell or None, p_loo or NaN); and the cells."""
    out, cells = {}, None
    for cand in cands:
        if method == "loo":
            _require_draws_for_loo(cand)
        try:
            ll, these, counts = _log_lik(cand, panel, macro, segment_col)
        except PanelError as exc:
            raise PanelError(f"model {cand.name!r}: {exc}") from None
        if cells is not None and not cells[["period", "segment", "from_state"]].equals(
            these[["period", "segment", "from_state"]]
        ):
            raise PanelError(
                f"model {cand.name!r} sees other cells of the panel than {cands[0].name!r} "
                "(segments in another order?); compare models fitted on the same segments."
            )
        cells = these
        if method == "time":
            elpd_i = special.logsumexp(ll, axis=0) - np.log(ll.shape[0])
            out[cand.name] = (elpd_i, None, np.nan)
            continue
        _check_fitting_panel(cand, counts)
        chains = cand.chains if cand.draws.n_draws % max(cand.chains, 1) == 0 else 1
        loo = psis_loo(ll.reshape(chains, -1, ll.shape[1]), cells)
        out[cand.name] = (
            np.asarray(loo.loo_i.values, dtype=float),
            np.asarray(loo.pareto_k.values, dtype=float),
            float(loo.p_loo),
        )
    return out, cells


def _table(cands, scores, method) -> pd.DataFrame:
    elpd = {name: float(v[0].sum()) for name, v in scores.items()}
    order = sorted(elpd, key=lambda k: -elpd[k])  # stable: ties keep the given order
    best = scores[order[0]][0]
    by_name = {c.name: c for c in cands}
    rows = []
    for rank, name in enumerate(order, start=1):
        v, k, p_loo = scores[name]
        m = v.size
        diff = best - v
        c = by_name[name]
        rows.append({
            "model": name, "rank": rank, "elpd": elpd[name], "se": float(np.sqrt(m * v.var())),
            "p_loo": p_loo, "elpd_diff": float(diff.sum()),
            "se_diff": float(np.sqrt(m * diff.var())), "cells": m,
            "draws": c.draws.n_draws, "chains": c.chains if method == "loo" else None,
            "pareto_k_max": float(k.max()) if k is not None else np.nan,
            "pareto_k_bad": int((k > PARETO_K_BAD).sum()) if k is not None else None,
            "kind": c.kind, "pooling": c.pooling,
            "covariates": ",".join(c.covariates) or None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def compare_models(
    models: Mapping[str, Any] | Sequence[Any],
    panel: Any,
    *,
    method: str = "loo",
    macro: Any = None,
    period_length: float = 1.0,
    segment_col: str = "segment",
) -> ModelComparison:
    """Rank models by expected log predictive density per (period, segment, origin) cell.

    Parameters
    ----------
    models : mapping name -> model, or sequence of models
        Each a `ParameterDraws`, a fitted `TransitionModel` (any pooling, with or without
        covariates) or `IntensityModel`, or the path of a posterior file (``riskmodel fit``,
        ``TransitionModel.save``, ``IntensityModel.save``). A sequence is named ``model_0,
        model_1, …``. All must share the state space and hold every segment of the panel.
    panel : DataFrame, path or counts
        As for `riskmodel.backtest`. For ``method="loo"`` the panel the models were **fitted
        on** (checked against the counts a fitted TransitionModel keeps); for ``"time"`` a
        held-out panel.
    method : {"loo", "time"}, default "loo"
        ``"loo"``: PSIS-LOO (`arviz.loo`) on the fitting panel, the out-of-sample elpd without
        refitting, with Pareto-k diagnostics. ``"time"``: log predictive density of a held-out
        panel (a time split). See the module doc and ``docs/backtesting.md``.
    macro : DataFrame or path, optional
        Covariate models: the macro table (``period`` and the variables) of the panel's periods.
    period_length : float, default 1.0
        IntensityModel: the length of one panel period in the model's time unit.
    segment_col : str, default "segment"

    Returns
    -------
    ModelComparison
        ``table`` (best first, ``elpd_diff ≥ 0`` with its paired ``se_diff``), ``pointwise``,
        ``pareto_k`` (LOO), ``summary()``, ``to_dict()``, ``to_dataframe()``.

    Raises
    ------
    ArgumentError
        No model, an unknown `method`, different state spaces, a covariate model without
        `macro`, or (LOO) a model without posterior draws.
    PanelError
        If the panel cannot be scored by every model, or (LOO) is not the panel a fitted
        TransitionModel was fitted on.

    Warns
    -----
    ParetoKWarning
        LOO: when cells of a model have Pareto k > 0.7 (the message names the worst).

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.data.panel import load_example_panel
    >>> panel = load_example_panel()
    >>> fits = {p: rm.TransitionModel(rm.LIFECYCLE, pooling=p).fit(panel, seed=1)
    ...         for p in ("none", "complete")}
    >>> res = rm.compare_models(fits, panel)                    # doctest: +SKIP
    >>> res.table[["model", "elpd", "elpd_diff", "se_diff"]]    # doctest: +SKIP
    """
    if method not in METHODS:
        raise ArgumentError(f"method must be one of {list(METHODS)}; got {method!r}.")
    if not (isinstance(period_length, (int, float)) and 0 < period_length < np.inf):
        raise ArgumentError(f"period_length must be a positive number; got {period_length!r}.")
    cands = _candidates(models, period_length)
    scores, cells = _score(cands, panel, macro, segment_col, method)
    pointwise = cells.copy()
    for name, (v, _, _) in scores.items():
        pointwise[name] = v
    pareto = None
    if method == "loo":
        pareto = cells[["period", "segment", "from_state"]].copy()
        for name, (_, k, _) in scores.items():
            pareto[name] = k
    result = ModelComparison(_table(cands, scores, method), pointwise, pareto, method)
    for text in result.pareto_k_warnings():
        warnings.warn(text, ParetoKWarning, stacklevel=2)
    return result
