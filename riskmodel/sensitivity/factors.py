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

Applied scenarios keep the validated `config` consistent where the section is a plain value
(correlation, shift, LGD); the transition matrices and the portfolio table are replaced as
arrays/tables (``config.parameters`` and ``config.portfolio`` still describe the base).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from riskmodel.errors import ArgumentError
from riskmodel.scenarios.errors import ScenarioError
from riskmodel.scenarios.load import Scenario

# the built-in factors register themselves in the registry when their module is imported
from riskmodel.sensitivity import builtin_factors as _builtin_factors  # noqa: F401
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


def available_factors(scenario: Scenario | None = None) -> list[str]:
    """Names a user can write: the fixed factors plus, given a scenario, every transition."""
    names = sorted(FACTORS)
    if scenario is not None:
        st = scenario.states
        names += [f"transitions.{a}->{b}" for a in st.transient for b in st.names if b != a]
    else:
        names += [f"{prefix}<from>-><to>" for prefix in sorted(FACTOR_FAMILIES)]
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
    file=None,
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
    items: list[tuple[Any, ...]]
    if isinstance(factors, Mapping):
        items = [(k, *v) for k, v in factors.items()]
    else:
        items = []
        for f in factors:
            if isinstance(f, FactorRange):
                items.append((f.name, f.low, f.high))
            elif isinstance(f, Mapping):
                items.append((f.get("name"), f.get("low"), f.get("high")))
            elif isinstance(f, tuple | list):
                items.append(tuple(f))
            else:
                items.append((f.name, f.low, f.high))
    problems: list[tuple[str, str]] = []
    out: list[FactorRange] = []
    seen: set[str] = set()
    if not items:
        raise ScenarioError(file, [(where, "give at least one factor with name, low and high.")])
    for i, item in enumerate(items):
        path = f"{where}[{i}]"
        if len(item) != 3:
            problems.append((path, f"give name, low and high; got {item!r}."))
            continue
        name, low, high = item
        if not isinstance(name, str):
            problems.append((f"{path} -> name", f"must be a factor path; got {name!r}."))
            continue
        try:
            factor = resolve_factor(scenario, name)
        except ValueError as exc:
            problems.append((f"{path} -> name", str(exc)))
            continue
        if name in seen:
            problems.append((f"{path} -> name", f"factor {name!r} is listed twice; keep one."))
            continue
        seen.add(name)
        try:
            low, high = float(low), float(high)
        except (TypeError, ValueError):
            problems.append((path, f"`low` and `high` must be numbers; got {low!r}, {high!r}."))
            continue
        if not (math.isfinite(low) and math.isfinite(high)):
            problems.append((path, f"`low` and `high` must be finite; got {low}, {high}."))
            continue
        if not low < high:
            problems.append(
                (
                    path,
                    f"`low` must be below `high` for {name}; got low {low:g}, high {high:g}. "
                    "Swap them (or widen the range).",
                )
            )
            continue
        message = factor.check(scenario, low, high)
        if message:
            problems.append((path, f"{name}: {message}"))
            continue
        out.append(FactorRange(factor, low, high))
    if not problems:
        for joint in JOINT_CHECKS:
            message = joint(scenario, out)
            if message:
                problems.append((where, message))
    if problems:
        raise ScenarioError(file, problems)
    return out


def apply_factors(
    scenario: Scenario, values: Mapping[str | Factor, float] | Sequence[float], ranges=None
):
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
    # pin the posterior draw first so that per-draw changes act on the chosen draw only
    pairs.sort(key=lambda p: p[0].name != "posterior.draw")
    for factor, value in pairs:
        scenario = factor.apply(scenario, value)
    return scenario
