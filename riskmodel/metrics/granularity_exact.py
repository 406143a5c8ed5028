"""Exact one-period VaR of a large pool plus a few named exposures: the oracle of the GA.

The book: a homogeneous pool (exposure ``E_P``, PD ``p_P``, LGD mean ``m_P``) treated in the
large-pool limit, its loss given the factor ``x`` the deterministic ``μ_P(x) = E_P m_P p_P(x)``,
plus ``N`` named exposures, each defaulting independently given ``x`` with ``p_i(x)`` and losing
``E_i × LGD_i`` (fixed, or Beta with the given mean and sd). Then

``P(L ≤ ℓ) = ∫ h(x) P(L_names ≤ ℓ − μ_P(x) | x) dx = Σ_k ∫_{x*(ℓ − kδ)}^{∞} h(x) π_k(x) dx``

with ``π_k(x)`` the probability that the names lose ``kδ`` given ``x`` (a lattice of step ``δ``)
and ``x*(y)`` the factor at which the pool loses ``y`` (closed form: ``μ_P`` is a Vasicek map).
``π(x)`` is the convolution of the names' conditional loss laws, done as a product of their
discrete Fourier transforms; each name's loss given default is put on the lattice with the
Beta's probability of each cell ``[(k − ½)δ, (k + ½)δ)``, so a fixed LGD whose loss is a lattice
point is exact. The ``x``-integral is a cumulative trapezoid rule on a grid of step ``dx`` over
``[-8, 8]`` (linear interpolation at ``x*``); the quantile is found by Brent's method.

Errors: the lattice (``O(δ²)`` in the mean for a Beta LGD, none for lattice-point fixed LGDs),
the ``x`` grid (``O(dx²)``) and the pool's own idiosyncratic noise, left out: its effect on the
quantile is the pool's own granularity adjustment, ``granularity_adjustment`` with
``customers = n``, of order ``1/n``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats
from scipy.optimize import brentq
from scipy.special import ndtri

from riskmodel.errors import ArgumentError
from riskmodel.metrics.granularity import vasicek_pd_derivatives

__all__ = ["exact_pool_and_names_var"]

Floats = NDArray[np.float64]


def _cell_masses(exposure: float, mean: float, sd: float, delta: float, size: int) -> Floats:
    """Put the loss given default of one name on the lattice ``kδ``, ``k = 0 … size − 1``."""
    out = np.zeros(size)
    if sd == 0.0:
        k = round(exposure * mean / delta)
        out[k] = 1.0
        return out
    kappa = mean * (1.0 - mean) / sd**2 - 1.0
    edges = (np.arange(size + 1) - 0.5) * delta / exposure
    cdf = stats.beta.cdf(np.clip(edges, 0.0, 1.0), mean * kappa, (1.0 - mean) * kappa)
    out[:] = np.diff(cdf)
    return out


def exact_pool_and_names_var(
    pool: tuple[float, float, float],
    names: ArrayLike,
    correlation: float,
    levels: ArrayLike,
    *,
    lgd_sd: float = 0.0,
    cells: int = 4096,
    dx: float = 0.01,
) -> Floats:
    """VaR of a large pool plus named exposures, by convolution and quadrature.

    Parameters
    ----------
    pool : tuple of float
        ``(exposure, pd, lgd_mean)`` of the pool (large-pool limit); exposure 0 for none.
    names : array_like, shape (N, 3)
        ``(exposure, pd, lgd_mean)`` per name.
    correlation : float
        Asset correlation of every entry, in (0, 1).
    levels : array_like
        VaR levels in (0, 1).
    lgd_sd : float, default 0.0
        sd of every name's Beta LGD; 0 = fixed LGD, whose loss ``E_i m_i`` is rounded to the
        nearest lattice point ``kδ``, ``δ = Σ E_i / (cells − 1)`` (exact when it is one).
    cells : int, default 4096
        Lattice cells over the names' largest loss ``Σ E_i``.
    dx : float, default 0.01
        Step of the factor grid.

    Returns
    -------
    ndarray
        VaR per level.

    Examples
    --------
    >>> names = [(1.0, 0.02, 0.45)] * 5
    >>> v = exact_pool_and_names_var((100.0, 0.02, 0.45), names, 0.12, [0.999], cells=256)
    >>> round(float(v[0]), 2)  # the ASRF VaR of the 105 is 6.96
    7.01
    """
    arr = np.atleast_2d(np.asarray(names, dtype=float))
    if arr.shape[1] != 3:
        raise ArgumentError(f"`names` must have shape (N, 3); got {arr.shape}.")
    e_pool, p_pool, m_pool = pool
    delta = float(arr[:, 0].sum()) / (cells - 1) if arr.size else 1.0
    size = 2 * cells  # zero padding: the circular convolution does not wrap
    x = np.arange(-8.0, 8.0 + dx / 2, dx)
    spectrum = np.ones((x.size, size // 2 + 1), dtype=complex)
    for e, p, m in arr:
        g = np.fft.rfft(_cell_masses(e, m, lgd_sd, delta, size))
        px = vasicek_pd_derivatives(p, correlation, x)[0][:, None]
        spectrum *= 1.0 - px + px * g[None, :]
    pmf = np.clip(np.fft.irfft(spectrum, n=size, axis=1)[:, :cells], 0.0, None)
    dens = pmf * np.exp(-0.5 * x * x)[:, None] / np.sqrt(2.0 * np.pi)
    # tail[j, k] = ∫_{x_j}^{8} h π_k dx (cumulative trapezoid from the right)
    steps = 0.5 * dx * (dens[1:] + dens[:-1])
    tail = np.vstack([np.cumsum(steps[::-1], axis=0)[::-1], np.zeros((1, cells))])
    lattice = np.arange(cells, dtype=float) * delta
    a, sr = float(ndtri(p_pool)) if e_pool > 0 else 0.0, np.sqrt(correlation)

    def x_star(y: Floats) -> Floats:
        """Factor at which the pool loses ``y``; ±inf outside (0, E m)."""
        if e_pool <= 0.0:
            return np.where(y >= 0.0, -np.inf, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.clip(y / (e_pool * m_pool), 0.0, 1.0)
            return np.asarray((a - np.sqrt(1.0 - correlation) * ndtri(share)) / sr)

    cols = np.arange(cells)

    def cdf(level_loss: float) -> float:
        t = np.clip(x_star(np.asarray(level_loss - lattice, dtype=float)), x[0], x[-1])
        pos = (t - x[0]) / dx
        j = np.minimum(pos.astype(int), x.size - 2)
        w = pos - j
        vals = (1.0 - w) * tail[j, cols] + w * tail[j + 1, cols]
        return float(vals.sum())

    top = e_pool * m_pool + float(arr[:, 0].sum()) + delta
    out = [
        brentq(lambda v, q=q: cdf(v) - q, 0.0, top, xtol=1e-9 * top)
        for q in np.atleast_1d(np.asarray(levels, dtype=float))
    ]
    return np.array(out, dtype=float)
