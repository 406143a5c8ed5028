"""Scenario file schema, version 1 (pydantic; unknown keys are rejected).

Every model is frozen: downstream code receives a validated, immutable object, never a dict.
Cross-field checks that need more than one section (segments of the portfolio against the
transition matrices, matrix shapes against the state space) live in `riskmodel.scenarios.load`.
"""

from __future__ import annotations

import math
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

__all__ = [
    "ACTION_TYPES",
    "ALERT_METRICS",
    "ActionConfig",
    "AlertConfig",
    "CohortConfig",
    "ConfigModel",
    "DownturnConfig",
    "ExposureConfig",
    "LGDConfig",
    "OutputsConfig",
    "ParametersConfig",
    "PeriodConfig",
    "PortfolioConfig",
    "ScenarioConfig",
    "ShockConfig",
    "SimulationConfig",
    "StatesConfig",
    "SystematicConfig",
]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
MAX_PATHS = 1_000_000_000


def _number_or_list(value: Any) -> str:
    # validate a list as a list and anything else as a number, so that an error names one
    # expectation (tags are dropped from field paths by riskmodel.scenarios.errors)
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


_Model = ConfigModel


class StatesConfig(_Model):
    """`states:` — the ordered state space."""

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
        from riskmodel.states import StateSpace

        StateSpace(self.names, absorbing=self.absorbing, default=self.default, churn=self.churn)
        return self


class CohortConfig(_Model):
    """One cohort: the customers of one segment in one state today."""

    segment: str = Field(min_length=1)
    state: str = Field(min_length=1)
    customers: StrictInt = Field(ge=0)
    exposure: NonNegative
    margin: float = 0.0


class PortfolioConfig(_Model):
    """`portfolio:` — inline cohorts or a CSV file (path relative to the YAML)."""

    cohorts: list[CohortConfig] | None = Field(default=None, min_length=1)
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PortfolioConfig:
        if (self.cohorts is None) == (self.file is None):
            raise ValueError(
                "give exactly one of `cohorts` (a list of inline cohorts) or `file` "
                "(a portfolio CSV path relative to the scenario file)"
            )
        return self


class PeriodConfig(_Model):
    """`period:` — the calendar length of one period (default one month).

    ``length`` is a positive number of ``unit`` (``day``, ``month``, ``quarter``, ``year``);
    see `riskmodel.scenarios.period` for what follows from it (the 12-month ECL window, annual
    discount rates, conversions of parameters given at another period length).
    """

    length: float = Field(default=1.0, gt=0.0, le=36525.0)
    unit: Literal["day", "month", "quarter", "year"] = "month"

    def to_period(self):
        """Return the `riskmodel.scenarios.period.Period` it describes."""
        from riskmodel.scenarios.period import Period

        return Period(float(self.length), self.unit)


class ParametersConfig(_Model):
    """`parameters:` — point transition matrices per segment, or a posterior file.

    ``matrix_period`` (with `transitions`): the period length of the given matrices when it is
    not the scenario's `period`; the engine then runs on ``expm(Q · period)`` with ``Q`` the
    generator of each matrix (`riskmodel.models.generator.generator_from_matrix`, regularised
    when the matrix has no valid one). ``time_unit`` (with a `posterior` from an
    `IntensityModel`): the time unit of its intensities, when the file does not record it.
    """

    transitions: dict[str, list[list[float]]] | None = None
    posterior: str | None = None
    matrix_period: PeriodConfig | None = None
    time_unit: Literal["day", "month", "quarter", "year"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ParametersConfig:
        if (self.transitions is None) == (self.posterior is None):
            raise ValueError(
                "give exactly one of `transitions` (matrices per segment) or `posterior` "
                "(a fitted posterior file relative to the scenario file)"
            )
        if self.matrix_period is not None and self.transitions is None:
            raise ValueError(
                "`matrix_period` gives the period length of point `transitions`; a posterior "
                "file carries its own (an intensity posterior: `time_unit`). Remove "
                "`matrix_period`"
            )
        if self.time_unit is not None and self.posterior is None:
            raise ValueError(
                "`time_unit` is the time unit of an intensity-model posterior's intensities; "
                "for point `transitions` give `matrix_period: {length: 1, unit: year}` instead"
            )
        return self


class SystematicConfig(_Model):
    """`systematic:` — the one-factor Gaussian model of default correlation."""

    correlation: float | None = Field(default=None, ge=0.0, lt=1.0)
    shift: NumberOrList = 0.0

    @field_validator("shift")
    @classmethod
    def _shift(cls, v):
        if isinstance(v, list) and not v:
            raise ValueError(
                "the list is empty; give a number, or a list of numbers with one per period"
            )
        values = v if isinstance(v, list) else [v]
        if any(abs(x) > 10 for x in values):
            raise ValueError(
                "shift values are in standard deviations of Z and must be in [-10, 10]; got "
                f"{[x for x in values if abs(x) > 10][:3]}. Typical downturns are -1 to -3"
            )
        return v


class DownturnConfig(_Model):
    """`lgd: downturn:` — an LGD whose mean moves with the systematic factor."""

    sensitivity: NonNegative


class LGDConfig(_Model):
    """`lgd:` — Beta-distributed loss given default with a mean and a standard deviation.

    ``addon`` is added to ``mean`` (the stressed mean must stay in (0, 1)). With ``downturn``
    the mean of period ``t`` is ``Φ(Φ⁻¹(mean + addon) − sensitivity · Z_t)`` (negative ``Z`` →
    higher LGD); the sd is used as given, clipped to what a Beta with that mean allows.
    """

    mean: Probability
    sd: NonNegative = 0.0
    addon: float = 0.0
    downturn: DownturnConfig | None = None

    @model_validator(mode="after")
    def _feasible(self) -> LGDConfig:
        mean = self.mean + self.addon
        if self.addon != 0.0 and not 0.0 < mean < 1.0:
            raise ValueError(
                f"`mean` + `addon` must be in (0, 1); got {self.mean} + {self.addon} = "
                f"{mean:.6g}. Lower the addon (it is in LGD units, e.g. 0.05 for 5 points)"
            )
        if self.sd > 0:
            limit = math.sqrt(mean * (1.0 - mean))
            if self.sd >= limit:
                raise ValueError(
                    f"`sd` must be below sqrt(mean*(1-mean)) = {limit:.4g} for a Beta LGD with "
                    f"mean {mean:.6g}; got sd {self.sd}. Lower sd (or set sd: 0 for a fixed LGD)"
                )
        return self


def _check_path(v, *, what: str, low: float, high: float, low_open: bool, high_open: bool):
    """Validate a number-or-list against an interval; return it unchanged."""
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
        raise ValueError(f"{what} must be in {lo}{low:g}, {high:g}{hi}; got {wrong[:3]}")
    return v


class ExposureConfig(_Model):
    """`exposure:` — exposure amortisation (or drawdown) per period."""

    amortisation: NumberOrList = 0.0

    @field_validator("amortisation")
    @classmethod
    def _rate(cls, v):
        return _check_path(
            v,
            what="amortisation rates are per period (negative = drawdown) and",
            low=-1.0,
            high=1.0,
            low_open=True,
            high_open=False,
        )


class ShockConfig(_Model):
    """One entry of `shocks:` — multipliers on the default and churn probabilities.

    Applies to the rows of `segment` (default: all segments) and origin `state` (default: all
    transient states). A multiplier is a number or a list with one value per period (a short
    list repeats its last value); the stay probability absorbs the change.
    """

    name: str | None = Field(default=None, min_length=1)
    segment: str | None = Field(default=None, min_length=1)
    state: str | None = Field(default=None, min_length=1)
    default_multiplier: NumberOrList = 1.0
    churn_multiplier: NumberOrList = 1.0

    @field_validator("default_multiplier", "churn_multiplier")
    @classmethod
    def _multiplier(cls, v):
        values = v if isinstance(v, list) else [v]
        if not values:
            raise ValueError("the list is empty; give a number, or a list with one per period")
        bad = [x for x in values if x < 0]
        if bad:
            raise ValueError(
                f"multipliers scale a probability (1 = unchanged, 1.5 = +50%) and must be >= 0; "
                f"got {bad[:3]}"
            )
        return v


ACTION_TYPES: tuple[str, ...] = ("retention", "limit_cut")
_ACTION_KEYS = {
    "retention": ({"state", "churn_reduction"}, {"cost_per_customer"}),
    "limit_cut": ({"exposure_reduction"}, {"cost"}),
}


class ActionConfig(_Model):
    """One entry of `actions:` — a management lever with a cost.

    ``retention``: cuts the churn probability of the rows of `state` (and `segment`) by the
    fraction ``churn_reduction`` in every period; costs ``cost_per_customer`` per customer in
    `state` at the start of each period (discounted). ``limit_cut``: lowers the exposure of the
    matching cohorts (today's `state`, `segment`) by the fraction ``exposure_reduction``; costs
    a fixed ``cost`` once, at the start.
    """

    name: str = Field(min_length=1)
    type: Literal["retention", "limit_cut"]
    segment: str | None = Field(default=None, min_length=1)
    state: str | None = Field(default=None, min_length=1)
    churn_reduction: Probability | None = None
    cost_per_customer: NonNegative | None = None
    exposure_reduction: Probability | None = None
    cost: NonNegative | None = None

    @model_validator(mode="after")
    def _keys_of_type(self) -> ActionConfig:
        required, optional = _ACTION_KEYS[self.type]
        missing = sorted(k for k in required if getattr(self, k) is None)
        if missing:
            raise ValueError(
                f"a {self.type} action needs {missing}; add them (see scenarios/README.md, "
                "`actions:`)"
            )
        own = required | optional | {"name", "type", "segment", "state"}
        foreign = sorted(
            k for k in type(self).model_fields if k not in own and getattr(self, k) is not None
        )
        if foreign:
            allowed = sorted(required | optional | {"segment", "state"})
            raise ValueError(
                f"{foreign} do not apply to a {self.type} action; its keys are name, type, "
                f"{', '.join(allowed)}. Remove them or change `type`"
            )
        return self


class SimulationConfig(_Model):
    """`simulation:` — engine options. None of them changes the numbers except the seed."""

    batch: StrictInt = Field(default=4096, ge=1)
    importance_sampling: bool = True
    importance_level: float | None = Field(default=None, gt=0.5, lt=1.0)
    importance_method: Literal["tilt", "mixture", "shift"] = "tilt"
    importance_damping: float | None = Field(default=None, ge=0.0, le=1.0)
    qmc: bool = False
    qmc_replicates: StrictInt = Field(default=16, ge=2, le=1024)
    parameter_uncertainty: bool = True
    approximation: Literal["none", "large_pool"] = "none"
    keep: Literal["paths", "totals"] = "paths"
    large_pool_min_customers: StrictInt = Field(default=1000, ge=1)
    backend: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    workers: StrictInt | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _damping_needs_a_shift(self):
        if self.importance_damping is not None and self.importance_method == "tilt":
            raise ValueError(
                "`importance_damping` scales the mean shifts of importance_method `mixture` or "
                "`shift`; the default method `tilt` has no shift to damp. Remove "
                "`importance_damping` or set `importance_method: mixture` (or `shift`)"
            )
        return self


class OutputsConfig(_Model):
    """`outputs:` — risk levels to report."""

    levels: list[float] = Field(default=[0.95, 0.99, 0.999], min_length=1)

    @field_validator("levels")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        bad = [x for x in v if not 0.0 < x < 1.0]
        if bad:
            raise ValueError(f"levels must be in (0, 1), e.g. 0.99; got {bad}")
        return sorted(set(v))


ALERT_METRICS: tuple[str, ...] = ("default_rate", "churn_rate", "loss", "defaults", "churn")
"""KPIs an alert can watch, per period: rates are per customer alive at the period start."""

_RATE_METRICS = frozenset({"default_rate", "churn_rate"})


class AlertConfig(_Model):
    """One entry of `alerts:` — an early-warning threshold on a per-period KPI."""

    name: str = Field(min_length=1)
    metric: Literal["default_rate", "churn_rate", "loss", "defaults", "churn"]
    threshold: float
    confidence: float = Field(default=0.9, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _rate_threshold(self) -> AlertConfig:
        if self.metric in _RATE_METRICS and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(
                f"`threshold` of a {self.metric} alert is a fraction of the customers alive at "
                f"the period start and must be in [0, 1]; got {self.threshold}. Write e.g. 0.02 "
                "for 2% a period"
            )
        return self


def _unique_names(kind: str, items: list) -> list:
    """Check that the named items of a list section have unique names (unnamed ones are free)."""
    names = [i.name for i in items if i.name is not None]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(
            f"{kind} names must be unique (they key the summary); got {dupes} more than "
            "once. Rename the duplicates"
        )
    return items


class ScenarioConfig(_Model):
    """A whole scenario file, version 1."""

    name: str = Field(min_length=1)
    description: str | None = None
    horizon: StrictInt = Field(ge=1, le=1200)
    paths: StrictInt = Field(default=10_000, ge=1, le=MAX_PATHS)
    seed: StrictInt | None = Field(default=None, ge=0)
    states: StatesConfig
    portfolio: PortfolioConfig
    parameters: ParametersConfig
    systematic: SystematicConfig = SystematicConfig()
    lgd: LGDConfig
    discount_rate: NumberOrList = 0.0
    annual_discount_rate: NumberOrList | None = None
    period: PeriodConfig = PeriodConfig()
    simulation: SimulationConfig = SimulationConfig()
    outputs: OutputsConfig = OutputsConfig()
    weight: Probability | None = None
    alerts: list[AlertConfig] = Field(default_factory=list)
    shocks: list[ShockConfig] = Field(default_factory=list)
    exposure: ExposureConfig = ExposureConfig()
    actions: list[ActionConfig] = Field(default_factory=list)
    # `macro:` paths per variable feed a posterior with macro covariates (checked in load.py).
    macro: dict[str, NumberOrList] | None = None
    # `sensitivity:` factors and metrics; its schema lives in riskmodel.sensitivity (a higher
    # layer) and is checked by `riskmodel validate` and whenever the analysis runs.
    sensitivity: dict[str, Any] | None = None

    @field_validator("shocks")
    @classmethod
    def _shock_names(cls, v: list[ShockConfig]) -> list[ShockConfig]:
        return _unique_names("shock", v)

    @field_validator("actions")
    @classmethod
    def _action_names(cls, v: list[ActionConfig]) -> list[ActionConfig]:
        return _unique_names("action", v)

    @model_validator(mode="after")
    def _churn_levers(self) -> ScenarioConfig:
        if self.states.churn is not None:
            return self
        uses = [f"shocks[{i}]" for i, s in enumerate(self.shocks) if s.churn_multiplier != 1.0] + [
            f"actions -> {a.name}" for a in self.actions if a.type == "retention"
        ]
        if uses:
            raise ValueError(
                f"{uses} act on churn, but `states` declares no churn state; add "
                "`states: {churn: <state>}` or drop them"
            )
        return self

    @field_validator("alerts")
    @classmethod
    def _alert_names(cls, v: list[AlertConfig]) -> list[AlertConfig]:
        return _unique_names("alert", v)

    @model_validator(mode="after")
    def _churn_alerts(self) -> ScenarioConfig:
        churn = [a.name for a in self.alerts if a.metric in ("churn", "churn_rate")]
        if churn and self.states.churn is None:
            raise ValueError(
                f"alerts {churn} watch churn, but `states` declares no churn state; add "
                "`states: {churn: <state>}` or drop those alerts"
            )
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        bad = set(v) & set('/\\:*?"<>|')
        control = any(ord(c) < 32 or ord(c) == 127 for c in v)
        if bad or control or v.strip() != v or v in {".", ".."}:
            raise ValueError(
                "the name is used as a folder name; use letters, digits, '-', '_' or '.' "
                f"without path separators; got {v!r}"
            )
        return v

    @model_validator(mode="after")
    def _one_discount(self) -> ScenarioConfig:
        per_period = self.discount_rate
        given = any(x != 0 for x in (per_period if isinstance(per_period, list) else [per_period]))
        if self.annual_discount_rate is not None and given:
            raise ValueError(
                "give one of `discount_rate` (per period) or `annual_discount_rate` (per year, "
                "converted to the period length as (1 + r)^(months/12) − 1); remove the other"
            )
        return self

    @field_validator("annual_discount_rate")
    @classmethod
    def _annual_discount(cls, v):
        if v is None:
            return v
        values = v if isinstance(v, list) else [v]
        if not values:
            raise ValueError("the list is empty; give a number, or a list with one per period")
        if any(not (-1.0 < x < 10.0) for x in values):
            raise ValueError(
                "annual discount rates are per year and must be in (-1, 10); got "
                f"{[x for x in values if not -1.0 < x < 10.0][:3]}. Write e.g. 0.05 for 5% a year"
            )
        return v

    @field_validator("discount_rate")
    @classmethod
    def _discount(cls, v):
        values = v if isinstance(v, list) else [v]
        if not values:
            raise ValueError("the list is empty; give a number, or a list with one per period")
        if any(not (-1.0 < x < 1.0) for x in values):
            raise ValueError(
                "discount rates are per period and must be in (-1, 1); got "
                f"{[x for x in values if not -1.0 < x < 1.0][:3]}. Write e.g. 0.004 for 0.4% "
                "a period"
            )
        return v
