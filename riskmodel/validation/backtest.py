"""Out-of-time backtest of a fitted transition posterior against a panel (`backtest`).

The tests, their predictive distributions and the verdict rule are described in
``docs/backtesting.md``; in short:

=====================  =====================================  ==============================
test                   per                                    p-value (small = model wrong)
=====================  =====================================  ==============================
default_binomial       segment × origin, periods pooled       ``P(K >= k)``, predictive
default_jeffreys       segment × origin                       Jeffreys, mixed over PD samples
default_traffic_light  segment × origin (a view, no p-value)  zone from ``P(K <= k)``
churn_binomial         segment × origin (with a churn state)  two-sided, predictive
destination_split      segment × origin                       Pearson X², predictive MC
default_rate_period    segment × period, origins pooled       ``P(K >= k)``, predictive
=====================  =====================================  ==============================

Verdicts: the p-values of all tests but the view form one family; Holm's adjustment is applied
across it; a test is ``red`` if its adjusted p-value is below ``alpha_red`` (0.01), ``amber``
below ``alpha_amber`` (0.05), else ``green``; ``overall`` is the worst test verdict. So a panel
drawn from the model itself comes out ``red`` with probability at most ``alpha_red`` (and not
``green`` with probability at most ``alpha_amber``), however many segments and states it has.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.errors import ArgumentError
from riskmodel.validation.inputs import as_counts, as_draws, macro_values
from riskmodel.validation.predictive import (
    period_rows,
    pooled,
    predictive_samples,
    shifted_tails_cells,
)
from riskmodel.validation.result import BacktestResult, calibration_scores
from riskmodel.validation.stats import (
    binomial_tails,
    binomial_upper,
    holm,
    jeffreys_pvalue,
    split_gof,
    traffic_light,
)

__all__ = ["backtest"]

VIEW_TESTS = ("default_traffic_light",)
"""Tests shown for reference; their verdicts do not enter `overall`."""


def _record(segment, origin, dest, test, observed, expected, statistic, p, period=None) -> dict:
    return {
        "segment": segment,
        "from_state": origin,
        "to_state": dest,
        "period": period,
        "test": test,
        "observed": float(observed),
        "expected": float(expected),
        "statistic": float(statistic),
        "p_value": float(p),
    }


def _count_tests(c, n, samples, segs, ss, corr) -> tuple[list[dict], np.ndarray]:
    """Test default and churn counts per segment × origin, periods pooled.

    `corr`: None, or ``(pd_draws (D, T', S, I), rho (D,), n_samples, rng)`` of a correlated
    posterior, whose default tails are then computed by `shifted_tails_cells`.
    """
    out = []
    pd_bar = pooled(np.broadcast_to(samples.default, (samples.default.shape[0], *n.shape)), n, (0,))
    ch_bar = pooled(np.broadcast_to(samples.churn, (samples.churn.shape[0], *n.shape)), n, (0,))
    big_n = n.sum(0)  # (S, I)
    k_def = c[..., ss.default_idx].sum(0)
    if corr is None:
        up, low = binomial_tails(k_def, big_n, pd_bar)
        jeff = jeffreys_pvalue(k_def, big_n, pd_bar)
    else:  # cells without trials keep NaN: they are not reported
        pdd, rho, m, rng = corr
        up, low, jeff = (np.full(big_n.shape, np.nan) for _ in range(3))
        live = np.nonzero(big_n)
        up[live], low[live], jeff[live] = shifted_tails_cells(
            k_def[live], [n[:, s, i][:, None] for s, i in zip(*live, strict=True)],
            [pdd[:, :, s, i][..., None] for s, i in zip(*live, strict=True)], rho,
            n_samples=m, rng=rng,
        )  # fmt: skip
    zone = traffic_light(low)
    if ss.churn_idx is not None:
        k_ch = c[..., ss.churn_idx].sum(0)
        c_up, c_low = binomial_tails(k_ch, big_n, ch_bar)
    d_name = ss.default
    for s, seg in enumerate(segs):
        for i, origin in enumerate(ss.transient):
            if big_n[s, i] == 0:
                continue
            exp = big_n[s, i] * pd_bar[:, s, i].mean()
            ratio = k_def[s, i] / exp if exp > 0 else np.inf if k_def[s, i] else 1.0
            rate = (k_def[s, i] + 0.5) / (big_n[s, i] + 1)
            base = (seg, origin, d_name)
            out.append(_record(*base, "default_binomial", k_def[s, i], exp, ratio, up[s, i]))
            out.append(_record(*base, "default_jeffreys", k_def[s, i], exp, rate, jeff[s, i]))
            rec = _record(*base, "default_traffic_light", k_def[s, i], exp, low[s, i], np.nan)
            rec["verdict"] = str(zone[s, i])
            out.append(rec)
            if ss.churn_idx is not None:
                exp_c = big_n[s, i] * ch_bar[:, s, i].mean()
                ratio_c = k_ch[s, i] / exp_c if exp_c > 0 else np.inf if k_ch[s, i] else 1.0
                p2 = min(1.0, 2 * min(c_up[s, i], c_low[s, i]))
                out.append(
                    _record(seg, origin, ss.churn, "churn_binomial", k_ch[s, i], exp_c, ratio_c, p2)
                )
    return out, pd_bar


def _split_tests(c, rows, segs, ss, replicates, rng) -> list[dict]:
    """Goodness-of-fit of the destination split given no default, per segment × origin.

    Under the one-factor model only the default column moves with ``Z`` and the rest of the row
    is rescaled, so this conditional split does not depend on ``Z``: exact with correlation too.
    """
    out = []
    keep = np.array([j for j in range(ss.n) if j != ss.default_idx])
    rows = rows[..., keep]  # (D, T', S, I, n-1)
    y_t = c[..., keep]  # (T, S, I, n-1)
    for s, seg in enumerate(segs):
        for i, origin in enumerate(ss.transient):
            y = y_t[:, s, i] if rows.shape[1] > 1 else y_t[:, s, i].sum(0, keepdims=True)
            if y.sum() == 0:
                continue
            q = rows[:, :, s, i]
            tot = q.sum(-1, keepdims=True)
            q = np.divide(q, tot, out=np.full_like(q, 1.0 / q.shape[-1]), where=tot > 0)
            stat, p = split_gof(y, q, replicates=replicates, rng=rng)
            dof = max(int((q.mean((0, 1)) > 0).sum()) - 1, 0)  # E[X²] ≈ categories - 1
            out.append(_record(seg, origin, None, "destination_split", stat, dof, stat, p))
    return out


def _period_tests(c, n, samples, periods, segs, ss, rng, corr) -> tuple[list[dict], dict]:
    """Realised default rate per segment and period against its predictive band."""
    m = samples.default.shape[0]
    p_t = pooled(np.broadcast_to(samples.default, (m, *n.shape)), n, (2,))  # (M, T, S)
    n_t = n.sum(2)  # (T, S)
    k_t = c[..., ss.default_idx].sum(2)
    if corr is None:
        up = binomial_upper(k_t, n_t, p_t)
    else:  # periods without trials keep NaN: they are not reported
        pdd, rho, m_is, rng_is = corr
        up = np.full(n_t.shape, np.nan)
        live = np.nonzero(n_t)
        tt = live[0] if pdd.shape[1] > 1 else np.zeros_like(live[0])
        up[live] = shifted_tails_cells(
            k_t[live], [n[t, s][None, :] for t, s in zip(*live, strict=True)],
            [pdd[:, t, s][:, None, :] for t, s in zip(tt, live[1], strict=True)], rho,
            n_samples=m_is, rng=rng_is, upper_only=True,
        )[0]  # fmt: skip
    rep = rng.binomial(np.broadcast_to(n_t, p_t.shape), p_t)
    rate = rep / np.maximum(n_t, 1)
    lo, hi = np.quantile(rate, [0.025, 0.975], axis=0)
    out = []
    for t, period in enumerate(periods):
        for s, seg in enumerate(segs):
            if n_t[t, s] == 0:
                continue
            exp = n_t[t, s] * p_t[:, t, s].mean()
            rec = _record(
                seg, "all", ss.default, "default_rate_period", k_t[t, s], exp,
                k_t[t, s] / n_t[t, s], up[t, s], period=int(period),
            )  # fmt: skip
            rec["band_lower"], rec["band_upper"] = float(lo[t, s]), float(hi[t, s])
            out.append(rec)
    return out, {
        "expected": p_t.mean(0),
        "lower": lo,
        "upper": hi,
        "observed": k_t / np.maximum(n_t, 1),
    }


def _verdicts(tests: pd.DataFrame, alpha_red: float, alpha_amber: float) -> pd.DataFrame:
    family = ~tests["test"].isin(VIEW_TESTS)
    adj = np.full(len(tests), np.nan)
    adj[family.to_numpy()] = holm(tests.loc[family, "p_value"].to_numpy())
    tests["p_adjusted"] = adj
    verdict = np.where(adj < alpha_red, "red", np.where(adj < alpha_amber, "amber", "green"))
    tests["verdict"] = np.where(family, verdict, tests.get("verdict", "green"))
    return tests


def _check_settings(
    alpha_red: float,
    alpha_amber: float,
    predictive_samples_n: int,
    replicates: int,
    period_length: float,
) -> None:
    """Refuse levels out of order, non-positive sample sizes or period length."""
    if not (0 < alpha_red <= alpha_amber < 1):
        raise ArgumentError(
            f"need 0 < alpha_red <= alpha_amber < 1; got alpha_red={alpha_red}, "
            f"alpha_amber={alpha_amber}."
        )
    for name, v in (("predictive_samples_n", predictive_samples_n), ("replicates", replicates)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ArgumentError(f"{name} must be a positive integer; got {v!r}.")
    if not (isinstance(period_length, (int, float)) and 0 < period_length < np.inf):
        raise ArgumentError(f"period_length must be a positive number; got {period_length!r}.")


def _overall(tests: pd.DataFrame) -> str:
    """Return the worst verdict of the family of tests (``green`` without any)."""
    family = ~tests["test"].isin(VIEW_TESTS)
    order = {"green": 0, "amber": 1, "red": 2}
    worst = tests.loc[family, "verdict"].map(order).max()
    return ("green", "amber", "red")[int(worst)] if family.any() else "green"


def backtest(
    posterior: Any,
    panel: Any,
    *,
    macro: Any = None,
    period_length: float = 1.0,
    segment_col: str = "segment",
    alpha_red: float = 0.01,
    alpha_amber: float = 0.05,
    predictive_samples_n: int = 4000,
    replicates: int = 20000,
    seed: int | None = 0,
) -> BacktestResult:
    """Backtest a transition posterior on an out-of-time panel.

    Parameters
    ----------
    posterior : ParameterDraws, fitted TransitionModel or IntensityModel, or path
        The posterior draws (a path is read with `load_parameter_draws`). For a covariate
        (macro) model the transition matrices of each period come from `macro`.
    panel : DataFrame, path, or xarray.DataArray
        The out-of-time panel (``customer_id, period, state`` [, `segment_col`]), the path of a
        panel CSV, or transition counts with dims ``(period, segment, from_state, to_state)``
        (as `panel_to_counts(..., by_period=True)` returns). States are the posterior's.
    macro : DataFrame or path, optional
        Required for a covariate posterior: the macro table (``period`` and the model's
        variables) covering the panel's transition periods; period ``t``'s values drive the
        transitions ``t -> t + 1``. Ignored otherwise.
    period_length : float, default 1.0
        For a continuous-time `IntensityModel`: the length of one panel period in the model's
        time unit (``P = expm(Q · period_length)`` per draw). Ignored otherwise.
    segment_col : str, default "segment"
    alpha_red, alpha_amber : float, default 0.01 and 0.05
        Family-wise levels of the Holm-adjusted p-values for ``red`` and ``amber``.
    predictive_samples_n : int, default 4000
        With a correlated posterior: samples of (posterior draw, systematic factor per period).
        Without correlation every posterior draw is used once and this is ignored.
    replicates : int, default 20000
        Monte Carlo replicates of each destination-split test (p-value resolution
        ``1 / (replicates + 1)``).
    seed : int or None, default 0
        Seed of the predictive sampling (recorded in the result).

    Returns
    -------
    BacktestResult
        ``overall``, the table of tests, calibration scores and the inputs of the figures.

    Raises
    ------
    ArgumentError
        On arguments of the wrong type or value, or a covariate posterior without `macro`.
    MacroError
        If `macro` does not cover the panel's transition periods.
    PanelError
        If the panel is unusable or holds segments the posterior does not have.

    Examples
    --------
    >>> import numpy as np, xarray as xr, riskmodel as rm
    >>> ss = rm.StateSpace(["a", "d"], absorbing=["d"], default="d")
    >>> draws = rm.ParameterDraws(ss, ("x",), np.array([[[[0.9, 0.1], [0, 1]]]]))
    >>> counts = xr.DataArray(np.array([[[[90, 10], [0, 0]]]]),
    ...                       dims=("period", "segment", "from_state", "to_state"),
    ...                       coords={"period": [0], "segment": ["x"]})
    >>> backtest(draws, counts).overall
    'green'
    """
    _check_settings(alpha_red, alpha_amber, predictive_samples_n, replicates, period_length)
    draws = as_draws(posterior, period_length)
    counts = as_counts(panel, draws, segment_col)
    ss = draws.states
    segs = [str(s) for s in counts["segment"].values]
    seg_idx = np.array([draws.segments.index(s) for s in segs])
    periods = counts["period"].values
    c = np.asarray(counts.values)[:, :, ss.transient_idx].astype(np.int64)  # (T, S, I, n)
    n = c.sum(-1)
    rng = np.random.default_rng(seed)
    x = macro_values(macro, periods, draws)
    rows = period_rows(draws, seg_idx, x)  # (D, T', S, I, n)
    samples = predictive_samples(draws, rows, len(periods), n_samples=predictive_samples_n, rng=rng)
    corr = None
    if samples.correlated:
        corr = (rows[..., ss.default_idx], draws.correlation, predictive_samples_n, rng)
    recs, _ = _count_tests(c, n, samples, segs, ss, corr)
    recs += _split_tests(c, rows, segs, ss, replicates, rng)
    per, band = _period_tests(c, n, samples, periods, segs, ss, rng, corr)
    recs += per
    tests = _verdicts(pd.DataFrame.from_records(recs), alpha_red, alpha_amber)
    tests["period"] = tests["period"].astype("Int64")
    mean_rows = rows.mean(0)  # (T', S, I, n)
    return BacktestResult(
        overall=_overall(tests),
        tests=tests,
        thresholds={
            "alpha_red": alpha_red,
            "alpha_amber": alpha_amber,
            "adjustment": "holm",
            "traffic_light": {"amber": 0.95, "red": 0.9999},
            "band": [0.025, 0.975],
        },
        calibration=calibration_scores(c, mean_rows, segs),
        pit=_pit(c, n, samples, ss, rng),
        bands=band,
        reliability=_reliability(c, n, samples, periods, segs, ss),
        info={
            "segments": segs,
            "periods": [int(p) for p in periods],
            "states": list(ss.names),
            "posterior_draws": draws.n_draws,
            "correlated": samples.correlated,
            "predictive_samples": int(samples.default.shape[0]),
            "replicates": replicates,
            "seed": seed,
            "transitions": int(c.sum()),
        },
    )


def _pit(c, n, samples, ss, rng) -> np.ndarray:
    """Randomised PIT of each (period, segment, origin) default count; uniform under the model."""
    from scipy import stats

    k = c[..., ss.default_idx]
    live = n > 0
    p = np.broadcast_to(samples.default, (samples.default.shape[0], *n.shape))[:, live]
    below = stats.binom.cdf(k[live] - 1, n[live], p).mean(0)
    at = stats.binom.pmf(k[live], n[live], p).mean(0)
    return below + rng.uniform(size=below.shape) * at


def _reliability(c, n, samples, periods, segs, ss) -> pd.DataFrame:
    """Predicted (predictive mean) and observed default rate per period × segment × origin."""
    pred = np.broadcast_to(samples.default.mean(0), n.shape)
    t, s, i = np.nonzero(n)
    return pd.DataFrame(
        {
            "period": np.asarray(periods)[t],
            "segment": np.asarray(segs)[s],
            "from_state": np.asarray(ss.transient)[i],
            "n": n[t, s, i],
            "predicted": pred[t, s, i],
            "observed": c[t, s, i, ss.default_idx] / n[t, s, i],
        }
    )
