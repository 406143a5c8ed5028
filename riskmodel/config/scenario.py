"""Scenario file schema, version 1 (pydantic; unknown keys are rejected).

`ScenarioConfig` is the whole file: its sections live in `riskmodel.config.sections` (and
`riskmodel.config.base` for `states:` and `period:`); the checks here need more than one
section. The format is documented in docs/scenario_format.md.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt, ValidationInfo, field_validator, model_validator

from riskmodel.config.base import (
    MAX_PATHS,
    ConfigModel,
    NumberOrList,
    PeriodConfig,
    Probability,
    StatesConfig,
    check_path,
    unique_names,
)
from riskmodel.config.sections import (
    ActionConfig,
    AlertConfig,
    ExposureConfig,
    LGDConfig,
    OutputsConfig,
    ParametersConfig,
    PortfolioConfig,
    ShockConfig,
    SimulationConfig,
    SystematicConfig,
)

__all__ = ["ScenarioConfig"]


class ScenarioConfig(ConfigModel):
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
    # `macro:` paths per variable feed a posterior with macro covariates (checked on derive).
    macro: dict[str, NumberOrList] | None = None
    # `sensitivity:` factors and metrics; its schema is `riskmodel.config.sensitivity`, checked
    # by `riskmodel validate` and whenever the analysis runs.
    sensitivity: dict[str, Any] | None = None

    @field_validator("shocks")
    @classmethod
    def _shock_names(cls, v: list[ShockConfig]) -> list[ShockConfig]:
        unique_names("shock", v)
        return v

    @field_validator("actions")
    @classmethod
    def _action_names(cls, v: list[ActionConfig]) -> list[ActionConfig]:
        unique_names("action", v)
        return v

    @field_validator("alerts")
    @classmethod
    def _alert_names(cls, v: list[AlertConfig]) -> list[AlertConfig]:
        unique_names("alert", v)
        return v

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

    @field_validator("discount_rate", "annual_discount_rate")
    @classmethod
    def _discount(
        cls, v: float | list[float] | None, info: ValidationInfo
    ) -> float | list[float] | None:
        if v is None:
            return v
        what, high, fix = _DISCOUNT_RANGES[info.field_name or "discount_rate"]
        return check_path(v, what=what, low=-1.0, high=high, low_open=True, high_open=True, fix=fix)


_DISCOUNT_RANGES = {
    "discount_rate": (
        "discount rates are per period and",
        1.0,
        ". Write e.g. 0.004 for 0.4% a period",
    ),
    "annual_discount_rate": (
        "annual discount rates are per year and",
        10.0,
        ". Write e.g. 0.05 for 5% a year",
    ),
}
"""Per discount field: its meaning, its upper bound (open, as the lower bound -1) and a fix."""
