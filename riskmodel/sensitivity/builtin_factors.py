"""The built-in sensitivity factors (see `riskmodel.sensitivity.factors` for the catalogue).

Importing this module registers them in `FACTORS`, `FACTOR_FAMILIES` and `JOINT_CHECKS` of
`riskmodel.sensitivity.registry`; `riskmodel.sensitivity.factors` imports it.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Sequence

import numpy as np

from riskmodel.data.portfolio import Portfolio
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.edits import DeriveInputs
from riskmodel.sensitivity.registry import (
    FACTOR_FAMILIES,
    JOINT_CHECKS,
    Factor,
    FactorRange,
    register_factor,
)

__all__: list[str] = []

_SHIFT_LIMIT = 10.0


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


# ------------------------------------------------------------------ config route (edits)
def _edit_correlation(inputs: DeriveInputs, value: float) -> None:
    systematic = inputs.config["systematic"]
    if systematic.get("factors") is None:
        systematic["correlation"] = value
    else:  # sector factors: every segment's asset correlation
        for segment in systematic["segments"].values():
            segment["correlation"] = value


def _edit_shift(inputs: DeriveInputs, value: float) -> None:
    shift = np.asarray(inputs.base.shift, dtype=float) + value  # (H,) or (H, F)
    systematic = inputs.config["systematic"]
    factors = systematic.get("factors")
    if factors is None:
        systematic["shift"] = [float(x) for x in shift]
    else:
        systematic["shift"] = {f: [float(x) for x in shift[:, i]] for i, f in enumerate(factors)}


def _edit_lgd_mean(inputs: DeriveInputs, value: float) -> None:
    inputs.config["lgd"]["mean"] = value


def _edit_lgd_sd(inputs: DeriveInputs, value: float) -> None:
    inputs.config["lgd"]["sd"] = value


def _edit_exposure(inputs: DeriveInputs, value: float) -> None:
    if inputs.portfolio is None:  # inline cohorts live in the config
        for cohort in inputs.config["portfolio"]["cohorts"] or []:
            cohort["exposure"] = cohort["exposure"] * value
    else:
        table = inputs.portfolio.table.copy()
        table["exposure"] = table["exposure"] * value
        inputs.portfolio = Portfolio(table)
    names = inputs.config["portfolio"].get("names")
    if isinstance(names, list):  # inline named exposures scale with the book
        for name in names:
            name["exposure"] = name["exposure"] * value
    elif inputs.names is not None:
        inputs.names = inputs.names.scaled(value)


def _check_shift(scenario: Scenario, low: float, high: float) -> str | None:
    s = np.asarray(scenario.shift, dtype=float)
    lo, hi = float(s.min()) + low, float(s.max()) + high
    if lo < -_SHIFT_LIMIT or hi > _SHIFT_LIMIT:
        return (
            f"the shifted factor mean must stay within [-10, 10]; the range gives "
            f"[{lo:g}, {hi:g}]. Narrow the offset range."
        )
    return None


def _lgd_feasible(mean_range: tuple[float, float], sd_high: float) -> str | None:
    if sd_high <= 0:
        return None
    worst = min(m * (1.0 - m) for m in mean_range)
    limit = math.sqrt(max(worst, 0.0))
    if sd_high >= limit:
        return (
            f"an LGD sd of {sd_high:g} is not feasible for a Beta LGD with mean in "
            f"[{mean_range[0]:g}, {mean_range[1]:g}]: sd must stay below "
            f"sqrt(mean (1 - mean)) = {limit:.4g}. Lower the sd range or narrow the mean range."
        )
    return None


def _check_lgd_mean(scenario: Scenario, low: float, high: float) -> str | None:
    return _lgd_feasible((low, high), float(scenario.config.lgd.sd))


def _check_lgd_sd(scenario: Scenario, low: float, high: float) -> str | None:
    m = float(scenario.config.lgd.mean)
    return _lgd_feasible((m, m), high)


def _check_lgd_jointly(scenario: Scenario, ranges: Sequence[FactorRange]) -> str | None:
    by = {r.name: r for r in ranges}
    if "lgd.mean" in by and "lgd.sd" in by:
        m = by["lgd.mean"]
        return _lgd_feasible((m.low, m.high), by["lgd.sd"].high)
    return None


def _draw_index(scenario: Scenario, u: float) -> int:
    d = int(scenario.transitions.shape[0])
    return min(math.floor(float(u) * d), d - 1)


def _pin_draw(scenario: Scenario, value: float) -> Scenario:
    d = _draw_index(scenario, value)
    return dataclasses.replace(
        scenario,
        transitions=_readonly(scenario.transitions[[d]]),
        correlation=_readonly(scenario.correlation[[d]]),
    )


def _check_draw(scenario: Scenario, low: float, high: float) -> str | None:
    if scenario.transitions.shape[0] < 2:
        return (
            "the scenario has a single parameter draw, so there is no posterior to vary; use "
            "`parameters: {posterior: FILE}` with `simulation: {parameter_uncertainty: true}`, "
            "or drop this factor."
        )
    return None


register_factor(
    "systematic.correlation",
    edit=_edit_correlation,
    base=lambda sc: float(np.mean(sc.correlation)),
    check=lambda _sc, lo, hi: (
        None if 0.0 <= lo and hi < 1.0 else f"values must be in [0, 1); got {lo:g}, {hi:g}."
    ),
    description="asset correlation ρ of the one-factor model",
)
register_factor(
    "systematic.shift",
    edit=_edit_shift,
    base=0.0,
    check=_check_shift,
    description="offset added to the factor mean of every period (negative = downturn)",
)
register_factor(
    "lgd.mean",
    edit=_edit_lgd_mean,
    base=lambda sc: float(sc.config.lgd.mean),
    domain=(0.0, 1.0),
    check=_check_lgd_mean,
    description="mean loss given default",
)
register_factor(
    "lgd.sd",
    edit=_edit_lgd_sd,
    base=lambda sc: float(sc.config.lgd.sd),
    domain=(0.0, 0.5),
    check=_check_lgd_sd,
    description="standard deviation of the Beta loss given default",
)
register_factor(
    "portfolio.exposure",
    edit=_edit_exposure,
    base=1.0,
    domain=(0.0, math.inf),
    description="multiplier on every cohort's exposure",
)
register_factor(
    "posterior.draw",
    _pin_draw,
    base=math.nan,  # the base run mixes all draws
    domain=(0.0, 1.0),
    check=_check_draw,
    description="u in [0, 1) selects parameter draw floor(u·D); pins every path to it",
)


# ------------------------------------------------------------------ transitions.<a>-><b>
def _transition_factor(scenario: Scenario, name: str) -> Factor:
    states = scenario.states
    rest = name[len("transitions.") :]
    parts = rest.split("->")
    pairs = [f"transitions.{a}->{b}" for a in states.transient for b in states.names if b != a]
    close = difflib.get_close_matches(name, pairs, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    if len(parts) != 2:
        raise ValueError(
            f"a transition factor is written transitions.<from>-><to>; got {name!r}.{hint}"
        )
    a, b = (p.strip() for p in parts)
    if a not in states.transient or b not in states.names or a == b:
        if a in states.names and a not in states.transient:
            why = f"{a!r} is absorbing (it is never left)"
        elif a == b and a in states.names:
            why = "the stay probability absorbs the changes; vary a move to another state"
        else:
            bad = a if a not in states.names else b
            why = f"{bad!r} is not a state of the scenario ({', '.join(states.names)})"
        raise ValueError(f"unknown factor {name!r}: {why}.{hint}")
    i, j, stay = states.index(a), states.index(b), states.index(a)

    def apply(sc: Scenario, value: float) -> Scenario:
        p = np.array(sc.transitions, dtype=float)
        moved = p[..., i, j] * (float(value) - 1.0)
        p[..., i, j] += moved
        p[..., i, stay] -= moved
        np.clip(p[..., i, :], 0.0, 1.0, out=p[..., i, :])  # float dust only: the range is checked
        return dataclasses.replace(sc, transitions=_readonly(p))

    def check(sc: Scenario, low: float, high: float) -> str | None:
        if low < 0:
            return f"a transition multiplier must be >= 0; got {low:g}."
        p = np.asarray(sc.transitions, dtype=float)
        pij, pstay = p[..., i, j], p[..., i, stay]
        for v in (low, high):
            new_ij = pij * v
            new_stay = pstay - pij * (v - 1.0)
            if np.any(new_ij > 1.0 + 1e-12) or np.any(new_stay < -1e-12):
                room = pstay + pij
                with np.errstate(divide="ignore", invalid="ignore"):
                    vmax = float(np.nanmin(np.where(pij > 0, room / pij, np.inf)))
                return (
                    f"multiplier {v:g} moves more probability than the stay probability "
                    f"{a} -> {a} holds (the row would leave [0, 1]); use multipliers up to "
                    f"{vmax:.4g}."
                )
        return None

    return Factor(
        name=f"transitions.{a}->{b}",
        apply=apply,
        base=lambda _sc: 1.0,
        check=check,
        description=f"multiplier on the {a} -> {b} probability (the stay probability absorbs it)",
    )


FACTOR_FAMILIES["transitions."] = _transition_factor
JOINT_CHECKS.append(_check_lgd_jointly)

# sector factors (issue 15): systematic.factor_correlation.A.B, systematic.segments.S.correlation
from riskmodel.sensitivity import sector_factors as _sector_factors  # noqa: E402, F401
