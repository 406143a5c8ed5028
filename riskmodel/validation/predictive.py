"""Predictive samples of the default and churn probabilities for a backtest.

A backtest compares out-of-time transition counts with the *posterior predictive* distribution,
so the probabilities the tests use are samples, not one point:

- **No correlation in the posterior.** One sample per posterior draw: ``p_s = P_d[i, default]``
  for every period. The predictive of a count is the exact mixture of binomials over draws.
- **With a correlation.** ``n_samples`` samples, each pairs a posterior draw ``d`` (uniform)
  with independent ``Z_t ~ N(0, 1)`` per period, and gives the one-factor conditional PD
  ``Φ((Φ⁻¹(p) − √ρ_d Z_t) / √(1 − ρ_d))``; the other destinations of the row are rescaled so
  that the row sums to one (the engine's rule, DESIGN.md §1). The spread of a correlated book's
  default rates is then part of the predictive, and is not flagged.

Aggregating periods (or origins) with different probabilities, a test uses the binomial with
the count-weighted mean probability per sample. Given the sample, the true count is a sum of
binomials with unequal probabilities, whose variance is *at most* that binomial's (the
Poisson-binomial inequality), so the approximation only widens the predictive: p-values are
conservative, never anti-conservative. Without correlation and within one period it is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from riskmodel.dynamics import conditional_pd, rest_scale
from riskmodel.errors import ArgumentError
from riskmodel.models.draws import ParameterDraws

__all__ = [
    "PredictiveSamples",
    "period_rows",
    "pooled",
    "predictive_samples",
    "shifted_tails",
    "shifted_tails_cells",
]


@dataclass(frozen=True)
class PredictiveSamples:
    """Samples of the per-period probabilities of default and churn.

    Attributes
    ----------
    default, churn : ndarray, shape (n_samples, n_periods or 1, n_segments, n_transient)
        Probability of moving into the default (churn) state; ``churn`` is zeros without a
        churn state. The period axis has length 1 when no sample depends on the period.
    draw : ndarray of int, shape (n_samples,)
        The posterior draw of each sample.
    correlated : bool
        Whether a systematic factor was mixed in.
    """

    default: np.ndarray
    churn: np.ndarray
    draw: np.ndarray
    correlated: bool


def period_rows(draws: ParameterDraws, segment_idx: np.ndarray, x: np.ndarray | None) -> np.ndarray:
    """Transient rows per draw and period: shape (n_draws, n_periods or 1, n_seg, n_transient, n).

    `x` holds the macro values ``(n_periods, n_covariates)`` of a covariate model (the rows of
    period ``t`` move customers from ``t`` to ``t + 1``); without covariates the period axis
    has length 1.
    """
    ss = draws.states
    if draws.covariates:
        if x is None:
            raise ArgumentError(
                "a covariate model needs its macro values `x` (n_periods, n_covariates); got "
                "None. Pass the macro series the model was fitted with."
            )
        macro = {name: x[:, k] for k, name in enumerate(draws.covariates)}
        full = draws.transitions_for_macro(macro)  # (D, T, S_all, n, n)
    else:
        full = draws.transitions[:, None]
    return full[:, :, segment_idx][:, :, :, ss.transient_idx]


def predictive_samples(
    draws: ParameterDraws,
    rows: np.ndarray,
    n_periods: int,
    *,
    n_samples: int,
    rng: np.random.Generator,
) -> PredictiveSamples:
    """Build the predictive samples from `period_rows` output (see the module doc)."""
    ss = draws.states
    pd_ = rows[..., ss.default_idx]  # (D, T', S, I)
    churn = rows[..., ss.churn_idx] if ss.churn_idx is not None else np.zeros_like(pd_)
    if draws.correlation is None or not np.any(draws.correlation > 0):
        return PredictiveSamples(pd_, churn, np.arange(draws.n_draws), correlated=False)
    d = rng.integers(draws.n_draws, size=n_samples)
    rho = draws.correlation[d][:, None, None, None]
    z = rng.standard_normal((n_samples, n_periods))[:, :, None, None]
    p = pd_[d]
    with np.errstate(divide="ignore"):
        cond = conditional_pd(special.ndtri(p), rho, z)
    scale = rest_scale(p, cond)
    return PredictiveSamples(cond, churn[d] * scale, d, correlated=True)


def pooled(p: np.ndarray, n: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Count-weighted mean probability over `axis` of ``p`` (samples first) with counts ``n``.

    ``n`` has ``p``'s shape without the sample axis; cells with no trials give 0.
    """
    num = (p * n[None]).sum(axis=tuple(a + 1 for a in axis))
    den = n.sum(axis=axis)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _probit(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.asarray(special.ndtri(p))


SAMPLE_BATCH = 2**20
"""Cells × samples per call of the binomial and beta functions in `shifted_tails_cells` (the
memory of one batch: a few arrays of this many float64)."""


def shifted_tails(
    k: int,
    n: np.ndarray,
    p: np.ndarray,
    rho: np.ndarray,
    *,
    n_samples: int,
    rng: np.random.Generator,
) -> tuple[float, float, float]:
    """Default-count tails of a correlated predictive, by importance sampling on ``Z``.

    A tail probability of a correlated book is driven by rare values of the systematic factor,
    which plain Monte Carlo over ``Z`` resolves poorly (a handful of samples decide a p-value
    of 1e-5). Here half the samples of ``Z`` are drawn around ``mu``, the factor value at which
    the model's expected count equals the observed ``k`` (``mu = 0`` when ``k`` is not above
    the expectation), the other half from ``N(0, 1)``, and each carries the likelihood ratio
    ``φ(Z) / (½φ(Z) + ½φ(Z − mu))`` (a defensive mixture around a Glasserman–Li shift):
    unbiased, with samples where the factor drives the tail and where binomial chance does.

    Parameters
    ----------
    k : int
        Observed defaults, summed over the cell.
    n : ndarray, shape (n_factor, n_shared)
        Trials of the sub-cells: axis 0 has independent factors (periods), axis 1 shares one
        (origins within a period).
    p : ndarray, shape (n_draws, n_factor or 1, n_shared)
        Unconditional PDs per posterior draw.
    rho : ndarray, shape (n_draws,)
        Asset correlation per draw.
    n_samples : int
    rng : numpy.random.Generator

    Returns
    -------
    upper, cumulative, jeffreys : float
        ``P(K >= k)``, ``P(K <= k)`` and the Jeffreys p-value (see `stats.jeffreys_pvalue`),
        each under the predictive, with the binomial of the count-weighted PD per sample (see
        the module doc).
    """
    tails = shifted_tails_cells([k], [n], [p], rho, n_samples=n_samples, rng=rng)
    upper, cumulative, jeff = (float(t[0]) for t in tails)
    return upper, cumulative, jeff


def shifted_tails_cells(
    k: Sequence[int],
    n: Sequence[np.ndarray],
    p: Sequence[np.ndarray],
    rho: np.ndarray,
    *,
    n_samples: int,
    rng: np.random.Generator,
    upper_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`shifted_tails` of many cells: the numbers of one call per cell in order, bit for bit.

    The factor shifts of all cells are found by one vectorised bisection, and the binomial and
    beta functions are evaluated for many cells per call; the random draws are those of the
    calls one cell after another. `n` and `p` hold one array per cell, of the shapes of
    `shifted_tails`, all cells' `n` of one shape. With `upper_only`, ``cumulative`` and
    ``jeffreys`` are not computed (NaN), which draws the same random numbers.

    Returns
    -------
    upper, cumulative, jeffreys : ndarray, shape (n_cells,)
    """
    from scipy import stats

    k_all = np.asarray(k, dtype=np.int64)
    upper, cumulative, jeff = (np.full(len(k_all), np.nan) for _ in range(3))
    if len(k_all) == 0:
        return upper, cumulative, jeff
    big_n = np.array([int(nb.sum()) for nb in n], dtype=np.int64)
    p_mean = [np.broadcast_to(q, (q.shape[0], *m.shape)).mean(0) for q, m in zip(p, n, strict=True)]
    mu = _shifts(k_all, np.stack(n), np.stack(p_mean), float(rho.mean()))
    step = max(1, SAMPLE_BATCH // n_samples)
    for start in range(0, len(k_all), step):
        cells = slice(start, min(start + step, len(k_all)))
        w, pbar = np.empty((2, cells.stop - start, n_samples))
        for j, c in enumerate(range(start, cells.stop)):
            w[j], pbar[j] = _weighted_pd(n[c], p[c], rho, float(mu[c]), n_samples, rng)
        kc, nc = k_all[cells, None], big_n[cells, None]
        upper[cells] = _row_means(w * stats.binom.sf(kc - 1, nc, pbar))
        if not upper_only:
            cumulative[cells] = 1.0 - _row_means(w * stats.binom.sf(kc, nc, pbar))
            jeff[cells] = _row_means(w * stats.beta.cdf(pbar, kc + 0.5, nc - kc + 0.5))
    return (
        np.minimum(upper, 1.0),
        np.minimum(np.maximum(cumulative, 0.0), 1.0),
        np.minimum(jeff, 1.0),
    )


def _row_means(x: np.ndarray) -> np.ndarray:
    """Mean of each row, each computed on its own 1-d row (the summation of `shifted_tails`)."""
    return np.array([np.mean(row) for row in x])


def _shifts(k: np.ndarray, n: np.ndarray, p_mean: np.ndarray, rho_mean: float) -> np.ndarray:
    """Factor shift ``mu`` per cell: where the expected count equals ``k`` if ``k`` is above it.

    `n`, `p_mean`: shape (n_cells, n_factor, n_shared). Bisection on [-12, 0] (the expected
    count falls as ``z`` rises), 50 halvings, all cells at once.
    """
    probit = _probit(p_mean)
    n_flat = n.reshape(len(k), -1)

    def expected(z: np.ndarray) -> np.ndarray:
        cond = conditional_pd(probit, rho_mean, z[:, None, None])
        return np.asarray((n_flat * cond.reshape(len(k), -1)).sum(-1))

    above = (k > expected(np.zeros(len(k)))) & (rho_mean > 0)
    if not above.any():
        return np.zeros(len(k))
    lo, hi = np.full(len(k), -12.0), np.zeros(len(k))
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        high = expected(mid) > k
        lo, hi = np.where(high, mid, lo), np.where(high, hi, mid)
    return np.where(above, 0.5 * (lo + hi), 0.0)


def _weighted_pd(
    n: np.ndarray,
    p: np.ndarray,
    rho: np.ndarray,
    mu: float,
    n_samples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One cell's samples: likelihood-ratio weights and count-weighted conditional PDs."""
    d = rng.integers(p.shape[0], size=n_samples)
    n_factor = n.shape[0]
    # a defensive mixture: half the samples unshifted, half at the shift. A shift alone loses
    # the tail when the count is high by binomial chance rather than through the factor (mu of
    # -1.8 in each of 35 periods gave P(K >= 2 | E[K] = 0.8) = 1e-8); the mixture's weights
    # φ(z) / (½φ(z) + ½φ(z − mu)) are at most 2, so it is never much worse than plain sampling
    shifted = rng.random(n_samples) < 0.5
    z = rng.standard_normal((n_samples, n_factor)) + mu * shifted[:, None]
    log_ratio = mu * z.sum(1) - n_factor * mu * mu / 2  # log φ(z − mu) / φ(z)
    w = np.exp(-np.logaddexp(np.log(0.5), np.log(0.5) + log_ratio))
    cond = conditional_pd(_probit(p)[d], rho[d][:, None, None], z[:, :, None])
    return w, (cond * n).sum((1, 2)) / int(n.sum())
