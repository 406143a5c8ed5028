"""Compiled row loop of the panel log-likelihood and its exact gradient (numba).

The likelihood of an uncensored panel is a sum over rows of ``log P_g(Δt)[a, b]`` (or
``log (P_g(Δt) Q_g)[a, b]`` for exact-time rows), with ``P_g(Δt) = V_g diag(e^{λ_g Δt}) V_g⁻¹``
from one eigendecomposition per group ``g`` (segment × covariate values). Its gradient w.r.t.
``Q_g`` is ``V_g⁻ᵀ S_g V_g⁻ᵀ``-type sums of rank-one terms (see
`riskmodel.models.intensity_bayes._frechet_adjoint`). Per row this is ``O(n²)`` work on
``n``-vectors; in numpy every step is a separate pass over (rows × n × n) temporaries, which
dominated a NUTS fit (~1.7 ms per gradient on R msm's ``cav`` panel, 2,224 rows). This loop does
the same arithmetic row by row in one compiled pass (~20 µs). `rows_kernel` returns ``None``
when numba cannot be imported, and the caller falls back to numpy; the two are tested equal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rows_kernel"]

_KERNEL = None


def rows_kernel():
    """Return the compiled kernel (compiled on first use, cached on disk by numba), or None."""
    global _KERNEL
    if _KERNEL is None:
        try:
            import numba
        except ImportError:  # pragma: no cover - numba comes with PyTensor
            _KERNEL = False
        else:
            _KERNEL = numba.njit(cache=True, nogil=True)(_rows)
    return _KERNEL or None


def _rows(lam, V, Vi, invd, small, Qs, grp, dt, prev, cur, exact, weight):  # pragma: no cover
    """Return the value, ``S`` (G, n, n) and the direct exact-row term (G, n, n).

    ``S_g,ij = Σ_{r in g} F_rij Vp_ri U_rj`` with ``Vp_r = V_g[a_r, :]``, ``U_r = V_g⁻¹ w_r``,
    ``w_r`` the upstream gradient of row ``r``'s ``P`` row (``e_b / val`` or ``q[:, b] / val``,
    times the row's `weight`: identical rows merged) and the divided differences
    ``F_rij = (E_ri − E_rj) invd_gij`` (``Δt_r E_ri`` where `small`); the caller forms
    ``V_g⁻ᵀ S_g V_gᵀ``. Real eigenvalues (the usual case) run in real arithmetic: numba
    compiles one version per dtype of `lam` (float64 or complex128).
    """
    G, n = lam.shape
    zero = lam[0, 0] * 0.0
    S = np.zeros((G, n, n), dtype=lam.dtype)
    direct = np.zeros((G, n, n))
    E = np.empty(n, dtype=lam.dtype)
    Vp = np.empty(n, dtype=lam.dtype)
    U = np.empty(n, dtype=lam.dtype)
    rowP = np.empty(n)
    w = np.empty(n)
    value = 0.0
    for r in range(dt.size):
        g, a, b, t = grp[r], prev[r], cur[r], dt[r]
        for i in range(n):
            E[i] = np.exp(lam[g, i] * t)
            Vp[i] = V[g, a, i] * E[i]
        for j in range(n):
            acc = zero
            for i in range(n):
                acc += Vp[i] * Vi[g, i, j]
            rowP[j] = acc.real
        for i in range(n):
            Vp[i] = V[g, a, i]
        if exact[r]:
            val = 0.0
            for k in range(n):
                val += rowP[k] * Qs[g, k, b]
        else:
            val = rowP[b]
        if not val > 0.0:
            return -np.inf, S, direct
        value += weight[r] * np.log(val)
        val /= weight[r]
        for j in range(n):
            if exact[r]:
                w[j] = Qs[g, j, b] / val
                direct[g, j, b] += rowP[j] / val
            else:
                w[j] = 1.0 / val if j == b else 0.0
        for i in range(n):
            acc = zero
            if exact[r]:
                for j in range(n):
                    acc += Vi[g, i, j] * w[j]
            else:
                acc += Vi[g, i, b] * w[b]
            U[i] = acc
        for i in range(n):
            for j in range(n):
                if small[g, i, j]:
                    F = t * E[i]
                else:
                    F = (E[i] - E[j]) * invd[g, i, j]
                S[g, i, j] += F * Vp[i] * U[j]
    return value, S, direct
