"""The pure half of making a scenario: the pieces `riskmodel.scenarios.scenario.derive` computes.

Nothing here reads a file: each function takes the validated `ScenarioConfig` and what was read
(the portfolio of ``portfolio: file``, the draws of ``parameters: posterior``) and returns arrays.
`derive` calls them in this order: the portfolio checked against the states
(`check_portfolio`); the transition matrices per draw, converted to the scenario's period and
following the macro paths (`parameters_of`); the correlation (`correlation_of`); the factor
shift, discount rates and exposure factors per period (`per_period_paths`); then the shocks and
actions (`riskmodel.scenarios.stresses`) and the ``stresses`` summary (`stresses_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskmodel.config.scenario import ScenarioConfig
from riskmodel.data.portfolio import Portfolio, PortfolioError
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.conversion import convert_point_matrices
from riskmodel.scenarios.factors import SectorFactors, shift_paths, shift_summary
from riskmodel.scenarios.parameters import (
    PosteriorDraws,
    point_transitions,
    posterior_transitions,
)
from riskmodel.scenarios.period import Period
from riskmodel.scenarios.stresses import compact, fail, per_period
from riskmodel.states import StateSpace

__all__ = [
    "PeriodPaths",
    "PosteriorDraws",
    "check_portfolio",
    "correlation_of",
    "parameters_of",
    "per_period_paths",
    "stresses_of",
]


@dataclass(frozen=True)
class PeriodPaths:
    """The per-period arrays of a scenario, each of shape (horizon,), and its `Period`.

    With sector factors ``shift`` has shape (horizon, F), one column per factor.
    """

    period: Period
    shift: np.ndarray
    discount_rate: np.ndarray
    amortisation: np.ndarray
    ead_factor: np.ndarray


def check_portfolio(
    cfg: ScenarioConfig,
    states: StateSpace,
    portfolio: Portfolio | None,
    *,
    file: Path | None,
    portfolio_file: Path | None = None,
) -> Portfolio | None:
    """Return the scenario's cohorts, checked against its states (None for names only).

    Inline ``cohorts`` are built into a `Portfolio` here (then `portfolio` must be None); a
    ``portfolio: file`` needs the `portfolio` read from it (`portfolio_file`: its path, named
    in messages). A book of ``names`` only has no cohorts.
    """
    if cfg.portfolio.cohorts is None and cfg.portfolio.file is None and portfolio is None:
        return None
    if cfg.portfolio.cohorts is not None:
        if portfolio is not None:
            raise ArgumentError(
                "the config has inline `portfolio: cohorts`, so no separate portfolio is used; "
                "pass portfolio=None (or name the file with `portfolio: {file: ...}`)."
            )
        records = [c.model_dump() for c in cfg.portfolio.cohorts]
        field = "portfolio -> cohorts"
        try:
            built = Portfolio.from_records(records, source=field)
            built.check_states(states, source=field)
        except PortfolioError as exc:
            if exc.row is not None:
                field += f"[{exc.row}]"
            if exc.column is not None:
                field += f" -> {exc.column}"
            raise fail(file, field, exc.problem) from None
        return built
    if portfolio is None:
        raise ArgumentError(
            f"the config reads its portfolio from `portfolio: {{file: {cfg.portfolio.file!r}}}`; "
            "pass the portfolio read from it (Portfolio.from_csv), or use rm.load_scenario."
        )
    try:
        portfolio.check_states(states, source=str(portfolio_file or cfg.portfolio.file))
    except PortfolioError as exc:
        raise fail(file, "portfolio -> file", str(exc)) from None
    return portfolio


def parameters_of(
    cfg: ScenarioConfig,
    states: StateSpace,
    segments: tuple[str, ...],
    draws: PosteriorDraws | None,
    file: Path | None,
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
    """Return the transition matrices per draw, the posterior's correlation draws, conversion."""
    given = cfg.parameters
    if given.transitions is not None:
        if draws is not None:
            raise ArgumentError(
                "the config gives point `parameters: transitions`, so it uses no posterior "
                "draws; pass draws=None."
            )
        transitions = point_transitions(cfg, states, segments, file)
        conversion = None
        if given.matrix_period is not None:
            transitions, conversion = convert_point_matrices(
                transitions,
                states,
                segments,
                given=Period.of(given.matrix_period),
                period=Period.of(cfg.period),
                file=file,
            )
        return transitions, None, conversion
    if draws is None:
        raise ArgumentError(
            f"the config reads its parameters from `parameters: {{posterior: "
            f"{given.posterior!r}}}`; pass the draws read from it, or use rm.load_scenario."
        )
    return posterior_transitions(cfg, states, segments, draws, file)


def correlation_of(
    cfg: ScenarioConfig,
    n_draws: int,
    from_draws: np.ndarray | None,
    file: Path | None,
    factors: SectorFactors | None = None,
) -> np.ndarray:
    """Return the correlation per draw: the config's, else the posterior's draws of it.

    With sector `factors`: each segment's correlation from the config, shape (n_draws, S) (a
    posterior's correlation draws apply to the one-factor form only).
    """
    if factors is not None:
        return np.tile(factors.segment_correlation, (n_draws, 1))
    if cfg.systematic.correlation is not None:
        return np.full(n_draws, cfg.systematic.correlation)
    if from_draws is not None:
        return from_draws
    raise fail(
        file,
        "systematic -> correlation",
        "no asset correlation given and the posterior has none; set e.g. "
        "`systematic: {correlation: 0.12}`.",
    )


def per_period_paths(cfg: ScenarioConfig, file: Path | None) -> PeriodPaths:
    """Return the factor shift, discount rates, amortisation and exposure factors per period.

    Warns (`PeriodConversionWarning`) when 12 months are not a whole number of periods.
    """
    if cfg.macro is not None and cfg.parameters.transitions is not None:
        raise fail(
            file,
            "macro",
            "macro paths drive a posterior with macro covariates; with point `transitions` they "
            "have nothing to act on. Use `parameters: {posterior: FILE}` from a model fitted "
            "with `covariates:`, or express the stress through `systematic.shift` and `shocks:`.",
        )
    period = Period.of(cfg.period)
    if cfg.annual_discount_rate is not None:
        discount = period.rate_per_period(per_period(cfg.annual_discount_rate, cfg.horizon))
    else:
        discount = per_period(cfg.discount_rate, cfg.horizon)
    period.warn_if_interpolated(stacklevel=5)  # per_period_paths, derive, _build, load_scenario
    amortisation = per_period(cfg.exposure.amortisation, cfg.horizon)
    return PeriodPaths(
        period=period,
        shift=shift_paths(cfg.systematic, cfg.horizon),
        discount_rate=discount,
        amortisation=amortisation,
        ead_factor=np.cumprod(1.0 - amortisation),
    )


def stresses_of(
    cfg: ScenarioConfig, paths: PeriodPaths, shocks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return what the scenario applies beyond the base parameters, JSON-ready (``stresses``)."""
    lgd = cfg.lgd
    stresses: dict[str, Any] = {
        "systematic_shift": shift_summary(paths.shift, cfg.systematic.factors),
        "shocks": shocks,
        "lgd": {
            "mean": float(lgd.mean),
            "addon": float(lgd.addon),
            "effective_mean": float(lgd.mean + lgd.addon),
            "sd": float(lgd.sd),
            "downturn_sensitivity": (
                None if lgd.downturn is None else float(lgd.downturn.sensitivity)
            ),
        },
        "exposure": {
            "amortisation": compact(paths.amortisation),
            "ead_factor": compact(paths.ead_factor),
        },
        "discount_rate": compact(paths.discount_rate),
        "actions": [a.model_dump(exclude_none=True) for a in cfg.actions],
        "macro": (
            None
            if cfg.macro is None
            else {k: compact(per_period(v, cfg.horizon)) for k, v in cfg.macro.items()}
        ),
    }
    if cfg.annual_discount_rate is not None:
        stresses["annual_discount_rate"] = compact(
            per_period(cfg.annual_discount_rate, cfg.horizon)
        )
    return stresses
