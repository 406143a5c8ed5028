"""Compile a scenario into the kernel's plain arrays (`KernelInputs`), once per run."""

from __future__ import annotations

import numpy as np

from riskmodel.dynamics import discount_factors
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.kernel import KernelInputs, prepare_transitions
from riskmodel.simulation.names import name_arrays

__all__ = ["build_kernel_inputs"]


def build_kernel_inputs(scenario: Scenario) -> KernelInputs:
    """Turn a validated scenario into the kernel's plain arrays."""
    states = scenario.states
    pc = scenario.portfolio.per_customer()
    seg_index = {s: i for i, s in enumerate(scenario.segments)}
    tpos = {name: r for r, name in enumerate(states.transient)}
    transitions = scenario.transitions
    if transitions.ndim == 4:  # (D, S, K, K) -> (D, 1, S, K, K)
        transitions = transitions[:, None]
    names = None
    if scenario.names is None:
        probit_pd, seq_prob, dest, surv_prob = prepare_transitions(
            transitions, states.transient_idx, states.default_idx
        )
    else:  # the names' own rows beside the segments' (`riskmodel.simulation.names`)
        names, (probit_pd, seq_prob, dest, surv_prob) = name_arrays(scenario, transitions)
    lgd = scenario.config.lgd
    return KernelInputs(
        horizon=scenario.horizon,
        n_states=states.n,
        transient_idx=states.transient_idx,
        default_idx=states.default_idx,
        churn_idx=-1 if states.churn_idx is None else states.churn_idx,
        cohort_segment=np.array([seg_index[s] for s in pc["segment"]], dtype=np.intp),
        cohort_state=np.array([tpos[s] for s in pc["state"]], dtype=np.intp),
        customers=pc["customers"].to_numpy(dtype=np.int64),
        ead=np.asarray(scenario.cohort_ead, dtype=float),
        margin=pc["margin_per_customer"].to_numpy(dtype=float),
        n_segments=len(scenario.segments),
        probit_pd=probit_pd,
        seq_prob=seq_prob,
        dest=dest,
        surv_prob=surv_prob,
        large_pool=_large_pool_mask(scenario, pc["customers"].to_numpy()),
        correlation=np.asarray(scenario.correlation, dtype=float),
        shift=np.asarray(scenario.shift, dtype=float),
        lgd_mean=scenario.lgd_mean,
        lgd_sd=float(lgd.sd),
        transitions_mean=np.asarray(transitions, dtype=float).mean(axis=0),
        ead_factor=np.asarray(scenario.ead_factor, dtype=float),
        lgd_sensitivity=scenario.lgd_sensitivity,
        discount_factor=discount_factors(scenario.discount_rate),
        factor_root=None if scenario.factors is None else scenario.factors.root,
        segment_factor=None if scenario.factors is None else scenario.factors.segment_factor,
        names=names,
    )


def _large_pool_mask(scenario: Scenario, customers: np.ndarray) -> np.ndarray:
    sim = scenario.config.simulation
    if sim.approximation == "large_pool":
        mask = customers >= sim.large_pool_min_customers
        if scenario.names is not None:  # names are always simulated individually
            mask[len(mask) - scenario.names.n :] = False
        return mask
    return np.zeros(len(customers), dtype=bool)
