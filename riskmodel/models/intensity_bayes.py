"""Bayesian `IntensityModel` fits with NUTS (PyMC), and the differentiable panel likelihood.

Matrix exponential and its gradient: eigendecomposition, ``Q = V diag(λ) V⁻¹``. A panel has
thousands of distinct gaps ``Δt``; one eigendecomposition per generator serves all of them
(``P(Δt) = V diag(e^{λΔt}) V⁻¹``), whereas ``pytensor.tensor.slinalg.expm`` (Padé with a gradient)
is one scipy call per matrix, i.e. per distinct ``Δt`` and per gradient evaluation — thousands of
calls per NUTS step. The gradient is exact: the adjoint of the Fréchet derivative of ``expm`` at
``A = QΔt`` applied to an upstream gradient ``G`` is ``V⁻ᵀ (F ∘ (Vᵀ G V⁻ᵀ)) Vᵀ`` with the divided
differences ``F_ij = (e^{λ_iΔt} − e^{λ_jΔt}) / ((λ_i − λ_j)Δt)`` (``e^{λ_iΔt}`` when equal;
Daleckii–Krein, see Higham 2008, *Functions of Matrices*, §3.1 and Thm 3.11). Each observation's
upstream gradient is rank one (``e_a e_bᵀ / P[a, b]``), so the sum over observations costs
``O(m n²)``. A generator is diagonalisable except on a set of measure zero (equal exit rates
along a chain), which NUTS does not hit.

Priors (weakly informative, in the panel's time unit): with ``c = −log(median Δt)`` (one
transition per typical observation gap, which makes the prior invariant to the time unit),

- ``pooling="none"``/``"complete"``: ``log q ~ Normal(c, 2.5)`` per segment and transition (a
  factor of 12 either way at one sd);
- ``pooling="partial"``: ``log q[s, k] = μ_k + τ_k z[s, k]``, ``μ_k ~ Normal(c, 2.5)``,
  ``τ_k ~ HalfNormal(1)``, ``z ~ Normal(0, 1)`` (non-centred).

Censored observations use a forward-backward pass (`forward_backward_loglik_and_grad`);
``exact_times`` has a closed form (`exact_times_loglik_and_grad`), not combined with censoring.
"""

from __future__ import annotations

import numpy as np

from riskmodel.errors import ArgumentError
from riskmodel.models import _common as C
from riskmodel.models.intensity_likelihood import PanelObservations
from riskmodel.states import StateSpace

__all__ = [
    "exact_times_loglik_and_grad",
    "fit_nuts",
    "forward_backward_loglik_and_grad",
    "loglik_and_grad",
]

PRIOR_SIGMA = 2.5
TAU_SIGMA = 1.0


def loglik_and_grad(
    Q: np.ndarray, dt: np.ndarray, prev: np.ndarray, cur: np.ndarray, exact: np.ndarray
) -> tuple[float, np.ndarray]:
    """Log-likelihood of uncensored rows under generator `Q` and its gradient w.r.t. `Q`.

    Rows contribute ``P(Δt)[prev, cur]`` or, where `exact`, ``(P(Δt) Q)[prev, cur]`` (see
    `riskmodel.models.intensity_likelihood`).
    """
    lam, V = np.linalg.eig(Q)
    Vi = np.linalg.inv(V)
    E = np.exp(lam[None, :] * dt[:, None])  # (m, n)
    rowP = np.real((V[prev] * E) @ Vi)  # P(Δt)[prev, :], (m, n)
    qcol = Q[:, cur].T  # (m, n): q[k, cur]
    val = np.where(exact, np.einsum("mk,mk->m", rowP, qcol), rowP[np.arange(dt.size), cur])
    with np.errstate(divide="ignore"):
        value = float(np.log(np.maximum(val, 0.0)).sum())
    if not np.isfinite(value):
        return value, np.zeros_like(Q)
    # upstream gradient of each row's P: e_prev w^T with w = e_cur / val or q[:, cur] / val
    n = Q.shape[0]
    w = np.where(exact[:, None], qcol, np.eye(n)[cur]) / val[:, None]
    grad = np.zeros_like(Q)
    ex = np.flatnonzero(exact)
    np.add.at(grad, (slice(None), cur[ex]), (rowP[ex] / val[ex, None]).T)  # direct d/dq[k, b]
    grad += _frechet_adjoint(lam, V, Vi, E, dt, V[prev], w)
    return value, grad


def _frechet_adjoint(lam, V, Vi, E, dt, Vp, w) -> np.ndarray:
    """Σ_r Δt_r · adjoint Fréchet derivative of expm at QΔt_r applied to u_r w_rᵀ, with
    ``Vp[r] = u_r V`` (row form of ``Vᵀ u_r``): ``V⁻ᵀ S Vᵀ`` where
    ``S_ij = Σ_r (E_ri − E_rj) Vp_ri U_rj / (λ_i − λ_j)`` (``Σ_r Δt_r E_ri Vp_ri U_rj`` when
    ``λ_i = λ_j``), ``U = w V⁻ᵀ``: two (n × m)(m × n) products, no (m, n, n) temporaries."""
    U = w @ Vi.T
    d = lam[:, None] - lam[None, :]
    small = np.abs(d) < 1e-8 / max(float(dt.max(initial=1.0)), 1.0)
    A = (E * Vp).T @ U - Vp.T @ (E * U)
    S = np.where(small, ((dt[:, None] * E) * Vp).T @ U, A / np.where(small, 1.0, d))
    return np.real(Vi.T @ S @ V.T)


def forward_backward_loglik_and_grad(
    Q: np.ndarray, obs: PanelObservations
) -> tuple[float, np.ndarray]:
    """Log-likelihood and gradient w.r.t. `Q` of one segment's rows with censored observations.

    Forward (``u_r``: the normalised state distribution before row ``r``) and backward
    (``b_r = mask_r ∘ β_r``, the normalised likelihood of the rest of the subject's history)
    passes give ``∂ log L / ∂T_r = u_r b_rᵀ / (u_rᵀ T_r b_r)`` for the row's matrix ``T_r``
    (``P(Δt)``, or ``P(Δt) Q`` for exact-time rows); the scalings cancel in the ratio. The chain
    rule through ``expm`` is the same Fréchet adjoint as in `loglik_and_grad`.
    """
    lam, V = np.linalg.eig(Q)
    Vi = np.linalg.inv(V)
    dt = obs.dt
    E = np.exp(lam[None, :] * dt[:, None])
    P = np.real((V[None] * E[:, None, :]) @ Vi)
    ex = np.flatnonzero(obs.exact)
    T = P.copy()
    T[ex] = P[ex] @ Q
    m, n = dt.size, Q.shape[0]
    u, b, c = np.zeros((m, n)), np.zeros((m, n)), np.zeros(m)
    alpha = obs.init.copy()
    steps = range(1, int(obs.step.max(initial=0)) + 1)
    for j in steps:
        rows = np.flatnonzero(obs.step == j)
        subs = obs.subject[rows]
        u[rows] = alpha[subs]
        v = np.einsum("mi,mij->mj", u[rows], T[rows]) * obs.mask[rows]
        c[rows] = v.sum(axis=1)
        alpha[subs] = v / np.where(c[rows] > 0, c[rows], 1.0)[:, None]
    if np.any(c <= 0):
        return -np.inf, np.zeros_like(Q)
    value = float(np.log(c).sum())
    beta = np.ones_like(obs.init)
    for j in reversed(steps):
        rows = np.flatnonzero(obs.step == j)
        subs = obs.subject[rows]
        b[rows] = obs.mask[rows] * beta[subs]
        nb = np.einsum("mij,mj->mi", T[rows], b[rows])
        beta[subs] = nb / nb.max(axis=1, keepdims=True)
    w = b / np.einsum("mi,mij,mj->m", u, T, b)[:, None]
    grad = (np.einsum("mi,mij->mj", u[ex], P[ex])).T @ w[ex]  # direct: T = P Q
    wP = w.copy()
    wP[ex] = w[ex] @ Q.T
    grad += _frechet_adjoint(lam, V, Vi, E, dt, u @ V, wP)
    return value, grad


def exact_times_loglik_and_grad(
    Q: np.ndarray, dt: np.ndarray, prev: np.ndarray, cur: np.ndarray
) -> tuple[float, np.ndarray]:
    """Exactly observed transition times: ``Σ q[a, a] Δt + Σ_{b ≠ a} log q[a, b]`` and its
    gradient (``Δt`` on the diagonal, ``1 / q[a, b]`` per observed jump); no ``expm`` needed."""
    moved = prev != cur
    with np.errstate(divide="ignore"):
        value = float((Q[prev, prev] * dt).sum() + np.log(Q[prev[moved], cur[moved]]).sum())
    grad = np.zeros_like(Q)
    np.add.at(grad, (prev, prev), dt)
    if np.isfinite(value):
        np.add.at(grad, (prev[moved], cur[moved]), 1.0 / Q[prev[moved], cur[moved]])
    return value, grad


def _op(parts: list):
    """A PyTensor Op: generators (n_segments, n, n) -> total log-likelihood, with gradient.

    `parts` holds each segment's function ``Q -> (value, gradient)``. NUTS asks for the value
    and the gradient at the same point; the last result is cached so each point costs one
    eigendecomposition per segment, in one Python call.
    """
    import pytensor.tensor as pt
    from pytensor.graph.op import Op

    cache: dict[str, tuple] = {}

    def both(Qs):
        key = Qs.tobytes()
        if cache.get("key") != key:
            out = [part(Q) for Q, part in zip(Qs, parts, strict=True)]
            value = sum(v for v, _ in out)
            cache["key"], cache["out"] = key, (value, np.stack([g for _, g in out]))
        return cache["out"]

    class LogLikGrad(Op):
        itypes, otypes = [pt.dtensor3], [pt.dtensor3]

        def perform(self, node, inputs, outputs):
            outputs[0][0] = both(inputs[0])[1]

    grad_op = LogLikGrad()

    class LogLik(Op):
        itypes, otypes = [pt.dtensor3], [pt.dscalar]

        def perform(self, node, inputs, outputs):
            outputs[0][0] = np.asarray(both(inputs[0])[0])

        def grad(self, inputs, output_grads):
            return [output_grads[0] * grad_op(inputs[0])]

    return LogLik()


def _segment_function(obs: PanelObservations, s: int, pooled: bool):
    """``Q -> (log-likelihood, gradient)`` for segment `s` (all rows when `pooled`)."""
    from riskmodel.models.intensity_mle import _pool, _segment

    sub = _pool(obs) if pooled else _segment(obs, s)
    if sub.jump is not None:  # exact_times: every row is a jump (or the end of follow-up)
        return lambda Q: exact_times_loglik_and_grad(Q, sub.dt, sub.prev, sub.cur)
    if sub.prev is None:  # censored observations: forward-backward
        return lambda Q: forward_backward_loglik_and_grad(Q, sub)
    return lambda Q: loglik_and_grad(Q, sub.dt, sub.prev, sub.cur, sub.exact)


def fit_nuts(
    obs: PanelObservations, allowed: np.ndarray, states: StateSpace, cfg: dict, mc: dict
) -> tuple[dict, dict]:
    """Sample the posterior of the log intensities; return (groups, diagnostics)."""
    if obs.jump is not None and obs.prev is None:
        raise ArgumentError(
            "method='nuts' does not support exact_times with censored observations; fit "
            "with method='mle' or drop the censored codes."
        )
    import pymc as pm
    import pytensor.tensor as pt

    pooled = cfg["pooling"] == "complete"
    segments = ["all"] if pooled else list(obs.segments)
    cfg["segments"] = segments
    names = [f"{f}->{t}" for f, t in cfg["allowed"]]
    centre = float(-np.log(np.median(obs.dt)))
    n = states.n
    coords = {"segment": segments, "transition": names}
    with pm.Model(coords=coords):
        if cfg["pooling"] == "partial":
            mu = pm.Normal("mu", centre, PRIOR_SIGMA, dims="transition")
            tau = pm.HalfNormal("tau", TAU_SIGMA, dims="transition")
            z = pm.Normal("z", 0.0, 1.0, dims=("segment", "transition"))
            log_q = pm.Deterministic("log_intensity", mu + tau * z, dims=("segment", "transition"))
        else:
            log_q = pm.Normal("log_intensity", centre, PRIOR_SIGMA, dims=("segment", "transition"))
        Q = pt.zeros((len(segments), n, n))
        Q = pt.set_subtensor(Q[:, allowed[:, 0], allowed[:, 1]], pt.exp(log_q))
        Q = Q - Q.sum(axis=2)[:, :, None] * np.eye(n)[None]
        parts = [_segment_function(obs, s, pooled) for s in range(len(segments))]
        pm.Potential("loglik", _op(parts)(Q))
        idata = C.nuts(**mc)
    groups = C.mcmc_groups(idata)
    diag = C.convergence_diagnostics(
        groups["posterior"][["log_intensity"]], groups.get("sample_stats")
    )
    return groups, diag
