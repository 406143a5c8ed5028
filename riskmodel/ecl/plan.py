"""What a loan-level ECL needs before it reads the tape: scenarios, weights, term structures.

`prepare` checks the scenarios (one, or a probability-weighted set with ``weight:`` in every
file, as ``riskmodel compare``), computes each scenario's exact term structures
(`riskmodel.ecl.term_structure`) once, and lays them out per *group* (segment × state, ``g =
segment · n_states + state``) with the cumulative sums that turn a loan's remaining life into its
PDs by a single look-up.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from riskmodel._validate import describe
from riskmodel.ecl.staging import StagingRule
from riskmodel.ecl.term_structure import TermStructure, term_structure
from riskmodel.errors import ArgumentError, ComparisonError
from riskmodel.metrics.compare import check_weights, scenario_label
from riskmodel.scenarios.load import Scenario, load_scenario

__all__ = ["EclPlan", "ScenarioTerms", "as_scenarios", "prepare"]


@dataclass(frozen=True)
class ScenarioTerms:
    """One scenario's term structures laid out per group (segment × state) of the plan.

    A loan's per-period factors are either its own (``amortisation``, ``rate``: geometric in
    ``t``) or the scenario's (``ead_factor_t``, ``df_t``). Its *kind* ``k`` says which are the
    scenario's (bit 0: the exposure factor, bit 1: the discount factor are the loan's own), and
    the scenario's factors of that kind are folded into the profile:
    ``profile[k, g, t] = S_k[t] · λ[g, t]`` with ``S_0 = ead_factor · df``, ``S_1 = df``,
    ``S_2 = ead_factor``, ``S_3 = 1``.

    Attributes
    ----------
    ts : TermStructure
        As computed (segments in the scenario's order).
    profile : ndarray, shape (4, G, H)
        As above, with ``λ`` the loss per unit of exposure and of LGD
        (`TermStructure.loss_profile`).
    profile_t : ndarray, shape (H, 4 · G)
        The same, periods first (contiguous columns for the per-period gathers).
    cum_life, cum_12m : ndarray, shape (4, G, H + 1)
        ``[k, g, m]``: the sum of the profile over the first ``m`` periods, and over the
        first ``m`` periods weighted by the 12-month window.
    cum_pd, cum_pd_12m : ndarray, shape (G, H + 1)
        ``[g, m]``: the probability of defaulting in the first ``m`` periods, and in the first
        ``m`` periods within the 12-month window.
    window : ndarray, shape (n_window,)
        Weights of the periods of the 12-month window (the last may be fractional).
    """

    ts: TermStructure
    profile: np.ndarray
    profile_t: np.ndarray
    cum_life: np.ndarray
    cum_12m: np.ndarray
    cum_pd: np.ndarray
    cum_pd_12m: np.ndarray
    window: np.ndarray


@dataclass(frozen=True)
class EclPlan:
    """Scenarios, weights, term structures and staging of a loan-level ECL.

    Attributes
    ----------
    scenarios : tuple of Scenario
    weights : ndarray, shape (n_scenarios,)
        Probability weights (1 for a single scenario).
    terms : tuple of ScenarioTerms
        One per scenario.
    segments : tuple of str
        Segments every scenario has (a loan's segment must be one of them).
    states : tuple of str
        The scenarios' states (the same in each).
    allowed_states : tuple of str
        States a loan may be in today: the transient states and the default state.
    default_idx : int
        Position of the default state in `states`.
    state_stage : ndarray of int, shape (n_states,)
        Stage each state sets by itself (`StagingRule.state_stages`).
    rule : StagingRule
    horizon : int
    truncate_maturity : bool
    """

    scenarios: tuple[Scenario, ...]
    weights: np.ndarray
    terms: tuple[ScenarioTerms, ...]
    segments: tuple[str, ...]
    states: tuple[str, ...]
    allowed_states: tuple[str, ...]
    default_idx: int
    state_stage: np.ndarray
    rule: StagingRule
    horizon: int
    truncate_maturity: bool


def as_scenarios(scenarios: object, *, allow_outside_files: bool = False) -> list[Scenario]:
    """One scenario or several, as a list; files are loaded.

    Raises
    ------
    ArgumentError
        If `scenarios` is neither a `Scenario`, a file name, nor a non-empty sequence of them.
    """
    if isinstance(scenarios, Scenario | str | os.PathLike):
        scenarios = [scenarios]
    if not isinstance(scenarios, Sequence) or not scenarios:
        raise ArgumentError(
            "`scenario` must be a Scenario (rm.load_scenario(...)), a scenario file name, or a "
            f"non-empty list of them; got {describe(scenarios)}."
        )
    out = []
    for sc in scenarios:
        if isinstance(sc, Scenario):
            out.append(sc)
        elif isinstance(sc, str | os.PathLike) and str(sc):
            out.append(load_scenario(Path(sc), allow_outside_files=allow_outside_files))
        else:
            raise ArgumentError(
                f"each scenario must be a Scenario or a scenario file name; got {describe(sc)}."
            )
    return out


def _weights(scenarios: list[Scenario]) -> np.ndarray:
    if len(scenarios) == 1:
        return np.ones(1)
    names = [sc.name for sc in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ComparisonError(
            f"scenario names must be unique in a weighted set; {dupes} appear more than once. "
            "Give each file its own `name:`."
        )
    weights = check_weights(scenarios)
    if weights is None:
        files = ", ".join(scenario_label(sc) for sc in scenarios)
        raise ComparisonError(
            f"several scenarios ({files}) make a probability-weighted ECL only with `weight:` "
            "in every file, summing to 1 (e.g. 0.6, 0.3, 0.1); add them, or pass one scenario."
        )
    return weights


def _check_alike(scenarios: list[Scenario]) -> None:
    first = scenarios[0]
    for sc in scenarios[1:]:
        for what, a, b in (
            ("states", list(first.states.names), list(sc.states.names)),
            ("default state", first.states.default, sc.states.default),
            ("absorbing states", list(first.states.absorbing), list(sc.states.absorbing)),
            ("horizon", first.horizon, sc.horizon),
            ("12-month window (period length)", first.ecl_window, sc.ecl_window),
        ):
            if a != b:
                raise ComparisonError(
                    f"the scenarios of a weighted ECL must share their {what}: "
                    f"{scenario_label(first)} has {a}, {scenario_label(sc)} has {b}. Align them."
                )


def _cumulative(x: np.ndarray) -> np.ndarray:
    """``out[..., m] = Σ_{t<m} x[..., t]`` (a leading zero column)."""
    out = np.zeros((*x.shape[:-1], x.shape[-1] + 1))
    np.cumsum(x, axis=-1, out=out[..., 1:])
    return out


def _lay_out(ts: TermStructure, segments: tuple[str, ...]) -> ScenarioTerms:
    pos = [ts.segments.index(s) for s in segments]
    n_g, h = len(segments) * len(ts.states), ts.horizon
    pd = ts.pd[pos].reshape(n_g, h)
    lam = ts.loss_profile()[pos].reshape(n_g, h)
    w = ts.window_weights()
    one = np.ones(h)
    scen = np.stack([ts.ead_factor * ts.discount, ts.discount, ts.ead_factor, one])  # (4, H)
    profile = scen[:, None, :] * lam[None]  # (4, G, H)
    return ScenarioTerms(
        ts=ts,
        profile=profile,
        profile_t=np.ascontiguousarray(profile.reshape(4 * n_g, h).T),
        cum_life=_cumulative(profile),
        cum_12m=_cumulative(profile * w),
        cum_pd=_cumulative(pd),
        cum_pd_12m=_cumulative(pd * w),
        window=w[: int(np.count_nonzero(w))],
    )


def prepare(
    scenarios: Sequence[Scenario],
    *,
    rule: StagingRule,
    truncate_maturity: bool = False,
) -> EclPlan:
    """Check the scenarios and compute their term structures.

    Parameters
    ----------
    scenarios : sequence of Scenario
        One scenario, or several with ``weight:`` in each (summing to 1).
    rule : StagingRule
    truncate_maturity : bool, default False
        Let a loan's maturity pass the horizon (its ECL stops there).

    Returns
    -------
    EclPlan

    Raises
    ------
    ComparisonError
        If several scenarios lack weights, their weights do not sum to 1, their names repeat,
        or they differ in states, horizon or period length.
    ArgumentError
        If the rule names states the scenarios do not have.
    """
    scenarios = list(scenarios)
    weights = _weights(scenarios)
    _check_alike(scenarios)
    first = scenarios[0]
    segments = tuple(s for s in first.segments if all(s in sc.segments for sc in scenarios[1:]))
    states = first.states
    stages = rule.state_stages(states)
    terms = tuple(_lay_out(term_structure(sc), segments) for sc in scenarios)
    return EclPlan(
        scenarios=tuple(scenarios),
        weights=weights,
        terms=terms,
        segments=segments,
        states=tuple(states.names),
        allowed_states=(*states.transient, states.default),
        default_idx=int(states.default_idx),
        state_stage=np.array([stages[s] for s in states.names], dtype=np.int8),
        rule=rule,
        horizon=int(first.horizon),
        truncate_maturity=bool(truncate_maturity),
    )
