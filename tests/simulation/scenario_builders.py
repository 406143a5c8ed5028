"""Builders of small scenarios for engine tests (imported by name: unique module name)."""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats

import riskmodel as rm

LIFECYCLE_STATES = {
    "names": ["new", "growing", "mature", "declining", "churned", "defaulted"],
    "absorbing": ["churned", "defaulted"],
    "default": "defaulted",
    "churn": "churned",
}

# A multi-state matrix with every kind of move (rows: new, growing, mature, declining).
CARDS = [
    [0.900, 0.075, 0.000, 0.012, 0.008, 0.005],
    [0.000, 0.930, 0.045, 0.012, 0.010, 0.003],
    [0.000, 0.010, 0.960, 0.018, 0.0105, 0.0015],
    [0.000, 0.020, 0.030, 0.880, 0.050, 0.020],
]
LOANS = [
    [0.920, 0.060, 0.000, 0.008, 0.008, 0.004],
    [0.000, 0.950, 0.035, 0.008, 0.005, 0.002],
    [0.000, 0.005, 0.975, 0.010, 0.009, 0.001],
    [0.000, 0.010, 0.025, 0.915, 0.035, 0.015],
]


def one_cohort_dict(
    *,
    customers: int,
    pd: float,
    rho: float,
    horizon: int = 1,
    paths: int = 10_000,
    seed: int = 1,
    lgd: dict | None = None,
    shift=0.0,
) -> dict:
    """One cohort of `customers` in state `performing` with EAD 1 each; rows: stay or default."""
    return {
        "name": "one-cohort",
        "horizon": horizon,
        "paths": paths,
        "seed": seed,
        "states": {
            "names": ["performing", "defaulted"],
            "absorbing": ["defaulted"],
            "default": "defaulted",
        },
        "portfolio": {
            "cohorts": [
                {
                    "segment": "all",
                    "state": "performing",
                    "customers": customers,
                    "exposure": float(customers),
                }
            ]
        },
        "parameters": {"transitions": {"all": [[1.0 - pd, pd]]}},
        "systematic": {"correlation": rho, "shift": shift},
        "lgd": lgd or {"mean": 1.0, "sd": 0.0},
        # plain Monte Carlo: these builders test the sampler against unweighted closed forms;
        # importance-sampling tests switch it on explicitly
        "simulation": {"importance_sampling": False},
    }


def lifecycle_dict(
    *, horizon: int = 12, paths: int = 4000, seed: int = 3, rho: float = 0.1
) -> dict:
    """Two segments, five cohorts, six lifecycle states, margins and a Beta LGD."""
    return {
        "name": "lifecycle",
        "horizon": horizon,
        "paths": paths,
        "seed": seed,
        "states": LIFECYCLE_STATES,
        "portfolio": {
            "cohorts": [
                {
                    "segment": "cards",
                    "state": "new",
                    "customers": 500,
                    "exposure": 1.5e6,
                    "margin": 10_000.0,
                },
                {
                    "segment": "cards",
                    "state": "mature",
                    "customers": 2000,
                    "exposure": 9e6,
                    "margin": 50_000.0,
                },
                {
                    "segment": "cards",
                    "state": "declining",
                    "customers": 300,
                    "exposure": 1.2e6,
                    "margin": 3_000.0,
                },
                {
                    "segment": "loans",
                    "state": "growing",
                    "customers": 800,
                    "exposure": 1.6e7,
                    "margin": 40_000.0,
                },
                {
                    "segment": "loans",
                    "state": "declining",
                    "customers": 150,
                    "exposure": 2.7e6,
                    "margin": 4_000.0,
                },
            ]
        },
        "parameters": {"transitions": {"cards": CARDS, "loans": LOANS}},
        "systematic": {"correlation": rho},
        "lgd": {"mean": 0.45, "sd": 0.2},
        "discount_rate": 0.004,
        "simulation": {"importance_sampling": False},
    }


def full_matrix(rows) -> np.ndarray:
    """Complete lifecycle transient rows with identity rows for churned and defaulted."""
    return rm.StateSpace(**LIFECYCLE_STATES).full_matrix(np.asarray(rows))


def conditional_pd(z, p: float, rho: float):
    """One-factor conditional default probability Φ((Φ⁻¹(p) − √ρ z)/√(1 − ρ))."""
    return stats.norm.cdf((stats.norm.ppf(p) - np.sqrt(rho) * z) / np.sqrt(1 - rho))


def finite_n_pmf(p: float, rho: float, customers: int) -> np.ndarray:
    """Exact law of the defaults of one cohort in one period: quadrature over the factor of the
    conditional binomial, P(D = k) for k = 0 … customers."""
    return np.array(
        [
            integrate.quad(
                lambda z, k=k: (
                    stats.binom.pmf(k, customers, conditional_pd(z, p, rho)) * stats.norm.pdf(z)
                ),
                -10,
                10,
                epsabs=1e-13,
                limit=200,
            )[0]
            for k in range(customers + 1)
        ]
    )
