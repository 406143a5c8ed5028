"""The kernel's per-path outputs of a block: accumulated period by period, then returned.

`Accumulators` holds a block's outputs while `riskmodel.simulation.kernel` runs its periods:
per path and period the loss, defaults, churn and margin, per path the loss by segment and by
cohort and the discounted margin forgone by churners, and the importance-weighted occupancy per
period and state. `BlockOutput` is what a block returns to the backends.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

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

        `whole` says that the counts are whole numbers (no large-pool cohort), so that their sums
        are exact in any order: they are taken by products with 0/1 vectors and by one einsum
        rather than by numpy's reduction over a short last axis (about a quarter of a microsecond
        per row), each in the memory layout the slice-by-slice sum `_sum` gives it, so that the
        products with the weights round as before.
        """
        n, n_c, k = into.shape
        if whole and into.flags.c_contiguous:
            # the customers alive in each cohort by one product with the 0/1 transient indicator
            # (a matrix-vector product: OpenBLAS runs a matrix product this size on all cores,
            # doubling the CPU time), those in each state by one einsum
            alive = (into.reshape(n * n_c, k) @ self.is_transient).reshape(n, n_c)
            by_state = np.einsum("nck->nk", into)
            in_states = np.asfortranarray(by_state[:, inp.transient_idx])  # as `_sum(counts, 1)`
        else:
            counts = into[:, :, inp.transient_idx]
            alive, in_states, by_state = _sum(counts, 2, whole), _sum(counts, 1, whole), None
        loss_c = d_c * (inp.ead * inp.ead_factor[t]) * lgd  # (n, C)
        self.loss[:, t] = loss_c.sum(axis=1)
        self.defaults[:, t] = _sum(d_c, 1, whole)
        if inp.churn_idx >= 0:
            churned = into[:, :, inp.churn_idx]  # (n, C)
            i_churn = inp.churn_idx
            self.churn[:, t] = _sum(churned, 1, whole) if by_state is None else by_state[:, i_churn]
            self.churn_value_lost += (churned @ inp.margin) * self.remaining_df[t]
        self.margin[:, t] = alive @ inp.margin
        self.loss_by_segment += loss_c @ self.seg_onehot
        self.loss_by_cohort += loss_c
        occ = np.zeros(inp.n_states)
        occ[inp.transient_idx] = weight @ in_states
        self.occupancy[t] = occ
        self.occupancy[t, inp.default_idx] = weight @ self.defaults[:, t]
        if inp.churn_idx >= 0:
            self.occupancy[t, inp.churn_idx] = weight @ self.churn[:, t]
        if self.other.any():
            others = (
                _sum(into[:, :, self.other], 1, whole)
                if by_state is None
                else np.asfortranarray(by_state[:, self.other])
            )
            self.occupancy[t, self.other] = weight @ others

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


def _sum(a: Floats, axis: int, whole: bool) -> Floats:
    """``a.sum(axis)``; for whole numbers (exact in any order) by adding slices or by BLAS.

    numpy's reduction over a short last axis costs about a quarter of a microsecond per row.
    Whole numbers below 2⁵³ sum exactly in any order, so they are summed by adding slices along
    `axis`, or by a product with ones where the summed axis is contiguous in memory. Either way
    the result has the values and the memory layout of the sum of slices (later products with
    the weights round by layout).
    """
    if not whole or a.shape[axis] < 2:
        total: Floats = a.sum(axis=axis)
        return total
    if axis == a.ndim - 2 and a.ndim == 3 and a.transpose(2, 0, 1).flags.c_contiguous:
        # the layout of a fancy index on the last axis, (K, n, C) in memory: one product over
        # the contiguous C; (K, n) transposed is the layout the slices' sum has
        k, n, c = a.shape[2], a.shape[0], a.shape[1]
        by_row: Floats = a.transpose(2, 0, 1).reshape(k * n, c) @ np.ones(c)
        return by_row.reshape(k, n).T
    if axis == a.ndim - 1 and a.flags.c_contiguous:  # contiguous rows: one product with ones
        rows: Floats = a.reshape(-1, a.shape[-1]) @ np.ones(a.shape[-1])
        return rows.reshape(a.shape[:-1])
    parts = np.moveaxis(a, axis, 0)
    out: Floats = np.add(parts[0], parts[1])  # `a`'s memory order, as `a.sum`
    for part in parts[2:]:
        out += part
    return out
