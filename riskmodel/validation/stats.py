"""Test statistics of the backtest, as plain numpy functions over predictive samples.

Every function takes the model's probabilities as *samples* on axis 0 (posterior draws, or
posterior draws paired with draws of the systematic factor) and returns the statistic of the
*posterior predictive* distribution: the equal-weight mixture over the samples. With a single
sample each reduces to the textbook test, which is what the known-answer tests check against
scipy.

- `binomial_tails`: ``P(K >= k)`` and ``P(K <= k)`` for ``K ~ Binomial(n, p_s)`` mixed over
  ``s``; the upper tail is the exact one-sided binomial p-value (too many events).
- `jeffreys_pvalue`: the Jeffreys test of a PD (ECB instructions for reporting the validation
  results of internal models, 2019): the realised ``k`` of ``n`` give the posterior
  ``Beta(k + 1/2, n - k + 1/2)`` of the default rate, and the p-value is that posterior's mass
  below the model's PD, mixed over the PD samples. Small means the PD is too low.
- `traffic_light`: the Basel traffic-light zone (BCBS, *Supervisory framework for the use of
  backtesting*, 1996): with ``c = P(K <= k)``, green if ``c < 0.95``, amber (yellow) if
  ``0.95 <= c < 0.9999`` and red if ``c >= 0.9999``.
- `holm`: Holm's step-down adjustment, valid under any dependence between the tests.
- `split_gof`: a multinomial goodness-of-fit of a destination split, with a Monte Carlo
  p-value from replicates drawn from the predictive mixture itself.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "ZONES",
    "binomial_tails",
    "binomial_upper",
    "holm",
    "jeffreys_pvalue",
    "split_gof",
    "traffic_light",
]

ZONES = ("green", "amber", "red")
"""Verdicts, in order of severity."""


def binomial_tails(k, n, p) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower tail of a binomial mixed over samples of its probability.

    Parameters
    ----------
    k, n : array_like of int, broadcastable to ``p.shape[1:]``
        Observed events and trials.
    p : array_like, shape (n_samples, ...)
        Samples of the event probability.

    Returns
    -------
    upper, lower : ndarray, shape ``p.shape[1:]``
        ``P(K >= k)`` and ``P(K <= k)`` with ``K ~ Binomial(n, p_s)``, averaged over ``s``.

    Examples
    --------
    >>> upper, lower = binomial_tails(3, 10, [[0.1]])
    >>> round(float(upper[0]), 6)
    0.070191
    """
    p = np.asarray(p, dtype=float)
    lower = stats.binom.cdf(np.asarray(k), np.asarray(n), p).mean(axis=0)
    return binomial_upper(k, n, p), np.minimum(lower, 1.0)


def binomial_upper(k, n, p) -> np.ndarray:
    """Return the upper tail ``P(K >= k)`` of `binomial_tails` alone (the lower costs as much)."""
    p = np.asarray(p, dtype=float)
    upper = stats.binom.sf(np.asarray(k) - 1, np.asarray(n), p).mean(axis=0)
    return np.minimum(upper, 1.0)


def jeffreys_pvalue(k, n, p) -> np.ndarray:
    """Jeffreys test p-value of a PD, mixed over samples of the PD.

    Parameters
    ----------
    k, n : array_like of int
        Observed defaults and customers.
    p : array_like, shape (n_samples, ...)
        Samples of the model's PD.

    Returns
    -------
    ndarray
        ``mean_s BetaCDF(p_s; k + 1/2, n - k + 1/2)``; small values say the PD is too low.

    Examples
    --------
    >>> round(float(jeffreys_pvalue(5, 100, [0.02])), 4)
    0.0286
    """
    p = np.asarray(p, dtype=float)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    return stats.beta.cdf(p, k + 0.5, n - k + 0.5).mean(axis=0)


def traffic_light(cumulative, levels: tuple[float, float] = (0.95, 0.9999)) -> np.ndarray:
    """Basel traffic-light zone from the cumulative probability ``P(K <= k)``.

    Parameters
    ----------
    cumulative : array_like
        ``P(K <= k)`` under the model (see `binomial_tails`, second output).
    levels : (float, float), default (0.95, 0.9999)
        Amber from the first level on, red from the second on.

    Returns
    -------
    ndarray of str
        ``"green"``, ``"amber"`` or ``"red"``.

    Examples
    --------
    >>> from scipy import stats
    >>> [str(traffic_light(stats.binom.cdf(k, 250, 0.01))) for k in (4, 5, 9, 10)]
    ['green', 'amber', 'amber', 'red']
    """
    c = np.asarray(cumulative, dtype=float)
    idx = (c >= levels[0]).astype(int) + (c >= levels[1]).astype(int)
    return np.asarray(ZONES)[idx]


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries are ignored and stay NaN).

    The family-wise error rate of "reject where the adjusted p-value is below alpha" is at most
    alpha whatever the dependence between the tests (Holm 1979).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float).reshape(-1)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def split_gof(
    observed, probabilities, *, replicates: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Pearson goodness-of-fit of one destination split with a predictive Monte Carlo p-value.

    Parameters
    ----------
    observed : array_like of int, shape (n_categories,) or (n_periods, n_categories)
        Observed counts (per period when the probabilities change with the period).
    probabilities : array_like, shape (n_samples, n_categories) or (n_samples, n_periods,
        n_categories)
        Samples of the category probabilities (rows sum to one).
    replicates : int
        Number of replicated splits; each draws a sample ``s`` at random, then counts from
        ``Multinomial(n_t, p_s,t)`` per period, summed over periods.
    rng : numpy.random.Generator

    Returns
    -------
    statistic, p_value : float
        ``X² = Σ (y - e)² / e`` over categories with expected count ``e = Σ_t n_t p̄_t > 0``
        (``p̄`` the predictive mean), and ``(1 + #{X²_rep >= X²}) / (1 + replicates)``.
        Observed and replicated splits are exchangeable draws of the same predictive
        distribution under the model, so the p-value is valid (never anti-conservative). A
        count in a category every sample gives probability 0 is impossible under the model:
        ``X² = inf``, p-value 0.
    """
    y_t = np.atleast_2d(np.asarray(observed, dtype=np.int64))  # (T, K)
    q = np.asarray(probabilities, dtype=float)
    if q.ndim == 2:
        q = q[:, None]
    n_t = y_t.sum(-1)
    y = y_t.sum(0)
    if n_t.sum() == 0:
        return 0.0, 1.0
    expected_all = (n_t[:, None] * q.mean(axis=0)).sum(0)
    live = expected_all > 0
    if (y[~live] > 0).any():
        return float("inf"), 0.0
    expected = expected_all[live]
    stat = float((((y[live] - expected) ** 2) / expected).sum())
    rows = q[rng.integers(q.shape[0], size=replicates)]  # (M, T, K)
    rows = rows / rows.sum(axis=-1, keepdims=True)
    rep = rng.multinomial(np.broadcast_to(n_t, rows.shape[:-1]), rows).sum(1)[:, live]
    rep_stat = (((rep - expected) ** 2) / expected).sum(axis=1)
    # a relative tolerance so that ties in exact arithmetic are not split by rounding
    hits = int((rep_stat >= stat * (1 - 1e-12)).sum())
    return stat, (1 + hits) / (1 + replicates)
