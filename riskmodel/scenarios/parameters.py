"""The parameters of a scenario: point matrices per segment, or a posterior file's draws.

Both give full row-stochastic matrices ``(n_draws, n_segments, n, n)`` in the order of the
portfolio's segments, checked against the scenario's state space; a continuous-time posterior is
converted to the scenario's period here (`riskmodel.scenarios.conversion`). `read_posterior`
reads the file (the only I/O here); the rest is pure and runs when a scenario is derived.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np

from riskmodel.config.errors import short_repr
from riskmodel.config.scenario import ScenarioConfig
from riskmodel.data.files import excerpt, resolve_input_path
from riskmodel.errors import ArgumentError, ResourceLimitError
from riskmodel.models.draws import ParameterDraws, load_parameter_draws
from riskmodel.models.intensity_draws import GeneratorDraws, read_generator_draws
from riskmodel.scenarios.conversion import convert_intensity_draws
from riskmodel.scenarios.period import Period
from riskmodel.scenarios.stresses import fail, macro_transitions
from riskmodel.states import StateSpace

__all__ = [
    "ROW_SUM_TOL",
    "PosteriorDraws",
    "point_transitions",
    "posterior_transitions",
    "read_posterior",
    "sha256",
]

PosteriorDraws: TypeAlias = ParameterDraws | GeneratorDraws
"""What a posterior file holds: transition draws, or a continuous-time model's generators."""

ROW_SUM_TOL = 1e-6


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (for provenance), read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _portfolio_source(cfg: ScenarioConfig) -> str:
    if cfg.portfolio.file is not None:
        return f"the portfolio file {cfg.portfolio.file!r}"
    return "portfolio -> cohorts"


def _segment_names(cfg: ScenarioConfig, names: Sequence[str]) -> str:
    """Segment names for a message: a short sanitised excerpt when they come from a CSV."""
    if cfg.portfolio.file is None:
        return str(list(names))
    return (
        "["
        + ", ".join(excerpt(n, 20) for n in list(names)[:3])
        + (f", ... ({len(names)} in all)]" if len(names) > 3 else "]")
    )


def _check_segments(
    cfg: ScenarioConfig, given: Mapping[str, Any], segments: Sequence[str], file: Path | None
) -> None:
    """Every segment of the portfolio needs a matrix (with a did-you-mean for the first)."""
    missing = [s for s in segments if s not in given]
    if missing:
        known = ", ".join(sorted(given)) or "none"
        close = difflib.get_close_matches(missing[0], sorted(given), n=1, cutoff=0.5)
        first = _segment_names(cfg, missing[:1])[1:-1]
        hint = f" Did you mean {close[0]!r} for {first}?" if close else ""
        raise fail(
            file,
            "parameters -> transitions",
            f"no matrix for segment(s) {_segment_names(cfg, missing)} used in "
            f"{_portfolio_source(cfg)}; matrices are "
            f"given for {known}.{hint} Add a matrix per segment or rename the portfolio's "
            "segments.",
        )


def _point_row(
    row: Sequence[float], i: int, states: StateSpace, where: str, file: Path | None
) -> np.ndarray:
    """Row `i` (of transient state i) of a point matrix, checked, divided by its sum."""
    n = states.n
    if len(row) != n:
        raise fail(
            file, where, f"needs {n} entries, one per state {list(states.names)}; got {len(row)}."
        )
    r = np.asarray(row, dtype=float)
    if np.any(r < 0) or np.any(r > 1):
        j = int(np.flatnonzero((r < 0) | (r > 1))[0])
        raise fail(
            file,
            where,
            f"probabilities must be in [0, 1]; got {short_repr(row[j])} for "
            f"{states.transient[i]} -> {states.names[j]}. Write probabilities as "
            "fractions, e.g. 0.05 for 5%.",
        )
    total = float(r.sum())
    if abs(total - 1.0) > ROW_SUM_TOL:
        stay = states.index(states.transient[i])
        fix = r[stay] + 1.0 - total
        advice = (
            f"Adjust the stay probability ({states.transient[i]} -> "
            f"{states.transient[i]}) to {fix:.10g}."
            if 0.0 <= fix <= 1.0
            else "Rescale the row so that it sums to 1."
        )
        raise fail(
            file,
            where,
            f"row must sum to 1 (within {ROW_SUM_TOL:g}); it sums to {total:.10g}. " + advice,
        )
    return np.asarray(r / total)


def point_transitions(
    cfg: ScenarioConfig, states: StateSpace, segments: Sequence[str], file: Path | None
) -> np.ndarray:
    """Build the (1, S, n, n) matrices of ``parameters: transitions`` (one matrix per segment)."""
    given = cfg.parameters.transitions or {}
    _check_segments(cfg, given, segments, file)
    n_t, n = len(states.transient), states.n
    out = np.empty((1, len(segments), n, n))
    for k, seg in enumerate(segments):
        rows = given[seg]
        where = f"parameters -> transitions -> {seg}"
        if len(rows) != n_t:
            raise fail(
                file,
                where,
                f"needs {n_t} rows, one per transient state {list(states.transient)} in that "
                f"order; got {len(rows)} rows.",
            )
        arr = np.zeros((n_t, n))
        for i, row in enumerate(rows):
            arr[i] = _point_row(row, i, states, f"{where}[{i}] ({states.transient[i]})", file)
        out[0, k] = states.full_matrix(arr)
    return out


def read_posterior(
    name: str,
    *,
    file: Path | None,
    base_dir: Path,
    allow_outside: bool,
    max_bytes: int | None,
) -> tuple[PosteriorDraws, Path]:
    """Read the file `name` of ``parameters: posterior``: its draws as they are, and its path.

    `name` is resolved against `base_dir` by `riskmodel.data.files.resolve_input_path` (the
    folder rule, unless `allow_outside`); `max_bytes` bounds the memory of its arrays.

    Generator draws of a continuous-time model stay generators (they are converted to the
    scenario's period when the scenario is derived).
    """
    where = "parameters -> posterior"
    pfile = resolve_input_path(
        name,
        base_dir=base_dir,
        file=file,
        field=where,
        allow_outside=allow_outside,
        what="posterior file",
    )
    try:
        draws: PosteriorDraws | None = read_generator_draws(pfile, max_bytes=max_bytes)
        if draws is None:
            draws = load_parameter_draws(pfile, max_bytes=max_bytes)
    except ResourceLimitError as exc:
        raise ResourceLimitError(f"{file or '<scenario>'}: {where}: {exc}") from None
    except (ValueError, KeyError, TypeError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise fail(
            file,
            where,
            f"cannot read {str(pfile)!r} as a posterior ({first}); give a netCDF file written "
            "by TransitionModel.save, IntensityModel.save or riskmodel fit.",
        ) from None
    return draws, pfile


def _as_parameter_draws(
    cfg: ScenarioConfig, draws: PosteriorDraws, file: Path | None
) -> tuple[ParameterDraws, dict[str, Any] | None]:
    """Return the posterior's transition draws at the scenario's period, and the conversion."""
    where = "parameters -> posterior"
    given = cfg.parameters.covariates
    if isinstance(draws, GeneratorDraws):
        try:
            draws = draws.at_covariates(given)
        except ArgumentError as exc:
            name = cfg.parameters.posterior
            raise fail(file, "parameters -> covariates", f"posterior {name!r}: {exc}") from None
        return convert_intensity_draws(
            draws,
            period=Period.of(cfg.period),
            time_unit=cfg.parameters.time_unit,
            file=file,
            where=where,
        )
    if given is not None:
        raise fail(
            file,
            "parameters -> covariates",
            "the posterior is a discrete-time transition model, which takes no covariate "
            "values (its macro covariates follow `macro:` paths); remove `covariates`.",
        )
    if cfg.parameters.time_unit is not None:
        raise fail(
            file,
            "parameters -> time_unit",
            "the posterior is a discrete-time transition model (its matrices are per period), "
            "so it has no time unit to convert; remove `time_unit`.",
        )
    return draws, None


def _check_posterior(
    cfg: ScenarioConfig,
    states: StateSpace,
    segments: Sequence[str],
    draws: ParameterDraws,
    file: Path | None,
) -> None:
    where = "parameters -> posterior"
    if draws.states.names != states.names or draws.states.absorbing != states.absorbing:
        raise fail(
            file,
            where,
            f"the posterior was fitted on states {list(draws.states.names)} "
            f"(absorbing {list(draws.states.absorbing)}) but the scenario declares "
            f"{list(states.names)} (absorbing {list(states.absorbing)}); make them match.",
        )
    missing = [s for s in segments if s not in draws.segments]
    if missing:
        raise fail(
            file,
            where,
            f"the posterior has no segment(s) {_segment_names(cfg, missing)} used in "
            f"{_portfolio_source(cfg)}; it "
            f"has {list(draws.segments)}. Refit with those segments or rename them.",
        )


def posterior_transitions(
    cfg: ScenarioConfig,
    states: StateSpace,
    segments: Sequence[str],
    posterior: PosteriorDraws,
    file: Path | None,
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
    """Return the transitions, correlation draws and period conversion of a posterior's draws.

    Continuous-time posteriors are converted to the scenario's period; the transitions follow
    the scenario's macro paths when the posterior has covariates. Pure: `read_posterior` reads.
    """
    draws, conversion = _as_parameter_draws(cfg, posterior, file)
    _check_posterior(cfg, states, segments, draws, file)
    if not cfg.simulation.parameter_uncertainty:
        draws = draws.mean()
    idx = [draws.segments.index(s) for s in segments]
    if draws.covariates or cfg.macro is not None:
        if not draws.covariates:
            raise fail(
                file,
                "macro",
                "the posterior's transition model has no macro covariates, so `macro:` paths "
                "cannot move it; refit with `covariates:` or remove `macro:`.",
            )
        transitions = np.ascontiguousarray(macro_transitions(cfg, draws, file)[:, :, idx])
    elif idx == list(range(len(draws.segments))):  # all segments in order: no copy
        transitions = np.ascontiguousarray(draws.transitions)
    else:
        transitions = np.ascontiguousarray(draws.transitions[:, idx])
    corr = None if draws.correlation is None else np.asarray(draws.correlation, dtype=float)
    return transitions, corr, conversion
