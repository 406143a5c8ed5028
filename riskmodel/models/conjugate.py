"""Conjugate Dirichlet–multinomial posterior of transition rows (numpy/scipy only).

With a ``Dirichlet(alpha_prior)`` prior on a row and multinomial counts ``y``, the posterior is
``Dirichlet(alpha_prior + y)``; each entry's marginal is ``Beta(alpha_j, alpha_0 - alpha_j)``.
Structural zeros are dropped from the Dirichlet (their alpha is 0 and their probability exactly 0).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from riskmodel.models._common import Estimate, transition_dataarray

__all__ = ["beta_marginal_stat", "conjugate_fit", "dirichlet_draws", "posterior_alpha"]


def posterior_alpha(counts: np.ndarray, allowed: np.ndarray, concentration: float) -> np.ndarray:
    """Posterior Dirichlet parameters.

    Parameters
    ----------
    counts : array, shape (..., n_transient, n_states)
    allowed : bool array, shape (n_transient, n_states)
        False at structural zeros.
    concentration : float
        Prior Dirichlet parameter of every allowed destination.
    """
    return np.where(allowed, concentration + np.asarray(counts, dtype=float), 0.0)


def dirichlet_draws(alpha: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` independent Dirichlet draws of every row: shape ``(n, *alpha.shape)``.

    Entries with ``alpha == 0`` are exactly 0. Draws are normalised Gamma variates; a row whose
    Gamma variates all underflow (only possible with tiny alphas) falls back to its mean.
    """
    alpha = np.asarray(alpha, dtype=float)
    g = rng.standard_gamma(np.broadcast_to(alpha, (n, *alpha.shape)))
    tot = g.sum(axis=-1, keepdims=True)
    mean = alpha / alpha.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(tot > 0, g / tot, mean)
    return out


def beta_marginal_stat(alpha: np.ndarray, stat: str | float) -> np.ndarray:
    """Mean, median or a quantile of each entry's Beta marginal; 0 where ``alpha == 0``."""
    alpha = np.asarray(alpha, dtype=float)
    a0 = alpha.sum(axis=-1, keepdims=True)
    if stat == "mean":
        return alpha / a0
    q = 0.5 if stat == "median" else float(stat)
    b = np.broadcast_to(a0, alpha.shape) - alpha
    out = np.zeros_like(alpha)
    pos = alpha > 0
    degenerate = pos & (b <= 0)  # only destination of its row: probability 1
    reg = pos & (b > 0)
    out[reg] = stats.beta.ppf(q, alpha[reg], b[reg])
    out[degenerate] = 1.0
    return out


def conjugate_fit(
    states, y, allowed, segments, *, pooling, concentration, draws, chains, rng
) -> Estimate:
    """Posterior groups of a conjugate fit (``pooling`` "none" or "complete").

    ``y`` holds the transient rows' counts, shape (n_segments, n_transient, n_states). The
    posterior Dirichlet parameters go to ``constant_data.alpha`` (analytic summaries); the
    posterior group holds ``chains x draws`` independent Dirichlet draws.
    """
    if pooling == "complete":
        y = y.sum(axis=0, keepdims=True)
    alpha = posterior_alpha(y, allowed, concentration)
    alpha = np.broadcast_to(alpha, (len(segments), *alpha.shape[1:]))
    if pooling == "complete":
        rows = dirichlet_draws(alpha[0], draws * chains, rng)
        rows = np.broadcast_to(rows[:, None], (draws * chains, *alpha.shape))
    else:
        rows = dirichlet_draws(alpha, draws * chains, rng)
    rows = rows.reshape(chains, draws, *alpha.shape)
    posterior = xr.Dataset({"transition": transition_dataarray(states, rows, segments)})
    alpha_da = xr.DataArray(
        alpha,
        dims=("segment", "origin", "to_state"),
        coords={
            "segment": list(segments),
            "origin": list(states.transient),
            "to_state": list(states.names),
        },
    )
    return Estimate(
        groups={"posterior": posterior, "constant_data": xr.Dataset({"alpha": alpha_da})},
        free=["transition"],
        diagnostics=None,
    )
