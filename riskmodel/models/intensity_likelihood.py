"""Likelihood of a continuous-time multi-state model for panels observed at arbitrary times.

A homogeneous Markov process on ``n`` states has a generator ``Q`` (off-diagonals ``q[a, b] >= 0``
on the allowed transitions, zero elsewhere; rows sum to zero). Its transition matrix over an
interval of length ``Δt`` is ``P(Δt) = expm(Q Δt)``.

For each subject, sorted by time, the observations ``(t_0, S_0), (t_1, S_1), …`` contribute, given
the first (the likelihood conditions on the first observed state, as R's msm does, so the first
observation need not be at time 0 and only time differences matter):

- **panel observation** of state ``b`` at ``t_j``: ``P(Δt_j)[a, b]``;
- **censored observation**, the state only known to lie in a set ``S``: ``Σ_{b ∈ S} P(Δt_j)[a, b]``;
- **exactly observed transition times** (the process is watched continuously, ``exact_times``):
  the subject stays in ``a`` for ``Δt_j`` and then jumps to ``b`` at ``t_j``:
  ``exp(q[a, a] Δt_j) q[a, b]``, or ``exp(q[a, a] Δt_j)`` when ``b = a`` (still in ``a`` when the
  follow-up ends);
- **exact-time entry** into an absorbing state ``b`` (death, default, closure with a known date):
  the state is unknown just before ``t_j`` and the jump happens at ``t_j``, so the contribution is
  the density ``Σ_k P(Δt_j)[a, k] q[k, b] = (P(Δt_j) Q)[a, b]`` (the ``k = b`` term is zero because
  an absorbing row of ``Q`` is zero); this is the derivative of ``P(t)[a, b]`` at ``t = Δt_j``
  (Kolmogorov forward equation ``P' = P Q``).

Because censored states leave the current state uncertain, the subject's likelihood is computed
with the forward algorithm: ``α_0 = 1_{S_0}``, ``α_j = (α_{j-1} P(Δt_j) [Q if exact]) ∘ 1_{S_j}``,
likelihood ``Σ α_J``. Without censoring ``α_j`` is one-hot and this is the product of the entries
above. Every step is vectorised over all subjects at once (step ``j`` of every subject together).

``P(Δt)`` for every row comes from one eigendecomposition per generator, ``Q = V diag(λ) V⁻¹``,
``P(Δt) = V diag(exp(λ Δt)) V⁻¹``; when ``V`` is ill conditioned (a defective or nearly defective
``Q``, e.g. equal diagonal entries in a chain) it falls back to ``scipy.linalg.expm`` once per
distinct ``Δt``.

The panel's checks and its form for this likelihood (`PanelObservations`, `prepare_panel`) live in
`riskmodel.models.intensity_panel`, the model's config (`model_config`) in
`riskmodel.models.intensity_config`; both are re-exported here.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sl

from riskmodel.models.intensity_config import model_config
from riskmodel.models.intensity_panel import PanelObservations, prepare_panel

__all__ = [
    "PanelObservations",
    "expm_batch",
    "generator_matrix",
    "loglik",
    "model_config",
    "prepare_panel",
    "transition_probs",
]

COND_MAX = 1e6
"""Eigenvector condition number past which `transition_probs` falls back to ``expm``."""


def generator_matrix(log_q: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
    """Build the generator from log intensities.

    Parameters
    ----------
    log_q : (..., k) array
        Log intensities of the allowed transitions, in the order of `allowed`.
    allowed : (k, 2) int array
        ``(from, to)`` state indices of the allowed transitions.
    n : int
        Number of states.

    Returns
    -------
    (..., n, n) array
        Off-diagonals ``exp(log_q)`` at the allowed positions, zero elsewhere; rows sum to zero.
    """
    log_q = np.asarray(log_q, dtype=float)
    Q = np.zeros((*log_q.shape[:-1], n, n))
    Q[..., allowed[:, 0], allowed[:, 1]] = np.exp(log_q)
    idx = np.arange(n)
    Q[..., idx, idx] = -Q.sum(axis=-1) + 0.0  # + 0.0: absorbing rows get 0, not -0
    return Q


def transition_probs(Q: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """``expm(Q Δt)`` for every ``Δt`` in `dt`: shape ``(len(dt), n, n)``."""
    dt = np.asarray(dt, dtype=float)
    lam, V = np.linalg.eig(Q)
    if np.linalg.cond(V) < COND_MAX:
        Vinv = np.linalg.inv(V)
        P = (V[None] * np.exp(lam[None, :] * dt[:, None])[:, None, :]) @ Vinv
        P = P.real
    else:
        uniq, inv = np.unique(dt, return_inverse=True)
        P = np.stack([sl.expm(Q * t) for t in uniq])[inv]
    return np.clip(P, 0.0, 1.0)


def expm_batch(A: np.ndarray) -> np.ndarray:
    """``expm`` of every matrix in a stack (leading dims kept)."""
    flat = A.reshape(-1, *A.shape[-2:])
    return np.stack([sl.expm(a) for a in flat]).reshape(A.shape)


def loglik(Q: np.ndarray, obs: PanelObservations, *, by_segment: bool = False):
    """Log-likelihood of the prepared panel under per-segment generators.

    Parameters
    ----------
    Q : (n_segments, n, n) array
        One generator per segment (see `generator_matrix`).
    obs : PanelObservations
    by_segment : bool, default False
        Return the log-likelihood of each segment instead of the total.

    Returns
    -------
    float or (n_segments,) array
        ``-inf`` where an observation has probability zero under `Q`.
    """
    Q = np.asarray(Q, dtype=float)
    n_rows = obs.dt.shape[0]
    P = np.empty((n_rows, Q.shape[-1], Q.shape[-1]))
    for s in range(Q.shape[0]):
        rows = np.flatnonzero(obs.segment == s)
        if rows.size:
            P[rows] = transition_probs(Q[s], obs.dt[rows])
    # exact-time rows: density (P Q)[a, b]
    ex = np.flatnonzero(obs.exact)
    if ex.size:
        P[ex] = P[ex] @ Q[obs.segment[ex]]
    if obs.jump is not None and obs.jump.any():
        jp = np.flatnonzero(obs.jump)
        Qj = Q[obs.segment[jp]].copy()
        diag = np.diagonal(Qj, axis1=1, axis2=2).copy()
        idx = np.arange(Q.shape[-1])
        Qj[:, idx, idx] = 1.0
        P[jp] = np.exp(diag * obs.dt[jp, None])[:, :, None] * Qj
    contrib = np.zeros(n_rows)
    with np.errstate(divide="ignore"):
        if obs.prev is not None:
            contrib = np.log(np.maximum(P[np.arange(n_rows), obs.prev, obs.cur], 0.0))
        else:
            contrib = _forward(P, obs)
    if not by_segment:
        return float(contrib.sum())
    return np.bincount(obs.segment, weights=contrib, minlength=Q.shape[0])


def _forward(P: np.ndarray, obs: PanelObservations) -> np.ndarray:
    """Per-row log contributions by the scaled forward recursion (censored panels)."""
    alpha = obs.init.copy()
    contrib = np.zeros(P.shape[0])
    with np.errstate(divide="ignore"):
        for j in range(1, int(obs.step.max(initial=0)) + 1):
            rows = np.flatnonzero(obs.step == j)
            subs = obs.subject[rows]
            v = np.einsum("mi,mij->mj", alpha[subs], P[rows]) * obs.mask[rows]
            total = v.sum(axis=1)
            contrib[rows] = np.log(np.maximum(total, 0.0))
            safe = np.where(total > 0, total, 1.0)
            alpha[subs] = v / safe[:, None]
    return contrib
