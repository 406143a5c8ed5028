"""Sensitivity factors of sector factors (issue 15), both on the config route.

``systematic.factor_correlation.<A>.<B>``
    The correlation of factors ``A`` and ``B`` (both entries of the symmetric matrix); every
    value of the range must keep the matrix positive semi-definite. Each segment's exact
    expectations depend on its own factor's marginal only, so this moves the tail (VaR, ES),
    not the expected loss.
``systematic.segments.<NAME>.correlation``
    The asset correlation of segment ``NAME``; domain [0, 1).

Importing this module registers both families in `FACTOR_FAMILIES`
(`riskmodel.sensitivity.builtin_factors` imports it).
"""

from __future__ import annotations

import difflib

import numpy as np

from riskmodel.config.factors import PSD_TOLERANCE
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.edits import DeriveInputs, derive_edited
from riskmodel.sensitivity.registry import FACTOR_FAMILIES, Factor

__all__: list[str] = []

_PAIR = "systematic.factor_correlation."
_SEGMENT = "systematic.segments."


def _no_sectors(name: str) -> ValueError:
    return ValueError(
        f"factor {name!r} needs sector factors, but the scenario has the one-factor form; vary "
        "`systematic.correlation` instead, or declare `systematic: factors`."
    )


def _hint(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def _pair_factor(scenario: Scenario, name: str) -> Factor:
    """``systematic.factor_correlation.A.B``: the correlation of factors A and B."""
    sectors = scenario.factors
    if sectors is None:
        raise _no_sectors(name)
    names = list(sectors.names)
    pairs = [f"{_PAIR}{a}.{b}" for i, a in enumerate(names) for b in names[i + 1 :]]
    parts = name[len(_PAIR) :].split(".")
    if len(parts) != 2 or parts[0] == parts[1] or not set(parts) <= set(names):
        raise ValueError(
            f"unknown factor {name!r}: write {_PAIR}<A>.<B> with two different factors of "
            f"{names}.{_hint(name, pairs)}"
        )
    i, j = names.index(parts[0]), names.index(parts[1])

    def edit(inputs: DeriveInputs, value: float) -> None:
        matrix = inputs.config["systematic"]["factor_correlation"]
        matrix[i][j] = matrix[j][i] = float(value)

    def check(sc: Scenario, low: float, high: float) -> str | None:
        if not -1.0 <= low <= high <= 1.0:
            return f"a correlation must be in [-1, 1]; got {low:g}, {high:g}."
        assert sc.factors is not None
        for v in (low, high):  # the PSD values of one entry form an interval: check its ends
            c = np.array(sc.factors.correlation)
            c[i, j] = c[j, i] = v
            smallest = float(np.linalg.eigvalsh(c)[0])
            if smallest < -PSD_TOLERANCE:
                return (
                    f"with {parts[0]}-{parts[1]} correlation {v:g} the factor correlation matrix "
                    f"is not positive semi-definite (smallest eigenvalue {smallest:.4g}, below 0 "
                    f"by {-smallest:.4g}); narrow the range."
                )
        return None

    return Factor(
        name=f"{_PAIR}{parts[0]}.{parts[1]}",
        apply=lambda sc, v: derive_edited(sc, [(edit, v)]),
        base=lambda sc: float(np.asarray(sc.factors.correlation)[i, j]) if sc.factors else 0.0,
        check=check,
        description=f"correlation of the sector factors {parts[0]} and {parts[1]}",
        edit=edit,
    )


def _segment_factor(scenario: Scenario, name: str) -> Factor:
    """``systematic.segments.NAME.correlation``: the asset correlation of one segment."""
    if scenario.factors is None:
        raise _no_sectors(name)
    segments = list(scenario.segments)
    known = [f"{_SEGMENT}{s}.correlation" for s in segments]
    if name not in known:
        raise ValueError(
            f"unknown factor {name!r}: write {_SEGMENT}<segment>.correlation with a segment "
            f"of {segments}.{_hint(name, known)}"
        )
    segment = name[len(_SEGMENT) : -len(".correlation")]
    s = segments.index(segment)

    def edit(inputs: DeriveInputs, value: float) -> None:
        inputs.config["systematic"]["segments"][segment]["correlation"] = float(value)

    def check(_sc: Scenario, low: float, high: float) -> str | None:
        return (
            None
            if 0.0 <= low and high < 1.0
            else f"values must be in [0, 1); got {low:g}, {high:g}."
        )

    return Factor(
        name=name,
        apply=lambda sc, v: derive_edited(sc, [(edit, v)]),
        base=lambda sc: float(np.asarray(sc.correlation)[0, s]) if sc.factors else 0.0,
        check=check,
        description=f"asset correlation of segment {segment} (on its sector factor)",
        edit=edit,
    )


FACTOR_FAMILIES[_PAIR] = _pair_factor
FACTOR_FAMILIES[_SEGMENT] = _segment_factor
