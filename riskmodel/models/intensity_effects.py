"""Covariate effects of a saved intensity model, evaluated at given covariate values.

A scenario runs an intensity model fitted with covariates (`riskmodel.models.intensity_covariates`)
at covariate values it names: per draw ``d`` and segment ``s``,

    log q_{d,s,k}(x_s) = log q_{d,s,k} + Σ_j β_{d,j} (x_{s,c(j)} − x̄_{c(j)}) [k ∈ K_j]

with the baseline ``log q`` (at the fitted panel's covariate means ``x̄``) and the coefficients
``β`` per unit of each covariate, as `IntensityModel.generator(covariates=...)` computes it. NUTS
files give one ``β`` per draw, MLE files the estimate. Values are given for all segments at once
(``{age: 50}``), per segment (``{retail: {age: 50}}``), or both: a segment's own values override
the shared ones. Numpy only (no PyMC, no ArviZ).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskmodel.errors import ArgumentError
from riskmodel.models.intensity_covariates import CovariateDesign
from riskmodel.models.intensity_likelihood import generator_matrix

__all__ = ["CovariateEffects", "values_by_segment"]

CovariateValues = Mapping[str, "float | Mapping[str, float]"]


@dataclass(frozen=True)
class CovariateEffects:
    """What turns covariate values into generators, per draw.

    Parameters
    ----------
    design : CovariateDesign
        Which coefficient acts on which transition; the covariates' centre and scale.
    log_intensity : ndarray, shape (n_draws, n_segments, k)
        Baseline log intensities (at the covariate means) of the `allowed` transitions.
    beta : ndarray, shape (n_draws, m)
        Coefficients per unit of their covariate.
    allowed : ndarray, shape (k, 2)
        ``(from, to)`` state indices of the allowed transitions.
    n_states : int
    """

    design: CovariateDesign
    log_intensity: np.ndarray
    beta: np.ndarray
    allowed: np.ndarray
    n_states: int

    @property
    def names(self) -> tuple[str, ...]:
        """The covariates a caller must give values for."""
        return self.design.names

    def generators(self, values: list[dict[str, float]]) -> np.ndarray:
        """Return generators ``(n_draws, n_segments, n, n)`` at one dict of values per segment."""
        d = self.design
        beta_std = self.beta * d.scale[d.coef_cov]  # (n_draws, m)
        lq = np.array(self.log_intensity, dtype=float, copy=True)
        for s, vals in enumerate(values):
            lq[:, s] += d.shift(d.values(vals), beta_std)[:, 0]
        return generator_matrix(lq, self.allowed, self.n_states)


def values_by_segment(
    given: CovariateValues | None, names: tuple[str, ...], segments: tuple[str, ...]
) -> list[dict[str, float]]:
    """Resolve shared and per-segment covariate values into one dict per segment.

    Parameters
    ----------
    given : mapping or None
        ``{covariate: value}`` for every segment, and/or ``{segment: {covariate: value}}``.
    names : tuple of str
        The model's covariates.
    segments : tuple of str
        The model's segments (all need every covariate).

    Raises
    ------
    ArgumentError
        If values are missing (naming the covariates and segments), a name is neither a
        covariate nor a segment, or a value is not a finite number.
    """
    example = ", ".join(f"{n}: <value>" for n in names)
    if not given:
        raise ArgumentError(
            f"the intensity model has covariates {list(names)} (log-linear effects on its "
            f"intensities), so their values must be given: e.g. `covariates: {{{example}}}` for "
            f"every segment, or per segment `covariates: {{{segments[0]}: {{{example}}}}}`."
        )
    shared: dict[str, Any] = {}
    per: dict[str, Mapping[str, Any]] = {}
    for key, value in given.items():
        if isinstance(value, Mapping):
            per[str(key)] = value
        else:
            shared[str(key)] = value
    bad = [k for k in shared if k not in names] + [s for s in per if s not in segments]
    bad += [f"{s}: {k}" for s, v in per.items() for k in v if k not in names]
    if bad:
        raise ArgumentError(
            f"covariates names {bad}, which are not covariates of the model {list(names)} (a "
            f"number) nor its segments {list(segments)} (a mapping of covariate values); fix "
            "the name or remove it."
        )
    out: list[dict[str, float]] = []
    missing: dict[str, list[str]] = {}
    for seg in segments:
        vals = {**shared, **per.get(seg, {})}
        lost = [n for n in names if n not in vals]
        if lost:
            missing[seg] = lost
        try:
            out.append({k: float(v) for k, v in vals.items()})
        except (TypeError, ValueError):
            raise ArgumentError(
                f"covariate values must be numbers; got {dict(vals)} for segment {seg!r}."
            ) from None
        if not all(np.isfinite(v) for v in out[-1].values()):
            raise ArgumentError(f"covariate values must be finite; got {out[-1]} for {seg!r}.")
    if missing:
        raise ArgumentError(
            f"the intensity model has covariates {list(names)}; values are missing for "
            f"{missing} (segment: covariates). Give them for every segment (`covariates: "
            f"{{{example}}}`) or per segment."
        )
    return out


def describe(values: list[dict[str, float]], segments: tuple[str, ...]) -> str:
    """Return the values as text for the run's record: one set, or one per segment."""
    first = values[0]
    if all(v == first for v in values):
        return ", ".join(f"{k}={v:g}" for k, v in first.items())
    return "; ".join(
        f"{s}: " + ", ".join(f"{k}={v:g}" for k, v in vals.items())
        for s, vals in zip(segments, values, strict=True)
    )
