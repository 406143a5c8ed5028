"""Synthetic continuous-time panels with a known generator, and brute-force likelihood oracles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from riskmodel.states import StateSpace

ILLNESS = StateSpace(["well", "mild", "severe", "dead"], absorbing=["dead"], default="dead")
ILLNESS_ALLOWED = [
    ("well", "mild"),
    ("well", "dead"),
    ("mild", "well"),
    ("mild", "severe"),
    ("mild", "dead"),
    ("severe", "mild"),
    ("severe", "dead"),
]
# per year; the same order as ILLNESS_ALLOWED, which is also the model's sorted (from, to) order
ILLNESS_Q = {
    ("well", "mild"): 0.15,
    ("well", "dead"): 0.04,
    ("mild", "well"): 0.25,
    ("mild", "severe"): 0.30,
    ("mild", "dead"): 0.05,
    ("severe", "mild"): 0.12,
    ("severe", "dead"): 0.30,
}


def generator_of(states: StateSpace, rates: dict) -> np.ndarray:
    Q = np.zeros((states.n, states.n))
    for (f, t), r in rates.items():
        Q[states.index(f), states.index(t)] = r
    Q[np.diag_indices(states.n)] = -Q.sum(axis=1)
    return Q


def simulate_panel(
    Q: np.ndarray,
    states: StateSpace,
    *,
    n_subjects: int,
    seed: int,
    exact: bool = True,
    mean_gap: float = 1.0,
    max_obs: int = 6,
) -> pd.DataFrame:
    """Gillespie paths from a random transient state, observed at irregular times.

    The first observation is at a uniform time in [0, 2) (not 0); gaps are 0.2 + Exp(mean_gap).
    Entry into an absorbing state is recorded at its exact time when `exact`, else at the next
    observation time. Nothing is observed after absorption.
    """
    rng = np.random.default_rng(seed)
    transient = states.transient_idx
    rows = []
    for i in range(n_subjects):
        s = int(rng.choice(transient))
        t = float(rng.uniform(0, 2))
        rows.append((i, t, states.names[s]))
        for _ in range(max_obs - 1):
            t_next = t + 0.2 + rng.exponential(mean_gap)
            absorbed_at = None
            while True:
                rate = -Q[s, s]
                if rate <= 0:
                    break
                t_jump = t + rng.exponential(1 / rate)
                if t_jump > t_next:
                    break
                t = t_jump
                s = int(rng.choice(states.n, p=np.clip(Q[s], 0, None) / rate))
                if rate > 0 and -Q[s, s] <= 0:
                    absorbed_at = t
                    break
            if absorbed_at is not None and exact:
                rows.append((i, absorbed_at, states.names[s]))
                break
            t = t_next
            rows.append((i, t, states.names[s]))
            if absorbed_at is not None:
                break
    return pd.DataFrame(rows, columns=["id", "t", "state"])


def uniformised_expm(Q: np.ndarray, t: float, tol: float = 1e-15) -> np.ndarray:
    """``expm(Q t)`` by uniformisation: ``Σ_k Poisson(k; λt) (I + Q/λ)^k`` (no eigenvalues)."""
    lam = max(-np.diag(Q).min(), 1e-12)
    R = np.eye(Q.shape[0]) + Q / lam
    out = np.zeros_like(Q)
    term = np.eye(Q.shape[0])
    k, weight, total = 0, math.exp(-lam * t), 0.0
    while total < 1 - tol and k < 10_000:
        out += weight * term
        total += weight
        k += 1
        weight *= lam * t / k
        term = term @ R
    return out


def brute_force_loglik(
    Q: np.ndarray, states: StateSpace, panel: pd.DataFrame, exact=(), censored=None
) -> float:
    """Sum over subjects of log Σ over all state sequences consistent with the observations of
    Π_j T_j[s_{j-1}, s_j], T_j = P(Δt_j) (uniformisation) or, for an exact-time entry into b,
    Σ_{k ≠ b} P(Δt_j)[·, k] q[k, b] written out as a loop."""
    censored = censored or {}
    names = list(states.names)

    def allowed_set(label):
        return [names.index(x) for x in censored.get(label, [label])]

    total = 0.0
    for _, g in panel.sort_values(["id", "t"]).groupby("id"):
        times, labels = g["t"].to_numpy(), g["state"].tolist()
        sets = [allowed_set(lab) for lab in labels]
        like = 0.0
        for seq in itertools.product(*sets):
            p = 1.0
            for j in range(1, len(seq)):
                P = uniformised_expm(Q, times[j] - times[j - 1])
                a, b = seq[j - 1], seq[j]
                if labels[j] in exact:
                    p *= sum(P[a, k] * Q[k, b] for k in range(len(names)) if k != b)
                else:
                    p *= P[a, b]
            like += p
        total += math.log(like)
    return total
