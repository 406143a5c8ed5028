"""Effects of management actions against the same scenario without them (common random numbers).

The engine stores, for every action of a scenario, the run *without* that action on the same
paths (`riskmodel.simulation.actions`). Per action this module reports, as *with − without*
(so a negative loss change is a reduction):

- ``expected_loss``: exact expected loss over the horizon (undiscounted), with, without, change;
  and the paired Monte Carlo change ``Σ w_i ΔL_i / Σ w_i`` with its delta-method standard error
  (``std(ΔL_i)/√N`` for plain Monte Carlo; see `riskmodel.metrics.risk`);
- ``ecl_lifetime``: exact discounted expected loss, with, without, change;
- ``es``: expected shortfall at the run's highest level, with, without, change and the paired
  standard error of the self-normalised mean of ``(L¹_i − v¹)⁺ − (L⁰_i − v⁰)⁺``, over
  ``1 − q`` (the envelope argument of `riskmodel.metrics.risk_measures` applied to the
  difference);
- ``value``: exact expected discounted margin, with, without, gain (and its paired MC estimate);
- ``value_lost_to_churn``: exact expected discounted margin forgone by churners, change;
- ``cost``: the exact expected discounted cost of the action;
- ``net_benefit = value gain + ECL reduction − cost``: all three discounted exact expectations,
  so an action that changes nothing shows ``−cost`` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.metrics.risk import as_dataset, format_level, risk_measures
from riskmodel.simulation.store import path_total

__all__ = ["action_effects", "actions_to_dict"]


def _paired_se(d: np.ndarray, w: np.ndarray) -> float:
    """Delta-method error of the self-normalised mean ``mean(d)``, ``d = w̃ g``, ``mean(w̃) = 1``."""
    psi = d - float(np.mean(d)) * (w - 1.0)  # = d for plain Monte Carlo
    return float(np.sqrt(np.var(psi, ddof=1) / d.size)) if d.size > 1 else math.nan


def action_effects(data: Any) -> dict[str, dict[str, Any]]:
    """Per-action effects of a run with ``actions:`` (see the module docstring).

    Parameters
    ----------
    data : SimulationResult or xarray.Dataset
        A run whose dataset has the ``action`` dimension and ``action_*`` variables.

    Returns
    -------
    dict of str to dict
        One entry per action name, keyed as described in the module docstring; ``{}`` if the
        run has no actions.
    """
    ds = as_dataset(data)
    if "action" not in ds.dims:
        return {}
    w = ds["weight"].to_numpy()
    w = w * (w.size / w.sum())  # self-normalised, as every metric (unchanged if all one)
    level = float(max(np.atleast_1d(ds.attrs["levels"])))
    run = _run_with_actions(ds, w, level)
    return {
        str(name): _effect(ds, k, w, level, run)
        for k, name in enumerate(ds["action"].values.tolist())
    }


@dataclass(frozen=True)
class _WithActions:
    """The run with every action: per-path totals and its exact and tail figures."""

    loss: np.ndarray
    value: np.ndarray
    exact_loss: float
    exact_ecl: float
    exact_value: float
    exact_cvl: float
    var: float
    es: float


def _run_with_actions(ds: xr.Dataset, w: np.ndarray, level: float) -> _WithActions:
    df = ds["discount_factor"]
    loss1 = path_total(ds, "loss").to_numpy()
    # the summary's loss entry warns when this level is thin (TailResolutionWarning); the
    # paired figures here rest on the same paths, so they do not repeat it
    risk1 = risk_measures(loss1, weights=w, levels=[level], min_tail_paths=0)
    return _WithActions(
        loss=loss1,
        value=path_total(ds, "margin", discounted=True).to_numpy(),
        exact_loss=float(ds["exact_loss"].sum()),
        exact_ecl=float((ds["exact_loss"] * df).sum()),
        exact_value=float((ds["exact_margin"] * df).sum()),
        exact_cvl=float(ds["exact_value_lost_to_churn"]),
        var=risk1.var[level],
        es=risk1.es[level],
    )


def _effect(
    ds: xr.Dataset, k: int, w: np.ndarray, level: float, run: _WithActions
) -> dict[str, Any]:
    """Effects of action ``k``: the run with it (`run`) against the run without it."""
    loss1, value1, es1 = run.loss, run.value, run.es
    loss0 = ds["action_loss_without"].values[k]
    value0 = ds["action_value_without"].values[k]
    risk0 = risk_measures(loss0, weights=w, levels=[level], min_tail_paths=0)
    v0, es0 = risk0.var[level], risk0.es[level]
    excess = w * (np.maximum(loss1 - run.var, 0.0) - np.maximum(loss0 - v0, 0.0))
    exact_loss0 = float(ds["action_exact_loss_without"].values[k])
    exact_ecl0 = float(ds["action_exact_ecl_without"].values[k])
    exact_value0 = float(ds["action_exact_value_without"].values[k])
    exact_cvl0 = float(ds["action_exact_churn_value_lost_without"].values[k])
    cost = float(ds["action_cost"].values[k])
    value_gain = run.exact_value - exact_value0
    ecl_reduction = exact_ecl0 - run.exact_ecl
    return {
        "type": str(ds["action_type"].values[k]),
        "expected_loss": {
            "with": run.exact_loss,
            "without": exact_loss0,
            "change": run.exact_loss - exact_loss0,
            "change_mc": float(np.mean(w * (loss1 - loss0))),
            "stderr_mc": _paired_se(w * (loss1 - loss0), w),
        },
        "ecl_lifetime": {
            "with": run.exact_ecl,
            "without": exact_ecl0,
            "change": run.exact_ecl - exact_ecl0,
        },
        "es": {
            "level": format_level(level),
            "with": es1,
            "without": es0,
            "change": es1 - es0,
            "stderr": _paired_se(excess, w) / (1.0 - level),
        },
        "value": {
            "with": run.exact_value,
            "without": exact_value0,
            "gain": value_gain,
            "gain_mc": float(np.mean(w * (value1 - value0))),
            "stderr_mc": _paired_se(w * (value1 - value0), w),
        },
        "value_lost_to_churn": {
            "with": run.exact_cvl,
            "without": exact_cvl0,
            "change": run.exact_cvl - exact_cvl0,
        },
        "cost": cost,
        "net_benefit": value_gain + ecl_reduction - cost,
    }


def actions_to_dict(data: Any) -> dict[str, dict[str, Any]]:
    """Return the ``actions`` entry of ``summary.json`` (alias of `action_effects`, JSON-ready)."""
    return action_effects(data)
