"""Loading scenario files: YAML → validated config → a frozen `Scenario` the engine consumes."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydantic

from riskmodel._validate import check_count, check_flag, check_seed, describe
from riskmodel.data.files import resolve_input_path
from riskmodel.data.portfolio import Portfolio, PortfolioError
from riskmodel.errors import ArgumentError, UnsafeFileError
from riskmodel.scenarios.conversion import convert_point_matrices
from riskmodel.scenarios.errors import ScenarioError, format_validation_error
from riskmodel.scenarios.parameters import point_transitions, posterior_transitions, sha256
from riskmodel.scenarios.period import Period
from riskmodel.scenarios.safe_yaml import read_yaml
from riskmodel.scenarios.schema import ScenarioConfig
from riskmodel.scenarios.stresses import (
    apply_shocks,
    compact,
    ead_scale,
    fail,
    per_period,
)
from riskmodel.states import StateSpace

__all__ = ["Scenario", "load_scenario", "per_period", "read_yaml", "scenario_from_dict"]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready for the engine.

    Build it with `load_scenario` (from YAML) or `scenario_from_dict`. Arrays are read-only.

    Attributes
    ----------
    config : ScenarioConfig
        The validated configuration (frozen pydantic model).
    states : StateSpace
    portfolio : Portfolio
    segments : tuple of str
        Segments in the order of the `segment` axis of `transitions`.
    transitions : ndarray, shape (n_draws, n_segments, n_states, n_states)
        Full row-stochastic matrices per parameter draw (one draw for point parameters).
    correlation : ndarray, shape (n_draws,)
        Asset correlation per parameter draw.
    shift : ndarray, shape (horizon,)
        Mean of the systematic factor per period.
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
    allow_outside_files : bool
        Whether files outside the scenario's folder and the working folder may be read (kept so
        that `with_options` reads the same files under the same rule).
    max_posterior_bytes : int or None
        The in-memory size limit of a posterior file (None: `MAX_POSTERIOR_BYTES`).
    period : Period
        The calendar length of one period (``period:``; one month by default).
    base_dir : Path or None
        The absolute folder relative paths in the config were read from (the scenario file's
        folder, or `scenario_from_dict`'s ``base_dir``), so `with_options` reads the same files
        wherever the current folder is now.
    conversion : dict or None
        How the parameters were converted to the scenario's period (``matrix_period`` or an
        intensity posterior; `riskmodel.scenarios.conversion`), None when used as given.
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
    allow_outside_files: bool = field(default=False, repr=False)
    max_posterior_bytes: int | None = field(default=None, repr=False)
    period: Period = field(default_factory=Period)
    conversion: Mapping[str, Any] | None = field(default=None, repr=False)
    base_dir: Path | None = field(default=None, repr=False)

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
        return self.transitions.shape[0]

    @property
    def cohort_ead(self) -> np.ndarray:
        """Exposure per customer of each cohort today, after ``limit_cut`` actions (C,)."""
        ead = self.portfolio.per_customer()["ead"].to_numpy(dtype=float)
        return ead * self.ead_scale

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
        ``simulation={"batch": 1000}``. The result is validated again.

        Raises
        ------
        ArgumentError
            For a ``paths``, ``horizon`` or ``seed`` that is not a whole number in range
            (``paths=1.5``, ``paths="100"``, ``paths=True``, ``seed=-1``): checked first, so
            nothing is silently converted.
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
        base = self.base_dir or (self.source.parent if self.source is not None else None)
        return _build(data, file=self.source, base_dir=base, **self._file_rules())

    def _file_rules(self) -> dict[str, Any]:
        return {
            "allow_outside_files": self.allow_outside_files,
            "max_posterior_bytes": self.max_posterior_bytes,
        }


def load_scenario(
    path: str | Path,
    *,
    allow_outside_files: bool = False,
    max_posterior_bytes: int | None = None,
) -> Scenario:
    """Load and validate a scenario YAML file.

    Paths inside the file (``portfolio.file``, ``parameters.posterior``) are resolved relative to
    the YAML file, symlinks followed, and must lead into the YAML file's folder (or below) or
    into the current working folder (or below); a scenario from someone else cannot make
    riskmodel read ``../../etc/shadow``. Only regular files are read: a folder, FIFO or device
    is refused as such. File contents are quoted in messages only as short sanitised excerpts.
    The YAML is read by `read_yaml` (no Python tags, no duplicate keys, bounded aliases).

    Parameters
    ----------
    path : str or Path
    allow_outside_files : bool, default False
        Also read files outside those folders (for scenarios you trust; the command line's
        ``--allow-outside-files``).
    max_posterior_bytes : int, optional
        Refuse a posterior whose arrays would take more memory than this (default
        `riskmodel.models.draws.MAX_POSTERIOR_BYTES`, 1 GiB), estimated from the file's
        header before anything is loaded.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        For any problem with the file or the files it points to; the message names the file,
        the field path, what was wrong and how to fix it.
    UnsafeFileError
        (a ScenarioError) If a file it names is outside the allowed folders or not a regular
        file.
    ResourceLimitError
        If the YAML is too large or its aliases expand too far, or the posterior is too large.

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> sc.horizon  # doctest: +SKIP
    24
    """
    if isinstance(path, Scenario):
        raise ArgumentError(
            f"`path` is already a loaded Scenario ({path.name!r}); use it as it is, e.g. "
            "rm.simulate(scenario)."
        )
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise ArgumentError(
            f"`path` must be the name of a scenario YAML file (str or Path); got {describe(path)}."
        )
    check_flag("allow_outside_files", allow_outside_files)
    path = Path(path)
    data = read_yaml(path)
    return _build(
        data,
        file=path,
        base_dir=path.parent,
        allow_outside_files=allow_outside_files,
        max_posterior_bytes=max_posterior_bytes,
    )


def scenario_from_dict(
    data: Mapping,
    *,
    base_dir: str | Path | None = None,
    allow_outside_files: bool = True,
    max_posterior_bytes: int | None = None,
) -> Scenario:
    """Validate a scenario given as a mapping (same keys as the YAML file).

    Relative file paths are resolved against `base_dir` (default: the current directory). A
    mapping built in code is trusted like the code: its paths may lead anywhere by default. For
    a mapping that came from elsewhere (a request, someone's JSON) pass
    ``allow_outside_files=False`` to apply the folder rule of `load_scenario` (paths must lead
    into `base_dir` or the working folder). Only regular files are read either way, and
    `max_posterior_bytes` is as for `load_scenario`.
    """
    if not isinstance(data, Mapping):
        raise fail(None, "", f"a scenario must be a mapping of keys; got a {type(data).__name__}.")
    return _build(
        dict(data),
        file=None,
        base_dir=Path(base_dir) if base_dir else Path.cwd(),
        allow_outside_files=allow_outside_files,
        max_posterior_bytes=max_posterior_bytes,
    )


# ---------------------------------------------------------------------------------- internals
def _build(
    data: dict,
    *,
    file: Path | None,
    base_dir: Path | None,
    allow_outside_files: bool = False,
    max_posterior_bytes: int | None = None,
) -> Scenario:
    rules = {"allow_outside": allow_outside_files, "max_bytes": max_posterior_bytes}
    try:
        cfg = ScenarioConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ScenarioError(file, format_validation_error(exc, ScenarioConfig)) from None
    base_dir = base_dir or Path.cwd()
    states = StateSpace(
        cfg.states.names,
        absorbing=cfg.states.absorbing,
        default=cfg.states.default,
        churn=cfg.states.churn,
    )
    inputs: dict[str, str] = {}
    if file is not None:
        inputs[str(file)] = sha256(file)

    portfolio = _portfolio(cfg, states, file, base_dir, inputs, rules)
    segments = portfolio.segments
    period = cfg.period.to_period()
    conversion = None
    if cfg.parameters.transitions is not None:
        transitions = point_transitions(cfg, states, segments, file)
        if cfg.parameters.matrix_period is not None:
            transitions, conversion = convert_point_matrices(
                transitions,
                states,
                segments,
                given=cfg.parameters.matrix_period.to_period(),
                period=period,
                file=file,
            )
        draws_corr = None
    else:
        transitions, draws_corr, conversion = posterior_transitions(
            cfg, states, segments, file, base_dir, inputs, rules
        )

    if cfg.systematic.correlation is not None:
        correlation = np.full(transitions.shape[0], cfg.systematic.correlation)
    elif draws_corr is not None:
        correlation = draws_corr
    else:
        raise fail(
            file,
            "systematic -> correlation",
            "no asset correlation given and the posterior has none; set e.g. "
            "`systematic: {correlation: 0.12}`.",
        )
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
    period.warn_if_interpolated(stacklevel=3)
    amortisation = per_period(cfg.exposure.amortisation, cfg.horizon)
    ead_factor = np.cumprod(1.0 - amortisation)
    transitions, shocks_applied = apply_shocks(cfg, states, segments, transitions, file)
    exposure_scale = ead_scale(cfg, states, portfolio, file)
    stresses = {
        "systematic_shift": compact(shift),
        "shocks": shocks_applied,
        "lgd": {
            "mean": float(cfg.lgd.mean),
            "addon": float(cfg.lgd.addon),
            "effective_mean": float(cfg.lgd.mean + cfg.lgd.addon),
            "sd": float(cfg.lgd.sd),
            "downturn_sensitivity": (
                None if cfg.lgd.downturn is None else float(cfg.lgd.downturn.sensitivity)
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
    for arr in (transitions, correlation, shift, discount, ead_factor, exposure_scale):
        arr.setflags(write=False)
    return Scenario(
        config=cfg,
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
        source=file,
        inputs=inputs,
        allow_outside_files=allow_outside_files,
        max_posterior_bytes=max_posterior_bytes,
        period=period,
        conversion=conversion,
        base_dir=Path(base_dir).resolve(),
    )


def _portfolio(cfg, states: StateSpace, file, base_dir: Path, inputs, rules) -> Portfolio:
    if cfg.portfolio.cohorts is not None:
        records = [c.model_dump() for c in cfg.portfolio.cohorts]
        try:
            portfolio = Portfolio.from_records(records, source="portfolio -> cohorts")
            portfolio.check_states(states, source="portfolio -> cohorts")
        except PortfolioError as exc:
            field = "portfolio -> cohorts"
            if exc.row is not None:
                field += f"[{exc.row}]"
            if exc.column is not None:
                field += f" -> {exc.column}"
            raise fail(file, field, exc.problem) from None
        return portfolio
    where = "portfolio -> file"
    pfile = resolve_input_path(
        cfg.portfolio.file,
        base_dir=base_dir,
        file=file,
        field=where,
        allow_outside=rules["allow_outside"],
        what="portfolio CSV",
    )
    try:
        portfolio = Portfolio.from_csv(pfile)
        portfolio.check_states(states, source=str(pfile))
    except UnsafeFileError as exc:  # swapped for a FIFO or device since the check
        raise UnsafeFileError(file, [(where, str(exc))]) from None
    except PortfolioError as exc:
        raise fail(file, where, str(exc)) from None
    inputs[str(pfile)] = sha256(pfile)
    return portfolio
