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

- covariates (`riskmodel.models.intensity_covariates`): ``β_std ~ Normal(0, 1)`` per
  coefficient on the standardised covariate, i.e. a one-sd move of the covariate multiplies the
  intensity by ``e^{±1}`` at one prior sd; the reported ``beta`` (dim ``coefficient``) is
  ``β_std / sd(x)``.

Censored observations use a forward-backward pass (`forward_backward_loglik_and_grad`), also
with exactly observed transition times; uncensored ``exact_times`` panels have a closed form
(`exact_times_loglik_and_grad`).
"""

from __future__ import annotations

import numpy as np

from riskmodel.models import _common as C
from riskmodel.models.intensity_kernels import rows_kernel
from riskmodel.models.intensity_panel import PanelObservations
from riskmodel.states import StateSpace

__all__ = [
    "exact_times_loglik_and_grad",
    "fit_nuts",
    "forward_backward_loglik_and_grad",
    "loglik_and_grad",
    "panel_loglik_and_grad",
]

PRIOR_SIGMA = 2.5
TAU_SIGMA = 1.0
BETA_SIGMA = 1.0


def loglik_and_grad(
    Q: np.ndarray,
    dt: np.ndarray,
    prev: np.ndarray,
    cur: np.ndarray,
    exact: np.ndarray,
    group: np.ndarray | None = None,
    *,
    compiled: bool = True,
    weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Log-likelihood of uncensored rows and its gradient w.r.t. the generator(s).

    Rows contribute ``P(Δt)[prev, cur]`` or, where `exact`, ``(P(Δt) Q)[prev, cur]`` (see
    `riskmodel.models.intensity_likelihood`). `Q` is one generator ``(n, n)``, or one per group
    ``(G, n, n)`` with `group` giving each row's; all groups are decomposed in one batched
    ``eig``. The rows run in the compiled loop of `riskmodel.models.intensity_kernels` (numpy
    when `compiled` is False or numba is missing: the same arithmetic, vectorised). `weight`:
    how many times each row counts (identical rows merged); default once.
    """
    single = Q.ndim == 2
    Qs = Q[None] if single else Q
    grp = np.zeros(dt.size, dtype=np.intp) if group is None else group
    wt = np.ones(dt.size) if weight is None else weight
    lam, V, Vi = _eig(Qs)
    kernel = rows_kernel() if compiled else None
    if kernel is not None:
        c = np.float64 if np.isrealobj(lam) else np.complex128
        d = lam[:, :, None] - lam[:, None, :]
        small = np.abs(d) < 1e-8 / max(float(dt.max(initial=1.0)), 1.0)
        invd = np.where(small, 0.0, 1.0 / np.where(small, 1.0, d)).astype(c)
        args = (lam.astype(c), V.astype(c), Vi.astype(c), invd, small, Qs, grp, dt, prev, cur)
        value, S, direct = kernel(*args, exact, wt)
        if not np.isfinite(value):
            return value, np.zeros_like(Q)
        grad = direct + np.real(np.swapaxes(Vi, 1, 2) @ S @ np.swapaxes(V, 1, 2))
        return value, (grad[0] if single else grad)
    E = np.exp(lam[grp] * dt[:, None])  # (m, n)
    Vp = V[grp, prev]  # (m, n): row `prev` of V
    rowP = np.real(np.einsum("mi,mij->mj", Vp * E, Vi[grp]))  # P(Δt)[prev, :]
    qcol = Qs[grp, :, cur]  # (m, n): q[k, cur]
    m, n = dt.size, Qs.shape[-1]
    val = np.where(exact, np.einsum("mk,mk->m", rowP, qcol), rowP[np.arange(m), cur])
    with np.errstate(divide="ignore"):
        value = float((wt * np.log(np.maximum(val, 0.0))).sum())
    if not np.isfinite(value):
        return value, np.zeros_like(Q)
    # upstream gradient of each row's P: e_prev w^T with w = e_cur / val or q[:, cur] / val
    val = val / wt
    w = np.where(exact[:, None], qcol, np.eye(n)[cur]) / val[:, None]
    grad = np.zeros_like(Qs)
    ex = np.flatnonzero(exact)
    at = (grp[ex], slice(None), cur[ex])
    np.add.at(grad, at, rowP[ex] / val[ex, None])  # type: ignore[arg-type]  # numpy's stub: no slices
    grad += _frechet_adjoint(lam, V, Vi, grp, E, dt, Vp, w)
    return value, (grad[0] if single else grad)


def _eig(Qs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvalues, eigenvectors and their inverse of a stack of generators."""
    lam, V = np.linalg.eig(Qs)
    return lam, V, np.linalg.inv(V)


def _frechet_adjoint(lam, V, Vi, grp, E, dt, Vp, w) -> np.ndarray:
    """Sum the adjoint Fréchet derivatives of expm per group, ``(G, n, n)``.

    Per group ``g``: Σ_{r in g} Δt_r · adjoint Fréchet derivative of expm at ``Q_g Δt_r``
    applied to ``u_r w_rᵀ``, with ``Vp[r] = u_r V_g`` (row form of ``V_gᵀ u_r``):
    ``V_g⁻ᵀ S_g V_gᵀ`` where ``S_g,ij = Σ_r F_rij Vp_ri U_rj``, ``U_r = w_r V_g⁻ᵀ`` and the
    divided differences ``F_rij = (E_ri − E_rj) / (λ_i − λ_j)`` (``Δt_r E_ri`` when
    ``λ_i = λ_j``). Returns ``(G, n, n)``.
    """
    U = np.einsum("mj,mij->mi", w, Vi[grp])
    d = lam[:, :, None] - lam[:, None, :]  # (G, n, n)
    small = np.abs(d) < 1e-8 / max(float(dt.max(initial=1.0)), 1.0)
    dd = np.where(small, 1.0, d)[grp]
    F = np.where(
        small[grp], dt[:, None, None] * E[:, :, None], (E[:, :, None] - E[:, None, :]) / dd
    )
    S = np.zeros(V.shape, dtype=np.result_type(F, Vp, U))
    np.add.at(S, grp, F * Vp[:, :, None] * U[:, None, :])
    return np.real(np.swapaxes(Vi, 1, 2) @ S @ np.swapaxes(V, 1, 2))


def forward_backward_loglik_and_grad(
    Q: np.ndarray, obs: PanelObservations
) -> tuple[float, np.ndarray]:
    """Log-likelihood and gradient w.r.t. `Q` of rows with censored observations.

    `Q` is one generator ``(n, n)`` for all rows, or one per group ``(G, n, n)`` indexed by
    ``obs.segment`` (segments, or segment × covariate values). Forward (``u_r``: the normalised
    state distribution before row ``r``) and backward (``b_r = mask_r ∘ β_r``, the normalised
    likelihood of the rest of the subject's history) passes give
    ``∂ log L / ∂T_r = u_r b_rᵀ / (u_rᵀ T_r b_r)`` for the row's matrix ``T_r`` (``P(Δt)``,
    ``P(Δt) Q`` for exact-time rows, or ``diag(e^{q_aa Δt}) (Q with unit diagonal)`` for
    exactly observed transition times); the scalings cancel in the ratio. The chain rule through
    ``expm`` is the same Fréchet adjoint as in `loglik_and_grad`.
    """
    single = Q.ndim == 2
    Qs = Q[None] if single else Q
    grp = np.zeros(obs.dt.size, dtype=np.intp) if single else obs.segment
    dt = obs.dt
    m, n = dt.size, Qs.shape[-1]
    jump = np.zeros(m, dtype=bool) if obs.jump is None else obs.jump
    live = np.flatnonzero(~jump)  # rows whose matrix involves expm
    P = np.zeros((m, n, n))
    if live.size:
        lam, V, Vi = _eig(Qs)
        gl = grp[live]
        E = np.exp(lam[gl] * dt[live, None])
        P[live] = np.real(np.einsum("mij,mj,mjk->mik", V[gl], E, Vi[gl]))
    ex = np.flatnonzero(obs.exact & ~jump)
    jp = np.flatnonzero(jump)
    T = P.copy()
    T[ex] = P[ex] @ Qs[grp[ex]]
    idx = np.arange(n)
    if jp.size:
        Qj = Qs[grp[jp]].copy()
        hold = np.exp(np.diagonal(Qj, axis1=1, axis2=2) * dt[jp, None])  # e^{q_aa Δt}
        Qj[:, idx, idx] = 1.0
        T[jp] = hold[:, :, None] * Qj
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
    grad = np.zeros_like(Qs)
    # exact-time rows, T = P Q: direct term (u P)ᵀ w, and P's upstream gradient u (Q w)ᵀ
    np.add.at(grad, grp[ex], np.einsum("mi,mij,mk->mjk", u[ex], P[ex], w[ex]))
    wP = w.copy()
    wP[ex] = np.einsum("mk,mjk->mj", w[ex], Qs[grp[ex]])
    if jp.size:  # T[a, b] = e^{q_aa Δt} q[a, b] (b ≠ a), e^{q_aa Δt} (b = a)
        G = u[jp, :, None] * w[jp, None, :] * hold[:, :, None]
        Gd = np.einsum("mab,mab->ma", G, T[jp] / hold[:, :, None]) * dt[jp, None]
        G[:, idx, idx] = Gd
        np.add.at(grad, grp[jp], G)
    if live.size:
        Vp = np.einsum("mi,mij->mj", u[live], V[gl])
        grad += _frechet_adjoint(lam, V, Vi, gl, E, dt[live], Vp, wP[live])
    return value, (grad[0] if single else grad)


def panel_loglik_and_grad(obs: PanelObservations, n_groups: int):
    """``Qs (G, n, n) -> (log-likelihood, ∂/∂Qs)`` for rows grouped by ``obs.segment``.

    Uncensored panels split by group (closed forms per group); censored panels run one
    forward-backward pass over all rows (a subject may move between groups when its covariates
    change).
    """
    if obs.prev is None:
        return lambda Qs: forward_backward_loglik_and_grad(Qs, obs)
    prev, cur = obs.prev, obs.cur
    assert cur is not None  # uncensored rows have a current state
    if obs.jump is not None:
        return lambda Qs: exact_times_loglik_and_grad(Qs, obs.dt, prev, cur, obs.segment)
    # identical rows (same group, states, gap and kind) contribute identically: count them once
    key = np.column_stack([obs.segment, prev, cur, obs.exact, obs.dt])
    uniq, counts = np.unique(key, axis=0, return_counts=True)
    g, a, b = (uniq[:, i].astype(np.intp) for i in range(3))
    ex, dt, weight = uniq[:, 3].astype(bool), uniq[:, 4].copy(), counts.astype(float)
    return lambda Qs: loglik_and_grad(Qs, dt, a, b, ex, g, weight=weight)


def exact_times_loglik_and_grad(
    Q: np.ndarray,
    dt: np.ndarray,
    prev: np.ndarray,
    cur: np.ndarray,
    group: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Log-likelihood and gradient of exactly observed transition times.

    ``Σ q[a, a] Δt + Σ_{b ≠ a} log q[a, b]`` and its gradient (``Δt`` on the diagonal,
    ``1 / q[a, b]`` per observed jump); no ``expm`` needed. `Q` and `group` as in
    `loglik_and_grad`.
    """
    single = Q.ndim == 2
    Qs = Q[None] if single else Q
    g = np.zeros(dt.size, dtype=np.intp) if group is None else group
    moved = prev != cur
    jumps = Qs[g[moved], prev[moved], cur[moved]]
    with np.errstate(divide="ignore"):
        value = float((Qs[g, prev, prev] * dt).sum() + np.log(jumps).sum())
    grad = np.zeros_like(Qs)
    np.add.at(grad, (g, prev, prev), dt)
    if np.isfinite(value):
        np.add.at(grad, (g[moved], prev[moved], cur[moved]), 1.0 / jumps)
    return value, (grad[0] if single else grad)


def _op(both_fn):
    """Build a PyTensor Op: generators (G, n, n) -> total log-likelihood, with gradient.

    `both_fn` maps the generators to ``(value, gradient)``. NUTS asks for the value and the
    gradient at the same point; the last result is cached so each point costs one
    eigendecomposition per group, in one Python call.
    """
    import pytensor.tensor as pt
    from pytensor.graph.op import Op

    cache: dict[str, tuple] = {}

    def both(Qs):
        key = Qs.tobytes()
        if cache.get("key") != key:
            cache["key"], cache["out"] = key, both_fn(Qs)
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


def _grouping(obs: PanelObservations, cfg: dict, pooled: bool):
    """Group rows by (segment, covariate values).

    Returns (grouped obs, group segment, group xs, design or None).
    """
    from riskmodel.models.intensity_covariates import CovariateDesign, group_rows, grouped

    seg = np.zeros_like(obs.segment) if pooled else obs.segment
    if not cfg["covariates"]:
        n_seg = 1 if pooled else len(obs.segments)
        return grouped(obs, seg), np.arange(n_seg), np.zeros((n_seg, 0)), None
    design = CovariateDesign.from_config(cfg)
    assert obs.x is not None  # a model with covariates reads them per row
    group, g_seg, g_xs = group_rows(seg, design.standardise(obs.x))
    return grouped(obs, group), g_seg, g_xs, design


def fit_nuts(
    obs: PanelObservations, allowed: np.ndarray, states: StateSpace, cfg: dict, mc: dict
) -> tuple[dict, dict]:
    """Sample the posterior of the log intensities (and coefficients).

    Returns (groups, diagnostics).
    """
    import pymc as pm
    import pytensor.tensor as pt

    pooled = cfg["pooling"] == "complete"
    segments = ["all"] if pooled else list(obs.segments)
    cfg["segments"] = segments
    names = [f"{f}->{t}" for f, t in cfg["allowed"]]
    centre = float(-np.log(np.median(obs.dt)))
    n = states.n
    gobs, g_seg, g_xs, design = _grouping(obs, cfg, pooled)
    coords = {"segment": segments, "transition": names}
    if design is not None:
        coords["coefficient"] = list(design.coef_names)
    with pm.Model(coords=coords):
        if cfg["pooling"] == "partial":
            mu = pm.Normal("mu", centre, PRIOR_SIGMA, dims="transition")
            tau = pm.HalfNormal("tau", TAU_SIGMA, dims="transition")
            z = pm.Normal("z", 0.0, 1.0, dims=("segment", "transition"))
            log_q = pm.Deterministic("log_intensity", mu + tau * z, dims=("segment", "transition"))
        else:
            log_q = pm.Normal("log_intensity", centre, PRIOR_SIGMA, dims=("segment", "transition"))
        log_qg = log_q[g_seg]
        if design is not None:
            b_std = pm.Normal("beta_std", 0.0, BETA_SIGMA, dims="coefficient")
            pm.Deterministic("beta", b_std / design.scale[design.coef_cov], dims="coefficient")
            log_qg = log_qg + pt.dot(g_xs[:, design.coef_cov] * b_std, design.effect)
        Q = pt.zeros((len(g_seg), n, n))
        Q = pt.set_subtensor(Q[:, allowed[:, 0], allowed[:, 1]], pt.exp(log_qg))
        Q = Q - Q.sum(axis=2)[:, :, None] * np.eye(n)[None]
        pm.Potential("loglik", _op(panel_loglik_and_grad(gobs, len(g_seg)))(Q))
        idata = C.nuts(**mc)
    groups = C.mcmc_groups(idata)
    if design is not None:
        groups["posterior"] = groups["posterior"].drop_vars("beta_std")
    keep = ["log_intensity"] + (["beta"] if design is not None else [])
    diag = C.convergence_diagnostics(groups["posterior"][keep], groups.get("sample_stats"))
    return groups, diag
