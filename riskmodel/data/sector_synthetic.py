"""Synthetic default histories with sector factors: known truth for `SectorDefaultModel`.

Each segment ``s`` loads on one named factor ``f(s)``; the factors of a period are jointly
normal, ``Z_t ~ MVN(0, R)``, and given them the segment's defaults are binomial with the
one-factor conditional PD of `riskmodel.dynamics.conditional_pd`::

    D_{s,t} ~ Binomial(n_s, Φ((Φ⁻¹(p_s) − √ρ_s Z_{t,f(s)}) / √(1 − ρ_s)))

With one factor and one correlation for every segment this is the law of
`riskmodel.data.synthetic.simulate_default_history` (not the same draws).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

from riskmodel import dynamics
from riskmodel.data.synthetic import _generator

__all__ = ["simulate_sector_default_history"]


def _factor_root(
    factors: list[str], factor_correlation: Sequence[Sequence[float]] | np.ndarray | None
) -> np.ndarray:
    """Cholesky factor of the factor correlation matrix, checked (shape, unit diagonal, PD)."""
    f = len(factors)
    r = np.eye(1) if factor_correlation is None and f == 1 else np.asarray(factor_correlation)
    if r.shape != (f, f):
        raise ValueError(
            f"factor_correlation must be {f}×{f} (factors {factors}); got shape {r.shape}."
        )
    if not (np.allclose(r, r.T) and np.allclose(np.diag(r), 1.0)):
        raise ValueError("factor_correlation must be symmetric with ones on its diagonal.")
    try:
        return np.linalg.cholesky(r.astype(float))
    except np.linalg.LinAlgError:
        raise ValueError(
            "factor_correlation must be positive definite; its smallest eigenvalue is "
            f"{np.linalg.eigvalsh(r)[0]:.3g}. Move the correlations toward 0."
        ) from None


def simulate_sector_default_history(
    pd_: Mapping[str, float],
    correlation: Mapping[str, float],
    segment_factors: Mapping[str, str],
    *,
    customers: int | Mapping[str, int],
    n_periods: int,
    factor_correlation: Sequence[Sequence[float]] | np.ndarray | None = None,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw default counts per period and segment from the sector-factor Gaussian model.

    Parameters
    ----------
    pd_ : mapping segment -> float
        Unconditional PD per period of each segment, in (0, 1).
    correlation : mapping segment -> float
        Asset correlation ``ρ_s`` of each segment, in [0, 1).
    segment_factors : mapping segment -> str
        The factor each segment loads on; the factors are taken in order of first appearance.
    customers : int or mapping segment -> int
        Customers at risk per period.
    n_periods : int
        Number of periods.
    factor_correlation : array_like, shape (F, F), optional
        Correlation matrix ``R`` of the factors (positive definite); optional with one factor.
    seed, rng
        Seed for ``numpy.random.default_rng`` or a Generator (not both).

    Returns
    -------
    DataFrame
        ``period, segment, customers, defaults``, segments in `segment_factors` order;
        ``attrs["factor"]`` holds the drawn ``Z`` (list of ``n_periods`` rows of F values) and
        ``attrs["factors"]`` the factor names.

    Raises
    ------
    ValueError
        If a segment lacks a PD, correlation or factor, a value is out of range, or ``R`` is
        not a positive-definite correlation matrix of the right size.

    Examples
    --------
    >>> hist = simulate_sector_default_history(
    ...     {"cards": 0.02, "sme": 0.01}, {"cards": 0.05, "sme": 0.15},
    ...     {"cards": "retail", "sme": "business"}, customers=1000, n_periods=12,
    ...     factor_correlation=[[1.0, 0.5], [0.5, 1.0]], seed=3)
    >>> hist.shape, hist.attrs["factors"]
    ((24, 4), ['retail', 'business'])
    """
    gen = _generator(seed, rng)
    segments = [str(s) for s in segment_factors]
    factors = list(dict.fromkeys(str(f) for f in segment_factors.values()))
    for name, table in (("pd_", pd_), ("correlation", correlation)):
        missing = [s for s in segments if s not in table]
        if missing:
            raise ValueError(f"{name} has no value for segment(s) {missing}; give one each.")
    for s in segments:
        if not 0.0 < pd_[s] < 1.0:
            raise ValueError(f"PD of segment {s!r} must be in (0, 1); got {pd_[s]}.")
        if not 0.0 <= correlation[s] < 1.0:
            raise ValueError(f"correlation of {s!r} must be in [0, 1); got {correlation[s]}.")
    root = _factor_root(factors, factor_correlation)
    z = gen.standard_normal((n_periods, len(factors))) @ root.T
    rows = []
    for s in segments:
        n = int(customers[s] if isinstance(customers, Mapping) else customers)
        p = dynamics.conditional_pd(
            special.ndtri(pd_[s]), correlation[s], z[:, factors.index(segment_factors[s])]
        )
        rows.append(
            pd.DataFrame(
                {
                    "period": np.arange(n_periods),
                    "segment": s,
                    "customers": n,
                    "defaults": gen.binomial(n, p),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out.attrs["factor"] = z.tolist()
    out.attrs["factors"] = factors
    return out
