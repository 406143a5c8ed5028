"""`riskmodel fit`: fit a transition or intensity model from a panel.

The transition model (and optionally the asset correlation), or a continuous-time intensity model
(``model: intensity``), or the transition model with the sector-factor default model
(``model: sector``, `riskmodel.fit_sector`).

A small YAML model config names the state space and the model options (its schema and reader:
`riskmodel.config.fit`); the panel CSV has ``customer_id, period, state`` [, ``segment``]. The
result is a posterior file of parameter draws that a scenario uses with
``parameters: {posterior: FILE}``, plus a summary table beside it.

Writing the posterior file and the two beside it is `riskmodel.fit_output`'s (re-exported here).
The posterior file has the same format as a transition model's (``transition`` draws at
``period``), plus, for an intensity model, the ``generator`` draws and their ``time_unit``: a
scenario converts those to its own period per draw (`riskmodel.models.intensity_draws`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.config.errors import ScenarioError
from riskmodel.config.fit import FitConfig, read_fit_config
from riskmodel.data.panel import panel_to_counts
from riskmodel.errors import ArgumentError
from riskmodel.fit_output import (
    FIT_FILES_ATTR,
    FitOutcome,
    check_fit_output,
    fit_output_files,
    write_fit,
)
from riskmodel.fit_sector import fit_sector
from riskmodel.models import DefaultModel, IntensityModel, TransitionModel
from riskmodel.scenarios.period import Period
from riskmodel.states import StateSpace

__all__ = [
    "FIT_FILES_ATTR",
    "FitConfig",
    "FitOutcome",
    "check_fit_output",
    "default_history",
    "fit_output_files",
    "fit_panel",
    "intensity_model",
    "load_fit_config",
    "write_fit",
]


def intensity_model(config: FitConfig) -> IntensityModel:
    """Build the configured (unfitted) `IntensityModel`; `ArgumentError` on bad options."""
    return IntensityModel(
        config.state_space(),
        allowed=config.allowed_pairs(),
        exact_states=config.exact_states,
        pooling=config.pooling,
        censored=config.censored,
        exact_times=config.exact_times,
    )


def load_fit_config(path: str | Path) -> FitConfig:
    """Read and validate a model config YAML; raises `ScenarioError` naming file and field.

    `riskmodel.config.fit.read_fit_config` reads and validates the file; an intensity model's
    `allowed` transitions are then checked against its states.
    """
    cfg = read_fit_config(path)
    if cfg.model == "intensity":
        try:
            intensity_model(cfg)._config()
        except ValueError as exc:
            raise ScenarioError(Path(path), [("allowed", str(exc))]) from None
    return cfg


def default_history(panel: pd.DataFrame, states: StateSpace, **kwargs: Any) -> pd.DataFrame:
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


def xr_to_frame(da: xr.DataArray, name: str) -> pd.DataFrame:
    """Turn a (period, segment) DataArray into a long table."""
    return da.rename(name).to_dataframe().reset_index()[["period", "segment", name]]


def fit_panel(
    panel: pd.DataFrame, config: FitConfig, *, macro: pd.DataFrame | None = None
) -> FitOutcome:
    """Fit the configured transition model (and ρ if asked), or intensity model, to a panel.

    ``model: sector`` fits the transition model and `SectorDefaultModel` on the panel's default
    history by segment (`fit_sector`).
    """
    if config.model == "intensity":
        return _fit_intensity(panel, config)
    states = config.state_space()
    tm = TransitionModel(
        states,
        pooling=config.pooling,
        covariates=config.covariates or None,
        structural_zeros=config.zero_pairs() or None,
    )
    tm.fit(
        panel,
        macro=macro,
        draws=config.draws,
        chains=config.chains,
        tune=config.tune,
        seed=config.seed,
    )
    draws = tm.parameter_draws()
    diagnostics: dict[str, Any] = {
        "transition_model": tm.diagnostics or {"method": "conjugate (exact)"}
    }
    models: dict[str, Any] = {"transition_model": tm}
    if config.correlation:
        dm = DefaultModel().fit(
            default_history(panel, states, skip_gaps=config.skip_gaps),
            draws=config.draws,
            chains=config.chains,
            tune=config.tune,
            seed=config.seed,
        )
        draws = draws.with_correlation(dm.correlation_draws(), seed=config.seed)
        diagnostics["default_model"] = dm.diagnostics
        models["default_model"] = dm
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
    # compare-models reads it to say which pooling the data prefer (the draws stay flattened:
    # LOO treats them as one chain)
    attrs = {"pooling": config.pooling}
    outcome = FitOutcome(
        draws=draws, summary=summary, diagnostics=diagnostics, models=models, attrs=attrs
    )
    if config.model != "sector":
        return outcome
    return fit_sector(default_history(panel, states, skip_gaps=config.skip_gaps), config, outcome)


def _fit_intensity(panel: pd.DataFrame, config: FitConfig) -> FitOutcome:
    """Fit a ``model: intensity`` config (the intensity branch of `fit_panel`)."""
    from riskmodel.models.intensity_draws import generator_variables
    from riskmodel.models.intensity_tables import intensity_fit_tables

    cols = config.columns
    panel = panel.copy()
    for col in (cols.state, cols.segment):  # state and segment names are text
        if col is not None and col in panel.columns:
            panel[col] = panel[col].astype(str)
    model = intensity_model(config).fit(
        panel,
        subject=cols.subject,
        time=cols.time,
        state=cols.state,
        segment=cols.segment,
        method=config.method,
        draws=config.draws,
        chains=config.chains,
        tune=config.tune,
        seed=config.seed,
        time_unit=config.time_unit,
    )
    unit = config.time_unit
    if unit is None:  # FitConfig requires it with `model: intensity`
        raise ArgumentError("an intensity model's config needs `time_unit`; add it.")
    period = Period.of(config.period)
    length = period.in_units(unit)
    tables = intensity_fit_tables(model, length)
    variables, attrs = generator_variables(
        tables.generators.generators,
        model.segments,
        model.states,
        time_unit=config.time_unit,
        period_length=length,
    )
    attrs["fit_method"] = config.method
    diagnostics = model.diagnostics or {
        "method": "maximum likelihood",
        "minus2loglik": model.minus2loglik,
    }
    return FitOutcome(
        draws=tables.draws,
        summary=tables.transitions,
        diagnostics={"intensity_model": diagnostics},
        models={"intensity_model": model},
        model="intensity",
        intensities=tables.intensities,
        period={"length": period.length, "unit": period.unit, "time_unit": config.time_unit},
        variables=variables,
        attrs=attrs,
    )
