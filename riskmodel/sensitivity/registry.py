"""The registry of sensitivity factors.

It holds the `Factor` type, `FACTORS`, `FACTOR_FAMILIES`, `JOINT_CHECKS` and `register_factor`.
It sits below both `riskmodel.sensitivity.factors` (the catalogue, name resolution and
`apply_factors`) and `riskmodel.sensitivity.builtin_factors` (which registers the built-in
factors), so that neither imports the other in a loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from riskmodel.scenarios.load import Scenario

__all__ = [
    "FACTORS",
    "FACTOR_FAMILIES",
    "JOINT_CHECKS",
    "Applier",
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
    """

    name: str
    apply: Applier
    base: Callable[[Scenario], float]
    check: RangeCheck
    description: str = ""


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
    apply: Applier,
    *,
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
    apply : callable
        ``apply(scenario, value) -> Scenario``, e.g. built on `Scenario.with_options` or
        `dataclasses.replace`.
    base : callable or float, default 1.0
        Its value in the unmodified scenario.
    domain : (float, float), optional
        Closed interval every value must lie in (checked on ``low`` and ``high``).
    check : callable, optional
        A further ``check(scenario, low, high) -> message or None``.
    description : str
        One line for reports.

    Examples
    --------
    >>> import dataclasses
    >>> f = register_factor(
    ...     "demo.scale", lambda sc, v: sc, base=1.0, domain=(0.0, 10.0), description="demo"
    ... )
    >>> f.name
    'demo.scale'
    >>> _ = FACTORS.pop("demo.scale")
    """
    base_fn = base if callable(base) else (lambda _sc, _b=float(base): _b)

    def full_check(scenario: Scenario, low: float, high: float) -> str | None:
        if domain is not None:
            lo, hi = domain
            bad = [v for v in (low, high) if not lo <= v <= hi]
            if bad:
                return f"values must be in [{lo:g}, {hi:g}]; got {bad[0]:g}."
        return None if check is None else check(scenario, low, high)

    factor = Factor(name, apply, base_fn, full_check, description)
    FACTORS[name] = factor
    return factor
