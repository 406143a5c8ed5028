"""Management actions: run a scenario without each of its actions, on common random numbers.

A scenario's ``actions:`` are applied in its main run (see `riskmodel.scenarios.load`: retention
cuts churn probabilities, a limit cut lowers cohort exposures). To measure what an action does,
the engine reruns the scenario *without that one action* — everything else unchanged, the same
seed entropy, the same number of paths and the same importance-sampling shift — so path ``i``
uses the same factor innovations in both runs and the differences are far less noisy than
either run's own Monte Carlo error. With several actions each is measured against the scenario
without it (its marginal effect given the others).

Cost of an action (an exact expectation, discounted with the scenario's discount factors):

- ``retention``: ``cost_per_customer`` for every customer in the targeted ``state`` (and
  ``segment``) at the *start* of each period, i.e. every customer who is offered the reduced
  churn probability in that period: ``Σ_t df_t · c · E[customers in state at start of t]``,
  from the exact occupancy of the run *with* the action.
- ``limit_cut``: the fixed ``cost``, paid once at the start (not discounted).

The deltas themselves are computed by `riskmodel.metrics.actions` from the variables stored
here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.store import path_total

__all__ = ["action_cost", "add_action_counterfactuals"]


def action_cost(ds: xr.Dataset, scenario: Scenario, name: str) -> float:
    """Exact expected discounted cost of the action `name` in the run `ds` (see module doc).

    Parameters
    ----------
    ds : xarray.Dataset
        A run of `scenario` (with the action applied), holding ``exact_occupancy_start``
        (period, segment, transient_state) and ``discount_factor`` (period).
    scenario : Scenario
    name : str
        The action's name.

    Returns
    -------
    float
    """
    action = next(a for a in scenario.config.actions if a.name == name)
    if action.type == "limit_cut":
        return float(action.cost or 0.0)
    occ = ds["exact_occupancy_start"].sel(transient_state=action.state)
    if action.segment is not None:
        occ = occ.sel(segment=action.segment)
    else:
        occ = occ.sum("segment")
    per_period = float(action.cost_per_customer or 0.0) * occ * ds["discount_factor"]
    return float(per_period.sum("period"))


def add_action_counterfactuals(
    ds: xr.Dataset, scenario: Scenario, rerun: Callable[[Scenario], xr.Dataset]
) -> xr.Dataset:
    """Add the without-action counterfactuals of every action to a run's dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        The main run of `scenario` (all actions applied).
    scenario : Scenario
    rerun : callable
        ``rerun(variant) -> Dataset``: simulates a variant of the scenario on the same seed
        entropy, paths and factor shift as `ds` (the engine passes its own runner).

    Returns
    -------
    xarray.Dataset
        `ds` with dim ``action`` and variables ``action_type``, ``action_cost`` (action);
        ``action_loss_without``, ``action_value_without``,
        ``action_churn_value_lost_without`` (action, path): per-path totals of the run without
        the action (loss undiscounted, value and churn value discounted);
        ``action_exact_loss_without``, ``action_exact_ecl_without``,
        ``action_exact_value_without``, ``action_exact_churn_value_lost_without`` (action):
        the exact expectations of the run without the action.
    """
    names = [a.name for a in scenario.config.actions]
    df = ds["discount_factor"]
    per_path: dict[str, list[np.ndarray]] = {"loss": [], "value": [], "churn_value_lost": []}
    exact: dict[str, list[float]] = {"loss": [], "ecl": [], "value": [], "churn_value_lost": []}
    costs = []
    for name in names:
        other = rerun(scenario.without_action(name))
        per_path["loss"].append(path_total(other, "loss").to_numpy())
        per_path["value"].append(path_total(other, "margin", discounted=True).to_numpy())
        per_path["churn_value_lost"].append(other["churn_value_lost"].to_numpy())
        exact["loss"].append(float(other["exact_loss"].sum()))
        exact["ecl"].append(float((other["exact_loss"] * df).sum()))
        exact["value"].append(float((other["exact_margin"] * df).sum()))
        exact["churn_value_lost"].append(float(other["exact_value_lost_to_churn"]))
        costs.append(action_cost(ds, scenario, name))
    out = ds.assign_coords(action=np.array(names, dtype=object))
    out["action_type"] = (
        "action",
        np.array([a.type for a in scenario.config.actions], dtype=object),
    )
    out["action_cost"] = ("action", np.array(costs))
    for key, values in per_path.items():
        out[f"action_{key}_without"] = (("action", "path"), np.stack(values))
    for key, totals in exact.items():
        out[f"action_exact_{key}_without"] = ("action", np.array(totals))
    out["action_cost"].attrs.update(units="currency", long_name="exact expected discounted cost")
    return out
