"""The model config of ``riskmodel fit`` (a transition or an intensity model), and its reader.

Model config (all keys but ``states`` optional; ``model: transition``, the default)::

    states: {names: [...], absorbing: [...], default: defaulted, churn: churned}
    pooling: partial            # none | partial | complete
    structural_zeros: [new->mature, growing->new]
    covariates: [unemployment]  # needs `macro`
    macro: macro.csv            # period, <variable>…; path relative to the config file
    correlation: true           # also estimate the asset correlation from the panel's defaults
    draws: 1000
    chains: 4
    tune: 1000                  # NUTS tuning steps per chain (sampled fits only)
    seed: 1
    skip_gaps: false

With ``model: intensity`` (an `IntensityModel` on a panel observed at arbitrary times; see
docs/continuous_time.md)::

    model: intensity
    states: {names: [...], absorbing: [...], default: dead}
    columns: {subject: customer_id, time: years, state: state, segment: segment}
    time_unit: year             # the unit of the time column: day | month | quarter | year
    allowed: [well->mild, mild->well, mild->dead]
    exact_states: [dead]        # absorbing states entered at an exactly known time
    censored: {alive: [well, mild]}   # optional: codes meaning "one of these states"
    exact_times: false
    pooling: none               # none | partial (nuts only) | complete
    method: mle                 # mle (one draw: the estimate) | nuts
    draws: 1000                 # nuts
    chains: 4
    seed: 1
    period: {length: 1, unit: month}   # period of the matrices written (backtests read them)

``states:`` is the same section as a scenario file's (`riskmodel.config.base.StatesConfig`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pydantic
from pydantic import Field, StrictInt, field_validator

from riskmodel.config.base import ConfigModel, PeriodConfig, StatesConfig, TimeUnit
from riskmodel.config.errors import ScenarioError, format_validation_error
from riskmodel.config.safe_yaml import read_yaml
from riskmodel.states import StateSpace

__all__ = ["ColumnsConfig", "FitConfig", "read_fit_config"]


class ColumnsConfig(ConfigModel):
    """`columns:` of an intensity model — the panel's column names."""

    subject: str = Field(default="customer_id", min_length=1)
    time: str = Field(default="time", min_length=1)
    state: str = Field(default="state", min_length=1)
    segment: str | None = Field(default=None, min_length=1)


_TRANSITION_ONLY = ("structural_zeros", "covariates", "macro", "correlation", "skip_gaps")
_SECTOR_ONLY = ("segment_factors", "parameterization", "prior")
_INTENSITY_ONLY = (
    "columns",
    "time_unit",
    "allowed",
    "exact_states",
    "censored",
    "exact_times",
    "method",
    "period",
)


def _pair(text: str) -> tuple[str, str]:
    a, b = text.split("->")
    return a.strip(), b.strip()


class FitConfig(ConfigModel):
    """The model config of `riskmodel fit` (extra keys are rejected; see the module docstring)."""

    model: Literal["transition", "intensity", "sector"] = "transition"
    states: StatesConfig
    pooling: Literal["none", "partial", "complete"] = "none"
    structural_zeros: list[str] = Field(default_factory=list)
    covariates: list[str] = Field(default_factory=list)
    macro: str | None = None
    correlation: bool = False
    draws: StrictInt = Field(default=1000, ge=10)
    chains: StrictInt = Field(default=4, ge=1, le=16)
    tune: StrictInt = Field(default=1000, ge=10)
    seed: StrictInt | None = Field(default=None, ge=0)
    skip_gaps: bool = False
    # model: intensity
    columns: ColumnsConfig = ColumnsConfig()
    time_unit: TimeUnit | None = None
    allowed: list[str] = Field(default_factory=list)
    exact_states: list[str] = Field(default_factory=list)
    censored: dict[str, list[str]] | None = None
    exact_times: bool = False
    method: Literal["mle", "nuts"] = "mle"
    period: PeriodConfig = PeriodConfig()
    # model: sector
    segment_factors: dict[str, str] | None = None
    parameterization: Literal["auto", "centered", "noncentered"] = "auto"
    prior: dict[str, float] | None = None

    @pydantic.model_validator(mode="after")
    def _keys_of_model(self) -> FitConfig:
        given = self.model_fields_set
        other = {
            "transition": _INTENSITY_ONLY + _SECTOR_ONLY,
            "intensity": _TRANSITION_ONLY + _SECTOR_ONLY,
            "sector": (*_INTENSITY_ONLY, "correlation"),
        }[self.model]
        foreign = [k for k in other if k in given]
        if foreign:
            fix = {
                "transition": "add `model: intensity` or `model: sector`",
                "intensity": "remove them",
                "sector": "remove them (`model: sector` estimates the correlations by segment)",
            }[self.model]
            raise ValueError(
                f"{foreign} do not apply to `model: {self.model}`; {fix} (see riskmodel.fitting)"
            )
        if self.model == "sector" and not self.segment_factors:
            raise ValueError(
                "`model: sector` needs `segment_factors`, the factor each segment of the panel "
                "loads on, e.g. `segment_factors: {cards: retail, loans: sme}`"
            )
        if self.model == "intensity":
            missing = [k for k in ("allowed", "time_unit") if k not in given]
            if missing:
                raise ValueError(
                    f"`model: intensity` needs {missing}: `allowed` lists the transitions with "
                    "an intensity ('from->to'), `time_unit` the unit of the time column (day, "
                    "month, quarter or year), e.g. `time_unit: year`"
                )
            if self.pooling == "partial" and self.method == "mle":
                raise ValueError(
                    "`pooling: partial` needs `method: nuts` (the population scale has no useful "
                    "maximum likelihood); use `pooling: none` or `complete` with `method: mle`"
                )
        return self

    @field_validator("structural_zeros", "allowed")
    @classmethod
    def _pairs(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if x.count("->") != 1 or not all(p.strip() for p in x.split("->"))]
        if bad:
            raise ValueError(f"write structural zeros as 'from->to', e.g. 'new->mature'; got {bad}")
        return v

    def state_space(self) -> StateSpace:
        """Return the configured state space."""
        return self.states.state_space()

    def zero_pairs(self) -> list[tuple[str, str]]:
        """Structural zeros as (from, to) pairs."""
        return [_pair(x) for x in self.structural_zeros]

    def allowed_pairs(self) -> list[tuple[str, str]]:
        """Return the allowed transitions of an intensity model as (from, to) pairs."""
        return [_pair(x) for x in self.allowed]


def read_fit_config(path: str | Path) -> FitConfig:
    """Read and validate a model config YAML.

    The checks that need the models layer (an intensity model's `allowed` transitions against
    its states) are `riskmodel.fitting.load_fit_config`'s.

    Raises
    ------
    ScenarioError
        Naming the file, the field path, what was wrong and the fix.
    ResourceLimitError
        If the file is too large or its YAML aliases expand too far.
    """
    path = Path(path)
    data = read_yaml(path)
    try:
        cfg = FitConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ScenarioError(path, format_validation_error(exc, FitConfig)) from None
    if cfg.covariates and cfg.macro is None:
        raise ScenarioError(path, [("macro", "covariates need a macro CSV; add `macro: FILE`.")])
    return cfg
