"""Sector factors in the engine: correlated factor paths and the direction the tilt samples along.

With ``F`` sector factors (`riskmodel.scenarios.factors`) the factors of period ``t`` are
``Z_t = shift_t + L ε_t`` with ``ε_t ~ N(0, I_F)`` independent over periods and ``L Lᵀ`` the
factor correlation; segment ``s`` sees its own factor ``Z_{t, f(s)}`` with its own asset
correlation ``ρ_s``. The one-factor model is the case without these arrays (``factor_root``
None), and keeps its code path and its random stream.

Importance sampling along one direction
---------------------------------------
The one-dimensional designs (`riskmodel.simulation.tilt`) are applied to ``u_t = v · ε_t`` for a
unit vector ``v ∈ R^F``; the components of ``ε_t`` orthogonal to ``v`` stay standard normal and
independent of ``u``, so the likelihood ratio of a path is that of its ``u`` alone, exact for
any ``v``. ``v`` is the direction in which the large-pool loss grows fastest at the scenario's
central path, ``v ∝ −Lᵀ ∇`` with ``∇_f`` the derivative of the large-pool loss with respect to
factor ``f`` moved in every period (`riskmodel.simulation.tilt.factor_direction`; for one
factor ``v = 1``). Along ``v`` the factors move by ``a = L v`` per unit of ``u``.

Mean shifts of the innovations
------------------------------
The designs ``shift`` and ``mixture`` (`riskmodel.simulation.importance`) shift all of ``ε``:
a mean ``μ ∈ R^{H×F}``, or a mixture of such means, with the one-factor likelihood ratios on the
flattened ``R^{H·F}`` (`shifted_innovations`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # the kernel imports this module
    from riskmodel.simulation.kernel import KernelInputs
    from riskmodel.simulation.tilt import FactorTilt

__all__ = [
    "cohort_factor",
    "mixture_innovations",
    "sample_sector_factors",
    "shift_weight",
    "shifted_innovations",
]

Floats = NDArray[np.float64]


def cohort_factor(inp: KernelInputs, z: Floats, t: int) -> Floats:
    """Return the factor each path's cohorts see in period `t`: (n,), or (n, C) by sector."""
    if inp.segment_factor is None:
        out: Floats = z[:, t]
        return out
    picked: Floats = z[:, t][:, inp.segment_factor[inp.cohort_segment]]
    return picked


def shift_weight(eps: Floats, mu: Floats) -> Floats:
    """Return the likelihood ratio of ``N(0, I)`` against ``N(mu, I)`` at ``eps + mu``.

    `eps` (n, d) standard normal, `mu` (d,).
    """
    weight: Floats = np.exp(-(eps @ mu) - 0.5 * float(mu @ mu))
    return weight


def mixture_innovations(
    eps: Floats, rng: np.random.Generator, means: Floats, probs: Floats
) -> tuple[Floats, Floats]:
    """Innovations and weights of a defensive mixture: component m with probability π_m.

    `eps` (n, d) standard normal, `means` (M, d): each path draws its component from `rng` and
    is shifted by its mean; the weight is ``1 / Σ_m π_m exp(μ_m·y − |μ_m|²/2)`` at the shifted
    ``y``.
    """
    comp = rng.choice(len(probs), size=len(eps), p=probs)
    y: Floats = means[comp] + eps
    log_terms = np.log(probs)[None] + y @ means.T - 0.5 * np.sum(means**2, axis=1)[None]
    top = log_terms.max(axis=1, keepdims=True)
    log_q = top[:, 0] + np.log(np.exp(log_terms - top).sum(axis=1))
    weight: Floats = np.exp(-log_q)
    return y, weight


def shifted_innovations(
    eps: Floats, rng: np.random.Generator, z_mean: Floats, z_prob: Floats | None
) -> tuple[Floats, Floats]:
    """Sector innovations (n, H, F) shifted by a mean (H, F) or a mixture of means (M, H, F).

    The innovations are flattened to ``R^{H·F}``, where the model's law is standard normal, so
    the likelihood ratios are the one-factor ones (`shift_weight`, `mixture_innovations`).
    """
    n = eps.shape[0]
    flat = eps.reshape(n, -1)
    means = np.asarray(z_mean, dtype=float)
    if means.shape == eps.shape[1:]:
        mu = means.reshape(-1)
        return (flat + mu).reshape(eps.shape), shift_weight(flat, mu)
    if z_prob is None or means.shape != (len(z_prob), *eps.shape[1:]):
        raise ValueError(
            f"`z_mean` must have shape {eps.shape[1:]} (one shift) or (M, *that) with M "
            f"mixture probabilities `z_prob`; got {means.shape}."
        )
    probs = np.asarray(z_prob, dtype=float)
    y, weight = mixture_innovations(flat, rng, means.reshape(len(probs), -1), probs)
    return y.reshape(eps.shape), weight


def sample_sector_factors(
    shift: Floats,
    root: Floats,
    n_draws: int,
    rng: np.random.Generator,
    n: int,
    *,
    eps: Floats | None = None,
    tilt: FactorTilt | None = None,
    z_mean: Floats | None = None,
    z_prob: Floats | None = None,
) -> tuple[Floats, Floats, NDArray[np.intp]]:
    """Factor paths ``Z = shift + L ε`` (n, H, F), weights and posterior draws of a block.

    The innovations ``ε`` (n, H, F) are `eps` or the block's first draws from `rng` (then the
    tilt's uniforms or the mixture's components, and the posterior draws, as for one factor).
    With a `tilt` (whose ``direction`` is ``v``) the component ``u = v · ε`` is tilted and the
    rest kept; with `z_mean` the innovations are shifted by it, (H, F), or by a mixture of
    means (M, H, F) with probabilities `z_prob` (`shifted_innovations`).
    """
    h, f = shift.shape
    if eps is None:
        eps = rng.standard_normal((n, h, f))
    elif eps.shape != (n, h, f):
        raise ValueError(f"`eps` must have shape ({n}, {h}, {f}); got {eps.shape}.")
    if tilt is not None:
        if tilt.direction is None:
            raise ValueError("a tilt for sector factors needs its direction (`factor_tilt`).")
        u = eps @ tilt.direction
        y, weight, draw = tilt.sample(u, rng, n_draws)
        eps = eps + (y - u)[..., None] * tilt.direction
    else:
        weight = np.ones(n)
        if z_mean is not None:
            eps, weight = shifted_innovations(eps, rng, z_mean, z_prob)
        draw = rng.integers(n_draws, size=n) if n_draws > 1 else np.zeros(n, dtype=np.intp)
    z: Floats = shift + eps @ root.T
    return z, weight, draw
