"""Importance sampling of the systematic factor path (Glasserman & Li style mean shift).

The factor path ``Z = (Z_1, …, Z_H)`` is drawn from ``N(shift + μ, I)`` instead of
``N(shift, I)`` and each path carries the likelihood ratio ``exp(−μ·ε − |μ|²/2)`` (``ε`` the
standard-normal innovation), so every weighted estimator stays unbiased.

Choosing μ from the problem
---------------------------
Glasserman & Li (2005) shift the factor to the most likely point of the loss tail,
``argmax_z {log P(L > x | z) − |z|²/2}``. Under the large-pool limit the loss given the factor path
is (nearly) deterministic, ``L̄(z)``: the conditional expected loss obtained by propagating the
expected occupancy through the conditional matrices ``M(z_t)``. The tail event at level ``q`` then
corresponds to the factor paths of Mahalanobis length ``β = Φ⁻¹(q)`` that maximise ``L̄`` — the
design point of first-order reliability methods. It solves ``z = β ∇L̄(z)/|∇L̄(z)|`` and is found
by fixed-point iteration with finite-difference gradients (cheap: one vectorised propagation of
H + 1 factor paths per iteration). For a loss linear in ``z`` the design point is exactly
``β ∇L̄/|∇L̄|``, the Glasserman–Li shift.

Why the sphere and not the closest point of the tail surface: the large-pool loss is convex in each
period's factor, so the point closest to the origin on ``{L̄ = x_q}`` is a corner — a crash in a
single period — and the tail is a union of such corners and broad downturns. A single mean shift
to one corner starves the others (measured: effective sample size 5–50 of 8,192 on the 60-period
benchmark), while the broad-downturn direction on the sphere keeps the weights tame. The full
shift still over-weights the extreme tail, so the engine uses a damped shift ``μ = d · z*``
(default ``d = 0.5``); ``benchmarks/tail.py`` measures the variance reduction of VaR and ES
against plain Monte Carlo at equal run time.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from riskmodel.simulation.kernel import KernelInputs

__all__ = ["DEFAULT_DAMPING", "design_point", "large_pool_loss", "tail_mixture", "tail_shift"]

DEFAULT_DAMPING = 0.5


def large_pool_loss(inp: KernelInputs, z: np.ndarray) -> np.ndarray:
    """Conditional expected loss given factor paths, under the large-pool limit.

    Parameters
    ----------
    inp : KernelInputs
        Uses the posterior-mean matrices ``inp.transitions_mean`` and the mean correlation.
    z : array, shape (m, H)
        Factor paths (including the scenario shift).

    Returns
    -------
    array, shape (m,)
        ``E[L | Z = z]`` with the LGD at its mean.
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    m, h = z.shape
    p = inp.transitions_mean  # (T, S, K, K)
    rho = float(np.mean(inp.correlation))
    d_idx = inp.default_idx
    seg = inp.cohort_segment
    n_c = len(seg)
    occ = np.zeros((m, n_c, inp.n_states))
    occ[:, np.arange(n_c), inp.transient_idx[inp.cohort_state]] = inp.customers
    value = inp.ead * inp.lgd_mean  # loss per defaulting customer, per cohort
    loss = np.zeros(m)
    for t in range(h):
        pt = p[t if p.shape[0] > 1 else 0][seg]  # (C, K, K)
        pd = pt[..., d_idx]  # (C, K)
        with np.errstate(divide="ignore"):
            a = ndtri(pd)
        pdz = ndtr((a[None] - np.sqrt(rho) * z[:, t, None, None]) / np.sqrt(1.0 - rho))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(pd < 1.0, (1.0 - pdz) / (1.0 - pd), 0.0)  # (m, C, K)
        cond = pt[None] * scale[..., None]
        cond[..., d_idx] = pdz
        absorbing = np.ones(inp.n_states, dtype=bool)
        absorbing[inp.transient_idx] = False
        cond[:, :, absorbing, :] = 0.0
        cond[:, :, absorbing, absorbing] = 1.0
        flows_d = np.einsum("mck,mck->mc", occ, np.where(absorbing[None, None], 0.0, pdz))
        loss += flows_d @ value
        occ = np.einsum("mck,mckj->mcj", occ, cond)
    return loss


def design_point(
    inp: KernelInputs, level: float, *, tol: float = 1e-3, max_iter: int = 30
) -> np.ndarray:
    """The innovation ``z*`` with ``|z*| = Φ⁻¹(level)`` that maximises the large-pool loss.

    Solves ``z = β ∇L̄(z)/|∇L̄(z)|`` by fixed-point iteration with finite-difference gradients
    (one vectorised propagation of H + 1 factor paths per step). The iteration converges
    linearly; it stops when a step moves ``z`` by less than ``tol · β`` (the loss is then
    stationary to about 1e-6 relative), and halves a step that would lower the loss.
    Returns zeros if the loss does not move with the factor (e.g. zero correlation).
    """
    h = inp.horizon
    beta = float(ndtri(level))
    step = 1e-4
    eye = np.eye(h) * step

    def value_and_grad(x):
        f = large_pool_loss(inp, inp.shift + np.vstack([x[None], x[None] + eye]))
        return f[0], (f[1:] - f[0]) / step

    x = np.zeros(h)
    f, g = value_and_grad(x)
    for _ in range(max_iter):
        norm = np.linalg.norm(g)
        if not np.isfinite(norm) or norm <= 0:
            return np.zeros(h)
        new = beta * g / norm
        f_new, g_new = value_and_grad(new)
        if f_new < f and np.any(x):  # overshoot: halve the step, back onto the sphere
            mid = x + new
            new = beta * mid / np.linalg.norm(mid)
            f_new, g_new = value_and_grad(new)
        moved = np.linalg.norm(new - x)
        x, f, g = new, f_new, g_new
        if moved < tol * beta:
            break
    return x


def tail_shift(
    inp: KernelInputs,
    level: float,
    *,
    damping: float = DEFAULT_DAMPING,
) -> np.ndarray:
    """The importance-sampling mean shift μ for a run whose highest risk level is `level`.

    Parameters
    ----------
    inp : KernelInputs
    level : float
        The tail level to aim at, e.g. 0.999.
    damping : float
        Fraction of the design point to use, in [0, 1]; 0 turns importance sampling off.

    Returns
    -------
    array, shape (H,)
    """
    if not 0.0 <= damping <= 1.0:
        raise ValueError(f"`damping` must be in [0, 1]; got {damping}.")
    if not 0.5 < level < 1.0:
        raise ValueError(f"the importance-sampling level must be in (0.5, 1); got {level}.")
    return damping * design_point(inp, level)


def crash_sizes(inp: KernelInputs, target: float, *, max_size: float = 8.0) -> np.ndarray:
    """Per period t, the single-period factor drop ``c_t`` with ``L̄(shift − c_t e_t) = target``.

    Bisection on all periods at once (one vectorised propagation of H paths per step). Periods
    whose largest drop `max_size` cannot reach the target get `max_size`.
    """
    h = inp.horizon
    lo, hi = np.zeros(h), np.full(h, max_size)
    eye = np.eye(h)
    for _ in range(16):  # precision max_size / 2**16: far below what the weights notice
        mid = 0.5 * (lo + hi)
        f = large_pool_loss(inp, inp.shift - mid[:, None] * eye)
        below = f < target
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return hi


def tail_mixture(
    inp: KernelInputs,
    level: float,
    *,
    damping: float = DEFAULT_DAMPING,
    p_plain: float = 0.1,
    p_broad: float = 0.45,
) -> tuple[np.ndarray, np.ndarray]:
    """A defensive mixture of mean shifts: no shift, the broad downturn, and one crash per period.

    The tail of a loss that is convex in each period's factor is a union of broad downturns
    (the design point on the sphere) and single-period crashes; one mean shift starves the
    other mode. Component 0 has no shift (probability `p_plain`, which bounds every weight by
    ``1/p_plain``), component 1 the damped design point (`p_broad`), and components 2…H+1 a damped
    crash ``−c_t e_t`` in period t (sharing the rest equally), with ``c_t`` reaching the same
    large-pool loss as the design point (`crash_sizes`). The default weights were chosen on the
    60-period benchmark (exact engine, 30 replicates of 4,096 paths, `benchmarks/tail.py`):
    `p_broad` 0.45 gave variance reductions of 31× (ES 99.9%) and 16× (VaR 99.9%) at equal run
    time, `p_broad` 0.6 gave 26× and 9× (a large-pool-only comparison had favoured 0.6).

    Returns
    -------
    means : array, shape (H + 2, H)
    probs : array, shape (H + 2,)
    """
    h = inp.horizon
    broad = design_point(inp, level)
    if not np.any(broad):
        return np.zeros((1, h)), np.ones(1)
    target = float(large_pool_loss(inp, (inp.shift + broad)[None])[0])
    crash = crash_sizes(inp, target)
    means = np.vstack([np.zeros(h), damping * broad, -damping * np.diag(crash)])
    probs = np.concatenate([[p_plain, p_broad], np.full(h, (1.0 - p_plain - p_broad) / h)])
    return means, probs
