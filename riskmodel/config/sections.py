"""The sections of a scenario file (version 1): portfolio, parameters, factor, LGD and more.

Each section is a frozen `ConfigModel` with its own checks; `riskmodel.config.scenario` puts
them together and checks what needs more than one section. Cross-field checks that need the
data (segments of the portfolio against the transition matrices, matrix shapes against the
state space) happen when the scenario is derived (`riskmodel.scenarios.derive`).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    Discriminator,
    Field,
    StrictInt,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from riskmodel.config.base import (
    ConfigModel,
    NonNegative,
    NumberOrList,
    PeriodConfig,
    Probability,
    TimeUnit,
    check_path,
)
from riskmodel.config.factors import (
    SegmentFactorConfig,
    ShiftSpec,
    check_factor_block,
    check_shift,
)

__all__ = [
    "ACTION_TYPES",
    "ALERT_METRICS",
    "ActionConfig",
    "AlertConfig",
    "CohortConfig",
    "DownturnConfig",
    "ExposureConfig",
    "LGDConfig",
    "NameConfig",
    "OutputsConfig",
    "ParametersConfig",
    "PortfolioConfig",
    "ShockConfig",
    "SimulationConfig",
    "SystematicConfig",
]


class CohortConfig(ConfigModel):
    """One cohort: the customers of one segment in one state today."""

    segment: str = Field(min_length=1)
    state: str = Field(min_length=1)
    customers: StrictInt = Field(ge=0)
    exposure: NonNegative
    margin: float = 0.0


class NameConfig(ConfigModel):
    """One named exposure: a single customer simulated on its own (`riskmodel.data.names`)."""

    id: str = Field(min_length=1)
    segment: str = Field(min_length=1)
    state: str = Field(min_length=1)
    exposure: float = Field(gt=0, allow_inf_nan=False)
    pd_multiplier: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    lgd: Probability | None = None


def _names_kind(value: object) -> str:
    return "__text__" if isinstance(value, str) else "__list__"


NamesSpec = Annotated[
    Annotated[str, Tag("__text__")] | Annotated[list[NameConfig], Tag("__list__")],
    Discriminator(_names_kind),
]
"""``portfolio: names``: a names CSV path, or the names inline."""


class PortfolioConfig(ConfigModel):
    """`portfolio:` — inline cohorts or a CSV file (path relative to the YAML), and `names`.

    ``names``: named exposures, inline or a names CSV path relative to the YAML; with names the
    cohorts may be left out (a book of names only).
    """

    cohorts: list[CohortConfig] | None = Field(default=None, min_length=1)
    file: str | None = None
    names: NamesSpec | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PortfolioConfig:
        both = self.cohorts is not None and self.file is not None
        if both or (self.cohorts is None and self.file is None and self.names is None):
            raise ValueError(
                "give exactly one of `cohorts` (a list of inline cohorts) or `file` "
                "(a portfolio CSV path relative to the scenario file), and/or `names`"
            )
        if isinstance(self.names, list) and not self.names:
            raise ValueError("`names` is an empty list; list at least one name or drop `names`")
        return self


class ParametersConfig(ConfigModel):
    """`parameters:` — point transition matrices per segment, or a posterior file.

    ``matrix_period`` (with `transitions`): the period length of the given matrices when it is
    not the scenario's `period`; the engine then runs on ``expm(Q · period)`` with ``Q`` the
    generator of each matrix (`riskmodel.models.generator.generator_from_matrix`, regularised
    when the matrix has no valid one). ``time_unit`` (with a `posterior` from an
    `IntensityModel`): the time unit of its intensities, when the file does not record it.
    ``covariates`` (with a `posterior` from an `IntensityModel` fitted with covariates): their
    values, ``{age: 50}`` for every segment and/or ``{retail: {age: 40}}`` per segment.
    """

    transitions: dict[str, list[list[float]]] | None = None
    posterior: str | None = None
    matrix_period: PeriodConfig | None = None
    time_unit: TimeUnit | None = None
    covariates: dict[str, float | dict[str, float]] | None = None

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
        if self.covariates is not None and self.posterior is None:
            raise ValueError(
                "`covariates` gives the covariate values of an intensity-model posterior fitted "
                "with covariates; point `transitions` have none. Remove `covariates`"
            )
        if self.time_unit is not None and self.posterior is None:
            raise ValueError(
                "`time_unit` is the time unit of an intensity-model posterior's intensities; "
                "for point `transitions` give `matrix_period: {length: 1, unit: year}` instead"
            )
        return self


class SystematicConfig(ConfigModel):
    """`systematic:` — the Gaussian factor model of default correlation.

    One factor: ``correlation`` and ``shift`` (a number or a list per period). Sector factors
    (`riskmodel.config.factors`): ``factors``, ``factor_correlation``, ``segments`` (each
    segment's factor and asset correlation) and ``shift`` per factor.
    """

    correlation: float | None = Field(default=None, ge=0.0, lt=1.0)
    factors: list[str] | None = None  # before `shift`, whose check needs it
    shift: ShiftSpec = 0.0
    factor_correlation: list[list[float]] | None = None
    segments: dict[str, SegmentFactorConfig] | None = None

    @field_validator("shift")
    @classmethod
    def _shift(
        cls, v: float | list[float] | dict[str, float | list[float]], info: ValidationInfo
    ) -> float | list[float] | dict[str, float | list[float]]:
        check_shift(v, info.data.get("factors"))
        return v

    @model_validator(mode="after")
    def _factor_block(self) -> SystematicConfig:
        check_factor_block(
            correlation=self.correlation,
            factors=self.factors,
            factor_correlation=self.factor_correlation,
            segments=self.segments,
        )
        return self

    @property
    def n_factors(self) -> int:
        """Number of systematic factors (1 for the one-factor form)."""
        return 1 if self.factors is None else len(self.factors)


class DownturnConfig(ConfigModel):
    """`lgd: downturn:` — an LGD whose mean moves with the systematic factor."""

    sensitivity: NonNegative


class LGDConfig(ConfigModel):
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


class ExposureConfig(ConfigModel):
    """`exposure:` — exposure amortisation (or drawdown) per period."""

    amortisation: NumberOrList = 0.0

    @field_validator("amortisation")
    @classmethod
    def _rate(cls, v: float | list[float]) -> float | list[float]:
        return check_path(
            v,
            what="amortisation rates are per period (negative = drawdown) and",
            low=-1.0,
            high=1.0,
            low_open=True,
            high_open=False,
        )


class ShockConfig(ConfigModel):
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
    def _multiplier(cls, v: float | list[float]) -> float | list[float]:
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


class ActionConfig(ConfigModel):
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
                f"a {self.type} action needs {missing}; add them (see docs/scenario_format.md, "
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


class SimulationConfig(ConfigModel):
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
    def _damping_needs_a_shift(self) -> SimulationConfig:
        if self.importance_damping is not None and self.importance_method == "tilt":
            raise ValueError(
                "`importance_damping` scales the mean shifts of importance_method `mixture` or "
                "`shift`; the default method `tilt` has no shift to damp. Remove "
                "`importance_damping` or set `importance_method: mixture` (or `shift`)"
            )
        return self


class OutputsConfig(ConfigModel):
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


class AlertConfig(ConfigModel):
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
