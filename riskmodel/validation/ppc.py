"""Posterior predictive checks (PPC) of a fitted transition model on its own panel.

The checks need two things only: **row probabilities per predictive sample** and the **observed
counts**, so any model that yields transition rows plugs in (discrete-time transition models of
every pooling, covariate models given the panel's macro series, continuous-time intensity models
through ``expm(Q · period length)``):

``rows``
    shape ``(n_samples, n_periods or 1, n_segments, n_transient, n_states)``: the probability of
    each destination from each transient origin, per sample (a posterior draw, or a draw paired
    with a systematic-factor path; see `predictive_rows`).
``counts``
    shape ``(n_periods, n_segments, n_transient, n_states)``: observed transitions.

Replicate ``r`` takes one sample and draws, for every period, segment and origin, the
destination counts ``Multinomial(n_obs, row)`` with the observed number of customers ``n_obs``
(periods with the same row are drawn in one multinomial, which is the same distribution).

Checks
------
``destination_counts``
    per segment, origin and destination: the observed count over all periods against its
    posterior predictive distribution.
``default_rate_period``
    per segment and period: the realised default rate (origins pooled) against its predictive.

Each cell gets the predictive mean, the central ``level`` interval (default 94%, ArviZ's
default), whether the observation lies outside it, and a two-sided mid-p predictive p-value
``2 · min(u, 1 − u)`` with ``u = P(y_rep < y) + P(y_rep = y) / 2``.

The summary compares the share of cells outside their band with ``1 − level`` (6%). Counts are
integers, so a band holds *at least* ``level`` of its predictive and the share a well-specified
model puts outside is somewhat below 6% for small counts: the summary states that expected share
(``expected_share``, the predictive mass outside each band, averaged over cells) and tests the
number of cells outside against it (``p_value``: binomial upper tail; cells are treated as
independent, an approximation). In-sample checks are conservative besides (the panel also shaped
the posterior), so a share well above ``expected_share`` is evidence of misfit, a share below it
is not.

The result, `PredictiveCheck`, lives in `riskmodel.validation.ppc_result` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmodel.dynamics import rest_scale
from riskmodel.errors import ArgumentError
from riskmodel.models.draws import ParameterDraws
from riskmodel.states import StateSpace
from riskmodel.validation.inputs import as_counts, as_draws, macro_values
from riskmodel.validation.ppc_result import PredictiveCheck
from riskmodel.validation.predictive import period_rows, predictive_samples

__all__ = ["PredictiveCheck", "check_posterior", "posterior_predictive_check", "predictive_rows"]

CHECKS = ("destination_counts", "default_rate_period")


def predictive_rows(
    draws: ParameterDraws,
    segment_idx: Sequence[int] | np.ndarray,
    n_periods: int,
    *,
    x: np.ndarray | None = None,
    n_samples: int = 1000,
    rng: np.random.Generator,
) -> tuple[np.ndarray, bool]:
    """Row probabilities per predictive sample for `posterior_predictive_check`.

    Without a correlation: one sample per posterior draw, ``period_rows`` as they are. With a
    correlation: the samples of `riskmodel.validation.predictive.predictive_samples` (a
    posterior draw and a systematic-factor path each); the default probability of each row is
    the one-factor conditional PD and the other destinations are rescaled so the row sums to
    one (the engine's rule).

    Parameters
    ----------
    draws : ParameterDraws
    segment_idx : array of int
        Index in ``draws.segments`` of each segment of the counts.
    n_periods : int
        Periods of the counts.
    x : ndarray, shape (n_periods, n_covariates), optional
        Macro values of a covariate model (period ``t`` drives ``t -> t + 1``).
    n_samples : int, default 1000
        Samples with a correlation (each pairs a posterior draw with a factor path).
    rng : numpy.random.Generator

    Returns
    -------
    rows : ndarray, shape (n_samples, n_periods or 1, n_segments, n_transient, n_states)
    correlated : bool
    """
    ss = draws.states
    rows = period_rows(draws, np.asarray(segment_idx, dtype=np.intp), x)
    samples = predictive_samples(draws, rows, n_periods, n_samples=n_samples, rng=rng)
    if not samples.correlated:
        return rows, False
    base = rows[samples.draw]  # (M, T', S, I, n)
    p = base[..., ss.default_idx]
    cond = samples.default  # (M, T, S, I)
    scale = rest_scale(p, cond)
    full = base * scale[..., None]
    full[..., ss.default_idx] = cond
    return full, True


def _cell_stats(rep: np.ndarray, obs: np.ndarray, level: float) -> dict[str, np.ndarray]:
    """Band, mid-p percentile and p-value of each cell; `rep` has replicates first."""
    tail = (1.0 - level) / 2.0
    lower = np.quantile(rep, tail, axis=0, method="inverted_cdf")
    upper = np.quantile(rep, 1.0 - tail, axis=0, method="inverted_cdf")
    below = (rep < obs[None]).mean(0)
    at = (rep == obs[None]).mean(0)
    u = below + 0.5 * at
    prob_out = (rep < lower[None]).mean(0) + (rep > upper[None]).mean(0)
    degenerate = rep.min(0) == rep.max(0)
    outside = (obs < lower) | (obs > upper)
    return {
        "expected": rep.mean(0),
        "sd": rep.std(0),
        "lower": lower,
        "upper": upper,
        "percentile": u,
        "p_value": np.minimum(1.0, 2.0 * np.minimum(u, 1.0 - u)),
        "outside": outside,
        "prob_outside": prob_out,
        "included": ~degenerate | outside,
    }


def _summary_row(name: str, table: pd.DataFrame, level: float, alpha: float) -> dict:
    from scipy import stats

    used = table[table["included"]]
    cells, out = len(used), int(used["outside"].sum())
    expected = float(used["prob_outside"].mean()) if cells else float("nan")
    p = float(stats.binom.sf(out - 1, cells, expected)) if cells else float("nan")
    return {
        "check": name,
        "cells": cells,
        "outside": out,
        "share": out / cells if cells else float("nan"),
        "expected_share": expected,
        "nominal": round(1.0 - level, 12),
        "p_value": p,
        "flagged": bool(cells and p < alpha),
    }


def _replicate(rows, counts, idx, ss: StateSpace, rng):
    """Replicated destination totals (R, S, I, n) and default counts per period (R, T, S)."""
    n = counts.sum(-1)  # (T, S, I)
    big_t = counts.shape[0]
    d = ss.default_idx
    if rows.shape[1] == 1:
        p = rows[idx, 0]
        p = p / p.sum(-1, keepdims=True)
        dest = rng.multinomial(n.sum(0), p)
        defaults = np.stack([rng.binomial(n[t], p[..., d]).sum(-1) for t in range(big_t)], 1)
        return dest, defaults
    dest = np.zeros((len(idx), *counts.shape[1:]), dtype=np.int64)
    defaults = np.zeros((len(idx), big_t, counts.shape[1]), dtype=np.int64)
    for t in range(big_t):
        p = rows[idx, t]
        p = p / p.sum(-1, keepdims=True)
        y = rng.multinomial(n[t], p)
        dest += y
        defaults[:, t] = y[..., d].sum(-1)
    return dest, defaults


def posterior_predictive_check(
    rows: np.ndarray,
    counts: np.ndarray,
    *,
    states: StateSpace,
    segments: Sequence[str],
    periods: Sequence[int] | np.ndarray | None = None,
    level: float = 0.94,
    replicates: int = 1000,
    alpha: float = 0.01,
    correlated: bool = False,
    seed: int | np.random.Generator | None = 0,
) -> PredictiveCheck:
    """Posterior predictive checks of observed counts against row probabilities per sample.

    Parameters
    ----------
    rows : ndarray, shape (n_samples, n_periods or 1, n_segments, n_transient, n_states)
        Predicted row probabilities per sample (see the module doc and `predictive_rows`).
    counts : ndarray of int, shape (n_periods, n_segments, n_transient, n_states)
        Observed transitions from each transient origin, per period the transition starts in.
    states : StateSpace
    segments : sequence of str
        Segment names, in the order of the segment axis.
    periods : sequence of int, optional
        Period labels (default ``0, 1, …``).
    level : float, default 0.94
        Central probability of each predictive band.
    replicates : int, default 1000
        Replicated panels (each uses one sample; samples are taken without replacement when
        there are enough). Band edges are Monte Carlo quantiles of these.
    alpha : float, default 0.01
        Flag a check when its p-value (cells outside against the model's expected share) is
        below this.
    correlated : bool, default False
        Recorded: whether `rows` carry a systematic factor.
    seed : int, Generator or None, default 0

    Returns
    -------
    PredictiveCheck

    Raises
    ------
    ArgumentError
        On shapes that do not match, or `level`, `replicates`, `alpha` out of range.

    Examples
    --------
    >>> import numpy as np, riskmodel as rm
    >>> ss = rm.StateSpace(["a", "d"], absorbing=["d"], default="d")
    >>> rows = np.array([[[[[0.9, 0.1]]]]])          # 1 sample, 1 period, 1 segment, 1 origin
    >>> counts = np.array([[[[90, 10]]]])
    >>> check = posterior_predictive_check(rows, counts, states=ss, segments=["x"])
    >>> bool(check.flagged)
    False
    """
    rows, counts = _check_inputs(rows, counts, states, segments, level, replicates, alpha)
    rng = np.random.default_rng(seed)
    big_t = counts.shape[0]
    periods = list(range(big_t)) if periods is None else [int(p) for p in periods]
    if len(periods) != big_t:
        raise ArgumentError(f"periods has {len(periods)} labels for {big_t} periods of counts.")
    m = rows.shape[0]
    idx = rng.choice(m, size=replicates, replace=m < replicates)
    dest, defaults = _replicate(rows, counts, idx, states, rng)
    cells = _destination_table(dest, counts, states, segments, level)
    rates = _default_rate_table(defaults, counts, states, segments, periods, level)
    summary = pd.DataFrame(
        [
            _summary_row(CHECKS[0], cells, level, alpha),
            _summary_row(CHECKS[1], rates, level, alpha),
            _summary_row("all", pd.concat([cells, rates], ignore_index=True), level, alpha),
        ]
    )
    return PredictiveCheck(
        cells=cells,
        default_rates=rates,
        summary=summary,
        level=level,
        replicates=replicates,
        correlated=correlated,
        alpha=alpha,
        info={"predictive_samples": m, "periods": periods, "segments": list(segments)},
    )


def _check_inputs(rows, counts, states, segments, level, replicates, alpha):
    rows = np.asarray(rows, dtype=float)
    counts = np.asarray(counts)
    n_i = len(states.transient)
    want = (len(segments), n_i, states.n)
    if counts.ndim != 4 or counts.shape[1:] != want:
        raise ArgumentError(
            f"counts must have shape (n_periods, {', '.join(map(str, want))}) for "
            f"{len(segments)} segment(s) and the transient origins; got {counts.shape}."
        )
    if rows.ndim != 5 or rows.shape[2:] != want or rows.shape[1] not in (1, counts.shape[0]):
        raise ArgumentError(
            f"rows must have shape (n_samples, 1 or {counts.shape[0]}, "
            f"{', '.join(map(str, want))}); got {rows.shape}."
        )
    if not (0.0 < level < 1.0):
        raise ArgumentError(f"level must be in (0, 1); got {level!r}.")
    if not (0.0 < alpha < 1.0):
        raise ArgumentError(f"alpha must be in (0, 1); got {alpha!r}.")
    if not isinstance(replicates, (int, np.integer)) or replicates < 10:
        raise ArgumentError(f"replicates must be an integer >= 10; got {replicates!r}.")
    return rows, counts.astype(np.int64)


def _destination_table(dest, counts, ss, segments, level) -> pd.DataFrame:
    obs = counts.sum(0)  # (S, I, n)
    stats = _cell_stats(dest, obs, level)
    s, i, j = np.indices(obs.shape).reshape(3, -1)
    n = obs.sum(-1)
    keep = n[s, i] > 0
    frame = pd.DataFrame(
        {
            "segment": np.asarray(segments, dtype=object)[s],
            "from_state": np.asarray(ss.transient, dtype=object)[i],
            "to_state": np.asarray(ss.names, dtype=object)[j],
            "n": n[s, i],
            "observed": obs.reshape(-1),
            **{k: v.reshape(-1) for k, v in stats.items()},
        }
    )
    return frame[keep].reset_index(drop=True)


def _default_rate_table(defaults, counts, ss, segments, periods, level) -> pd.DataFrame:
    n_t = counts.sum((2, 3))  # (T, S)
    k_t = counts[..., ss.default_idx].sum(2)
    denom = np.maximum(n_t, 1)
    stats = _cell_stats(defaults / denom[None], k_t / denom, level)
    t, s = np.indices(n_t.shape).reshape(2, -1)
    frame = pd.DataFrame(
        {
            "segment": np.asarray(segments, dtype=object)[s],
            "period": np.asarray(periods, dtype=np.int64)[t],
            "n": n_t.reshape(-1),
            "defaults": k_t.reshape(-1),
            "observed": (k_t / denom).reshape(-1),
            **{k: v.reshape(-1) for k, v in stats.items()},
        }
    )
    return frame[n_t.reshape(-1) > 0].reset_index(drop=True)


def check_posterior(
    posterior,
    panel,
    *,
    macro=None,
    segment_col: str = "segment",
    level: float = 0.94,
    replicates: int = 1000,
    alpha: float = 0.01,
    seed: int | None = 0,
) -> PredictiveCheck:
    """Posterior predictive checks of a posterior on a panel (e.g. its own, in-sample).

    Parameters
    ----------
    posterior : ParameterDraws, fitted TransitionModel or IntensityModel, or path
        As `riskmodel.validation.backtest` accepts it.
    panel : DataFrame, path, or xarray.DataArray
        The panel (``customer_id, period, state`` [, `segment_col`]), a panel CSV, or counts
        with dims ``(period, segment, from_state, to_state)``.
    macro : DataFrame or path, optional
        Required for a covariate posterior: the panel's macro table.
    segment_col : str, default "segment"
    level, replicates, alpha, seed
        See `posterior_predictive_check`. At most `replicates` posterior draws are used (a
        random subset of a larger posterior); with a correlation, `replicates` is also the
        number of (posterior draw, factor path) samples.

    Returns
    -------
    PredictiveCheck

    Raises
    ------
    ArgumentError, MacroError, PanelError
        As `riskmodel.validation.backtest` raises them for the same inputs.
    """
    draws = as_draws(posterior, 1.0)
    counts = as_counts(panel, draws, segment_col)
    ss = draws.states
    segs = [str(s) for s in counts["segment"].values]
    seg_idx = np.array([draws.segments.index(s) for s in segs])
    periods = counts["period"].values
    c = np.asarray(counts.values)[:, :, ss.transient_idx].astype(np.int64)
    rng = np.random.default_rng(seed)
    if draws.n_draws > replicates:  # each replicate uses one draw: keep the memory to those
        draws = draws.take(np.sort(rng.choice(draws.n_draws, size=replicates, replace=False)))
    x = macro_values(macro, periods, draws)
    rows, correlated = predictive_rows(
        draws, seg_idx, len(periods), x=x, n_samples=replicates, rng=rng
    )
    return posterior_predictive_check(
        rows,
        c,
        states=ss,
        segments=segs,
        periods=periods,
        level=level,
        replicates=replicates,
        alpha=alpha,
        correlated=correlated,
        seed=rng,
    )
