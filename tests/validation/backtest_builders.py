"""Builders of the backtest tests: conjugate posteriors and counts simulated from them."""

from __future__ import annotations

import numpy as np
from scipy import special

from riskmodel.models.draws import ParameterDraws
from riskmodel.states import LIFECYCLE


def dirichlet_draws(counts: np.ndarray, segments, *, n_draws: int, seed: int) -> ParameterDraws:
    """Conjugate posterior draws: row ``i`` ~ Dirichlet(counts[s, i] + 1/2) (Jeffreys prior).

    Cells never observed get the prior's 1/2 too, so every row is a valid simplex.
    """
    ss = LIFECYCLE
    rng = np.random.default_rng(seed)
    t = np.zeros((n_draws, len(segments), ss.n, ss.n))
    for s in range(len(segments)):
        for i in ss.transient_idx:
            t[:, s, i] = rng.dirichlet(counts[s, i] + 0.5, size=n_draws)
        for i in ss.absorbing_idx:
            t[:, s, i, i] = 1.0
    return ParameterDraws(ss, tuple(segments), t)


def power_book(segments, n_periods: int):
    """The book of test_backtest_power.py: a posterior from made-up history and the exposure.

    200 conjugate draws per segment, history thicker from segment to segment; the out-of-time
    exposure per (period, segment, origin) cell is 200 to 800 customers.
    """
    rng = np.random.default_rng(21)
    ss = LIFECYCLE
    base = np.array([[60, 25, 5, 2, 6, 2], [0, 70, 20, 3, 5, 2],
                     [0, 4, 85, 6, 4, 1], [0, 2, 10, 70, 10, 8]], dtype=float)  # fmt: skip
    hist = np.zeros((len(segments), ss.n, ss.n))
    for s in range(len(segments)):
        hist[s, ss.transient_idx] = rng.poisson(base * (40 + 30 * s))
    draws = dirichlet_draws(hist, segments, n_draws=200, seed=5)
    exposure = rng.integers(200, 800, size=(n_periods, len(segments), len(ss.transient)))
    return draws, exposure


def simulate_counts(draws: ParameterDraws, exposure: np.ndarray, *, seed: int, pd_factor=1.0):
    """Counts drawn from the posterior predictive itself, vectorised (no customer loop).

    One posterior draw ``d`` per panel; per period a systematic factor ``Z_t`` if the draws
    carry a correlation; then ``Multinomial(exposure[t, s, i], row)`` for every cell at once.
    `pd_factor` multiplies the default probabilities (the rest of each row is rescaled).

    Returns counts of shape (n_periods, n_segments, n_states, n_states) (absorbing rows zero).
    """
    ss = draws.states
    rng = np.random.default_rng(seed)
    n_t = exposure.shape[0]
    d = rng.integers(draws.n_draws)
    rows = np.broadcast_to(
        draws.transitions[d][:, ss.transient_idx], (n_t, *exposure.shape[1:], ss.n)
    )
    rows = rows.copy()
    p = rows[..., ss.default_idx]
    if draws.correlation is not None:
        rho = draws.correlation[d]
        z = rng.standard_normal(n_t)[:, None, None]
        p_new = special.ndtr((special.ndtri(p) - np.sqrt(rho) * z) / np.sqrt(1 - rho))
    else:
        p_new = p
    p_new = np.minimum(p_new * pd_factor, 0.999)
    rows *= ((1 - p_new) / (1 - p))[..., None]
    rows[..., ss.default_idx] = p_new
    out = np.zeros((n_t, exposure.shape[1], ss.n, ss.n), dtype=np.int64)
    out[:, :, ss.transient_idx] = rng.multinomial(exposure, rows)
    return out
