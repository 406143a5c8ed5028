"""Sensitivity factors: named scenario assumptions that an analysis moves over a range.

A factor is addressed by its path in the scenario (``systematic.correlation``, ``lgd.mean``,
``transitions.declining->defaulted`` …) and applied by a pure function
``apply(scenario, value) -> Scenario`` that returns a modified copy. The registry `FACTORS` maps
fixed names to `Factor` objects and `FACTOR_FAMILIES` maps a name prefix (``transitions.``) to a
builder of the factor for one concrete name; `register_factor` adds more (issue 5's
``shocks.default_multiplier`` …) without touching the analyses.

Built-in factors
----------------
``systematic.correlation``
    Asset correlation ρ, set in every parameter draw; domain [0, 1).
``systematic.shift``
    An additive offset (in standard deviations of Z) to every period's factor mean; the shifted
    path must stay within [-10, 10] as in the scenario schema.
``lgd.mean``, ``lgd.sd``
    Mean and standard deviation of the Beta LGD; every combination of the ranges must keep
    ``sd < sqrt(mean (1 - mean))`` (or sd = 0).
``portfolio.exposure``
    A multiplier (>= 0) on every cohort's exposure.
``transitions.<from>-><to>``
    A multiplier (>= 0) on the probability of moving from transient state ``<from>`` to state
    ``<to>``, in every segment, parameter draw (and period); the stay probability of the row
    absorbs the change. Both ends of the range must keep every row in [0, 1].
``posterior.draw``
    A value ``u`` in [0, 1) picks the parameter draw ``floor(u D)`` of a scenario with ``D``
    draws and pins every path to it; as a Sobol factor it measures how much of a metric's
    variance is estimation uncertainty.

Two routes
----------
*Config route* (``systematic.correlation``, ``systematic.shift``, ``lgd.mean``, ``lgd.sd``,
``portfolio.exposure``): the factor edits the config — for a ``portfolio: file``, the portfolio
read from it — and the scenario is validated and derived again
(`riskmodel.sensitivity.edits.derive_edited`), so the applied scenario is exactly a fresh load
of the edited file and its ``config`` and ``stresses`` describe it. `apply_factors` makes all
edits of one point first and derives once. A new factor that is an assumption of the config
takes this route: ``register_factor(name, edit=...)``.

*Array route* (``transitions.<from>-><to>``, ``posterior.draw``): these act on what `derive`
produces, not on anything the config states. A transition multiplier scales the matrices after
the ``shocks:``, the macro paths, the period conversion and the posterior (a posterior file has
no matrix in the config at all); scaling a point matrix before the shocks instead would change
the numbers (the shock's rescaling of the row and its clipping do not commute with the
multiplier). Pinning a posterior draw selects one of the draws read from the posterior file,
which no config key expresses. Both therefore replace derived arrays of the Scenario
(`dataclasses.replace`) and are applied after the config route; ``config.parameters`` still
describes the base.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from riskmodel.errors import ArgumentError
from riskmodel.scenarios.errors import ScenarioError
from riskmodel.scenarios.load import Scenario

# the built-in factors register themselves in the registry when their module is imported
from riskmodel.sensitivity import builtin_factors as _builtin_factors  # noqa: F401
from riskmodel.sensitivity.edits import derive_edited
from riskmodel.sensitivity.registry import (
    FACTOR_FAMILIES,
    FACTORS,
    JOINT_CHECKS,
    Factor,
    FactorRange,
    register_factor,
)

__all__ = [
    "FACTORS",
    "FACTOR_FAMILIES",
    "JOINT_CHECKS",
    "Factor",
    "FactorRange",
    "apply_factors",
    "available_factors",
    "register_factor",
    "resolve_factor",
    "resolve_factors",
]


_FAMILY_FORMS = {
    "transitions.": "transitions.<from>-><to>",
    "systematic.factor_correlation.": "systematic.factor_correlation.<A>.<B>",
    "systematic.segments.": "systematic.segments.<segment>.correlation",
}
"""How each family's names are written, for messages without a scenario."""


def _family_names(scenario: Scenario, prefix: str) -> list[str]:
    """Every name of the family `prefix` that this scenario accepts."""
    if prefix == "transitions.":
        st = scenario.states
        return [f"transitions.{a}->{b}" for a in st.transient for b in st.names if b != a]
    factors = scenario.config.systematic.factors
    if factors is None:
        return []  # the sector families need `systematic: factors`
    if prefix == "systematic.factor_correlation.":
        return [f"{prefix}{a}.{b}" for i, a in enumerate(factors) for b in factors[i + 1 :]]
    if prefix == "systematic.segments.":
        return [f"{prefix}{seg}.correlation" for seg in scenario.segments]
    return [_FAMILY_FORMS.get(prefix, f"{prefix}<name>")]


def available_factors(scenario: Scenario | None = None) -> list[str]:
    """Names a user can write: the fixed factors plus the families (every name, given a scenario).

    Without a scenario a family is shown by its form (``transitions.<from>-><to>``,
    ``systematic.factor_correlation.<A>.<B>``, ``systematic.segments.<segment>.correlation``).
    """
    names = sorted(FACTORS)
    for prefix in sorted(FACTOR_FAMILIES):
        if scenario is not None:
            names += _family_names(scenario, prefix)
        else:
            names.append(_FAMILY_FORMS.get(prefix, f"{prefix}<name>"))
    return names


def resolve_factor(scenario: Scenario, name: str) -> Factor:
    """Return the `Factor` called `name` for this scenario.

    Raises
    ------
    ValueError
        With a did-you-mean suggestion if the name is unknown.
    """
    if name in FACTORS:
        return FACTORS[name]
    for prefix, build in FACTOR_FAMILIES.items():
        if name.startswith(prefix):
            return build(scenario, name)
    choices = available_factors(scenario)
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(c for c in choices if not c.startswith("transitions."))
    raise ValueError(
        f"unknown factor {name!r}.{hint} Known factors: {shown}, and "
        "transitions.<from>-><to> with state names of the scenario."
    )


def resolve_factors(
    scenario: Scenario,
    factors: Sequence[Any] | Mapping[str, tuple[float, float]],
    *,
    where: str = "factors",
    file: str | Path | None = None,
) -> list[FactorRange]:
    """Validate factor names and ranges against a scenario.

    Parameters
    ----------
    scenario : Scenario
    factors : sequence or mapping
        ``[{"name": ..., "low": ..., "high": ...}, ...]``, ``[(name, low, high), ...]``,
        `FactorRange` objects, a mapping ``{name: (low, high)}``, or pydantic ``FactorConfig``
        objects (anything with ``name``, ``low`` and ``high`` attributes).
    where : str
        Field path of the list in the config, for messages (``"sensitivity -> factors"``).
    file : str or Path, optional
        The config file, for messages.

    Returns
    -------
    list of FactorRange

    Raises
    ------
    ScenarioError
        Listing every unknown name (with a suggestion), duplicate, or range that is reversed or
        outside the factor's domain, each with its field path.
    """
    items = _factor_items(factors)
    if not items:
        raise ScenarioError(file, [(where, "give at least one factor with name, low and high.")])
    problems: list[tuple[str, str]] = []
    out: list[FactorRange] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        try:
            out.append(_resolve_item(scenario, item, f"{where}[{i}]", seen))
        except _Refused as refused:
            problems.append((refused.field, refused.message))
    if not problems:
        problems = [(where, m) for joint in JOINT_CHECKS if (m := joint(scenario, out))]
    if problems:
        raise ScenarioError(file, problems)
    return out


class _Refused(Exception):
    """One problem of one listed factor: its field path and the message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field, self.message = field, message


def _factor_items(
    factors: Sequence[Any] | Mapping[str, tuple[float, float]],
) -> list[tuple[Any, ...]]:
    """Each listed factor as a tuple ``(name, low, high)`` (as given: checked later)."""
    if isinstance(factors, Mapping):
        return [(k, *v) for k, v in factors.items()]
    items: list[tuple[Any, ...]] = []
    for f in factors:
        if isinstance(f, FactorRange):
            items.append((f.name, f.low, f.high))
        elif isinstance(f, Mapping):
            items.append((f.get("name"), f.get("low"), f.get("high")))
        elif isinstance(f, tuple | list):
            items.append(tuple(f))
        else:
            items.append((f.name, f.low, f.high))
    return items


def _resolve_item(
    scenario: Scenario, item: tuple[Any, ...], path: str, seen: set[str]
) -> FactorRange:
    """Resolve one listed factor at `path`; raise `_Refused` with the first problem."""
    if len(item) != 3:
        raise _Refused(path, f"give name, low and high; got {item!r}.")
    name, low, high = item
    if not isinstance(name, str):
        raise _Refused(f"{path} -> name", f"must be a factor path; got {name!r}.")
    try:
        factor = resolve_factor(scenario, name)
    except ValueError as exc:
        raise _Refused(f"{path} -> name", str(exc)) from None
    if name in seen:
        raise _Refused(f"{path} -> name", f"factor {name!r} is listed twice; keep one.")
    seen.add(name)
    low, high = _range_of(name, low, high, path)
    message = factor.check(scenario, low, high)
    if message:
        raise _Refused(path, f"{name}: {message}")
    return FactorRange(factor, low, high)


def _range_of(name: str, low: Any, high: Any, path: str) -> tuple[float, float]:
    """``(low, high)`` as finite floats with ``low < high``, else `_Refused`."""
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise _Refused(path, f"`low` and `high` must be numbers; got {low!r}, {high!r}.") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise _Refused(path, f"`low` and `high` must be finite; got {low}, {high}.")
    if not low < high:
        raise _Refused(
            path,
            f"`low` must be below `high` for {name}; got low {low:g}, high {high:g}. "
            "Swap them (or widen the range).",
        )
    return low, high


def apply_factors(
    scenario: Scenario,
    values: Mapping[str | Factor, float] | Sequence[float],
    ranges: Sequence[FactorRange] | None = None,
) -> Scenario:
    """Apply factor values to a scenario.

    Parameters
    ----------
    scenario : Scenario
    values : mapping of Factor or name → float, or a sequence aligned with `ranges`
    ranges : sequence of FactorRange, optional
        The factors, when `values` is a sequence.

    Returns
    -------
    Scenario
    """
    if ranges is not None:
        if isinstance(values, Mapping):
            raise ArgumentError(
                "with `ranges`, `values` must be a sequence aligned with them; got a mapping. "
                "Pass the mapping without ranges=."
            )
        pairs = [(r.factor, float(v)) for r, v in zip(ranges, values, strict=True)]
    elif isinstance(values, Mapping):
        pairs = [
            (resolve_factor(scenario, k) if isinstance(k, str) else k, float(v))
            for k, v in values.items()
        ]
    else:
        raise ArgumentError(
            "`values` must be a mapping of factor (or name) to value, or a sequence aligned "
            f"with `ranges`; got a {type(values).__name__} without `ranges`. Pass ranges=."
        )
    return _apply_pairs(scenario, pairs)


def _apply_pairs(scenario: Scenario, pairs: list[tuple[Factor, float]]) -> Scenario:
    """Apply the config route first (all edits, one derive), then the array route in order.

    Deriving again discards arrays patched earlier, so the config edits come first; of the
    array-route factors the posterior draw is pinned first, so that per-draw changes act on
    the chosen draw only.
    """
    edits = [(f.edit, v) for f, v in pairs if f.edit is not None]
    if edits:
        scenario = derive_edited(scenario, edits)
    patches = sorted(
        ((f, v) for f, v in pairs if f.edit is None), key=lambda p: p[0].name != "posterior.draw"
    )
    for factor, value in patches:
        scenario = factor.apply(scenario, value)
    return scenario
