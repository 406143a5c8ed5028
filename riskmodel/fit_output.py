"""What `riskmodel fit` produces (`FitOutcome`), and writing it: the posterior and two files.

`write_fit` writes ``OUT`` (netCDF), ``OUT.summary.csv`` and ``OUT.diagnostics.json`` together,
atomically, and only over files an earlier `riskmodel fit` wrote (`check_fit_output`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from riskmodel.errors import OutputDirError
from riskmodel.models.draws import ParameterDraws, netcdf_engine
from riskmodel.report.files import check_new_path, folder_lock
from riskmodel.report.safety import deferred_signals, file_sha256, os_error

__all__ = ["FIT_FILES_ATTR", "FitOutcome", "check_fit_output", "fit_output_files", "write_fit"]


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
    model : {"transition", "intensity", "sector"}
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
    estimates : DataFrame or None
        Further estimates for ``OUT.summary.csv``, with a ``quantity`` column (``model:
        sector``: the asset and factor correlations, `riskmodel.fit_sector`).
    """

    draws: ParameterDraws
    summary: pd.DataFrame
    diagnostics: dict[str, Any]
    models: Mapping[str, Any] = field(default_factory=dict)
    model: str = "transition"
    intensities: pd.DataFrame | None = None
    period: Mapping[str, Any] | None = None
    variables: Mapping[str, xr.DataArray] = field(default_factory=dict)
    attrs: Mapping[str, Any] = field(default_factory=dict)
    estimates: pd.DataFrame | None = None


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


def _fit_record(path: Path) -> dict[str, Any] | None:
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
    files = fit_output_files(out)
    temps: list[Path] = []
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(out.parent, out.name, shown):
            check_fit_output(out, inputs=inputs)  # again, now that no writer can interfere
            _write_temporaries(outcome, files, temps)
            with deferred_signals():
                for tmp, path in zip(temps, files[1:] + files[:1], strict=True):
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
    return list(files)


def _write_temporaries(
    outcome: FitOutcome, files: tuple[Path, Path, Path], temps: list[Path]
) -> None:
    """Write the summary, the diagnostics and the posterior to hidden files beside them.

    Each temporary file is appended to `temps` as soon as it exists (the caller removes them on
    failure), in that order; the posterior records the SHA-256 of the other two.
    """
    post, summary, diag = files

    def temp_for(path: Path) -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
        os.close(fd)
        temps.append(Path(name))
        return temps[-1]

    t_summary, t_diag = temp_for(summary), temp_for(diag)
    _summary_table(outcome).to_csv(t_summary, index=False)
    t_diag.write_text(json.dumps(outcome.diagnostics, indent=2, default=str))
    record = {summary.name: file_sha256(t_summary), diag.name: file_sha256(t_diag)}
    ds = outcome.draws.to_dataset().assign(dict(outcome.variables))
    ds.attrs.update(outcome.attrs)
    ds.attrs[FIT_FILES_ATTR] = json.dumps(record)
    t_post = temp_for(post)
    ds.to_netcdf(t_post, group="posterior", mode="w", engine=netcdf_engine())


def _summary_table(outcome: FitOutcome) -> pd.DataFrame:
    """Return the table of ``OUT.summary.csv``: the transition table.

    For an intensity model, both tables with a ``quantity`` column (``transition_probability``
    per period, ``intensity`` per time unit); further `FitOutcome.estimates` are appended the
    same way.
    """
    if outcome.intensities is None and outcome.estimates is None:
        return outcome.summary
    parts = [outcome.summary.assign(quantity="transition_probability")]
    if outcome.intensities is not None:
        parts.append(outcome.intensities.assign(quantity="intensity"))
    if outcome.estimates is not None:
        parts.append(outcome.estimates)
    return pd.concat(parts, ignore_index=True)
