"""The fit report of a fitted model on its own panel.

Convergence, posterior transition matrices, the correlation posterior and posterior predictive
checks.

`fit_report` builds a `FitReport` from what `riskmodel fit` produced (a `FitOutcome`, or any
object with ``draws``, ``diagnostics`` and optionally ``summary`` and ``models``) or from a fitted
`TransitionModel` (what it shows of the fit is read by `riskmodel.report.fit_content`; its
figures and HTML are `riskmodel.report.fit_html`'s); `FitReport.write` writes
``DIR/report.html`` (self-contained), ``DIR/fit.json`` and ``DIR/figures/*.png`` through the
safe folder writer shared by every report (`riskmodel.report.files.write_folder_atomic`:
manifest, lock, atomic swap).

The predictive checks are `riskmodel.validation.ppc`: a function of the row probabilities per
posterior draw and the observed counts, so any model that yields ``ParameterDraws`` (transition
models of every pooling, covariate models given the macro series, continuous-time intensity
models) gets the same report.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.errors import OutputDirError
from riskmodel.models.draws import ParameterDraws
from riskmodel.report.convergence import convergence_table
from riskmodel.report.files import (
    _json_ready,
    check_output_dir,
    fill_report_folder,
    write_folder_atomic,
)
from riskmodel.report.fit_content import correlation_summary, fit_outcome, transition_table
from riskmodel.report.fit_html import slug
from riskmodel.validation.ppc import PredictiveCheck, check_posterior

__all__ = [
    "FitReport",
    "check_report_dir",
    "convergence_table",
    "fit_report",
    "period_panel",
    "report_flag_error",
    "report_for_config",
    "slug",
]


@dataclass(frozen=True)
class FitReport:
    """Everything the fit report shows; `write` puts it on disk.

    Attributes
    ----------
    draws : ParameterDraws
        The posterior draws the report describes.
    transitions : DataFrame
        ``segment, from_state, to_state, mean, q03, q97`` (transient origins).
    convergence : DataFrame
        Per model and parameter group: ``model, method, group, parameters, max_rhat,
        min_ess_bulk, min_ess_tail, divergences, status``.
    diagnostics : dict
        ``FitOutcome.diagnostics`` (per model).
    remedies : list of str
        The remedy of each failed convergence check (empty when all pass).
    correlation : dict or None
        ``mean, sd, lower, upper`` of the asset-correlation draws, and their ``histogram``.
    check : PredictiveCheck or None
        The posterior predictive checks on the panel (None without a period panel, e.g. an
        intensity model observed at arbitrary times).
    info : dict
        Segments, states, draws, covariates, pooling.
    """

    draws: ParameterDraws
    transitions: pd.DataFrame
    convergence: pd.DataFrame
    diagnostics: dict
    remedies: list[str]
    correlation: dict | None
    check: PredictiveCheck | None
    info: dict = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """Whether every convergence check passed (an exact conjugate fit always does)."""
        return not self.remedies

    def to_dict(self) -> dict:
        """Return the content of ``fit.json`` (JSON-ready)."""
        corr = None
        if self.correlation is not None:
            corr = {k: v for k, v in self.correlation.items() if k != "histogram"}
        return _json_ready(
            {
                "kind": "fit",
                **self.info,
                "converged": self.converged,
                "remedies": self.remedies,
                "diagnostics": self.diagnostics,
                "convergence": _records(self.convergence),
                "transitions": _records(self.transitions),
                "correlation": corr,
                "posterior_predictive": None if self.check is None else self.check.to_dict(),
            }
        )

    def figures(self) -> dict[str, bytes]:
        """Draw the report's figures as PNG bytes, by file stem, in report order."""
        from riskmodel.report.fit_html import fit_figures

        return fit_figures(self)

    def to_html(
        self, figures: Mapping[str, bytes] | None = None, *, provenance: dict | None = None
    ) -> str:
        """Render the self-contained HTML report.

        Figures are drawn unless given; a Provenance section with `provenance`, the entry
        `write` puts in ``fit.json``.
        """
        from riskmodel.report.fit_html import render_fit_html

        figures = self.figures() if figures is None else figures
        return render_fit_html(self, figures, provenance=provenance)

    def write(
        self,
        out: str | Path,
        *,
        inputs: Iterable[str | Path] = (),
        command: Sequence[str] | None = None,
    ) -> Path:
        """Write ``report.html``, ``fit.json`` and ``figures/*.png`` into the folder `out`.

        The folder is written atomically and replaces only an earlier riskmodel report (see
        `riskmodel.report.files.write_folder_atomic`); `inputs` (panel, config, macro) are
        recorded in ``fit.json`` with their SHA-256, and a folder holding one is refused.
        ``fit.json`` gets a ``provenance`` entry (versions, git commit, `command`, seed, inputs)
        as the run report's ``summary.json`` does.

        Returns
        -------
        Path
            The absolute folder.

        Raises
        ------
        OutputDirError
            If `out` cannot hold a report (foreign files, a protected place, …).
        """
        from riskmodel.report.files import shown_path
        from riskmodel.report.provenance import provenance
        from riskmodel.report.safety import file_sha256

        paths = [Path(p) for p in inputs if p is not None]
        hashes = {str(shown_path(p)): file_sha256(p) for p in paths if p.is_file()}
        prov = provenance(seed=self.info.get("seed"), entropy=None, inputs=hashes, command=command)
        return write_folder_atomic(
            out, lambda folder: self._fill(folder, hashes, prov), kind="fit", inputs=paths
        )

    def _fill(self, folder: Path, hashes: dict, prov: dict) -> None:
        content = self.to_dict()
        content["inputs"] = hashes
        content["provenance"] = _json_ready(prov)
        figures = self.figures()
        fill_report_folder(
            folder,
            content=content,
            json_name="fit.json",
            figures=figures,
            html=self.to_html(figures, provenance=content["provenance"]),
        )


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def fit_report(
    fit: Any,
    panel: Any,
    *,
    macro: Any = None,
    out: str | Path | None = None,
    inputs: Iterable[str | Path] = (),
    level: float = 0.94,
    replicates: int = 1000,
    seed: int | None = 0,
    skip_gaps: bool = False,
    command: Sequence[str] | None = None,
) -> FitReport:
    """Build (and with `out`, write) the report of a fitted transition model.

    Parameters
    ----------
    fit : FitOutcome or TransitionModel
        What `riskmodel.fitting.fit_panel` returns (or any object with ``draws`` and
        ``diagnostics``, optionally ``summary`` and ``models``), or a fitted `TransitionModel`.
    panel : DataFrame, path, xarray.DataArray or None
        The panel the model was fitted to (``customer_id, period, state`` [, ``segment``]), a
        panel CSV, or counts with dims ``(period, segment, from_state, to_state)``, with
        periods of the length of the draws' matrices. None: no predictive checks (the report
        says how to add them); see `period_panel` for intensity panels.
    macro : DataFrame or path, optional
        The macro table the fit used; required for a covariate model.
    out : str or Path, optional
        Write the report folder here (`FitReport.write`).
    inputs : iterable of path, optional
        The fit's input files, recorded with their SHA-256 when writing.
    level : float, default 0.94
        Probability of the predictive bands (and the transition intervals are 94%).
    replicates : int, default 1000
        Replicated panels of the predictive checks.
    seed : int or None, default 0
        Seed of the predictive sampling.
    skip_gaps : bool, default False
        As the fit's ``skip_gaps``: count a panel DataFrame skipping pairs across gaps (the fit
        already warned about them).
    command : sequence of str, optional
        The command line, recorded in the provenance when writing.

    Returns
    -------
    FitReport

    Raises
    ------
    ArgumentError
        On a `fit` of the wrong type, or a covariate model without `macro`.
    PanelError, MacroError
        If the panel or macro table does not match the posterior.
    OutputDirError
        If `out` cannot hold a report.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.data.panel import load_example_panel, example_states
    >>> panel = load_example_panel()
    >>> model = rm.TransitionModel(example_states()).fit(panel, draws=200, chains=2, seed=1)
    >>> report = rm.fit_report(model, panel)
    >>> report.check.summary["check"].tolist()
    ['destination_counts', 'default_rate_period', 'all']
    """
    from riskmodel.report.headline import fit_remedies

    draws, summary, diagnostics, models = fit_outcome(fit)
    if skip_gaps and isinstance(panel, pd.DataFrame):
        from riskmodel.data.panel import panel_to_counts
        from riskmodel.errors import GapsSkippedWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GapsSkippedWarning)
            panel = panel_to_counts(panel, draws.states, by_period=True, skip_gaps=True)

    check = None
    if panel is not None:
        check = check_posterior(draws, panel, macro=macro, level=level, replicates=replicates,
                                seed=seed)  # fmt: skip
    tm = models.get("transition_model")
    info = {
        "segments": list(draws.segments),
        "states": list(draws.states.names),
        "default_state": draws.states.default,
        "posterior_draws": draws.n_draws,
        "covariates": list(draws.covariates),
        "pooling": getattr(tm, "pooling", None),
        "seed": seed,
    }
    report = FitReport(
        draws=draws,
        transitions=transition_table(draws, summary),
        convergence=convergence_table(diagnostics, models),
        diagnostics=diagnostics,
        remedies=fit_remedies(diagnostics),
        correlation=correlation_summary(draws),
        check=check,
        info=info,
    )
    if out is not None:
        report.write(out, inputs=inputs, command=command)
    return report


def check_report_dir(
    report_dir: str | Path, *, posterior: str | Path, inputs: Iterable[str | Path] = ()
) -> Path:
    """Refuse a fit report folder before the fit.

    `check_output_dir`, and not the folder (or a parent of the folder) the posterior file is
    written to.

    Raises
    ------
    OutputDirError
        Naming the folder and the fix.
    """
    try:
        path = check_output_dir(report_dir, inputs=inputs)
    except OutputDirError as exc:
        raise report_flag_error(exc) from None
    post = Path(os.path.abspath(Path(posterior).expanduser()))
    if path == post.parent or path in post.parents:
        raise OutputDirError(
            f"{report_dir}: the report folder would hold the posterior file {posterior}; a "
            "report replaces its whole folder. Choose another --report (or --no-report), or "
            "write the posterior elsewhere with --out."
        )
    return path


def report_for_config(outcome: Any, panel: pd.DataFrame, config: Any, *, macro=None) -> FitReport:
    """`fit_report` as `riskmodel fit` makes it from its model config (a `FitConfig`).

    Seeded with the config's seed (0 without one); pairs across gaps are skipped as the fit
    skipped them; an intensity model's panel is checked per period when its observation times
    lie on the period grid (`period_panel`), and the checks are left out otherwise.
    """
    seed = 0 if config.seed is None else config.seed
    if getattr(outcome, "model", "transition") == "intensity":
        cols = config.columns
        length = float((getattr(outcome, "attrs", None) or {}).get("period_length", 1.0))
        grid = period_panel(panel, subject=cols.subject, time=cols.time, state=cols.state,
                            segment=cols.segment, period_length=length)  # fmt: skip
        return fit_report(outcome, grid, seed=seed)
    return fit_report(outcome, panel, macro=macro, seed=seed, skip_gaps=config.skip_gaps)


def period_panel(
    panel: pd.DataFrame,
    *,
    subject: str,
    time: str,
    state: str,
    segment: str | None,
    period_length: float,
) -> pd.DataFrame | None:
    """Return an intensity model's panel as a period panel for the predictive checks, if any.

    The draws of an intensity fit are ``expm(Q · period_length)``; their predictive checks
    need transition counts over exactly that length. When every observation time is a whole
    multiple of `period_length`, returns ``customer_id, period, state`` [, ``segment``] with
    ``period = time / period_length``; otherwise None (observations at arbitrary times).
    """
    t = pd.to_numeric(panel[time], errors="coerce").to_numpy(dtype=float) / period_length
    if not np.isfinite(t).all() or not np.allclose(t, np.round(t), rtol=0.0, atol=1e-9):
        return None
    out = pd.DataFrame(
        {
            "customer_id": panel[subject].to_numpy(),
            "period": np.round(t).astype(np.int64),
            "state": panel[state].astype(str).to_numpy(),
        }
    )
    if segment is not None:
        out["segment"] = panel[segment].astype(str).to_numpy()
    return out


def report_flag_error(exc: OutputDirError) -> OutputDirError:
    """Rename ``--out`` in a folder-check message to the fit report's flag ``--report``."""
    return OutputDirError(re.sub(r"--out\b", "--report", str(exc)))
