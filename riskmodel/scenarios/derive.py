"""The pure half of making a scenario: a validated config and its inputs → the engine's arrays.

`derive_arrays` reads no file: it takes the `ScenarioConfig`, the portfolio (as read from
``portfolio: file``, or None for inline cohorts) and the posterior's draws (as read from
``parameters: posterior``, or None for point transitions), and computes, in this order: the
state space; the portfolio, checked against it; the transition matrices per draw (converted to
the scenario's period, following the macro paths); the correlation; the factor shift, discount
rates and exposure factors per period; the shocks and actions; and the ``stresses`` summary.
Every array comes back read-only. `riskmodel.scenarios.scenario.derive` wraps the result in a
`Scenario`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskmodel.config.scenario import ScenarioConfig
from riskmodel.data.portfolio import Portfolio, PortfolioError
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.conversion import convert_point_matrices
from riskmodel.scenarios.parameters import (
    PosteriorDraws,
    point_transitions,
    posterior_transitions,
)
from riskmodel.scenarios.period import Period
from riskmodel.scenarios.stresses import apply_shocks, compact, ead_scale, fail, per_period
from riskmodel.states import StateSpace

__all__ = ["Derived", "PosteriorDraws", "check_portfolio", "derive_arrays"]


@dataclass(frozen=True)
class Derived:
    """The arrays and objects `derive_arrays` computes (the fields of `Scenario` it fills)."""

    states: StateSpace
    portfolio: Portfolio
    segments: tuple[str, ...]
    transitions: np.ndarray
    correlation: np.ndarray
    shift: np.ndarray
    discount_rate: np.ndarray
    ead_factor: np.ndarray
    ead_scale: np.ndarray
    stresses: Mapping[str, Any]
    period: Period
    conversion: Mapping[str, Any] | None


def check_portfolio(
    cfg: ScenarioConfig,
    states: StateSpace,
    portfolio: Portfolio | None,
    *,
    file: Path | None,
    portfolio_file: Path | None = None,
) -> Portfolio:
    """Return the scenario's portfolio, checked against its states.

    Inline ``cohorts`` are built into a `Portfolio` here (then `portfolio` must be None); a
    ``portfolio: file`` needs the `portfolio` read from it (`portfolio_file`: its path, named
    in messages).
    """
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


def _parameters(
    cfg: ScenarioConfig,
    states: StateSpace,
    segments: tuple[str, ...],
    draws: PosteriorDraws | None,
    file: Path | None,
) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
    """Transition matrices per draw, the posterior's correlation draws and the conversion."""
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


def _correlation(
    cfg: ScenarioConfig, n_draws: int, from_draws: np.ndarray | None, file: Path | None
) -> np.ndarray:
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


def _stresses(
    cfg: ScenarioConfig,
    shift: np.ndarray,
    shocks: list[dict[str, Any]],
    amortisation: np.ndarray,
    ead_factor: np.ndarray,
    discount: np.ndarray,
) -> dict[str, Any]:
    """Return what the scenario applies beyond the base parameters, JSON-ready (``stresses``)."""
    lgd = cfg.lgd
    stresses: dict[str, Any] = {
        "systematic_shift": compact(shift),
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
        "exposure": {"amortisation": compact(amortisation), "ead_factor": compact(ead_factor)},
        "discount_rate": compact(discount),
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


def derive_arrays(
    cfg: ScenarioConfig,
    portfolio: Portfolio | None,
    draws: PosteriorDraws | None,
    *,
    file: Path | None = None,
    portfolio_file: Path | None = None,
) -> Derived:
    """Compute every array of a scenario from its config and inputs (module docstring)."""
    states = cfg.states.state_space()
    portfolio = check_portfolio(cfg, states, portfolio, file=file, portfolio_file=portfolio_file)
    segments = portfolio.segments
    period = Period.of(cfg.period)
    transitions, draws_corr, conversion = _parameters(cfg, states, segments, draws, file)
    correlation = _correlation(cfg, transitions.shape[0], draws_corr, file)
    if cfg.macro is not None and cfg.parameters.transitions is not None:
        raise fail(
            file,
            "macro",
            "macro paths drive a posterior with macro covariates; with point `transitions` they "
            "have nothing to act on. Use `parameters: {posterior: FILE}` from a model fitted "
            "with `covariates:`, or express the stress through `systematic.shift` and `shocks:`.",
        )
    shift = per_period(cfg.systematic.shift, cfg.horizon)
    if cfg.annual_discount_rate is not None:
        discount = period.rate_per_period(per_period(cfg.annual_discount_rate, cfg.horizon))
    else:
        discount = per_period(cfg.discount_rate, cfg.horizon)
    period.warn_if_interpolated(stacklevel=5)  # derive_arrays, derive, _build, load_scenario
    amortisation = per_period(cfg.exposure.amortisation, cfg.horizon)
    ead_factor = np.cumprod(1.0 - amortisation)
    transitions, shocks_applied = apply_shocks(cfg, states, segments, transitions, file)
    exposure_scale = ead_scale(cfg, states, portfolio, file)
    stresses = _stresses(cfg, shift, shocks_applied, amortisation, ead_factor, discount)
    for arr in (transitions, correlation, shift, discount, ead_factor, exposure_scale):
        arr.setflags(write=False)
    return Derived(
        states=states,
        portfolio=portfolio,
        segments=segments,
        transitions=transitions,
        correlation=correlation,
        shift=shift,
        discount_rate=discount,
        ead_factor=ead_factor,
        ead_scale=exposure_scale,
        stresses=stresses,
        period=period,
        conversion=conversion,
    )
