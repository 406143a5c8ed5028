"""Variants of one scenario as stacked arrays: one leading variant axis per parameter.

`stack_variants` checks that the variants share the base scenario's structure (states, segments,
horizon) and stacks what they may vary: probit default probabilities and survivors' shares per
draw, period, segment and row, each segment's correlation and factor shift, LGD, amortisation,
discounting, and the portfolio today per segment and transient state. Used by the vectorised
exact expectations (`riskmodel.simulation.variant_batch`) and the variants' large-pool model
(`riskmodel.simulation.variant_large_pool`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri

from riskmodel.dynamics import discount_factors, survivor_shares
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected import segment_correlation, segment_shift

__all__ = ["CHUNK", "VariantStack", "check_family", "portfolio_weights", "stack_variants"]

CHUNK = 1 << 16
"""Variant-paths (or variant-draws-nodes) per vectorised chunk: bounds memory to a few MB."""


@dataclass(frozen=True)
class VariantStack:
    """Per-variant arrays, stacked along a leading variant axis P."""

    probit_pd: np.ndarray  # (P, D, T, S, Kt)
    shares: np.ndarray  # (P, D, T, S, Kt, K) survivors' destination shares
    rho: np.ndarray  # (P, D, S): each segment's correlation (one factor: the same for all)
    shift: np.ndarray  # (P, H, S): the shift of each segment's factor
    lgd_mean: np.ndarray  # (P,)
    lgd_sensitivity: np.ndarray  # (P,)
    ead_factor: np.ndarray  # (P, H)
    discount: np.ndarray  # (P, H)
    start: np.ndarray  # (P, 3, S, Kt) customers, exposure and margin today per segment and state


def portfolio_weights(scenario: Scenario, cache: dict[Any, Any]) -> np.ndarray:
    """Return customers, exposure and margin today per segment and transient state: (3, S, Kt)."""
    key = (id(scenario.portfolio), scenario.ead_scale.tobytes())
    if key in cache:
        found: np.ndarray = cache[key][1]
        return found
    pc = scenario.portfolio.per_customer()
    states = scenario.states
    seg = {s: i for i, s in enumerate(scenario.segments)}
    pos = {s: r for r, s in enumerate(states.transient)}
    customers = pc["customers"].to_numpy(dtype=float)
    out = np.zeros((3, len(scenario.segments), len(states.transient)))
    weights = (
        customers,
        customers * np.asarray(scenario.cohort_ead, dtype=float),
        customers * pc["margin_per_customer"].to_numpy(dtype=float),
    )
    for c, (s, st) in enumerate(zip(pc["segment"], pc["state"], strict=True)):
        for w in range(3):
            out[w, seg[s], pos[st]] += weights[w][c]
    cache[key] = (scenario.portfolio, out)  # keep the portfolio alive: its id stays unique
    return out


def check_family(scenarios: Sequence[Scenario]) -> None:
    """Refuse variants whose states, segments or horizon differ from the first (the base).

    Raises
    ------
    ArgumentError
        Naming the first variant that differs.
    """
    base = scenarios[0]
    for sc in scenarios[1:]:
        same = (
            sc.states.names == base.states.names
            and sc.segments == base.segments
            and sc.horizon == base.horizon
        )
        if not same:
            raise ArgumentError(
                "variants must share the base scenario's states, segments and horizon; "
                f"scenario {sc.name!r} differs. Vary parameters, not the structure."
            )


def stack_variants(scenarios: Sequence[Scenario]) -> VariantStack:
    """Stack the variants' arrays; one-draw variants are repeated over the others' draws."""
    check_family(scenarios)
    base = scenarios[0]
    st = base.states
    mats = [np.asarray(sc.transitions, dtype=float) for sc in scenarios]
    mats = [m[:, None] if m.ndim == 4 else m for m in mats]  # (D, T, S, K, K)
    n_d = max(m.shape[0] for m in mats)
    n_t = max(m.shape[1] for m in mats)
    bad = [sc.name for sc, m in zip(scenarios, mats, strict=True) if m.shape[0] not in (1, n_d)]
    if bad:
        raise ArgumentError(
            f"variants must have one parameter draw or {n_d}; {bad[0]!r} has another number."
        )
    full = np.stack([np.broadcast_to(m, (n_d, n_t, *m.shape[2:])) for m in mats])
    rows = full[..., st.transient_idx, :]  # (P, D, T, S, Kt, K)
    pd = np.clip(rows[..., st.default_idx], 0.0, 1.0)
    n_s = len(base.segments)
    rho = np.stack([np.broadcast_to(segment_correlation(sc), (n_d, n_s)) for sc in scenarios])
    cache: dict[Any, Any] = {}
    return VariantStack(
        probit_pd=ndtri(pd),
        shares=survivor_shares(rows, pd, st.default_idx),
        rho=rho,
        shift=np.stack([segment_shift(sc, per_segment=True) for sc in scenarios]),
        lgd_mean=np.array([sc.lgd_mean for sc in scenarios]),
        lgd_sensitivity=np.array([sc.lgd_sensitivity for sc in scenarios]),
        ead_factor=np.stack([np.asarray(sc.ead_factor, dtype=float) for sc in scenarios]),
        discount=np.stack([discount_factors(sc.discount_rate) for sc in scenarios]),
        start=np.stack([portfolio_weights(sc, cache) for sc in scenarios]),
    )
