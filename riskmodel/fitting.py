"""`riskmodel fit`: fit a transition or intensity model from a panel.

The transition model (and optionally the asset correlation), or a continuous-time intensity model
(``model: intensity``).

A small YAML model config names the state space and the model options (its schema and reader:
`riskmodel.config.fit`); the panel CSV has ``customer_id, period, state`` [, ``segment``]. The
result is a posterior file of parameter draws that a scenario uses with
``parameters: {posterior: FILE}``, plus a summary table beside it.

The posterior file has the same format as a transition model's (``transition`` draws at
``period``), plus, for an intensity model, the ``generator`` draws and their ``time_unit``: a
scenario converts those to its own period per draw (`riskmodel.models.intensity_draws`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.config.errors import ScenarioError
from riskmodel.config.fit import FitConfig, read_fit_config
from riskmodel.data.panel import panel_to_counts
from riskmodel.errors import OutputDirError
from riskmodel.models import DefaultModel, IntensityModel, ParameterDraws, TransitionModel
from riskmodel.models.draws import netcdf_engine
from riskmodel.report.files import check_new_path, folder_lock
from riskmodel.report.safety import deferred_signals, file_sha256, os_error
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
    """Turn a (period, segment) DataArray into a long table."""
    return da.rename(name).to_dataframe().reset_index()[["period", "segment", name]]


@dataclass(frozen=True)
class FitOutcome:
    """What `fit_panel` produces.

    Attributes
    ----------
    draws : ParameterDraws
        The engine's parameters (for an intensity model: ``expm(Q · period)`` per draw).
    summary : DataFrame
        Per segment, from, to (transient origins): ``mean``, ``q03``, ``q97`` of the transition
        probabilities (NaN bounds for a maximum-likelihood intensity fit).
    diagnostics : dict
        Per model (``transition_model``, ``default_model``, ``intensity_model``): convergence
        diagnostics, or ``{"method": ...}`` for an exact or maximum-likelihood fit.
    models : mapping
        The fitted models by the keys of `diagnostics`; the fit report reads their ArviZ
        ``summary()`` for R-hat and bulk/tail ESS per parameter.
    model : {"transition", "intensity"}
        Which kind of model was fitted (the config's ``model``).
    intensities : DataFrame or None
        Intensity models: per segment, from, to (allowed transitions) ``mean``, ``q03``,
        ``q97`` of the intensities per ``time_unit`` (MLE: the estimate and Wald bounds).
    period : dict or None
        Intensity models: ``length``, ``unit`` of the period of `draws`, and ``time_unit``.
    variables : mapping
        Extra variables of the posterior file's ``posterior`` group (``generator``).
    attrs : mapping
        Extra attributes of the ``posterior`` group (``time_unit``, ``period_length``).
    """

    draws: ParameterDraws
    summary: pd.DataFrame
    diagnostics: dict
    models: Mapping[str, Any] = field(default_factory=dict)
    model: str = "transition"
    intensities: pd.DataFrame | None = None
    period: Mapping[str, Any] | None = None
    variables: Mapping[str, xr.DataArray] = field(default_factory=dict)
    attrs: Mapping[str, Any] = field(default_factory=dict)


def fit_panel(
    panel: pd.DataFrame, config: FitConfig, *, macro: pd.DataFrame | None = None
) -> FitOutcome:
    """Fit the configured transition model (and ρ if asked), or intensity model, to a panel."""
    if config.model == "intensity":
        return _fit_intensity(panel, config)
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
    models: dict[str, Any] = {"transition_model": tm}
    if config.correlation:
        dm = DefaultModel().fit(
            default_history(panel, states, skip_gaps=config.skip_gaps),
            draws=config.draws,
            chains=config.chains,
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
    return FitOutcome(
        draws=draws, summary=summary, diagnostics=diagnostics, models=models, attrs=attrs
    )


def _fit_intensity(panel: pd.DataFrame, config: FitConfig) -> FitOutcome:
    """Fit a ``model: intensity`` config (the intensity branch of `fit_panel`)."""
    from riskmodel.models.intensity_draws import generator_variables, intensity_fit_tables

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
        seed=config.seed,
        time_unit=config.time_unit,
    )
    period = Period.of(config.period)
    length = period.in_units(config.time_unit)
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


# --------------------------------------------------------------------------- writing
FIT_FILES_ATTR = "riskmodel_fit_files"
"""Attribute of the posterior group that `write_fit` writes: JSON of the files beside the
posterior (``OUT.summary.csv``, ``OUT.diagnostics.json``) with their SHA-256. It marks the file as
written by `riskmodel fit` and proves which of the files beside it riskmodel may replace."""


def fit_output_files(out: str | Path) -> tuple[Path, Path, Path]:
    """Return the posterior file and the two files beside it.

    ``OUT``, ``OUT.summary.csv`` (the suffix of ``OUT`` replaced) and ``OUT.diagnostics.json``.
    """
    out = Path(out)
    return out, out.with_suffix(".summary.csv"), out.with_suffix(".diagnostics.json")


def _fit_record(path: Path) -> dict | None:
    """Return the record of files a `riskmodel fit` posterior holds, or None if it is not one."""
    try:
        with xr.open_dataset(path, group="posterior", engine=netcdf_engine()) as ds:
            attrs = dict(ds.attrs)
        record = json.loads(attrs[FIT_FILES_ATTR])
    except Exception:  # not netCDF, no posterior group, no record: not written by `fit`
        return None
    if attrs.get("riskmodel_kind") != "ParameterDraws" or not isinstance(record, dict):
        return None
    return record


def check_fit_output(out: str | Path, *, inputs: Sequence[str | Path | None] = ()) -> Path:
    """Refuse a `riskmodel fit` output that would replace a file riskmodel did not write.

    ``OUT`` may be new or a posterior an earlier `riskmodel fit` wrote (its netCDF attribute
    `FIT_FILES_ATTR`); ``OUT.summary.csv`` and ``OUT.diagnostics.json`` may be new or unchanged
    since that fit wrote them (their SHA-256 is recorded in the posterior). None of the three may
    be one of the fit's `inputs` (panel, config, macro), a symbolic link or a folder.

    Returns
    -------
    Path
        The absolute path of ``OUT``.

    Raises
    ------
    OutputDirError
        Naming the file at fault and the fix. Nothing is written.
    """
    shown = str(out) if str(out) else '""'
    if not str(out).strip():
        raise OutputDirError(
            '--out "": the output file is empty (an unset shell variable?); pass a file, e.g. '
            "--out posteriors/model.nc."
        )
    out = Path(os.path.abspath(Path(out).expanduser()))
    files = fit_output_files(out)
    fix = "Choose another --out, or move the file away yourself."
    for file in files:
        if file.is_symlink():
            raise OutputDirError(
                f"{file}: is a symbolic link; riskmodel does not write through links. {fix}"
            )
        if file.exists() and not file.is_file():
            raise OutputDirError(f"{file}: exists and is not a regular file. {fix}")
        for item in inputs:
            if item is None or not file.exists() or not Path(item).exists():
                continue
            if os.path.samefile(file, item):
                raise OutputDirError(
                    f"{file}: is an input of this fit ({item}); riskmodel never overwrites its "
                    f"inputs. {fix}"
                )
    record = _fit_record(out) if out.exists() else None
    if out.exists() and record is None:
        raise OutputDirError(
            f"{shown}: exists and is not a posterior written by `riskmodel fit` (no "
            f"{FIT_FILES_ATTR!r} attribute in its netCDF 'posterior' group), so riskmodel will "
            f"not overwrite it. {fix}"
        )
    for file in files[1:]:
        if file.exists() and (record is None or record.get(file.name) != file_sha256(file)):
            raise OutputDirError(
                f"{file}: exists and riskmodel cannot prove it wrote it (the posterior "
                f"{out.name} does not record it with this content: written by someone else, or "
                f"changed since), so riskmodel will not overwrite it. {fix}"
            )
    for file in files:
        check_new_path(file, str(file), what="output file")
    return out


def write_fit(
    outcome: FitOutcome, out: str | Path, *, inputs: Sequence[str | Path | None] = ()
) -> list[Path]:
    """Write the posterior file and, beside it, ``<name>.summary.csv`` and ``.diagnostics.json``.

    Each is written to a hidden temporary file in the same folder and renamed into place; the
    three renames happen together (Ctrl-C and SIGTERM are held back), and on any failure the
    temporary files are removed. Existing files are replaced only when `check_fit_output` proves
    riskmodel wrote them; the posterior records the SHA-256 of the other two (`FIT_FILES_ATTR`).

    Parameters
    ----------
    outcome : FitOutcome
    out : str or Path
        The posterior file (netCDF). Parent folders are created.
    inputs : sequence of path, optional
        The fit's input files (panel, config, macro): never overwritten.

    Returns
    -------
    list of Path
        The posterior, the summary CSV and the diagnostics JSON.

    Raises
    ------
    OutputDirError
        See `check_fit_output`; also for a full disk, a read-only folder and the like.
    """
    shown = str(out)
    out = check_fit_output(out, inputs=inputs)
    post, summary, diag = fit_output_files(out)
    temps: list[Path] = []

    def temp_for(path: Path) -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
        os.close(fd)
        temps.append(Path(name))
        return temps[-1]

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(out.parent, out.name, shown):
            check_fit_output(out, inputs=inputs)  # again, now that no writer can interfere
            t_summary, t_diag = temp_for(summary), temp_for(diag)
            _summary_table(outcome).to_csv(t_summary, index=False)
            t_diag.write_text(json.dumps(outcome.diagnostics, indent=2, default=str))
            record = {summary.name: file_sha256(t_summary), diag.name: file_sha256(t_diag)}
            ds = outcome.draws.to_dataset().assign(dict(outcome.variables))
            ds.attrs.update(outcome.attrs)
            ds.attrs[FIT_FILES_ATTR] = json.dumps(record)
            t_post = temp_for(post)
            ds.to_netcdf(t_post, group="posterior", mode="w", engine=netcdf_engine())
            with deferred_signals():
                for tmp, path in ((t_summary, summary), (t_diag, diag), (t_post, post)):
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, path)
    except BaseException as exc:
        with deferred_signals():
            for tmp in temps:
                tmp.unlink(missing_ok=True)
        mapped = os_error(exc, shown)
        if mapped is not None:
            raise mapped from exc
        raise
    return [post, summary, diag]


def _summary_table(outcome: FitOutcome) -> pd.DataFrame:
    """Return the table of ``OUT.summary.csv``: the transition table.

    For an intensity model, both tables with a ``quantity`` column (``transition_probability``
    per period, ``intensity`` per time unit).
    """
    if outcome.intensities is None:
        return outcome.summary
    return pd.concat(
        [
            outcome.summary.assign(quantity="transition_probability"),
            outcome.intensities.assign(quantity="intensity"),
        ],
        ignore_index=True,
    )
