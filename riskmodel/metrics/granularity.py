"""First-order granularity adjustment of the one-factor Gaussian (Vasicek / ASRF) model.

A book of finitely many names is riskier than the asymptotic single-risk-factor (ASRF) limit
of the Basel formula: the names' idiosyncratic risk does not diversify away. For one period
and one standard normal factor ``X`` (this package's convention: a **negative** ``X`` is a
downturn), name ``i`` with exposure ``E_i``, default probability ``p_i``, asset correlation
``ρ_i`` and an LGD of mean ``m_i`` and variance ``v_i`` (independent across defaults) has the
conditional default probability ``p_i(x) = Φ((Φ⁻¹p_i − √ρ_i x) / √(1 − ρ_i))``, and the loss
``L`` has, given ``X = x``,

- ``μ(x) = E[L | x] = Σ_i E_i m_i p_i(x)``,
- ``σ²(x) = Var[L | x] = Σ_i E_i² (m_i² p_i(x)(1 − p_i(x)) + v_i p_i(x))``.

``μ`` decreases in ``x``, so the ``q``-quantile of ``μ(X)`` (the ASRF VaR) is ``μ(x_q)`` with
``x_q = Φ⁻¹(1 − q)``. The Taylor expansion of the quantile of ``μ(X) + (L − μ(X))`` in the
size of the idiosyncratic part (Gordy 2003; Martin & Wilde 2002; the basis of Gordy &
Lütkebohmert 2007/2013) gives, to first order,

``VaR_q(L) ≈ μ(x_q) + GA_q``, ``GA_q = −1 / (2 h(x_q)) · d/dx [h(x) σ²(x) / μ'(x)]`` at ``x_q``,

with ``h`` the standard normal density. The expression is invariant under ``x → −x`` (``h`` is
even and the sign of ``μ'`` flips with the derivative), so it holds as written with the
downturn at negative ``x``. Expanding the derivative with ``h'(x) = −x h(x)``:

``GA_q = −½ [ (σ²)'(x_q) / μ'(x_q) − σ²(x_q) (x_q / μ'(x_q) + μ''(x_q) / μ'(x_q)²) ]``.

The derivatives are analytic. With ``u = (Φ⁻¹p − √ρ x) / √(1 − ρ)`` and ``s = √(ρ / (1 − ρ))``:
``p'(x) = −s φ(u)`` and ``p''(x) = −s² u φ(u)``.

A **pool** of ``n`` customers sharing the exposure ``E`` (each ``E / n``) is one entry with
``customers = n``: its conditional mean is ``E m p(x)`` as for a name, its conditional variance
``E² / n · (…)``, which vanishes as ``n`` grows. Passing the pool with its ``customers`` keeps
that small term; it is exact for independent defaults given the factor.

Limits: first order in the idiosyncratic variance (the error is of second order, ``O(HHI²)``
against a first-order term of ``O(HHI)``), one period, one factor, LGD independent of the
factor.

References
----------
Gordy, M. B. (2003). A risk-factor model foundation for ratings-based bank capital rules.
Journal of Financial Intermediation 12, 199–232.
Martin, R. and Wilde, T. (2002). Unsystematic credit risk. Risk 15(11), 123–128.
Gordy, M. B. and Lütkebohmert, E. (2013). Granularity adjustment for regulatory capital
assessment. International Journal of Central Banking 9(3), 33–71.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

from riskmodel.dynamics import vasicek_pd_derivatives
from riskmodel.errors import ArgumentError

__all__ = ["GranularityAdjustment", "granularity_adjustment", "vasicek_pd_derivatives"]

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class GranularityAdjustment:
    """The ASRF VaR of a book and its first-order granularity adjustment at one level.

    Attributes
    ----------
    level : float
        Confidence level ``q`` of the VaR.
    factor_quantile : float
        ``x_q = Φ⁻¹(1 − q)``, the (negative) factor at which the ASRF loss quantile is reached.
    asrf_var : float
        ``μ(x_q)``: the VaR of the infinitely granular book.
    adjustment : float
        ``GA_q``, the first-order granularity adjustment (≥ 0 for the usual books).
    """

    level: float
    factor_quantile: float
    asrf_var: float
    adjustment: float

    @property
    def var(self) -> float:
        """``asrf_var + adjustment``: the granularity-adjusted VaR."""
        return self.asrf_var + self.adjustment


def _as_vector(name: str, value: ArrayLike, size: int) -> Floats:
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, size)):
        raise ArgumentError(
            f"`{name}` must be a scalar or a 1-D array with one value per name ({size}); "
            f"got shape {arr.shape}. Pass one value per entry of `exposure`."
        )
    out = np.broadcast_to(arr, (size,)).astype(float)
    if not np.all(np.isfinite(out)):
        raise ArgumentError(f"`{name}` must be finite; got {out[~np.isfinite(out)][:3]}.")
    return out


def _check(name: str, ok: NDArray[np.bool_], values: Floats, rule: str) -> None:
    if not np.all(ok):
        bad = values[~ok][:3]
        raise ArgumentError(f"`{name}` must be {rule}; got {bad.tolist()}. Fix these entries.")


def _moments(
    x: float, e: Floats, pd: Floats, m: Floats, v: Floats, rho: Floats, n: Floats
) -> tuple[float, float, float, float, float]:
    """``μ, μ', μ'', σ², (σ²)'`` at ``x``."""
    p, dp, d2p = vasicek_pd_derivatives(pd, rho, x)
    em = e * m
    mu, dmu, d2mu = float(em @ p), float(em @ dp), float(em @ d2p)
    e2 = e * e / n  # a pool of n customers: n (E/n)² = E²/n
    sigma2 = float(e2 @ ((m * m + v) * p - m * m * p * p))
    dsigma2 = float(e2 @ ((m * m + v) * dp - 2.0 * m * m * p * dp))
    return mu, dmu, d2mu, sigma2, dsigma2


def granularity_adjustment(
    exposure: ArrayLike,
    pd: ArrayLike,
    lgd_mean: ArrayLike,
    lgd_sd: ArrayLike = 0.0,
    correlation: ArrayLike = 0.12,
    level: float = 0.999,
    *,
    customers: ArrayLike = 1.0,
) -> GranularityAdjustment:
    """ASRF VaR and first-order granularity adjustment of a one-period, one-factor book.

    Parameters
    ----------
    exposure : array_like, shape (N,)
        Exposure at default per entry (a name, or a pool's total with `customers` > 1).
    pd : array_like
        One-period default probabilities in (0, 1), scalar or one per entry.
    lgd_mean : array_like
        LGD means in [0, 1], scalar or one per entry.
    lgd_sd : array_like, default 0.0
        LGD standard deviations (Beta LGD, independent per default); 0 = fixed LGD. Must satisfy
        ``sd² < mean (1 − mean)`` where positive.
    correlation : array_like, default 0.12
        Asset correlations in (0, 1), scalar or one per entry.
    level : float, default 0.999
        VaR confidence level ``q`` in (0.5, 1).
    customers : array_like, default 1.0
        Customers sharing each entry's exposure equally (≥ 1); a pool's idiosyncratic variance
        is divided by it.

    Returns
    -------
    GranularityAdjustment
        ``asrf_var = μ(x_q)``, ``adjustment = GA_q`` and ``var = asrf_var + adjustment``.

    Raises
    ------
    ArgumentError
        For values out of range, shapes that do not match `exposure`, or an empty book.

    Notes
    -----
    See the module docstring for the formula and its derivation. First order only: the error of
    ``var`` is of order ``HHI²`` against ``GA = O(HHI)``.

    Examples
    --------
    >>> ga = granularity_adjustment([1.0] * 100, 0.01, 0.45, 0.2, 0.12, 0.999)
    >>> bool(ga.adjustment > 0), round(ga.var / ga.asrf_var, 3)
    (True, 1.274)
    """
    e = np.atleast_1d(np.asarray(exposure, dtype=float))
    if e.ndim != 1 or e.size == 0:
        raise ArgumentError(f"`exposure` must be a non-empty 1-D array; got shape {e.shape}.")
    size = e.size
    p = _as_vector("pd", pd, size)
    m = _as_vector("lgd_mean", lgd_mean, size)
    sd = _as_vector("lgd_sd", lgd_sd, size)
    rho = _as_vector("correlation", correlation, size)
    n = _as_vector("customers", customers, size)
    _check("exposure", e >= 0.0, e, "≥ 0 and finite")
    _check("pd", (p > 0.0) & (p < 1.0), p, "in (0, 1)")
    _check("lgd_mean", (m >= 0.0) & (m <= 1.0), m, "in [0, 1]")
    _check("lgd_sd", (sd == 0.0) | ((sd > 0.0) & (sd * sd < m * (1.0 - m))), sd,
           "0 or positive with sd² < mean (1 − mean)")  # fmt: skip
    _check("correlation", (rho > 0.0) & (rho < 1.0), rho, "in (0, 1)")
    _check("customers", n >= 1.0, n, "≥ 1")
    if not 0.5 < level < 1.0:
        raise ArgumentError(f"`level` must be in (0.5, 1); got {level}. E.g. level=0.999.")
    if not np.any(e * m > 0.0):
        raise ArgumentError("the book has no loss: every exposure × lgd_mean is 0.")
    x = float(ndtri(1.0 - level))
    mu, dmu, d2mu, sigma2, dsigma2 = _moments(x, e, p, m, sd * sd, rho, n)
    ga = -0.5 * (dsigma2 / dmu - sigma2 * (x / dmu + d2mu / (dmu * dmu)))
    return GranularityAdjustment(level=level, factor_quantile=x, asrf_var=mu, adjustment=ga)
