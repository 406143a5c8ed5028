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
from typing import Any

import numpy as np

from riskmodel.metrics.risk import as_dataset, format_level, risk_measures
from riskmodel.simulation.store import path_total

__all__ = ["action_effects", "actions_to_dict"]


def _paired_se(d: np.ndarray, w: np.ndarray) -> float:
    """Delta-method error of the self-normalised mean ``mean(d)``, ``d = w̃ g``, ``mean(w̃) = 1``."""
    psi = d - float(np.mean(d)) * (w - 1.0)  # = d for plain Monte Carlo
    return float(np.sqrt(np.var(psi, ddof=1) / d.size)) if d.size > 1 else math.nan


def action_effects(data: Any) -> dict[str, dict]:
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
    df = ds["discount_factor"]
    level = float(max(np.atleast_1d(ds.attrs["levels"])))
    loss1 = path_total(ds, "loss").to_numpy()
    value1 = path_total(ds, "margin", discounted=True).to_numpy()
    exact_loss1 = float(ds["exact_loss"].sum())
    exact_ecl1 = float((ds["exact_loss"] * df).sum())
    exact_value1 = float((ds["exact_margin"] * df).sum())
    exact_cvl1 = float(ds["exact_value_lost_to_churn"])
    # the summary's loss entry warns when this level is thin (TailResolutionWarning); the
    # paired figures here rest on the same paths, so they do not repeat it
    risk1 = risk_measures(loss1, weights=w, levels=[level], min_tail_paths=0)
    v1, es1 = risk1.var[level], risk1.es[level]
    out: dict[str, dict] = {}
    for k, name in enumerate(ds["action"].values.tolist()):
        loss0 = ds["action_loss_without"].values[k]
        value0 = ds["action_value_without"].values[k]
        risk0 = risk_measures(loss0, weights=w, levels=[level], min_tail_paths=0)
        v0, es0 = risk0.var[level], risk0.es[level]
        excess = w * (np.maximum(loss1 - v1, 0.0) - np.maximum(loss0 - v0, 0.0))
        exact_loss0 = float(ds["action_exact_loss_without"].values[k])
        exact_ecl0 = float(ds["action_exact_ecl_without"].values[k])
        exact_value0 = float(ds["action_exact_value_without"].values[k])
        exact_cvl0 = float(ds["action_exact_churn_value_lost_without"].values[k])
        cost = float(ds["action_cost"].values[k])
        value_gain = exact_value1 - exact_value0
        ecl_reduction = exact_ecl0 - exact_ecl1
        out[str(name)] = {
            "type": str(ds["action_type"].values[k]),
            "expected_loss": {
                "with": exact_loss1,
                "without": exact_loss0,
                "change": exact_loss1 - exact_loss0,
                "change_mc": float(np.mean(w * (loss1 - loss0))),
                "stderr_mc": _paired_se(w * (loss1 - loss0), w),
            },
            "ecl_lifetime": {
                "with": exact_ecl1,
                "without": exact_ecl0,
                "change": exact_ecl1 - exact_ecl0,
            },
            "es": {
                "level": format_level(level),
                "with": es1,
                "without": es0,
                "change": es1 - es0,
                "stderr": _paired_se(excess, w) / (1.0 - level),
            },
            "value": {
                "with": exact_value1,
                "without": exact_value0,
                "gain": value_gain,
                "gain_mc": float(np.mean(w * (value1 - value0))),
                "stderr_mc": _paired_se(w * (value1 - value0), w),
            },
            "value_lost_to_churn": {
                "with": exact_cvl1,
                "without": exact_cvl0,
                "change": exact_cvl1 - exact_cvl0,
            },
            "cost": cost,
            "net_benefit": value_gain + ecl_reduction - cost,
        }
    return out


def actions_to_dict(data: Any) -> dict[str, dict]:
    """Return the ``actions`` entry of ``summary.json`` (alias of `action_effects`, JSON-ready)."""
    return action_effects(data)
