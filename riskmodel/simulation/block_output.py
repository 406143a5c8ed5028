"""The kernel's per-path outputs of a block: accumulated period by period, then returned.

`Accumulators` holds a block's outputs while `riskmodel.simulation.kernel` runs its periods:
per path and period the loss, defaults, churn and margin, per path the loss by segment and by
cohort and the discounted margin forgone by churners, and the importance-weighted occupancy per
period and state. `BlockOutput` is what a block returns to the backends.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from riskmodel.dynamics import remaining_discount

if TYPE_CHECKING:  # the kernel imports this module
    from riskmodel.simulation.kernel import KernelInputs
    from riskmodel.simulation.qmc import FactorPaths

__all__ = ["ROW_FIELDS", "Accumulators", "BlockOutput"]

Floats = NDArray[np.float64]
Index = NDArray[np.intp]


@dataclass
class BlockOutput:
    """Per-path outputs of one block (``n`` paths)."""

    loss: np.ndarray  # (n, H)
    defaults: np.ndarray  # (n, H)
    churn: np.ndarray  # (n, H)
    margin: np.ndarray  # (n, H)
    loss_by_segment: np.ndarray  # (n, S)
    loss_by_cohort: np.ndarray  # (n, C)
    weight: np.ndarray  # (n,)
    draw: np.ndarray  # (n,) parameter draw used by each path
    occupancy: np.ndarray  # (H, K) weighted sum over paths of customers per state at period end
    churn_value_lost: np.ndarray  # (n,) discounted margin forgone by the period's churners


ROW_FIELDS = tuple(f.name for f in fields(BlockOutput) if f.name != "occupancy")
"""`BlockOutput` fields with one row per path (the rest, ``occupancy``, sums over paths)."""


@dataclass
class Accumulators:
    """The block's per-path outputs, filled period by period."""

    loss: Floats  # (n, H)
    defaults: Floats  # (n, H)
    churn: Floats  # (n, H)
    margin: Floats  # (n, H)
    loss_by_segment: Floats  # (n, S)
    loss_by_cohort: Floats  # (n, C)
    occupancy: Floats  # (H, K)
    churn_value_lost: Floats  # (n,)
    seg_onehot: Floats  # (C, S)
    remaining_df: Floats  # (H,)
    other: NDArray[np.bool_]  # (K,) absorbing states that are neither default nor churn
    absorbing: Index  # absorbing states
    is_transient: Floats  # (K,) 1 for the transient states, 0 for the others

    @classmethod
    def zeros(cls, inp: KernelInputs, n: int) -> Accumulators:
        """Empty outputs of a block of `n` paths."""
        h, n_c, k = inp.horizon, len(inp.customers), inp.n_states
        seg_onehot = np.zeros((n_c, inp.n_segments))
        seg_onehot[np.arange(n_c), inp.cohort_segment] = 1.0
        other = np.ones(k, dtype=bool)
        other[inp.transient_idx] = False
        absorbing = np.flatnonzero(other)
        other[inp.default_idx] = False
        if inp.churn_idx >= 0:
            other[inp.churn_idx] = False
        is_transient = np.zeros(k)
        is_transient[inp.transient_idx] = 1.0
        return cls(
            loss=np.zeros((n, h)),
            defaults=np.zeros((n, h)),
            churn=np.zeros((n, h)),
            margin=np.zeros((n, h)),
            loss_by_segment=np.zeros((n, inp.n_segments)),
            loss_by_cohort=np.zeros((n, n_c)),
            occupancy=np.zeros((h, k)),
            churn_value_lost=np.zeros(n),
            seg_onehot=seg_onehot,
            remaining_df=remaining_discount(inp.discount_factor),
            other=other,
            absorbing=absorbing,
            is_transient=is_transient,
        )

    def record(
        self,
        inp: KernelInputs,
        t: int,
        d_c: Floats,
        lgd: Floats | float,
        into: Floats,
        weight: Floats,
        *,
        whole: bool,
    ) -> None:
        """Add period `t`: defaults per cohort `d_c` (n, C), LGD, and arrivals `into` (n, C, K).

        `whole` says that the counts are whole numbers (no large-pool cohort): see `_count_sums`.
        """
        sums = _count_sums(inp, d_c, into, self.is_transient, self.other, whole)
        loss_c = d_c * (inp.ead * inp.ead_factor[t]) * lgd  # (n, C)
        self.loss[:, t] = loss_c.sum(axis=1)
        self.defaults[:, t] = sums.defaults
        if inp.churn_idx >= 0:
            churned = into[:, :, inp.churn_idx]  # (n, C)
            self.churn[:, t] = sums.churn
            self.churn_value_lost += (churned @ inp.margin) * self.remaining_df[t]
        self.margin[:, t] = sums.alive @ inp.margin
        self.loss_by_segment += loss_c @ self.seg_onehot
        self.loss_by_cohort += loss_c
        occ = np.zeros(inp.n_states)
        occ[inp.transient_idx] = weight @ sums.in_states
        self.occupancy[t] = occ
        self.occupancy[t, inp.default_idx] = weight @ self.defaults[:, t]
        if inp.churn_idx >= 0:
            self.occupancy[t, inp.churn_idx] = weight @ self.churn[:, t]
        if self.other.any():
            self.occupancy[t, self.other] = weight @ sums.others

    def output(self, factor: FactorPaths) -> BlockOutput:
        """Return the block's outputs, with the absorbing occupancy made cumulative."""
        absorbing = self.absorbing  # absorbing occupancy is cumulative
        self.occupancy[:, absorbing] = np.cumsum(self.occupancy[:, absorbing], axis=0)
        return BlockOutput(
            loss=self.loss,
            defaults=self.defaults,
            churn=self.churn,
            margin=self.margin,
            loss_by_segment=self.loss_by_segment,
            loss_by_cohort=self.loss_by_cohort,
            weight=factor.weight,
            draw=factor.draw,
            occupancy=self.occupancy,
            churn_value_lost=self.churn_value_lost,
        )


class _CountSums(NamedTuple):
    """A period's counts summed: per path and cohort, and per path and state."""

    defaults: Floats  # (n,) defaults of all cohorts
    alive: Floats  # (n, C) customers in a transient state, C order
    in_states: Floats  # (n, Kt) customers in each transient state, (Kt, n) in memory
    churn: Floats | None  # (n,) churners of all cohorts; None without a churn state
    others: Floats  # (n, Ko) customers in each other absorbing state, (Ko, n) in memory


def _count_sums(
    inp: KernelInputs,
    d_c: Floats,
    into: Floats,
    is_transient: Floats,
    other: NDArray[np.bool_],
    whole: bool,
) -> _CountSums:
    """Sum a period's defaults `d_c` (n, C) and arrivals `into` (n, C, K) over cohorts or states.

    Whole numbers below 2⁵³ (no large-pool cohort) sum exactly in any order, so they are summed
    by products and one einsum rather than by numpy's reduction over a short last axis (about a
    quarter of a microsecond per row): the customers alive in each cohort by one product with
    the 0/1 transient indicator — a matrix-vector product: OpenBLAS runs a matrix product this
    size on all cores, which doubled the CPU time — and those in each state by one einsum.
    Fractional counts are summed by numpy's reductions. Either way the per-state sums have
    (states, paths) in memory, the layout they have always had: their products with the weights
    round by layout, and results stay bit for bit what they were.
    """
    n, n_c, k = into.shape
    churn_idx = inp.churn_idx
    if not whole:
        counts = into[:, :, inp.transient_idx]  # (Kt, n, C) in memory
        return _CountSums(
            defaults=d_c.sum(axis=1),
            alive=counts.sum(axis=2),
            in_states=counts.sum(axis=1),
            churn=into[:, :, churn_idx].sum(axis=1) if churn_idx >= 0 else None,
            others=into[:, :, other].sum(axis=1),
        )
    alive = (np.ascontiguousarray(into).reshape(n * n_c, k) @ is_transient).reshape(n, n_c)
    by_state = np.einsum("nck->nk", into)
    return _CountSums(
        defaults=np.ascontiguousarray(d_c) @ np.ones(n_c),
        alive=alive,
        in_states=np.asfortranarray(by_state[:, inp.transient_idx]),
        churn=by_state[:, churn_idx] if churn_idx >= 0 else None,
        others=np.asfortranarray(by_state[:, other]),
    )
