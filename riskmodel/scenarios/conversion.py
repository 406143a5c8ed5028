"""Parameters given at another period length, converted to the scenario's period.

Two sources, one rule: a generator ``Q`` per segment (and per draw) and ``P = expm(Q · L)`` for the
scenario's period length ``L``.

- **Point matrices of another period** (``parameters: {transitions: …, matrix_period: {length: 1,
  unit: year}}``): ``Q`` is the generator of each segment's matrix,
  `riskmodel.models.generator.generator_from_matrix` — the matrix logarithm when it is a valid
  generator, otherwise its quasi-optimisation (Kreinin & Sidelnikova 2001). How far
  ``expm(Q · matrix period)`` lies from the given matrix (max-abs and Frobenius) is reported in
  the run summary (``period.conversion``) and the report's assumptions, and warned about
  (`PeriodConversionWarning`) above `DISTANCE_WARNING` (0.001, a tenth of a percentage point on
  any one probability).
- **Intensity-model posteriors** (``parameters: {posterior: FILE}`` where FILE came from
  `IntensityModel.save` or ``riskmodel fit`` with ``model: intensity``): ``expm(Q · L)`` per
  posterior draw and segment, with ``L`` the period in the model's time unit.

A matrix whose period equals the scenario's is used as given (no logarithm, numbers unchanged).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from riskmodel.errors import InputError, PeriodConversionWarning
from riskmodel.models.draws import ParameterDraws
from riskmodel.models.generator import generator_from_matrix
from riskmodel.models.intensity_draws import GeneratorDraws, matrices_from_generators
from riskmodel.scenarios.period import Period
from riskmodel.scenarios.stresses import fail
from riskmodel.states import StateSpace

__all__ = ["DISTANCE_WARNING", "convert_intensity_draws", "convert_point_matrices"]

DISTANCE_WARNING = 1e-3
"""``max |expm(Q·period) − P|`` above which a regularised generator is warned about."""


def convert_point_matrices(
    transitions: np.ndarray,
    states: StateSpace,
    segments: tuple[str, ...],
    *,
    given: Period,
    period: Period,
    file: Path | None,
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Point matrices of period `given` as matrices of the scenario's `period`.

    Parameters
    ----------
    transitions : ndarray, shape (1, n_segments, n, n)
        Full row-stochastic matrices of period `given`.

    Returns
    -------
    transitions : ndarray, shape (1, n_segments, n, n)
        ``expm(Q_s · period)`` per segment (the input itself when the periods are equal).
    conversion : dict or None
        What was done, JSON-ready (None when nothing was): ``method``, ``from``, ``to`` and per
        segment ``regularised``, ``distance_max``, ``distance_frobenius``, ``negative_mass``.

    Raises
    ------
    ScenarioError
        Naming the segment, when its matrix has no real logarithm (singular, or a
        non-positive determinant: the period is too long for a continuous-time model).
    """
    if given.same_length(period):
        return transitions, None
    length = period.in_units(given.unit) / given.length  # scenario period in matrix periods
    out = np.empty_like(transitions)
    per_segment: dict[str, dict[str, Any]] = {}
    for k, seg in enumerate(segments):
        try:
            fit = generator_from_matrix(transitions[0, k], period=1.0)
        except InputError as exc:
            raise fail(
                file,
                f"parameters -> transitions -> {seg}",
                f"{exc} It cannot be converted from periods of {given.describe()} to "
                f"{period.describe()}; give matrices of the scenario's period (or remove "
                "`parameters -> matrix_period` and set `period` to the matrices' period).",
            ) from None
        out[0, k] = matrices_from_generators(fit.generator, length, states)
        per_segment[seg] = {
            "regularised": fit.regularised,
            "distance_max": fit.distance_max,
            "distance_frobenius": fit.distance_frobenius,
            "negative_mass": fit.negative_mass,
        }
    conversion = {
        "method": "generator of each matrix (matrix logarithm; regularised by "
        "quasi-optimisation, Kreinin & Sidelnikova 2001, when it is not a valid generator)",
        "from": _period_dict(given),
        "to": _period_dict(period),
        "distance_max": max(v["distance_max"] for v in per_segment.values()),
        "segments": per_segment,
    }
    _warn_far(per_segment, given, file)
    return out, conversion


def _warn_far(per_segment: dict[str, Any], given: Period, file: Path | None) -> None:
    far = {
        s: v["distance_max"] for s, v in per_segment.items() if v["distance_max"] > DISTANCE_WARNING
    }
    if not far:
        return
    where = f"{file}: " if file is not None else ""
    worst = max(far, key=lambda s: far[s])
    warnings.warn(
        f"{where}parameters -> transitions: the matrices of segment(s) {sorted(far)} have no "
        f"valid generator; the regularised generator reproduces the {given.describe()} matrix "
        f"only to within {far[worst]:.3g} (largest absolute difference of a probability, "
        f"segment {worst!r}; warned above {DISTANCE_WARNING:g}). The converted matrices carry "
        "that error; check the published matrix (withdrawn ratings, rounding) or give matrices "
        "of the scenario's period.",
        PeriodConversionWarning,
        # _warn_far, convert_point_matrices, parameters_of, derive, _build, load_scenario: the
        # caller
        stacklevel=7,
    )


def convert_intensity_draws(
    draws: GeneratorDraws,
    *,
    period: Period,
    time_unit: str | None,
    file: Path | None,
    where: str,
) -> tuple[ParameterDraws, dict[str, Any]]:
    """Return the engine's parameters from generator draws: ``expm(Q · L)`` per draw and segment.

    Parameters
    ----------
    draws : GeneratorDraws
    period : Period
        The scenario's period.
    time_unit : str or None
        The scenario's ``parameters -> time_unit`` (needed when the file records none; must agree
        with it otherwise).
    where : str
        The field path for messages.

    Raises
    ------
    ScenarioError
        If the time unit is unknown or contradicts the file's.
    """
    unit = draws.time_unit
    if unit is not None and time_unit is not None and unit != time_unit:
        raise fail(
            file,
            "parameters -> time_unit",
            f"the posterior records its intensities per {unit}, but the scenario says "
            f"{time_unit}; remove `time_unit` (the file's unit is used) or refit.",
        )
    unit = unit or time_unit
    if unit is None:
        raise fail(
            file,
            where,
            f"the posterior is a continuous-time model ({draws.source}) whose time unit the file "
            "does not record, so it cannot be converted to the scenario's period of "
            f"{period.describe()}. Add `parameters: {{time_unit: year}}` (the unit of the panel's "
            "time column: day, month, quarter or year), or refit with time_unit= recorded.",
        )
    length = period.in_units(unit)
    conversion = {
        "method": "expm(Q · L) per posterior draw and segment",
        "source": draws.source,
        "time_unit": unit,
        "length_in_time_unit": length,
        "to": _period_dict(period),
        "draws": draws.n_draws,
    }
    return draws.parameter_draws(length), conversion


def _period_dict(p: Period) -> dict[str, Any]:
    d = p.to_dict()
    return {"length": d["length"], "unit": d["unit"]}
