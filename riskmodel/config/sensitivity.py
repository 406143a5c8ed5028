"""The sensitivity configuration: schema and reader.

The configuration is a separate YAML file, a dict, or a scenario's ``sensitivity:`` section;
`riskmodel.sensitivity.config.run_sensitivity` runs what it asks for.

Schema (extra keys are rejected; every key but ``factors`` is optional)::

    factors:                        # at least one
      - {name: systematic.correlation, low: 0.05, high: 0.20}
      - {name: lgd.mean, low: 0.35, high: 0.55}
      - {name: transitions.declining->defaulted, low: 0.8, high: 1.2}
      - {name: posterior.draw, low: 0.0, high: 1.0}      # with a multi-draw posterior
    metrics: [expected_loss, ecl_lifetime, value, var_0.99, es_0.999]
    method: [tornado, sobol]        # or one of them, as a string or a list
    tornado: {paths: 10000, seed: null, bootstrap: 200}
    sobol: {n: 64, paths: 512, seed: null, conf_level: 0.95, resamples: 100, batch: 64,
            estimator: saltelli, groups: 4}   # estimator: saltelli | surrogate
    approximation: none             # or large_pool: simulated metrics on the large-pool model
    check_paths: 1024               # engine paths per tornado point measuring its error

``seed: null`` uses the scenario's seed. A file may hold these keys at the top level, or under a
top-level ``sensitivity:`` key (as in a scenario file). Factor names are checked against the
scenario when the analysis runs (`riskmodel.sensitivity.factors`), metric names here
(`riskmodel.config.metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import Field, StrictInt, field_validator, model_validator

from riskmodel.config.base import ConfigModel
from riskmodel.config.errors import ScenarioError, format_validation_error
from riskmodel.config.metrics import DEFAULT_METRICS, parse_metric, parse_metrics
from riskmodel.config.safe_yaml import read_yaml

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "MIN_N",
    "FactorConfig",
    "SensitivityConfig",
    "SobolConfig",
    "TornadoConfig",
    "load_sensitivity_config",
]

DEFAULT_BOOTSTRAP = 200
"""Bootstrap replicates of a tornado's swing standard errors (`riskmodel.sensitivity.swing`)."""
MIN_N = 8
"""Smallest Sobol' sample size (`riskmodel.sensitivity.variance`)."""


class FactorConfig(ConfigModel):
    """One factor: its path in the scenario and the range it is moved over."""

    name: str = Field(min_length=1)
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> FactorConfig:
        if not self.low < self.high:
            raise ValueError(
                f"`low` must be below `high`; got low {self.low:g}, high {self.high:g}. "
                "Swap them (or widen the range)"
            )
        return self


class TornadoConfig(ConfigModel):
    """`tornado:` — one-at-a-time runs on common random numbers."""

    paths: StrictInt = Field(default=10_000, ge=100)
    seed: StrictInt | None = Field(default=None, ge=0)
    bootstrap: StrictInt = Field(default=DEFAULT_BOOTSTRAP, ge=20)


class SobolConfig(ConfigModel):
    """`sobol:` — the SALib design: ``n (k + 2)`` evaluations of ``paths`` paths each."""

    n: StrictInt = Field(default=64, ge=MIN_N)
    paths: StrictInt = Field(default=512, ge=16)
    seed: StrictInt | None = Field(default=None, ge=0)
    conf_level: float = Field(default=0.95, gt=0.0, lt=1.0)
    resamples: StrictInt = Field(default=100, ge=10)
    batch: StrictInt = Field(default=64, ge=1)
    estimator: Literal["saltelli", "surrogate"] = "saltelli"
    groups: StrictInt = Field(default=4, ge=1)

    @field_validator("n")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            lower = 2 ** int(math.log2(v))
            raise ValueError(
                f"must be a power of 2 (Sobol' sequences are balanced only there); got {v}. "
                f"Use {lower} or {2 * lower}"
            )
        return v


class SensitivityConfig(ConfigModel):
    """A whole sensitivity configuration."""

    factors: list[FactorConfig] = Field(min_length=1)
    metrics: list[str] = Field(default=list(DEFAULT_METRICS), min_length=1)
    method: list[Literal["tornado", "sobol"]] = Field(default=["tornado", "sobol"], min_length=1)
    tornado: TornadoConfig = TornadoConfig()
    sobol: SobolConfig = SobolConfig()
    approximation: Literal["none", "large_pool"] = "none"
    check_paths: StrictInt = Field(default=1024, ge=16)

    @field_validator("method", mode="before")
    @classmethod
    def _one_method(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        for name in v:
            parse_metric(name)  # ValueError with a suggestion
        return [s.name for s in parse_metrics(v)]

    @field_validator("factors")
    @classmethod
    def _unique(cls, v: list[FactorConfig]) -> list[FactorConfig]:
        names = [f.name for f in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"factors must be listed once each; got {dupes} more than once")
        return v


def load_sensitivity_config(
    source: str | Path | Mapping[str, Any] | SensitivityConfig,
    *,
    file: str | Path | None = None,
) -> SensitivityConfig:
    """Validate a sensitivity configuration.

    Parameters
    ----------
    source : path, mapping or SensitivityConfig
        A YAML file (keys at the top level or under ``sensitivity:``), or a dict.
    file : str or Path, optional
        Name to use in messages for a dict.

    Returns
    -------
    SensitivityConfig

    Raises
    ------
    ScenarioError
        Naming the file, the field path (``sobol -> n``), what was wrong and the fix; unknown
        keys get a did-you-mean suggestion. A file is read with
        `riskmodel.config.safe_yaml.read_yaml` (duplicate keys refused).
    ResourceLimitError
        If the file is too large or its YAML aliases expand past the loader's limits.

    Examples
    --------
    >>> cfg = load_sensitivity_config(
    ...     {"factors": [{"name": "lgd.mean", "low": 0.35, "high": 0.55}], "method": "tornado"}
    ... )
    >>> cfg.method, cfg.metrics[0]
    (['tornado'], 'expected_loss')
    """
    if isinstance(source, SensitivityConfig):
        return source
    prefix: list[str] = []
    data: Any
    if isinstance(source, str | Path):
        file = Path(source)
        data = read_yaml(file)
    elif isinstance(source, Mapping):
        data = dict(source)
    else:
        raise ScenarioError(
            file, [("", f"a sensitivity config must be a mapping; got {type(source).__name__}.")]
        )
    if "sensitivity" in data and "factors" not in data:
        data = data["sensitivity"]
        prefix = ["sensitivity"]
        if not isinstance(data, Mapping):
            raise ScenarioError(
                file, [("sensitivity", "must be a mapping with `factors:` and optional keys.")]
            )
    try:
        return SensitivityConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = format_validation_error(exc, SensitivityConfig)
        if prefix:
            problems = [(" -> ".join([*prefix, f]) if f else prefix[0], m) for f, m in problems]
        raise ScenarioError(file, problems) from None
