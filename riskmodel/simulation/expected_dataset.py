"""The labelled result of the exact expectations: per-cohort flows aggregated into a Dataset.

`riskmodel.simulation.expected` propagates each cohort's expected counts period by period (its
module docstring derives why the propagation is exact); this module only aggregates those flows by
period, segment and starting state, discounts the margin, and names and labels the variables.
Nothing here is stochastic and nothing is approximated: sums, products and one cumulative sum.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from riskmodel.dynamics import discount_factors, remaining_discount
from riskmodel.scenarios.load import Scenario

__all__ = ["label_term_structure", "term_structure_dataset"]


def term_structure_dataset(
    scenario: Scenario,
    flows: np.ndarray,
    loss_c: np.ndarray,
    start_occ: np.ndarray,
    customers: np.ndarray,
    margin_pc: np.ndarray,
    seg_onehot: np.ndarray,
    start_onehot: np.ndarray,
) -> xr.Dataset:
    """Aggregate the per-cohort flows by period, segment and starting state.

    Parameters
    ----------
    scenario : Scenario
        The scenario whose expectations these are (states, segments, horizon, discount rate).
    flows : ndarray, shape (H, C, K)
        Expected inflow per period, cohort and state, averaged over the parameter draws.
    loss_c : ndarray, shape (H, C)
        Expected loss per period and cohort.
    start_occ : ndarray, shape (H, S, Kt)
        Expected transient counts per segment at the start of each period.
    customers, margin_pc : ndarray, shape (C,)
        Today's customers and margin per customer of each cohort.
    seg_onehot : ndarray, shape (C, S)
        One-hot segment of each cohort.
    start_onehot : ndarray, shape (C, Kt)
        One-hot starting transient state of each cohort.

    Returns
    -------
    xarray.Dataset
        The variables listed in `riskmodel.simulation.expected.expected_term_structure`;
        ``attrs["parameter_draws"]`` is 0 and set by the caller.
    """
    states = scenario.states
    h, n_c = scenario.horizon, len(customers)
    t_idx, d_idx = states.transient_idx, states.default_idx
    defaults_c = flows[..., d_idx]  # (H, C)
    transient_c = flows[..., t_idx].sum(axis=-1)  # (H, C) customers in transient states
    occupancy = flows.sum(axis=1)  # (H, K)
    absorbing = states.absorbing_idx
    occupancy[:, absorbing] = np.cumsum(occupancy[:, absorbing], axis=0)
    churn_c = flows[..., states.churn_idx] if states.churn_idx is not None else np.zeros((h, n_c))
    churn = churn_c.sum(axis=1)
    discount = discount_factors(scenario.discount_rate)
    remaining_df = remaining_discount(discount)
    value_c = (transient_c * discount[:, None]).sum(axis=0) * margin_pc  # (C,) discounted margin
    return xr.Dataset(
        {
            "loss": ("period", loss_c.sum(axis=1)),
            "defaults": ("period", defaults_c.sum(axis=1)),
            "churn": ("period", churn),
            "margin": ("period", transient_c @ margin_pc),
            "loss_by_segment": ("segment", loss_c.sum(axis=0) @ seg_onehot),
            "occupancy": (("period", "state"), occupancy),
            "discount_factor": ("period", discount),
            "loss_by_state": (("period", "start_state"), loss_c @ start_onehot),
            "defaults_by_state": (("period", "start_state"), defaults_c @ start_onehot),
            "customers_by_state": ("start_state", customers @ start_onehot),
            "churn_by_state": (("period", "start_state"), churn_c @ start_onehot),
            "value_by_state": ("start_state", value_c @ start_onehot),
            "defaults_by_segment": ("segment", defaults_c.sum(axis=0) @ seg_onehot),
            "churn_by_segment": ("segment", churn_c.sum(axis=0) @ seg_onehot),
            "value_by_segment": ("segment", value_c @ seg_onehot),
            "occupancy_start": (("period", "segment", "transient_state"), start_occ),
            "value_lost_to_churn": ((), float(np.sum((churn_c @ margin_pc) * remaining_df))),
        },
        coords={
            "period": np.arange(1, h + 1),
            "segment": list(scenario.segments),
            "state": list(states.names),
            "start_state": list(states.transient),
            "transient_state": list(states.transient),
        },
        attrs={
            "scenario": scenario.name,
            "horizon": h,
            "parameter_draws": 0,  # set by the caller
            "exact": 1,
            **scenario.period_attrs,
        },
    )


def label_term_structure(ds: xr.Dataset) -> None:
    """Units and long names of the exact term structure's variables."""
    ds["loss"].attrs.update(units="currency", long_name="exact expected credit loss in the period")
    ds["defaults"].attrs.update(units="customers", long_name="exact expected defaults")
    ds["churn"].attrs.update(units="customers", long_name="exact expected churn")
    ds["margin"].attrs.update(units="currency", long_name="exact expected margin")
    ds["occupancy"].attrs.update(
        units="customers", long_name="exact expected customers per state at period end"
    )
    ds["loss_by_state"].attrs.update(
        units="currency", long_name="exact expected loss of the cohorts starting in each state"
    )
    ds["occupancy_start"].attrs.update(
        units="customers", long_name="exact expected customers per transient state at period start"
    )
    for name, what in (("defaults", "defaults"), ("churn", "churn")):
        ds[f"{name}_by_segment"].attrs.update(
            units="customers", long_name=f"exact expected {what} per segment over the horizon"
        )
    ds["churn_by_state"].attrs.update(
        units="customers", long_name="exact expected churn of the cohorts starting in each state"
    )
    for dim in ("segment", "state"):
        ds[f"value_by_{dim}"].attrs.update(
            units="currency", long_name=f"exact expected discounted margin per {dim}"
        )
    ds["value_lost_to_churn"].attrs.update(
        units="currency", long_name="exact expected discounted margin forgone by churners"
    )
