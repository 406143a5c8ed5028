"""`Scenario`, the frozen object the engine consumes, and `derive`, the pure step that builds it.

A scenario is made in two steps:

1. **read** (`riskmodel.scenarios.load`): the YAML file, the portfolio CSV and the posterior file
   are read and validated — all the file I/O there is;
2. **derive** (`derive`, here): from the validated `ScenarioConfig`, the portfolio and the
   posterior's draws, compute every array the engine needs (transition matrices per draw with
   the shocks applied, correlation, factor shift, discount rates, exposure factors) and return
   a frozen `Scenario`. Pure: no files, no current folder; the same inputs give equal arrays.

`Scenario.with_options` and `Scenario.without_action` make a new config and derive again from
the inputs the scenario holds (`Scenario.derive_again`, which the sensitivity factors use too),
so they never read a file (and never depend on the current folder).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from riskmodel._validate import check_count, check_seed
from riskmodel.config.errors import ScenarioError, format_validation_error
from riskmodel.config.scenario import ScenarioConfig
from riskmodel.data.names import Names
from riskmodel.data.portfolio import Portfolio
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.derive import (
    PeriodPaths,
    PosteriorDraws,
    check_portfolio,
    correlation_of,
    parameters_of,
    per_period_paths,
    stresses_of,
)
from riskmodel.scenarios.factors import SectorFactors, sector_factors
from riskmodel.scenarios.names import cohort_labels, named_portfolio
from riskmodel.scenarios.period import Period
from riskmodel.scenarios.stresses import apply_shocks, ead_scale
from riskmodel.states import StateSpace

__all__ = ["PosteriorDraws", "Scenario", "derive"]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready for the engine.

    Build it with `load_scenario` (from YAML), `scenario_from_dict` or `derive`. Every array is
    read-only and computed by `derive` from the config and the inputs; change a scenario with
    `with_options` (a new config, derived again), not by replacing arrays.

    Attributes
    ----------
    config : ScenarioConfig
        The validated configuration (frozen pydantic model).
    states : StateSpace
    portfolio : Portfolio
        The cohorts, followed by one single-customer cohort per named exposure (if any).
    segments : tuple of str
        Segments in the order of the `segment` axis of `transitions`.
    transitions : ndarray, shape (n_draws, n_segments, n_states, n_states)
        Full row-stochastic matrices per parameter draw (one draw for point parameters); with
        time-varying shocks or macro paths (n_draws, horizon, n_segments, n_states, n_states).
    correlation : ndarray, shape (n_draws,) or (n_draws, n_segments)
        Asset correlation per parameter draw; with sector factors per draw and segment.
    shift : ndarray, shape (horizon,) or (horizon, n_factors)
        Mean of the systematic factor per period (per factor with sector factors).
    discount_rate : ndarray, shape (horizon,)
        Rate per period (``annual_discount_rate`` converted by the period length).
    ead_factor : ndarray, shape (horizon,)
        Exposure of period ``t`` as a fraction of today's: ``Π_{u≤t} (1 − a_u)`` with the
        amortisation rates ``a_u`` of ``exposure.amortisation`` (ones without amortisation).
    ead_scale : ndarray, shape (n_cohorts,)
        Factor on each cohort's exposure (rows of ``portfolio.per_customer()``) from
        ``limit_cut`` actions (ones without); see `cohort_ead`.
    stresses : dict
        What the scenario applies beyond the base parameters (shift, shocks, LGD, exposure,
        discount rate, actions), JSON-ready; shown under ``stresses`` in the summary.
    source : Path or None
        The YAML file, if loaded from one.
    inputs : dict
        Input files (scenario, portfolio, posterior) → SHA-256, for provenance.
    period : Period
        The calendar length of one period (``period:``; one month by default).
    conversion : dict or None
        How the parameters were converted to the scenario's period (``matrix_period`` or an
        intensity posterior; `riskmodel.scenarios.conversion`), None when used as given.
    base_dir : Path or None
        The absolute folder relative paths in the config were read from (the scenario file's
        folder, or `scenario_from_dict`'s ``base_dir``); provenance only, nothing reads it.
    posterior : ParameterDraws or GeneratorDraws or None
        The draws read from ``parameters: posterior`` as the file holds them (None for point
        parameters); `with_options` derives from them again.
    portfolio_file : Path or None
        The resolved ``portfolio: file`` the portfolio was read from (None for inline cohorts).
    factors : SectorFactors or None
        The sector factors of ``systematic: factors`` (`riskmodel.scenarios.factors`); None
        for the one-factor form.
    names : Names or None
        The named exposures of ``portfolio: names`` (`riskmodel.data.names`), the last rows of
        `portfolio`; None without names.
    cohorts : Portfolio or None
        The cohorts without the names (None for a book of names only); `with_options` derives
        from them again.
    """

    config: ScenarioConfig
    states: StateSpace
    portfolio: Portfolio
    segments: tuple[str, ...]
    transitions: np.ndarray
    correlation: np.ndarray
    shift: np.ndarray
    discount_rate: np.ndarray
    ead_factor: np.ndarray
    ead_scale: np.ndarray
    stresses: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    period: Period = field(default_factory=Period)
    conversion: Mapping[str, Any] | None = field(default=None, repr=False)
    base_dir: Path | None = field(default=None, repr=False)
    posterior: PosteriorDraws | None = field(default=None, repr=False)
    portfolio_file: Path | None = field(default=None, repr=False)
    factors: SectorFactors | None = field(default=None, repr=False)
    names: Names | None = field(default=None, repr=False)
    cohorts: Portfolio | None = field(default=None, repr=False)

    @property
    def cohort_labels(self) -> list[str]:
        """Labels of the results' ``cohort`` coordinate: ``segment/state``, or a name's id."""
        return cohort_labels(self.portfolio, self.names)

    @property
    def ecl_window(self) -> float:
        """Periods in the 12-month ECL window (12 for months, 4 for quarters).

        May be fractional; see `riskmodel.scenarios.period`.
        """
        return self.period.ecl_window

    @property
    def period_attrs(self) -> dict[str, Any]:
        """The period as result attributes (netCDF-ready).

        ``period_length``, ``period_unit``, ``ecl_12_month_periods`` and, when parameters were
        converted, ``period_conversion`` (JSON).
        """
        attrs: dict[str, Any] = {
            "period_length": float(self.period.length),
            "period_unit": self.period.unit,
            "ecl_12_month_periods": float(self.ecl_window),
        }
        if self.conversion is not None:
            attrs["period_conversion"] = json.dumps(self.conversion)
        return attrs

    @property
    def name(self) -> str:
        """Scenario name."""
        return self.config.name

    @property
    def horizon(self) -> int:
        """Number of periods."""
        return self.config.horizon

    @property
    def n_draws(self) -> int:
        """Number of parameter draws (1 for point parameters or parameter_uncertainty: false)."""
        return int(self.transitions.shape[0])

    @property
    def cohort_ead(self) -> np.ndarray:
        """Exposure per customer of each cohort today, after ``limit_cut`` actions (C,)."""
        ead = self.portfolio.per_customer()["ead"].to_numpy(dtype=float)
        return np.asarray(ead * self.ead_scale)

    @property
    def lgd_mean(self) -> float:
        """LGD mean after the add-on (``lgd.mean + lgd.addon``)."""
        return float(self.config.lgd.mean + self.config.lgd.addon)

    @property
    def lgd_sensitivity(self) -> float:
        """Downturn-LGD sensitivity ``b`` to the factor (0 = LGD independent of ``Z``)."""
        downturn = self.config.lgd.downturn
        return 0.0 if downturn is None else float(downturn.sensitivity)

    def without_action(self, name: str) -> Scenario:
        """Return the same scenario without the management action `name` (validated again)."""
        names = [a.name for a in self.config.actions]
        if name not in names:
            raise ValueError(f"no action named {name!r}; the scenario has {names}.")
        kept = [a.model_dump(exclude_none=True) for a in self.config.actions if a.name != name]
        return self.with_options(actions=kept)

    def with_options(self, **updates: Any) -> Scenario:
        """Return a copy with top-level config values replaced (e.g. ``paths=1000, seed=3``).

        Nested sections are given as dicts merged into the existing section, e.g.
        ``simulation={"batch": 1000}``. The result is validated again and derived again from
        this scenario's portfolio and posterior draws: no file is read, so the result does not
        depend on the current folder, and equals a fresh load of the updated file.

        Raises
        ------
        ArgumentError
            For a ``paths``, ``horizon`` or ``seed`` that is not a whole number in range
            (``paths=1.5``, ``paths="100"``, ``paths=True``, ``seed=-1``): checked first, so
            nothing is silently converted; or for an update that names another portfolio or
            posterior file (that needs reading: load the changed scenario instead).
        ScenarioError
            For anything else the schema refuses; the message names the field.
        """
        for name in ("paths", "horizon"):
            if updates.get(name) is not None:
                updates[name] = check_count(name, updates[name])  # NumPy ints become int
        if updates.get("seed") is not None:
            updates["seed"] = check_seed(updates["seed"])
        data = self.config.model_dump()
        for key, value in updates.items():
            if isinstance(value, Mapping) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return self.derive_again(data)

    def derive_again(
        self,
        data: Mapping[str, Any],
        *,
        portfolio: Portfolio | None = None,
        names: Names | None = None,
    ) -> Scenario:
        """Validate a whole config mapping and derive it from this scenario's inputs (no file read).

        `portfolio` and `names` stand in for those read from ``portfolio: file`` and a names
        file (a sensitivity factor scales their exposures); by default this scenario's. Raises
        as `with_options`.
        """
        config = validate_config(data, self.source)
        self._check_same_files(config)
        on_file = isinstance(config.portfolio.names, str)
        same_cohorts = config.portfolio.cohorts is not None and (
            config.portfolio.cohorts == self.config.portfolio.cohorts
            and config.states == self.config.states
        )
        return derive(
            config,
            (portfolio or self.cohorts) if config.portfolio.file is not None else None,
            self.posterior if config.parameters.posterior is not None else None,
            names=(names or self.names) if on_file else None,
            source=self.source,
            inputs=self.inputs,
            base_dir=self.base_dir,
            portfolio_file=self.portfolio_file,
            checked=self.cohorts if same_cohorts else None,
        )

    def _check_same_files(self, config: ScenarioConfig) -> None:
        """Refuse updates that would need a file this scenario has not read."""
        changed = [
            f"{section} -> {key} ({new!r}; this scenario read {old!r})"
            for section, key, new, old in (
                ("portfolio", "file", config.portfolio.file, self.config.portfolio.file),
                ("portfolio", "names", _file(config), _file(self.config)),
                (
                    "parameters",
                    "posterior",
                    config.parameters.posterior,
                    self.config.parameters.posterior,
                ),
            )
            if new is not None and new != old
        ]
        if changed:
            raise ArgumentError(
                f"with_options reads no files, but the update names another input file: "
                f"{'; '.join(changed)}. Load the changed scenario instead "
                "(rm.scenario_from_dict(data, base_dir=...) or rm.load_scenario(path))."
            )


def _file(config: ScenarioConfig) -> str | None:
    """Return the names file of a config (None for inline names or none)."""
    names = config.portfolio.names
    return names if isinstance(names, str) else None


def validate_config(data: Mapping[str, Any], file: Path | None) -> ScenarioConfig:
    """Validate a scenario mapping; `ScenarioError` naming `file` and each field at fault."""
    try:
        return ScenarioConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ScenarioError(file, format_validation_error(exc, ScenarioConfig)) from None


def derive(
    config: ScenarioConfig,
    portfolio: Portfolio | None = None,
    draws: PosteriorDraws | None = None,
    *,
    names: Names | None = None,
    source: Path | None = None,
    inputs: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    portfolio_file: Path | None = None,
    checked: Portfolio | None = None,
) -> Scenario:
    """Compute the scenario's arrays from a validated config and its inputs (pure: no file I/O).

    Parameters
    ----------
    config : ScenarioConfig
    portfolio : Portfolio, optional
        The portfolio of ``portfolio: {file: ...}``, as read; None when the config holds inline
        ``cohorts`` (the portfolio is built from them).
    draws : ParameterDraws or GeneratorDraws, optional
        The draws of ``parameters: {posterior: ...}``, as read; None for point ``transitions``.
    names : Names, optional
        The names of ``portfolio: {names: names.csv}``, as read; None for inline names or none.
    source, inputs, base_dir, portfolio_file
        Provenance, kept on the result as given (`Scenario`).
    checked : Portfolio, optional
        The inline ``cohorts``, already built and checked against the same states: reused, not
        built again (`Scenario.derive_again` passes its own when neither changed, so that each
        point of a sensitivity design does not rebuild the book).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        For what only the data show (a segment without a matrix, a shock that pushes a row out
        of [0, 1] ...), naming the field; the steps are `riskmodel.scenarios.derive`'s.
    ArgumentError
        If a file input the config names is not given (or one is given that it does not name).
    """
    file = source
    states = config.states.state_space()
    cohorts = checked
    if cohorts is None:
        cohorts = check_portfolio(
            config, states, portfolio, file=file, portfolio_file=portfolio_file
        )
    portfolio, names = named_portfolio(config, states, cohorts, names, draws, file)
    segments = portfolio.segments
    transitions, from_draws, conversion = parameters_of(config, states, segments, draws, file)
    factors = sector_factors(config.systematic, segments, file)
    correlation = correlation_of(config, transitions.shape[0], from_draws, file, factors)
    paths = per_period_paths(config, file)
    transitions, shocks = apply_shocks(config, states, segments, transitions, file)
    exposure_scale = ead_scale(config, states, portfolio, file)
    for arr in (transitions, correlation, exposure_scale, *_arrays(paths)):
        arr.setflags(write=False)
    return Scenario(
        config=config,
        states=states,
        portfolio=portfolio,
        segments=segments,
        transitions=transitions,
        correlation=correlation,
        shift=paths.shift,
        factors=factors,
        discount_rate=paths.discount_rate,
        ead_factor=paths.ead_factor,
        ead_scale=exposure_scale,
        stresses=stresses_of(config, paths, shocks),
        source=source,
        inputs=dict(inputs or {}),
        period=paths.period,
        conversion=conversion,
        base_dir=None if base_dir is None else Path(base_dir).resolve(),
        posterior=draws,
        portfolio_file=portfolio_file,
        names=names,
        cohorts=cohorts,
    )


def _arrays(paths: PeriodPaths) -> tuple[np.ndarray, ...]:
    return (paths.shift, paths.discount_rate, paths.amortisation, paths.ead_factor)
