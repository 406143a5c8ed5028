"""The model's dynamics, written once: one-factor default probabilities, row rescaling, discounting.

Every part of the package that moves customers uses these: the engine's stochastic kernel
(`riskmodel.simulation.kernel`), the large-pool model behind importance sampling
(`riskmodel.simulation.importance`), the exact expectations (`riskmodel.simulation.expected`),
synthetic data (`riskmodel.data.synthetic`) and the predictive checks (`riskmodel.validation`).
It sits in the lowest layer (numpy and scipy only) so that all of them can import it.

The one-factor (Vasicek) model: given the systematic factor ``Z`` of a period, a customer with
unconditional default probability ``p`` and asset correlation ``ρ`` defaults with probability

    p(Z) = Φ((Φ⁻¹(p) − √ρ Z) / √(1 − ρ)),

so that ``E[p(Z)] = p`` for ``Z ~ N(0, 1)`` and ``E[p(Z)] = Φ(Φ⁻¹(p) − √ρ s)`` for
``Z ~ N(s, 1)`` (a negative ``Z`` is a downturn). A survivor's other moves keep their
proportions: the rest of the row is rescaled by ``(1 − p(Z)) / (1 − p)``. The downturn LGD is
``m(Z) = Φ(Φ⁻¹(m) − b Z)``. The derivatives of ``p(Z)`` in ``Z`` (`vasicek_pd_derivatives`) serve
the granularity adjustment (`riskmodel.metrics.granularity`).

The functions keep the exact floating-point operations of the code they replaced, so the engine's
numbers are bit-identical to before (``tests/test_golden.py``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

__all__ = [
    "conditional_pd",
    "conditional_pd_scaled",
    "discount_factors",
    "downturn_lgd",
    "mean_conditional_pd",
    "remaining_discount",
    "rest_scale",
    "survivor_shares",
    "vasicek_pd_derivatives",
]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
"""1/√(2π), the standard normal density at 0."""


def conditional_pd(probit_pd: ArrayLike, rho: ArrayLike, z: ArrayLike) -> NDArray[np.float64]:
    """Default probability given the factor: ``Φ((Φ⁻¹(p) − √ρ Z) / √(1 − ρ))``.

    Parameters
    ----------
    probit_pd : array_like
        ``Φ⁻¹(p)`` (``-inf`` for ``p = 0``, ``+inf`` for ``p = 1``).
    rho : array_like
        Asset correlation in [0, 1), broadcastable against `probit_pd` and `z`.
    z : array_like
        Factor values.

    Returns
    -------
    ndarray
        ``p(Z)``, broadcast over the inputs.

    Examples
    --------
    >>> from scipy.special import ndtri
    >>> round(float(conditional_pd(ndtri(0.02), 0.0, 3.0)), 12)  # no correlation: Z is irrelevant
    0.02
    >>> round(float(conditional_pd(ndtri(0.02), 0.12, -2.0)), 4)  # a downturn raises the PD
    0.0734
    """
    rho = np.asarray(rho, dtype=float)
    out: NDArray[np.float64] = ndtr(
        (np.asarray(probit_pd) - np.sqrt(rho) * np.asarray(z)) / np.sqrt(1.0 - rho)
    )
    return out


def conditional_pd_scaled(
    probit_pd: NDArray[np.float64],
    sqrt_rho: NDArray[np.float64],
    inv_sqrt_1mrho: NDArray[np.float64],
    z: NDArray[np.float64],
) -> NDArray[np.float64]:
    """`conditional_pd` with ``√ρ`` and ``1 / √(1 − ρ)`` computed once, for the kernel's loop.

    Equal to `conditional_pd` up to rounding (a multiplication by the reciprocal instead of a
    division); the kernel has always used this form, so its numbers stay as they were.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import ndtri
    >>> rho = np.array(0.12)
    >>> a = conditional_pd_scaled(ndtri(0.02), np.sqrt(rho), 1 / np.sqrt(1 - rho), -2.0)
    >>> bool(np.isclose(a, conditional_pd(ndtri(0.02), rho, -2.0), rtol=1e-14))
    True
    """
    out: NDArray[np.float64] = ndtr((probit_pd - sqrt_rho * z) * inv_sqrt_1mrho)
    return out


def mean_conditional_pd(
    probit_pd: ArrayLike, sqrt_rho: ArrayLike, shift: ArrayLike
) -> NDArray[np.float64]:
    """``E[p(Z)] = Φ(Φ⁻¹(p) − √ρ s)`` for a factor ``Z ~ N(s, 1)``.

    Examples
    --------
    >>> from scipy.special import ndtri
    >>> round(float(mean_conditional_pd(ndtri(0.02), 0.3, 0.0)), 12)  # no shift: the PD itself
    0.02
    """
    out: NDArray[np.float64] = ndtr(
        np.asarray(probit_pd) - np.asarray(sqrt_rho) * np.asarray(shift)
    )
    return out


def vasicek_pd_derivatives(
    pd: ArrayLike, correlation: ArrayLike, x: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Conditional PD ``p(x)`` of the one-factor Gaussian model and its first two derivatives.

    Parameters
    ----------
    pd : array_like
        Unconditional default probabilities in (0, 1).
    correlation : array_like
        Asset correlations in [0, 1), broadcastable against `pd` and `x`.
    x : array_like
        Factor values (negative = downturn).

    Returns
    -------
    tuple of ndarray
        ``(p, p', p'')`` with ``p(x) = Φ(u)``, ``u = (Φ⁻¹p − √ρ x)/√(1 − ρ)``,
        ``p'(x) = −s φ(u)`` and ``p''(x) = −s² u φ(u)``, ``s = √(ρ/(1 − ρ))``.

    Examples
    --------
    >>> p, dp, d2p = vasicek_pd_derivatives(0.02, 0.12, -3.0)
    >>> bool(dp < 0)  # p rises as the factor falls
    True
    >>> round(float(p), 4)
    0.1397
    """
    rho = np.asarray(correlation, dtype=float)
    s = np.sqrt(rho / (1.0 - rho))
    u = (ndtri(np.asarray(pd, dtype=float)) - np.sqrt(rho) * np.asarray(x, dtype=float)) / np.sqrt(
        1.0 - rho
    )
    dens = _INV_SQRT_2PI * np.exp(-0.5 * u * u)
    p = np.asarray(ndtr(u), dtype=float)
    return p, np.asarray(-s * dens, dtype=float), np.asarray(-s * s * u * dens, dtype=float)


def downturn_lgd(lgd_mean: float, sensitivity: float, z: ArrayLike) -> NDArray[np.float64]:
    """Mean LGD given the factor: ``m(Z) = Φ(Φ⁻¹(m) − b Z)``.

    Examples
    --------
    >>> float(downturn_lgd(0.45, 0.0, -3.0))  # no sensitivity: the mean LGD
    0.45
    """
    out: NDArray[np.float64] = ndtr(ndtri(lgd_mean) - sensitivity * np.asarray(z))
    return out


def survivor_shares(
    rows: NDArray[np.float64], pd: NDArray[np.float64], default_idx: int
) -> NDArray[np.float64]:
    """Destination shares of the customers who do not default: ``p_ij / (1 − p_i)``.

    Parameters
    ----------
    rows : ndarray, shape (..., K)
        Rows of transition matrices.
    pd : ndarray, shape (...)
        Their default probabilities (``rows[..., default_idx]``, clipped to [0, 1]).
    default_idx : int
        Position of the default state.

    Returns
    -------
    ndarray, shape (..., K)
        The shares, with the default column 0 and rows of ``p_i = 1`` all zero.

    Examples
    --------
    >>> import numpy as np
    >>> survivor_shares(np.array([0.5, 0.3, 0.2]), np.array(0.2), 2).tolist()
    [0.625, 0.37499999999999994, 0.0]
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = rows / (1.0 - pd)[..., None]
    surv[..., default_idx] = 0.0
    return np.where(np.isfinite(surv), surv, 0.0)


def rest_scale(pd: NDArray[np.float64], pd_z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Factor ``(1 − p(Z)) / (1 − p)`` that rescales the non-default part of a row (0 if p = 1).

    Examples
    --------
    >>> import numpy as np
    >>> rest_scale(np.array([0.1, 1.0]), np.array([0.2, 1.0])).tolist()
    [0.888888888888889, 0.0]
    """
    shape = np.broadcast_shapes(np.shape(pd), np.shape(pd_z))
    return np.divide(1.0 - pd_z, 1.0 - pd, out=np.zeros(shape), where=pd < 1.0)


def discount_factors(rate: ArrayLike) -> NDArray[np.float64]:
    """Discount factor of each period, ``Π_{u ≤ t} 1 / (1 + r_u)`` for per-period rates ``r_u``.

    Examples
    --------
    >>> discount_factors([0.1, 0.1]).round(6).tolist()
    [0.909091, 0.826446]
    """
    return np.cumprod(1.0 / (1.0 + np.asarray(rate, dtype=np.float64))).astype(
        np.float64, copy=False
    )


def remaining_discount(discount: ArrayLike) -> NDArray[np.float64]:
    """``Σ_{u ≥ t} df_u`` for each period ``t``: the discounted run-off from ``t`` to the horizon.

    Examples
    --------
    >>> remaining_discount([0.5, 0.25, 0.125]).tolist()
    [0.875, 0.375, 0.125]
    """
    return np.cumsum(np.asarray(discount, dtype=float)[::-1])[::-1]
