"""The base of every config schema: `ConfigModel`, shared field types and shared sections.

Every model is frozen (downstream code receives a validated, immutable object, never a dict),
forbids extra keys, refuses NaN and infinity, and refuses booleans where numbers are expected.
The scenario file (`riskmodel.config.scenario`), the sensitivity config
(`riskmodel.config.sensitivity`) and the model config of ``riskmodel fit``
(`riskmodel.config.fit`) build on it; `StatesConfig` and `PeriodConfig` serve more than one.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from riskmodel.states import StateSpace

__all__ = [
    "MAX_PATHS",
    "ConfigModel",
    "NonNegative",
    "NumberOrList",
    "PeriodConfig",
    "Probability",
    "StatesConfig",
    "TimeUnit",
    "check_path",
    "unique_names",
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
MAX_PATHS = 1_000_000_000
TimeUnit = Literal["day", "month", "quarter", "year"]


def _number_or_list(value: Any) -> str:
    # validate a list as a list and anything else as a number, so that an error names one
    # expectation (tags are dropped from field paths by riskmodel.config.errors)
    return "__list__" if isinstance(value, list | tuple) else "__number__"


NumberOrList = Annotated[
    Annotated[float, Tag("__number__")] | Annotated[list[float], Tag("__list__")],
    Discriminator(_number_or_list),
]
"""A number, or a list of numbers (one per period; a short list repeats its last value)."""


def _admits(annotation: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a field annotation mentions one of `kinds` (bool, a model) anywhere inside."""
    if isinstance(annotation, type) and issubclass(annotation, kinds):
        return True
    return any(_admits(arg, kinds) for arg in typing.get_args(annotation))


def _holds_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, list | tuple):
        return any(_holds_bool(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_bool(v) for v in value.values())
    return False


class ConfigModel(BaseModel):
    """Base of every config schema (scenario, sensitivity, fit).

    Extra keys forbidden, frozen, no NaN or infinity, and no booleans where numbers are expected.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data: Any) -> Any:
        """Refuse ``true``/``false`` where a number is expected (lax pydantic reads them as 1/0)."""
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            key = field.alias or name
            annotation = field.annotation
            if key not in data or _admits(annotation, (bool, BaseModel)):
                continue  # a flag, or a section that checks its own fields
            if not _admits(annotation, (float, int)):
                continue  # text: pydantic refuses a boolean there by itself
            if _holds_bool(data[key]):
                raise ValueError(
                    f"`{key}` holds true/false where a number is expected; YAML reads yes/no, "
                    "on/off and true/false as booleans. Write the number itself (e.g. 1 or 0)."
                )
        return data


class StatesConfig(ConfigModel):
    """`states:` — the ordered state space (of a scenario file and of a fit config)."""

    names: list[str] = Field(min_length=2)
    absorbing: list[str] = Field(min_length=1)
    default: str
    churn: str | None = None

    @field_validator("names")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        bad = [n for n in v if "," in n]
        if bad:
            raise ValueError(
                f"state names must not contain commas (they are stored comma-separated); got "
                f"{bad}. Rename them, e.g. with '_' instead of ','"
            )
        return v

    @model_validator(mode="after")
    def _check(self) -> StatesConfig:
        self.state_space()
        return self

    def state_space(self) -> StateSpace:
        """Return the `StateSpace` these states describe."""
        return StateSpace(
            self.names, absorbing=self.absorbing, default=self.default, churn=self.churn
        )


class PeriodConfig(ConfigModel):
    """`period:` — the calendar length of one period (default one month).

    ``length`` is a positive number of ``unit`` (``day``, ``month``, ``quarter``, ``year``);
    see `riskmodel.scenarios.period` for what follows from it (the 12-month ECL window, annual
    discount rates, conversions of parameters given at another period length) and
    `riskmodel.scenarios.period.Period.of` for the `Period` it describes.
    """

    length: float = Field(default=1.0, gt=0.0, le=36525.0)
    unit: TimeUnit = "month"


def check_path(
    v: float | list[float],
    *,
    what: str,
    low: float,
    high: float,
    low_open: bool,
    high_open: bool,
    fix: str = "",
) -> float | list[float]:
    """Validate a number-or-list against an interval; return it unchanged.

    The message reads ``"{what} must be in (low, high]; got [...]"`` and then `fix`, if given.
    """
    values = v if isinstance(v, list) else [v]
    if not values:
        raise ValueError("the list is empty; give a number, or a list with one per period")

    def bad(x: float) -> bool:
        below = x <= low if low_open else x < low
        above = x >= high if high_open else x > high
        return below or above

    wrong = [x for x in values if bad(x)]
    if wrong:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{what} must be in {lo}{low:g}, {high:g}{hi}; got {wrong[:3]}{fix}")
    return v


class _Named(Protocol):
    @property
    def name(self) -> str | None: ...


_N = TypeVar("_N", bound=_Named)


def unique_names(kind: str, items: Sequence[_N]) -> Sequence[_N]:
    """Check that the named items of a list section have unique names (unnamed ones are free)."""
    names = [i.name for i in items if i.name is not None]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(
            f"{kind} names must be unique (they key the summary); got {dupes} more than "
            "once. Rename the duplicates"
        )
    return items
