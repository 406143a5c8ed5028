"""`riskmodel fit`: fit the transition model (and optionally the asset correlation) from a panel.

A small YAML model config names the state space and the model options; the panel CSV has
``customer_id, period, state`` [, ``segment``]. The result is a posterior file of parameter draws
that a scenario uses with ``parameters: {posterior: FILE}``, plus a summary table beside it.

Model config (all keys but ``states`` optional)::

    states: {names: [...], absorbing: [...], default: defaulted, churn: churned}
    pooling: partial            # none | partial | complete
    structural_zeros: [new->mature, growing->new]
    covariates: [unemployment]  # needs `macro`
    macro: macro.csv            # period, <variable>…; path relative to the config file
    correlation: true           # also estimate the asset correlation from the panel's defaults
    draws: 1000
    chains: 4
    seed: 1
    skip_gaps: false
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pydantic
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from riskmodel.data.panel import panel_to_counts
from riskmodel.models import DefaultModel, ParameterDraws, TransitionModel
from riskmodel.scenarios.errors import ScenarioError, format_validation_error
from riskmodel.scenarios.load import read_yaml
from riskmodel.states import StateSpace

__all__ = [
    "FitConfig",
    "FitOutcome",
    "default_history",
    "fit_panel",
    "load_fit_config",
    "write_fit",
]


class _States(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    names: list[str] = Field(min_length=2)
    absorbing: list[str] = Field(min_length=1)
    default: str
    churn: str | None = None


class FitConfig(BaseModel):
    """The model config of `riskmodel fit` (extra keys are rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    states: _States
    pooling: Literal["none", "partial", "complete"] = "none"
    structural_zeros: list[str] = []
    covariates: list[str] = []
    macro: str | None = None
    correlation: bool = False
    draws: StrictInt = Field(default=1000, ge=10)
    chains: StrictInt = Field(default=4, ge=1, le=16)
    seed: StrictInt | None = Field(default=None, ge=0)
    skip_gaps: bool = False

    @field_validator("structural_zeros")
    @classmethod
    def _pairs(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if x.count("->") != 1 or not all(p.strip() for p in x.split("->"))]
        if bad:
            raise ValueError(f"write structural zeros as 'from->to', e.g. 'new->mature'; got {bad}")
        return v

    def state_space(self) -> StateSpace:
        """The configured state space."""
        s = self.states
        return StateSpace(s.names, absorbing=s.absorbing, default=s.default, churn=s.churn)

    def zero_pairs(self) -> list[tuple[str, str]]:
        """Structural zeros as (from, to) pairs."""
        return [tuple(p.strip() for p in x.split("->")) for x in self.structural_zeros]


def load_fit_config(path: str | Path) -> FitConfig:
    """Read and validate a model config YAML; raises `ScenarioError` naming file and field."""
    path = Path(path)
    data = read_yaml(path)
    try:
        cfg = FitConfig.model_validate(data)
        cfg.state_space()
    except pydantic.ValidationError as exc:
        raise ScenarioError(path, format_validation_error(exc, FitConfig)) from None
    except ValueError as exc:
        raise ScenarioError(path, [("states", str(exc))]) from None
    if cfg.covariates and cfg.macro is None:
        raise ScenarioError(path, [("macro", "covariates need a macro CSV; add `macro: FILE`.")])
    return cfg


def default_history(panel: pd.DataFrame, states: StateSpace, **kwargs) -> pd.DataFrame:
    """Per period and segment: customers in transient states and how many defaulted next period.

    This is the input of `DefaultModel` (``period, segment, customers, defaults``).
    """
    counts = panel_to_counts(panel, states, by_period=True, **kwargs)
    transient = list(states.transient)
    frm = counts.sel(from_state=transient)
    customers = frm.sum(("from_state", "to_state"))
    defaults = frm.sel(to_state=states.default).sum("from_state")
    df = (
        xr_to_frame(customers, "customers")
        .merge(xr_to_frame(defaults, "defaults"), on=["period", "segment"])
        .query("customers > 0")
    )
    df[["customers", "defaults"]] = df[["customers", "defaults"]].astype(np.int64)
    return df.reset_index(drop=True)


def xr_to_frame(da, name: str) -> pd.DataFrame:
    """A (period, segment) DataArray as a long table."""
    return da.rename(name).to_dataframe().reset_index()[["period", "segment", name]]


@dataclass(frozen=True)
class FitOutcome:
    """What `fit_panel` produces."""

    draws: ParameterDraws
    summary: pd.DataFrame  # per segment, from, to: mean and 94% interval
    diagnostics: dict


def fit_panel(
    panel: pd.DataFrame, config: FitConfig, *, macro: pd.DataFrame | None = None
) -> FitOutcome:
    """Fit the configured transition model (and ρ if asked) to a panel."""
    states = config.state_space()
    tm = TransitionModel(
        states,
        pooling=config.pooling,
        covariates=config.covariates or None,
        structural_zeros=config.zero_pairs() or None,
    )
    tm.fit(panel, macro=macro, draws=config.draws, chains=config.chains, seed=config.seed)
    draws = tm.parameter_draws()
    diagnostics: dict = {"transition_model": tm.diagnostics or {"method": "conjugate (exact)"}}
    if config.correlation:
        dm = DefaultModel().fit(
            default_history(panel, states, skip_gaps=config.skip_gaps),
            draws=config.draws,
            chains=config.chains,
            seed=config.seed,
        )
        draws = draws.with_correlation(dm.correlation_draws(), seed=config.seed)
        diagnostics["default_model"] = dm.diagnostics
    mean = tm.transition_matrix("mean")
    lo, hi = tm.transition_matrix(0.03), tm.transition_matrix(0.97)
    summary = (
        mean.rename("mean")
        .to_dataframe()
        .join(lo.rename("q03").to_dataframe()[["q03"]])
        .join(hi.rename("q97").to_dataframe()[["q97"]])
        .reset_index()
    )
    summary = summary[summary["from_state"].isin(states.transient)].reset_index(drop=True)
    return FitOutcome(draws=draws, summary=summary, diagnostics=diagnostics)


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_fit(outcome: FitOutcome, out: str | Path) -> list[Path]:
    """Write the posterior file and, beside it, ``<name>.summary.csv`` and ``.diagnostics.json``."""
    out = Path(out)
    summary = out.with_suffix(".summary.csv")
    diag = out.with_suffix(".diagnostics.json")
    _atomic(out, lambda tmp: outcome.draws.to_netcdf(tmp))
    _atomic(summary, lambda tmp: outcome.summary.to_csv(tmp, index=False))
    _atomic(
        diag,
        lambda tmp: Path(tmp).write_text(json.dumps(outcome.diagnostics, indent=2, default=str)),
    )
    return [out, summary, diag]
