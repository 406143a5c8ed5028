"""The registry of sensitivity factors.

It holds the `Factor` type, `FACTORS`, `FACTOR_FAMILIES`, `JOINT_CHECKS` and `register_factor`.
It sits below both `riskmodel.sensitivity.factors` (the catalogue, name resolution and
`apply_factors`) and `riskmodel.sensitivity.builtin_factors` (which registers the built-in
factors), so that neither imports the other in a loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.edits import ConfigEdit, derive_edited

__all__ = [
    "FACTORS",
    "FACTOR_FAMILIES",
    "JOINT_CHECKS",
    "Applier",
    "ConfigEdit",
    "Factor",
    "FactorRange",
    "RangeCheck",
    "register_factor",
]

Applier = Callable[[Scenario, float], Scenario]
RangeCheck = Callable[[Scenario, float, float], str | None]


@dataclass(frozen=True)
class Factor:
    """One sensitivity factor.

    Attributes
    ----------
    name : str
        Its path, e.g. ``"lgd.mean"``.
    apply : callable
        ``apply(scenario, value) -> Scenario``: a modified copy (never mutates).
    base : callable
        ``base(scenario) -> float``: the factor's value in the unmodified scenario (1 for
        multipliers, 0 for offsets).
    check : callable
        ``check(scenario, low, high) -> str | None``: a message (what, got, fix) if the range
        is outside the factor's domain for this scenario, else None.
    description : str
        One line for reports.
    edit : callable or None
        The config route (`riskmodel.sensitivity.edits`): ``edit(inputs, value)`` changes the
        config (or the portfolio read from a file) that the scenario is derived from; then
        `apply` derives again, and `riskmodel.sensitivity.factors.apply_factors` derives once
        for all such factors. None for an array-route factor, whose `apply` changes derived
        arrays.
    """

    name: str
    apply: Applier
    base: Callable[[Scenario], float]
    check: RangeCheck
    description: str = ""
    edit: ConfigEdit | None = None


@dataclass(frozen=True)
class FactorRange:
    """A resolved factor with the range it is moved over (``low < high``)."""

    factor: Factor
    low: float
    high: float

    @property
    def name(self) -> str:
        """The factor's path."""
        return self.factor.name


FACTORS: dict[str, Factor] = {}
"""Fixed factor names → `Factor`. Extend with `register_factor`."""

JOINT_CHECKS: list[Callable[[Scenario, Sequence[FactorRange]], str | None]] = []
"""Checks of several ranges together (e.g. LGD mean and sd): ``check(scenario, ranges)``
returns a message or None."""

FACTOR_FAMILIES: dict[str, Callable[[Scenario, str], Factor]] = {}
"""Name prefix (e.g. ``"transitions."``) → ``build(scenario, name) -> Factor``; the builder
raises `ValueError` with a helpful message if the rest of the name is invalid."""


def register_factor(
    name: str,
    apply: Applier | None = None,
    *,
    edit: ConfigEdit | None = None,
    base: Callable[[Scenario], float] | float = 1.0,
    domain: tuple[float, float] | None = None,
    check: RangeCheck | None = None,
    description: str = "",
) -> Factor:
    """Add a factor to `FACTORS` (replacing one of the same name) and return it.

    Parameters
    ----------
    name : str
        The factor's path, e.g. ``"shocks.default_multiplier"``.
    apply : callable, optional
        ``apply(scenario, value) -> Scenario`` changing derived arrays (`dataclasses.replace`):
        only for what no config change expresses (see `riskmodel.sensitivity.factors`).
    edit : callable, optional
        ``edit(inputs, value)`` on `riskmodel.sensitivity.edits.DeriveInputs`: the config
        route, preferred. Give exactly one of `apply` and `edit`.
    base : callable or float, default 1.0
        Its value in the unmodified scenario.
    domain : (float, float), optional
        Closed interval every value must lie in (checked on ``low`` and ``high``).
    check : callable, optional
        A further ``check(scenario, low, high) -> message or None``.
    description : str
        One line for reports.

    Raises
    ------
    ArgumentError
        If neither or both of `apply` and `edit` are given.

    Examples
    --------
    >>> def set_rate(inputs, value):
    ...     inputs.config["discount_rate"] = value
    >>> f = register_factor(
    ...     "demo.rate", edit=set_rate, base=0.0, domain=(0.0, 0.1), description="demo"
    ... )
    >>> f.name
    'demo.rate'
    >>> _ = FACTORS.pop("demo.rate")
    """
    if apply is not None and edit is None:
        applier = apply
    elif edit is not None and apply is None:
        applier = _config_route(edit)
    else:
        raise ArgumentError(
            f"factor {name!r}: give exactly one of `apply` (array route) and `edit` (config "
            f"route); got {'both' if apply is not None else 'neither'}."
        )
    base_fn = base if callable(base) else (lambda _sc, _b=float(base): _b)

    def full_check(scenario: Scenario, low: float, high: float) -> str | None:
        if domain is not None:
            lo, hi = domain
            bad = [v for v in (low, high) if not lo <= v <= hi]
            if bad:
                return f"values must be in [{lo:g}, {hi:g}]; got {bad[0]:g}."
        return None if check is None else check(scenario, low, high)

    factor = Factor(name, applier, base_fn, full_check, description, edit)
    FACTORS[name] = factor
    return factor


def _config_route(edit: ConfigEdit) -> Applier:
    """``apply`` of a config-route factor: the one edit, then derive again."""

    def apply(scenario: Scenario, value: float) -> Scenario:
        return derive_edited(scenario, [(edit, value)])

    return apply
