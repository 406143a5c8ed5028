"""The sector-factor block of `systematic:`: named factors, their correlation, segment loadings.

One factor (version 1)::

    systematic: {correlation: 0.12, shift: [-1.0, -0.5, 0.0]}

Several factors (each segment loads on one factor with its own asset correlation)::

    systematic:
      factors: [retail, sme]
      factor_correlation: [[1.0, 0.4], [0.4, 1.0]]
      segments:
        cards: {factor: retail, correlation: 0.08}
        loans: {factor: sme, correlation: 0.20}
      shift: {retail: 0.0, sme: [-0.5, -0.5, 0.0]}

The checks here need only the block itself: a valid correlation matrix (symmetric, unit
diagonal, positive semi-definite), segments that name declared factors, shift keys that are
factors. That every segment of the portfolio has a loading is checked when the scenario is
derived (`riskmodel.scenarios.factors`), where the portfolio is known.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

import numpy as np
from pydantic import Discriminator, Field, Tag

from riskmodel.config.base import ConfigModel, NumberOrList

__all__ = [
    "PSD_TOLERANCE",
    "SYMMETRY_TOLERANCE",
    "SegmentFactorConfig",
    "ShiftSpec",
    "check_factor_block",
    "check_shift",
    "check_shift_values",
]

SYMMETRY_TOLERANCE = 1e-10
"""Largest |C_ij − C_ji| and |C_ii − 1| accepted in a factor correlation matrix."""

PSD_TOLERANCE = 1e-10
"""Smallest eigenvalue accepted: −PSD_TOLERANCE (rounding of a singular matrix such as all-ones)."""


def _shift_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "__factors__"
    return "__list__" if isinstance(value, list | tuple) else "__number__"


ShiftSpec = Annotated[
    Annotated[float, Tag("__number__")]
    | Annotated[list[float], Tag("__list__")]
    | Annotated[dict[str, NumberOrList], Tag("__factors__")],
    Discriminator(_shift_kind),
]
"""`systematic.shift`: a number, a list per period, or (with `factors`) one of those per factor."""


class SegmentFactorConfig(ConfigModel):
    """One entry of `systematic: segments:` — the factor a segment loads on and its correlation."""

    factor: str = Field(min_length=1)
    correlation: float = Field(ge=0.0, lt=1.0)


def check_shift_values(v: float | list[float], where: str = "") -> None:
    """Refuse an empty list and values outside [-10, 10] (standard deviations of the factor)."""
    if isinstance(v, list) and not v:
        raise ValueError(
            f"{where}the list is empty; give a number, or a list of numbers with one per period"
        )
    values = v if isinstance(v, list) else [v]
    if any(abs(x) > 10 for x in values):
        raise ValueError(
            f"{where}shift values are in standard deviations of Z and must be in [-10, 10]; got "
            f"{[x for x in values if abs(x) > 10][:3]}. Typical downturns are -1 to -3"
        )


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_correlation_matrix(matrix: list[list[float]], factors: list[str]) -> None:
    """Check `factor_correlation` against `factors`: shape, symmetry, unit diagonal, PSD."""
    f = len(factors)
    if len(matrix) != f or any(len(row) != f for row in matrix):
        shape = f"{len(matrix)} rows of lengths {[len(r) for r in matrix]}"
        raise ValueError(
            f"`factor_correlation` must be a {f}×{f} matrix, one row and column per factor in "
            f"`factors` order {factors}; got {shape}"
        )
    c = np.asarray(matrix, dtype=float)
    asym = np.abs(c - c.T)
    if asym.max() > SYMMETRY_TOLERANCE:
        i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
        raise ValueError(
            f"`factor_correlation` must be symmetric; entry [{i}][{j}] is {c[i, j]:g} but "
            f"[{j}][{i}] is {c[j, i]:g} ({factors[i]} with {factors[j]}). Make them equal"
        )
    diag = np.abs(np.diag(c) - 1.0)
    if diag.max() > SYMMETRY_TOLERANCE:
        k = int(np.argmax(diag))
        raise ValueError(
            f"`factor_correlation` must have ones on its diagonal (a factor's correlation with "
            f"itself); entry [{k}][{k}] ({factors[k]}) is {c[k, k]:g}. Set it to 1.0"
        )
    off = np.abs(c[~np.eye(f, dtype=bool)])
    if off.size and off.max() > 1.0:
        raise ValueError(
            f"`factor_correlation` entries must be in [-1, 1]; got {float(off.max()):g}"
        )
    eig = np.linalg.eigvalsh(c)
    if eig[0] < -PSD_TOLERANCE:
        bad = [f"{x:.6g}" for x in eig if x < -PSD_TOLERANCE]
        raise ValueError(
            f"`factor_correlation` must be positive semi-definite (a valid correlation matrix); "
            f"its smallest eigenvalue is {eig[0]:.6g}, below 0 by {-eig[0]:.6g} (negative "
            f"eigenvalues: {bad}). The pairwise correlations contradict each other: move them "
            "toward 0, or build the matrix from data (a sample correlation matrix is PSD)"
        )


def check_shift(
    shift: float | list[float] | dict[str, float | list[float]], factors: list[str] | None
) -> None:
    """Check `systematic.shift`: values in range; per factor only with `factors`, keys declared."""
    if not isinstance(shift, dict):
        check_shift_values(shift)
        return
    if factors is None:
        raise ValueError(
            "a shift per factor ({name: value}) needs `systematic: factors`; for the one-factor "
            "form give a number or a list per period"
        )
    for key, value in shift.items():
        if key not in factors:
            raise ValueError(
                f"the key {key!r} is not a declared factor{_did_you_mean(key, factors)}; the "
                f"keys must be among `factors` {factors} (a factor left out has shift 0)"
            )
        check_shift_values(value, where=f"`{key}`: ")


def check_factor_block(
    *,
    correlation: float | None,
    factors: list[str] | None,
    factor_correlation: list[list[float]] | None,
    segments: dict[str, SegmentFactorConfig] | None,
) -> None:
    """Check the `systematic:` block as a whole (one-factor or sector-factor form)."""
    if factors is None:
        given = [
            k
            for k, v in (("factor_correlation", factor_correlation), ("segments", segments))
            if v is not None
        ]
        if given:
            raise ValueError(
                f"{given} belong to the sector-factor form; declare the factors too, e.g. "
                "`factors: [retail, sme]` (or remove them for the one-factor form)"
            )
        return
    _check_factors(factors, correlation, factor_correlation, segments)


def _check_factors(
    factors: list[str],
    correlation: float | None,
    factor_correlation: list[list[float]] | None,
    segments: dict[str, SegmentFactorConfig] | None,
) -> None:
    if not factors:
        raise ValueError("`factors` is empty; name at least one factor, e.g. [retail]")
    dupes = sorted({f for f in factors if factors.count(f) > 1})
    if dupes:
        raise ValueError(f"`factors` must be unique; got {dupes} more than once")
    if correlation is not None:
        raise ValueError(
            "with `factors`, each segment has its own asset correlation under `segments` "
            f"({{NAME: {{factor: ..., correlation: ...}}}}); remove `correlation: {correlation}`"
        )
    if factor_correlation is None:
        if len(factors) > 1:
            raise ValueError(
                f"{len(factors)} factors need `factor_correlation`, a {len(factors)}×"
                f"{len(factors)} correlation matrix in `factors` order, e.g. [[1.0, 0.4], "
                "[0.4, 1.0]] for two"
            )
    else:
        check_correlation_matrix(factor_correlation, factors)
    if not segments:
        raise ValueError(
            "with `factors`, give `segments`: the factor and asset correlation of every "
            "segment of the portfolio, e.g. {cards: {factor: retail, correlation: 0.08}}"
        )
    for name, seg in segments.items():
        if seg.factor not in factors:
            raise ValueError(
                f"segment {name!r} loads on factor {seg.factor!r}, which is not declared"
                f"{_did_you_mean(seg.factor, factors)}; `factors` are {factors}"
            )
