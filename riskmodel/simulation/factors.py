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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # the kernel imports this module
    from riskmodel.simulation.kernel import KernelInputs
    from riskmodel.simulation.tilt import FactorTilt

__all__ = ["cohort_factor", "sample_sector_factors"]

Floats = NDArray[np.float64]


def cohort_factor(inp: KernelInputs, z: Floats, t: int) -> Floats:
    """Return the factor each path's cohorts see in period `t`: (n,), or (n, C) by sector."""
    if inp.segment_factor is None:
        out: Floats = z[:, t]
        return out
    picked: Floats = z[:, t][:, inp.segment_factor[inp.cohort_segment]]
    return picked


def sample_sector_factors(
    shift: Floats,
    root: Floats,
    n_draws: int,
    rng: np.random.Generator,
    n: int,
    *,
    eps: Floats | None = None,
    tilt: FactorTilt | None = None,
) -> tuple[Floats, Floats, NDArray[np.intp]]:
    """Factor paths ``Z = shift + L ε`` (n, H, F), weights and posterior draws of a block.

    The innovations ``ε`` (n, H, F) are `eps` or the block's first draws from `rng` (then the
    tilt's uniforms and the posterior draws, as for one factor). With a `tilt` (whose
    ``direction`` is ``v``) the component ``u = v · ε`` is tilted and the rest kept.
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
        draw = rng.integers(n_draws, size=n) if n_draws > 1 else np.zeros(n, dtype=np.intp)
    z: Floats = shift + eps @ root.T
    return z, weight, draw
