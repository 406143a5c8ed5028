"""Closed forms and small scenarios for the oracle tests (imported by name: unique module name).

Every oracle here is computed by a route independent of the engine and of the metrics code:
closed forms of the one-factor Gaussian (Vasicek) large-pool model, one-dimensional quadrature
over the factor, and the self-normalised weighted estimate recomputed from the saved paths.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats

Z45 = 4.5
"""Acceptance in standard errors for one comparison: two-sided P(|N(0,1)| > 4.5) = 6.8e-6, so
a test making ~30 such comparisons has a false-alarm rate below 2e-4."""


def cond_pd(z, p: float, rho: float):
    """One-factor conditional default probability ``Φ((Φ⁻¹(p) − √ρ z)/√(1 − ρ))``."""
    return stats.norm.cdf((stats.norm.ppf(p) - np.sqrt(rho) * z) / np.sqrt(1.0 - rho))


def vasicek_quantile(q, p: float, rho: float, shift: float = 0.0):
    """``q``-quantile of the large-pool default fraction ``p(Z)``, ``Z ~ N(shift, 1)``."""
    return cond_pd(shift + stats.norm.ppf(1.0 - np.asarray(q, dtype=float)), p, rho)


def tail_mean(q, p: float, rho: float):
    """``E[p(Z) | Z ≤ Φ⁻¹(1 − q)]``: the conditional tail mean (ES) of the default fraction.

    ``∫_{z ≤ c} p(z) φ(z) dz = P(√ρ Z + √(1 − ρ) ε ≤ Φ⁻¹(p), Z ≤ c) = Φ₂(Φ⁻¹(p), c; √ρ)``.
    """
    c = stats.norm.ppf(1.0 - q)
    a = stats.norm.ppf(p)
    r = np.sqrt(rho)
    joint = stats.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, r], [r, 1.0]]).cdf([a, c])
    return joint / (1.0 - q)


def factor_moment(f, shift: float = 0.0, k: int = 1) -> float:
    """``E[f(Z)^k]`` for ``Z ~ N(shift, 1)`` by adaptive quadrature (error ~1e-12)."""
    val, _ = integrate.quad(
        lambda z: f(z) ** k * stats.norm.pdf(z - shift), -12 + shift, 12 + shift, limit=400
    )
    return val


def weighted_moments_se(x: np.ndarray, w: np.ndarray) -> tuple[float, float, float, float]:
    """Self-normalised mean and std of ``x`` under weights ``w``, with delta-method errors.

    Returns ``(mean, se_mean, std, se_std)``: ``μ = Σ w x / Σ w``; ``σ² = Σ w (x − μ)² / Σ w``;
    the errors are those of ratio estimators (Owen 2013, §9.2): for ``θ = Σ w g / Σ w``,
    ``se = sqrt(Σ w² (g − θ)²) / Σ w``; ``se(σ) = se(σ²) / (2σ)``.
    """
    sw = w.sum()
    mu = float(w @ x / sw)
    se_mu = float(np.sqrt(np.sum(w**2 * (x - mu) ** 2)) / sw)
    d2 = (x - mu) ** 2
    var = float(w @ d2 / sw)
    se_var = float(np.sqrt(np.sum(w**2 * (d2 - var) ** 2)) / sw)
    std = float(np.sqrt(var))
    return mu, se_mu, std, se_var / (2.0 * std)


def weighted_cdf_se(x: np.ndarray, w: np.ndarray, t: float) -> tuple[float, float]:
    """Self-normalised ``P(X ≤ t)`` from weighted paths and its delta-method error."""
    ind = (x <= t).astype(float)
    sw = w.sum()
    p = float(w @ ind / sw)
    return p, float(np.sqrt(np.sum(w**2 * (ind - p) ** 2)) / sw)


# --------------------------------------------------------------------------- scenarios
BOOK = {"customers": 200_000, "pd": 0.02, "churn": 0.01, "rho": 0.15, "margin": 3.0e5}
"""One-period large-pool book: customers, PD, churn probability, ρ, margin per period."""


def one_period_book(
    *,
    method: str = "tilt",
    paths: int = 20_000,
    seed: int = 7,
    levels=(0.95, 0.99, 0.999),
    discount_rate: float = 0.01,
    damping: float | None = None,
    segments: dict | None = None,
    shift: float = 0.0,
    importance_sampling: bool = True,
) -> dict:
    """A one-period book evolved by the large-pool limit, so each loss is a function of Z.

    With one cohort of ``N`` customers, EAD 1 each and LGD 1, the per-path loss and defaults are
    ``N p(Z)``, churn ``N (1 − p(Z)) c / (1 − p)`` and the margin ``M (1 − p(Z))(1 − c/(1 − p))``
    with ``M`` the cohort's margin per period: every field of ``summary.json`` is a closed
    form in ``Z``. `segments` maps segment name to (customers, pd) for a several-segment book.
    """
    segs = segments or {"retail": (BOOK["customers"], BOOK["pd"])}
    cohorts, transitions = [], {}
    for name, (n, p) in segs.items():
        cohorts.append(
            {
                "segment": name,
                "state": "performing",
                "customers": n,
                "exposure": float(n),
                "margin": BOOK["margin"] * n / BOOK["customers"],
            }
        )
        transitions[name] = [[1.0 - p - BOOK["churn"], BOOK["churn"], p]]
    sim = {
        "importance_sampling": importance_sampling,
        "importance_method": method,
        "approximation": "large_pool",
        "large_pool_min_customers": 1000,
    }
    if damping is not None:
        sim["importance_damping"] = damping
    return {
        "name": "oracle-book",
        "horizon": 1,
        "paths": paths,
        "seed": seed,
        "states": {
            "names": ["performing", "churned", "defaulted"],
            "absorbing": ["churned", "defaulted"],
            "default": "defaulted",
            "churn": "churned",
        },
        "portfolio": {"cohorts": cohorts},
        "parameters": {"transitions": transitions},
        "systematic": {"correlation": BOOK["rho"], "shift": shift},
        "lgd": {"mean": 1.0, "sd": 0.0},
        "discount_rate": discount_rate,
        "simulation": sim,
        "outputs": {"levels": list(levels)},
    }


def book_constants(discount_rate: float = 0.01) -> dict:
    """Closed-form constants of `one_period_book`'s one segment: the per-path identities
    ``loss = defaults = N p(Z)``, ``churn = N (1 − p(Z)) c/(1 − p)``, ``value = A (1 − p(Z))``
    with ``A = M df (1 − p − c)/(1 − p)``, and the moments of ``p(Z)``."""
    n, p, c, rho, m = (BOOK[k] for k in ("customers", "pd", "churn", "rho", "margin"))
    df = 1.0 / (1.0 + discount_rate)
    a = stats.norm.ppf(p)
    phi2 = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([a, a])
    return {
        "n": n,
        "p": p,
        "c": c,
        "rho": rho,
        "margin": m,
        "df": df,
        "churn_share": c / (1.0 - p),
        "value_scale": m * df * (1.0 - p - c) / (1.0 - p),
        "sd_pz": float(np.sqrt(phi2 - p**2)),  # Var p(Z) = Φ₂(a, a; ρ) − p² (Vasicek)
    }


def fraction_cdf(x, p: float, rho: float):
    """``P(p(Z) ≤ x)`` of the Vasicek default fraction, ``Z ~ N(0, 1)``."""
    z = (stats.norm.ppf(p) - np.sqrt(1.0 - rho) * stats.norm.ppf(x)) / np.sqrt(rho)
    return stats.norm.cdf(-z)


def fraction_pdf(x, p: float, rho: float):
    """Density of the Vasicek default fraction (derivative of `fraction_cdf`)."""
    zx = stats.norm.ppf(x)
    z = (stats.norm.ppf(p) - np.sqrt(1.0 - rho) * zx) / np.sqrt(rho)
    return stats.norm.pdf(z) * np.sqrt((1.0 - rho) / rho) / stats.norm.pdf(zx)


def quantile_se(x: np.ndarray, w: np.ndarray, v: float, density: float) -> float:
    """Standard error of the weighted empirical quantile at the true quantile `v`:
    ``se(F̂(v)) / f(v)`` (Bahadur representation; Glasserman 2004, §9.1)."""
    return weighted_cdf_se(x, w, v)[1] / density


def es_se(x: np.ndarray, w: np.ndarray, v: float, q: float) -> float:
    """Standard error of ``ES_q = v + E[(L − v)^+]/(1 − q)`` with `v` the true VaR (the VaR's
    error drops out to first order; Glasserman 2004, §9.1)."""
    return weighted_moments_se(np.maximum(x - v, 0.0), w)[1] / (1.0 - q)
