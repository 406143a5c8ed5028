"""A small book and a second, plain implementation of its dynamics along a given factor path.

Shared by the kill tests of `tests/mutation/` (imported by name: unique module name). The oracle
`book_path` walks each cohort through the periods with scalar Python loops: the Vasicek
conditional PD from `scipy.stats.norm`, the survivors' destinations ``p_ij (1 − p(z)) / (1 − p)``,
the downturn LGD ``Φ(Φ⁻¹(m) − b z)``, the amortised exposure ``Π (1 − a_u)``, discounting
``Π 1 / (1 + r)``. Along a fixed factor path these are the conditional expectations of every
per-path output of the engine (exact for large-pool cohorts, the mean for binomial ones). It
shares no code with the package beyond reading the scenario's matrices.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

import riskmodel as rm

STATES = ["good", "watch", "churned", "defaulted"]
ROWS = {
    "cards": [[0.90, 0.06, 0.03, 0.01], [0.20, 0.65, 0.05, 0.10]],
    "loans": [[0.95, 0.03, 0.015, 0.005], [0.10, 0.80, 0.04, 0.06]],
}
COHORTS = [  # segment, state, customers, exposure (total), margin (total per period)
    ("cards", "good", 1000, 2.0e6, 5.0e3),
    ("cards", "watch", 200, 3.0e5, 4.0e2),
    ("loans", "watch", 500, 5.0e6, 2.0e3),
]
RHO = 0.15
LGD, B = 0.4, 0.3
AMORT = [0.1, 0.05]  # the last value repeats
SHIFT = [-1.0, 0.5]  # the last value repeats
RATE = 0.01
HORIZON = 4


def book(
    *,
    horizon: int = HORIZON,
    lgd_sd: float = 0.0,
    downturn: float = B,
    approximation: str = "none",
    cohorts=COHORTS,
    lgd_mean: float = LGD,
    period: dict | None = None,
    pool_min: int = 1,
    churn: bool = True,
):
    """The book as a scenario: two segments, three cohorts, churn, amortisation, discounting.

    With ``approximation="large_pool"`` the cohorts of at least `pool_min` customers follow the
    large-pool limit, the others the binomial chains (a mixed book for ``pool_min > 1``).
    With ``churn=False`` the state "churned" is an absorbing state like any other (no churn).
    """
    lgd = {"mean": lgd_mean, "sd": lgd_sd}
    if downturn:
        lgd["downturn"] = {"sensitivity": downturn}
    cfg = {
        "name": "mutation-oracle",
        "horizon": horizon,
        "paths": 100,
        "seed": 1,
        "states": {
            "names": STATES,
            "absorbing": ["churned", "defaulted"],
            "default": "defaulted",
            "churn": "churned",
        },
        "portfolio": {
            "cohorts": [
                {"segment": s, "state": k, "customers": n, "exposure": e, "margin": m}
                for s, k, n, e, m in cohorts
            ]
        },
        "parameters": {"transitions": ROWS},
        "systematic": {"correlation": RHO, "shift": SHIFT},
        "lgd": lgd,
        "exposure": {"amortisation": AMORT},
        "discount_rate": RATE,
        "simulation": {"importance_sampling": False, "approximation": approximation},
    }
    if period is not None:
        cfg["period"] = period
    if not churn:
        del cfg["states"]["churn"]
    if approximation == "large_pool":
        cfg["simulation"]["large_pool_min_customers"] = pool_min
    return rm.scenario_from_dict(cfg)


def with_draws(sc, rhos=(0.05, 0.15, 0.35), bumps=(0.6, 1.0, 1.7)):
    """The scenario with three posterior draws: rows tilted towards default by `bumps`."""
    base = np.asarray(sc.transitions[0])  # (S, K, K)
    mats = []
    for bump in bumps:
        m = base.copy()
        m[:, :2, 3] *= bump
        m[:, :2, 0] = 1.0 - m[:, :2, 1:].sum(axis=-1)
        mats.append(m)
    return dataclasses.replace(sc, transitions=np.stack(mats), correlation=np.array(rhos))


def mats_of(sc, d=None):
    """Segment -> 4x4 matrix (lists) of draw `d`, or of the posterior mean if `d` is None."""
    t = np.asarray(sc.transitions)
    m = t.mean(axis=0) if d is None else t[d]
    return {s: m[i].tolist() for i, s in enumerate(sc.segments)}


def ead_factor(t):
    """Exposure of period `t` (0-based) as a fraction of today's."""
    f = 1.0
    for u in range(t + 1):
        f *= 1.0 - AMORT[min(u, len(AMORT) - 1)]
    return f


def book_path(mats, rho, z, *, cohorts=COHORTS, downturn=B, lgd=LGD):
    """Conditional expectations of the per-path outputs along the factor path `z`.

    `mats` maps segment -> matrix, or is a list of such maps, one per period.

    Returns a dict of numpy arrays: ``loss``, ``defaults``, ``churn``, ``margin`` (H,),
    ``loss_by_cohort`` (C,), ``loss_by_segment`` (segments in order of first appearance),
    ``occupancy`` (H, K) with absorbing states cumulative, ``churn_value_lost`` (scalar).
    """
    norm = stats.norm
    h = len(z)
    df = [(1.0 + RATE) ** -(t + 1) for t in range(h)]
    out = {k: np.zeros(h) for k in ("loss", "defaults", "churn", "margin")}
    out["loss_by_cohort"] = np.zeros(len(cohorts))
    out["occupancy"] = np.zeros((h, 4))
    out["churn_value_lost"] = 0.0
    segments = list(dict.fromkeys(c[0] for c in cohorts))
    out["loss_by_segment"] = np.zeros(len(segments))
    for c, (seg, state, n, exposure, margin) in enumerate(cohorts):
        occ = [0.0] * 4
        occ[STATES.index(state)] = float(n)
        for t, zt in enumerate(z):
            p_mat = (mats[t] if isinstance(mats, list) else mats)[seg]
            lgd_t = norm.cdf(norm.ppf(lgd) - downturn * zt)
            new = [0.0, 0.0, occ[2], occ[3]]  # absorbing states keep their customers
            loss = defaults = churned = 0.0
            for i in (0, 1):
                p = p_mat[i][3]
                pz = norm.cdf((norm.ppf(p) - math.sqrt(rho) * zt) / math.sqrt(1 - rho))
                defaults += occ[i] * pz
                loss += occ[i] * pz * exposure / n * ead_factor(t) * lgd_t
                churned += occ[i] * p_mat[i][2] * (1 - pz) / (1 - p)
                for j in range(4):
                    new[j] += occ[i] * (pz if j == 3 else p_mat[i][j] * (1 - pz) / (1 - p))
            occ = new
            out["loss"][t] += loss
            out["defaults"][t] += defaults
            out["churn"][t] += churned
            out["margin"][t] += (occ[0] + occ[1]) * margin / n
            out["loss_by_cohort"][c] += loss
            out["loss_by_segment"][segments.index(seg)] += loss
            out["occupancy"][t] += occ
            out["churn_value_lost"] += churned * margin / n * math.fsum(df[t:])
    return out


def one_cohort_two_periods():
    """One large-pool cohort of 10^6 customers, states ok/defaulted, two periods, LGD 1.

    Its defaults reveal the factor path exactly (`recover_y`), so tests can check what the
    kernel did to the factor (importance-sampling shifts, mixtures, tilts).
    """
    cfg = {
        "name": "weights",
        "horizon": 2,
        "paths": 100,
        "seed": 1,
        "states": {
            "names": ["ok", "defaulted"],
            "absorbing": ["defaulted"],
            "default": "defaulted",
        },
        "portfolio": {
            "cohorts": [{"segment": "a", "state": "ok", "customers": 10**6, "exposure": 1e6}]
        },
        "parameters": {"transitions": {"a": [[0.97, 0.03]]}},
        "systematic": {"correlation": 0.2, "shift": [-0.5, 0.25]},
        "lgd": {"mean": 1.0, "sd": 0.0},
        "simulation": {
            "importance_sampling": False,
            "approximation": "large_pool",
            "large_pool_min_customers": 1,
        },
    }
    return rm.scenario_from_dict(cfg)


def recover_y(out, sc):
    """Factor minus the scenario shift, per path and period, from the defaults of
    `one_cohort_two_periods` (the inverse of the Vasicek map ``p(z)``)."""
    p, rho = 0.03, 0.2
    alive = 1e6 - np.cumsum(out.defaults, axis=1) + out.defaults  # customers before period t
    pz = out.defaults / alive
    z = (stats.norm.ppf(p) - math.sqrt(1 - rho) * stats.norm.ppf(pz)) / math.sqrt(rho)
    return z - np.asarray(sc.shift)
