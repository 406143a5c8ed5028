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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as sl

from riskmodel.errors import ArgumentError, PanelError
from riskmodel.models.intensity_covariates import normalise_covariates
from riskmodel.states import StateSpace

__all__ = [
    "PanelObservations",
    "expm_batch",
    "generator_matrix",
    "loglik",
    "model_config",
    "prepare_panel",
    "transition_probs",
]
POOLINGS = ("none", "complete", "partial")

COND_MAX = 1e6
"""Eigenvector condition number past which `transition_probs` falls back to ``expm``."""


@dataclass(frozen=True)
class PanelObservations:
    """A panel prepared for the likelihood (see `prepare_panel`).

    Attributes
    ----------
    init : (n_subjects, n) float
        Indicator of the first observation's state set.
    subject, segment : (n_rows,) int
        Subject index (into ``init``) and segment index of each transition row.
    step : (n_rows,) int
        Position of the row in its subject's sequence (1 for the second observation, …).
    dt : (n_rows,) float
        Time since the subject's previous observation (> 0).
    mask : (n_rows, n) float
        Indicator of the observed state set.
    exact : (n_rows,) bool
        True where the row is an exact-time entry into an absorbing state.
    segments : tuple of str
        Segment names, indexed by ``segment``.
    n_subjects_by_segment : (n_segments,) int
    jump : (n_rows,) bool or None
        True where the row is an exactly observed transition time (or the end of continuous
        follow-up); None when there are none.
    prev, cur : (n_rows,) int or None
        Without censored observations: the previous and the current state index of each row
        (the likelihood then needs no forward recursion); None otherwise.
    x : (n_rows, n_covariates) float or None
        Covariate values at the start of each row's interval (the previous observation's
        values); None without covariates.
    """

    init: np.ndarray
    subject: np.ndarray
    segment: np.ndarray
    step: np.ndarray
    dt: np.ndarray
    mask: np.ndarray
    exact: np.ndarray
    segments: tuple[str, ...]
    n_subjects_by_segment: np.ndarray
    prev: np.ndarray | None = None
    cur: np.ndarray | None = None
    jump: np.ndarray | None = None
    x: np.ndarray | None = None


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


def prepare_panel(
    panel: pd.DataFrame,
    states: StateSpace,
    *,
    subject: str,
    time: str,
    state: str,
    segment: str | None = None,
    exact_states: tuple[str, ...] = (),
    censored: dict[str, tuple[str, ...]] | None = None,
    exact_times: bool = False,
    covariates: tuple[str, ...] = (),
) -> PanelObservations:
    """Check a long panel and turn it into `PanelObservations`.

    Rows are sorted by subject and time. A value of the state column is either a state name or a
    key of `censored` (the state is then only known to be one of the listed states). An
    observation of a state in `exact_states` is an exact-time entry; nothing may follow it.
    With `exact_times`, every row is an exactly observed transition time (continuous follow-up).
    Each of `covariates` is a numeric column; a row's interval takes the value of the previous
    observation (its start), which must not be missing (the last one of a subject may be).

    Raises
    ------
    PanelError
        Naming the column and the offending value: missing columns or values, unknown states,
        two observations of one subject at the same time, observations after an absorbing state,
        a subject in two segments.
    """
    cols = [subject, time, state] + ([segment] if segment else [])
    missing = [c for c in cols if c not in panel.columns]
    if missing:
        raise PanelError(
            f"the panel has no column(s) {missing}; its columns are {list(panel.columns)}. "
            "Name the columns with fit(subject=, time=, state=, segment=)."
        )
    df = panel[cols].copy()
    covariates = tuple(covariates)
    if df.isna().any().any():
        col = df.columns[df.isna().any()].tolist()[0]
        raise PanelError(f"the panel's column {col!r} has missing values; drop or fill them.")
    try:
        df[time] = pd.to_numeric(df[time]).astype(float)
    except (TypeError, ValueError) as exc:
        raise PanelError(
            f"the panel's time column {time!r} must be numeric (e.g. years since entry); {exc}"
        ) from None
    censored = {str(k): tuple(v) for k, v in (censored or {}).items()}
    n = states.n
    codes = {name: np.eye(n)[i] for i, name in enumerate(states.names)}
    for key, members in censored.items():
        unknown = [m for m in members if m not in states.names]
        if key in codes or unknown or not members:
            raise PanelError(
                f"censored code {key!r} must be a new label mapping to known states; got "
                f"{list(members)} (states {list(states.names)})."
            )
        codes[key] = np.isin(states.names, members).astype(float)
    labels = df[state].astype(str)
    bad = sorted(set(labels) - set(codes))
    if bad:
        raise PanelError(
            f"the panel's column {state!r} has values {bad[:5]} that are neither states "
            f"{list(states.names)} nor censored codes {list(censored)}."
        )
    df["_label"] = labels
    for c in covariates:
        try:
            df[c] = pd.to_numeric(panel[c]).astype(float)
        except (TypeError, ValueError) as exc:
            raise PanelError(f"covariate column {c!r} must be numeric; {exc}") from None
    df = df.sort_values([subject, time], kind="stable").reset_index(drop=True)
    subj_codes, _ = pd.factorize(df[subject], sort=False)
    if segment:
        per = df.groupby(subject, sort=False)[segment].nunique()
        if (per > 1).any():
            raise PanelError(
                f"subject {per.index[per > 1][0]!r} appears in more than one {segment!r}; a "
                "subject's segment must be fixed."
            )
        seg_codes, seg_names = pd.factorize(df[segment].astype(str), sort=True)
    else:
        seg_codes, seg_names = np.zeros(len(df), dtype=int), pd.Index(["all"])
    first = np.r_[True, subj_codes[1:] != subj_codes[:-1]]
    dt = np.r_[0.0, np.diff(df[time].to_numpy())]
    if np.any(dt[~first] <= 0):
        i = np.flatnonzero(~first & (dt <= 0))[0]
        raise PanelError(
            f"subject {df[subject].iloc[i]!r} has two observations at {time}="
            f"{df[time].iloc[i]}; times within a subject must be distinct."
        )
    absorbing = set(states.absorbing)
    prev_abs = np.r_[False, df["_label"].isin(absorbing).to_numpy()[:-1]]
    after = ~first & prev_abs
    if after.any():
        i = np.flatnonzero(after)[0]
        raise PanelError(
            f"subject {df[subject].iloc[i]!r} is observed at {time}={df[time].iloc[i]} after "
            "entering an absorbing state; drop observations after absorption."
        )
    pos = np.arange(len(df))
    step = pos - np.maximum.accumulate(np.where(first, pos, 0))
    mask = np.stack([codes[v] for v in df["_label"]]) if len(df) else np.zeros((0, n))
    exact = df["_label"].isin(set(exact_states)).to_numpy()
    tr = ~first
    seg_first = np.asarray(seg_codes)[first]
    x = None
    if covariates:
        x = df[list(covariates)].to_numpy()[np.flatnonzero(tr) - 1]
        bad_x = ~np.isfinite(x).all(axis=1)
        if bad_x.any():
            i = np.flatnonzero(tr)[np.flatnonzero(bad_x)[0]] - 1
            miss = [c for c, v in zip(covariates, x[bad_x][0], strict=True) if not np.isfinite(v)]
            raise PanelError(
                f"covariate(s) {miss} missing at the start of an interval: subject "
                f"{df[subject].iloc[i]!r} at {time}={df[time].iloc[i]} ({int(bad_x.sum())} "
                "interval(s) in all). Fill the column, or extend the macro series back to the "
                "panel's first dates."
            )
    prev = cur = None
    if (mask.sum(axis=1) == 1).all():
        idx = mask.argmax(axis=1)
        prev, cur = np.r_[0, idx[:-1]][tr], idx[tr]
    return PanelObservations(
        init=mask[first],
        subject=np.asarray(subj_codes)[tr],
        segment=np.asarray(seg_codes)[tr],
        step=step[tr],
        dt=dt[tr],
        mask=mask[tr],
        exact=exact[tr],
        segments=tuple(str(s) for s in seg_names),
        n_subjects_by_segment=np.bincount(seg_first, minlength=len(seg_names)),
        prev=prev,
        cur=cur,
        jump=np.ones(int(tr.sum()), dtype=bool) if exact_times else None,
        x=x,
    )


def model_config(
    states: StateSpace,
    *,
    allowed,
    exact_states,
    pooling: str,
    covariates,
    censored,
    exact_times: bool = False,
) -> dict:
    """Validate the `IntensityModel` config (`ArgumentError` on bad constructor arguments)."""
    ss = states
    if not isinstance(ss, StateSpace):
        raise ArgumentError(f"states must be a StateSpace; got {type(ss).__name__}.")
    if pooling not in POOLINGS:
        raise ArgumentError(f"pooling must be one of {list(POOLINGS)}; got {pooling!r}.")
    pairs = []
    for pair in allowed or ():
        if len(pair) != 2:
            raise ArgumentError(f"allowed entries must be (from, to) pairs; got {pair!r}.")
        f, t = str(pair[0]), str(pair[1])
        for s in (f, t):
            if s not in ss.names:
                raise ArgumentError(
                    f"allowed transition ({f!r}, {t!r}) names unknown state {s!r}; the "
                    f"states are {list(ss.names)}."
                )
        if f == t or f in ss.absorbing:
            raise ArgumentError(
                f"allowed transition ({f!r}, {t!r}) must leave a transient state for another state."
            )
        pairs.append((ss.index(f), ss.index(t)))
    if not pairs:
        raise ArgumentError("allowed must list at least one (from_state, to_state) pair.")
    if len(set(pairs)) != len(pairs):
        raise ArgumentError(f"allowed lists a transition twice: {list(allowed)}.")
    exact = [str(s) for s in exact_states]
    bad = [s for s in exact if s not in ss.absorbing]
    if bad:
        raise ArgumentError(
            f"exact_states {bad} must be absorbing states (absorbing: {list(ss.absorbing)})."
        )
    pairs.sort()
    allowed_names = [[ss.names[f], ss.names[t]] for f, t in pairs]
    return {
        "states": ss.to_attrs(),
        "allowed": allowed_names,
        "covariates": normalise_covariates(covariates, allowed_names),
        "exact_states": exact,
        "pooling": pooling,
        "censored": {str(k): [str(v) for v in vs] for k, vs in (censored or {}).items()},
        "exact_times": bool(exact_times),
    }
