"""Sector factors of a scenario: which factor each segment loads on, and the factors' joint law.

The validated `systematic:` block (`riskmodel.config.factors`) names the factors, their
correlation matrix ``C`` and each segment's factor and asset correlation. Here it meets the
portfolio: every segment of the portfolio must have a loading, and the arrays the engine needs
are built once — each segment's factor index and correlation, the factor shift per period and
factor, and a square root ``L`` of ``C`` (``L Lᵀ = C``), so that the factors of a period are
``Z_t = shift_t + L ε_t`` with ``ε_t`` standard normal in ``R^F``.

``L`` is the Cholesky factor when ``C`` is positive definite, else (a singular ``C`` such as
all-ones, the comonotone case) ``V √Λ`` from the eigen-decomposition with the rounding-level
negative eigenvalues set to 0. With several factors the per-segment correlations come from the
config; a posterior's correlation draws apply to the one-factor form only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmodel.config.sections import SystematicConfig
from riskmodel.scenarios.stresses import compact, fail, per_period

__all__ = [
    "SectorFactors",
    "factor_root",
    "per_factor_text",
    "sector_factors",
    "shift_paths",
    "shift_summary",
]


@dataclass(frozen=True)
class SectorFactors:
    """The sector-factor structure of a scenario with ``systematic: factors``.

    Attributes
    ----------
    names : tuple of str
        The factors, in `factors` order (F of them).
    correlation : ndarray, shape (F, F)
        Their correlation matrix ``C``.
    root : ndarray, shape (F, F)
        ``L`` with ``L Lᵀ = C`` (see `factor_root`).
    segment_factor : ndarray of int, shape (S,)
        Factor of each segment, in the scenario's segment order.
    segment_correlation : ndarray, shape (S,)
        Asset correlation of each segment.
    """

    names: tuple[str, ...]
    correlation: np.ndarray
    root: np.ndarray
    segment_factor: np.ndarray
    segment_correlation: np.ndarray

    @property
    def n_factors(self) -> int:
        """Number of factors F."""
        return len(self.names)

    def describe(self, segments: tuple[str, ...]) -> str:
        """Return one line for reports: the factors, their correlations and the loadings."""
        pairs = [
            f"{a}–{b} {self.correlation[i, j]:.4g}"
            for i, a in enumerate(self.names)
            for j, b in enumerate(self.names)
            if j > i
        ]
        loads = [
            f"{s} on {self.names[self.segment_factor[k]]} (ρ {self.segment_correlation[k]:.4g})"
            for k, s in enumerate(segments)
        ]
        corr = f"; factor correlation {', '.join(pairs)}" if pairs else ""
        return f"sector factors {', '.join(self.names)}{corr}; " + ", ".join(loads)


def factor_root(correlation: np.ndarray) -> np.ndarray:
    """Return ``L`` with ``L Lᵀ = C``: Cholesky, or ``V √Λ`` for a singular ``C``.

    Examples
    --------
    >>> import numpy as np
    >>> factor_root(np.array([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> root = factor_root(np.ones((2, 2)))  # comonotone: rank one
    >>> bool(np.allclose(root @ root.T, np.ones((2, 2))))
    True
    """
    c = np.asarray(correlation, dtype=float)
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        eig, vec = np.linalg.eigh(c)
        root: np.ndarray = vec * np.sqrt(np.clip(eig, 0.0, None))[None, :]
        return root


def sector_factors(
    cfg: SystematicConfig, segments: tuple[str, ...], file: Path | None
) -> SectorFactors | None:
    """Return the sector factors of `cfg` for the portfolio's `segments` (None: one factor).

    Raises
    ------
    ScenarioError
        If a segment of the portfolio has no loading under ``systematic: segments``, or a
        loading names a segment the portfolio does not have.
    """
    if cfg.factors is None:
        return None
    loadings = cfg.segments or {}
    missing = [s for s in segments if s not in loadings]
    if missing:
        raise fail(
            file,
            "systematic -> segments",
            f"segments {missing} of the portfolio have no factor loading; add e.g. "
            f"`{missing[0]}: {{factor: {cfg.factors[0]}, correlation: 0.12}}` (every segment "
            f"loads on one of the factors {cfg.factors})",
        )
    foreign = [s for s in loadings if s not in segments]
    if foreign:
        raise fail(
            file,
            "systematic -> segments",
            f"{foreign} are not segments of the portfolio (its segments: {list(segments)}); "
            "remove them or fix the spelling",
        )
    index = {name: i for i, name in enumerate(cfg.factors)}
    f = len(cfg.factors)
    corr = np.eye(f) if cfg.factor_correlation is None else np.array(cfg.factor_correlation)
    corr = 0.5 * (corr + corr.T)  # symmetric to the last bit (checked to 1e-10 on load)
    out = SectorFactors(
        names=tuple(cfg.factors),
        correlation=corr,
        root=factor_root(corr),
        segment_factor=np.array([index[loadings[s].factor] for s in segments], dtype=np.intp),
        segment_correlation=np.array([loadings[s].correlation for s in segments], dtype=float),
    )
    for arr in (out.correlation, out.root, out.segment_factor, out.segment_correlation):
        arr.setflags(write=False)
    return out


def shift_paths(cfg: SystematicConfig, horizon: int) -> np.ndarray:
    """Return the factor shift per period: shape (H,) for one factor, (H, F) with `factors`.

    A number or a list applies to every factor; ``{name: value}`` per factor (0 if left out).
    """
    if cfg.factors is None:
        assert not isinstance(cfg.shift, dict)  # refused by the config's checks
        return per_period(cfg.shift, horizon)
    shift = cfg.shift
    per_factor = shift if isinstance(shift, dict) else dict.fromkeys(cfg.factors, shift)
    return np.stack([per_period(per_factor.get(f, 0.0), horizon) for f in cfg.factors], axis=1)


def shift_summary(
    shift: np.ndarray, factors: list[str] | None
) -> float | list[float] | dict[str, float | list[float]]:
    """Return the shift for ``stresses``: compact per period, per factor if several."""
    if factors is None:
        return compact(shift)
    return {name: compact(shift[:, i]) for i, name in enumerate(factors)}


def per_factor_text(
    shift: np.ndarray, factors: SectorFactors | None, fmt: Callable[[np.ndarray], str]
) -> str:
    """Return `fmt` of the shift path, per factor (``name: text; …``) with sector factors."""
    if factors is None:
        return fmt(shift)
    return "; ".join(f"{f}: {fmt(shift[:, i])}" for i, f in enumerate(factors.names))
