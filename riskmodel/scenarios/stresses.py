"""Scenario stresses: macro paths, shocks on default/churn, exposure scaling by actions.

Turns the validated config into the arrays the engine consumes (time-varying transition matrices,
per-cohort exposure scales); every problem raises `ScenarioError` naming the field.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskmodel.config.errors import ScenarioError, short_repr
from riskmodel.data.portfolio import Portfolio
from riskmodel.states import StateSpace

if TYPE_CHECKING:
    from riskmodel.config.scenario import ScenarioConfig
    from riskmodel.models.draws import ParameterDraws

__all__ = ["apply_shocks", "compact", "ead_scale", "fail", "macro_transitions", "per_period"]


def per_period(value: float | list[float], horizon: int) -> np.ndarray:
    """Expand a scalar or a list to one value per period; a short list repeats its last value."""
    values = np.atleast_1d(np.asarray(value, dtype=float))
    out = np.empty(horizon)
    n = min(len(values), horizon)
    out[:n] = values[:n]
    out[n:] = values[-1]
    return out


def fail(file: Path | None, field: str, message: str) -> ScenarioError:
    """Return a ScenarioError with one problem (raise the result)."""
    return ScenarioError(file, [(field, message)])


def compact(values: np.ndarray) -> float | list[float]:
    """Return a per-period array as one number when constant, else a list (for the summary)."""
    v = np.asarray(values, dtype=float)
    return float(v[0]) if np.all(v == v[0]) else [float(x) for x in v]


def macro_transitions(cfg: ScenarioConfig, draws: ParameterDraws, file: Path | None) -> np.ndarray:
    """Time-varying matrices (D, H, S, K, K) along the scenario's macro paths.

    The covariate model's matrix of period t moves customers from t to t + 1, so the macro value
    of simulated period t (1-based) is the t-th entry of each path.
    """
    given = dict(cfg.macro or {})
    missing = [c for c in draws.covariates if c not in given]
    if missing:
        raise fail(
            file,
            "macro",
            f"the posterior's transition model moves with macro variables {list(draws.covariates)}"
            f"; give a path for {missing} under `macro:` (one value per period; a short list "
            "repeats its last value).",
        )
    extra = [k for k in given if k not in draws.covariates]
    if extra:
        close = {k: difflib.get_close_matches(k, draws.covariates, n=1, cutoff=0.5) for k in extra}
        hints = "; ".join(
            f"{k!r}" + (f" (did you mean {v[0]!r}?)" if v else "") for k, v in close.items()
        )
        raise fail(
            file,
            "macro",
            f"unknown macro variable(s) {hints}; the posterior's covariates are "
            f"{list(draws.covariates)}.",
        )
    paths = {k: per_period(given[k], cfg.horizon) for k in draws.covariates}
    try:
        return draws.transitions_for_macro(paths)
    except ValueError as exc:
        raise fail(file, "macro", str(exc)) from None


def _match(
    kind: str, value: str | None, known: Sequence[str], where: str, file: Path | None
) -> list[int]:
    """Positions in `known` selected by `value` (None = all); an unknown name is an error."""
    known = list(known)
    if value is None:
        return list(range(len(known)))
    if value not in known:
        close = difflib.get_close_matches(value, known, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise fail(
            file,
            where,
            f"unknown {kind} {value!r}; the {kind}s here are {known}.{hint} Omit the key to "
            f"apply to all {kind}s.",
        )
    return [known.index(value)]


_Lever = tuple[str, str, list[int], list[int], np.ndarray, np.ndarray]
"""(label, field path, segment positions, row positions, default path, churn path)."""


def _levers(
    cfg: ScenarioConfig, states: StateSpace, segments: Sequence[str], file: Path | None
) -> tuple[list[_Lever], list[dict[str, Any]]]:
    """Return the multipliers of `shocks:` and retention actions per period, and the shocks."""
    h = cfg.horizon
    levers: list[_Lever] = []
    applied: list[dict[str, Any]] = []
    for k, shock in enumerate(cfg.shocks):
        label = f"shocks[{k}]" + (f" ({shock.name})" if shock.name else "")
        where = f"shocks[{k}]"
        segs = _match("segment", shock.segment, segments, f"{where} -> segment", file)
        rows = _state_rows(shock.state, states, f"{where} -> state", file)
        dm = per_period(shock.default_multiplier, h)
        cm = per_period(shock.churn_multiplier, h)
        levers.append((label, where, segs, rows, dm, cm))
        applied.append(
            {
                "name": shock.name or f"shocks[{k}]",
                "segment": shock.segment or "all",
                "state": shock.state or "all transient",
                "default_multiplier": compact(dm),
                "churn_multiplier": compact(cm),
            }
        )
    for action in cfg.actions:
        if action.type != "retention":
            continue
        where = f"actions -> {action.name}"
        segs = _match("segment", action.segment, segments, f"{where} -> segment", file)
        rows = _state_rows(action.state, states, f"{where} -> state", file)
        if action.churn_reduction is None:  # the schema requires it; a hand-built config may not
            raise fail(file, f"{where} -> churn_reduction", "a retention action needs it; add it.")
        cm = np.full(h, 1.0 - float(action.churn_reduction))
        levers.append((f"action {action.name!r}", where, segs, rows, np.ones(h), cm))
    return levers, applied


def apply_shocks(
    cfg: ScenarioConfig,
    states: StateSpace,
    segments: Sequence[str],
    transitions: np.ndarray,
    file: Path | None,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Apply `shocks:` and retention actions to the matrices.

    Returns the matrices — (D, S, K, K) when every multiplier is constant over time, else
    (D, H, S, K, K) — and the JSON-ready list of applied shocks.
    """
    levers, applied = _levers(cfg, states, segments, file)
    if not levers:
        return transitions, applied
    h = cfg.horizon
    d_idx, c_idx = states.default_idx, states.churn_idx
    varying = any(np.any(dm != dm[0]) or np.any(cm != cm[0]) for *_, dm, cm in levers)
    p = np.asarray(transitions, dtype=float)
    p = np.repeat(p[:, None], h, axis=1) if varying else p[:, None].copy()
    for label, where, segs, rows, dm, cm in levers:
        mult_d = dm if varying else dm[:1]
        mult_c = cm if varying else cm[:1]
        for s in segs:
            for i in rows:
                block = p[:, :, s, i]  # (D, T, K)
                old_d = block[..., d_idx].copy()
                new_d = old_d * mult_d[None, :]
                delta = new_d - old_d
                block[..., d_idx] = new_d
                if c_idx is not None:
                    old_c = block[..., c_idx].copy()
                    new_c = old_c * mult_c[None, :]
                    delta += new_c - old_c
                    block[..., c_idx] = new_c
                block[..., i] -= delta
                _check_rows(block, label, where, segments[s], states.names[i], varying, file)
    return (p if varying else p[:, 0]), applied


def _state_rows(state: str | None, states: StateSpace, where: str, file: Path | None) -> list[int]:
    """Positions (in the state list) of the transient origin rows selected by `state`."""
    if state is not None and state in states.names and states.is_absorbing(state):
        raise fail(
            file,
            where,
            f"{state!r} is absorbing, so it has no transition row to change; name a transient "
            f"state {list(states.transient)} or omit the key.",
        )
    pos = _match("state", state, states.transient, where, file)
    return [int(states.transient_idx[r]) for r in pos]


def _check_rows(
    block: np.ndarray,
    label: str,
    where: str,
    segment: str,
    state: str,
    varying: bool,
    file: Path | None,
) -> None:
    """Every entry of the changed rows (D, T, K) must stay in [0, 1]."""
    tol = 1e-12
    bad = (block < -tol) | (block > 1.0 + tol)
    if not bad.any():
        np.clip(block, 0.0, 1.0, out=block)
        return
    draw, t, j = np.argwhere(bad)[0]
    row = block[draw, t]
    period = f"period {t + 1}" if varying else "every period"
    entry = "the stay probability" if row[j] < 0 else "a probability"
    raise fail(
        file,
        where,
        f"{label} pushes the row {segment}/{state} out of [0, 1] in {period}"
        + (f" (parameter draw {int(draw)})" if block.shape[0] > 1 else "")
        + f": {entry} becomes {float(row[j]):.6g} (shocked row "
        + f"{short_repr([round(float(x), 6) for x in row], 120)}). Lower the multiplier for "
        "that period: the stay probability absorbs the change, so it cannot go below 0.",
    )


def ead_scale(
    cfg: ScenarioConfig, states: StateSpace, portfolio: Portfolio, file: Path | None
) -> np.ndarray:
    """Factor on each cohort's exposure from `limit_cut` actions."""
    ead = np.ones(len(portfolio.table))
    cuts = [action for action in cfg.actions if action.type == "limit_cut"]
    if not cuts:  # most scenarios: skip the per-customer table (a sensitivity derives per point)
        return ead
    pc = portfolio.per_customer()
    for action in cuts:
        where = f"actions -> {action.name}"
        segs = _match("segment", action.segment, portfolio.segments, f"{where} -> segment", file)
        if action.state is not None:
            _match("state", action.state, states.transient, f"{where} -> state", file)
        hit = np.array(pc["segment"].isin([portfolio.segments[s] for s in segs]), dtype=bool)
        if action.state is not None:
            hit &= np.array(pc["state"] == action.state, dtype=bool)
        if action.exposure_reduction is None:  # required by the schema, as above
            raise fail(file, f"{where} -> exposure_reduction", "a limit_cut needs it; add it.")
        ead[hit] *= 1.0 - float(action.exposure_reduction)
    return ead
