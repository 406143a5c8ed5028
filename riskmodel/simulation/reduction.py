"""What a run keeps of one block: the reduction every backend applies before storing.

A block's (path, period) outputs are either kept whole (``simulation.keep: paths``) or reduced to
per-path totals, discounted totals and per-period weighted sums (``keep: totals``). The same
`reduce_block` runs in this process and in a Dask worker, and adds in a fixed order, so the
backend never changes the bits. `riskmodel.simulation.store` stores the reduced blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from riskmodel.simulation.block_output import BlockOutput
from riskmodel.simulation.kpi import kpi_array

__all__ = ["PER_PATH", "PER_PERIOD", "BlockSummary", "Reduction", "reduce_block"]

FloatArray = NDArray[np.float64]


PER_PERIOD = ("loss", "defaults", "churn", "margin")
"""Per-path, per-period outputs; with ``simulation.keep: totals`` only their per-path totals
(plain and discounted) and per-period weighted means are kept."""


@dataclass(frozen=True)
class Reduction:
    """How a block's outputs are reduced before they are stored: what `reduce_block` needs.

    Small and picklable: a Dask backend sends it to the workers once, so each block is reduced
    where it was simulated and only what the store keeps travels back.
    """

    keep: str  # "paths": every (path, period) output; "totals": per-path totals
    discount: FloatArray  # (H,) discount factor of each period
    alerts: tuple[tuple[str, str, float], ...] = ()  # (name, metric, threshold), totals runs
    total_customers: float = 0.0


@dataclass(frozen=True)
class BlockSummary:
    """What the store keeps of one block: per-path rows and per-block sums (see `reduce_block`)."""

    per_path: dict[str, NDArray[Any]]  # variable -> (n, ...) rows of the block's paths
    occupancy: FloatArray  # (H, K) weighted customers per state at period end
    period_sums: FloatArray | None = None  # (variable, period) weighted sums (totals runs)
    alert_sums: FloatArray | None = None  # (alert, 2, period) sums of w·1{...} and its square


def reduce_block(out: BlockOutput, reduction: Reduction) -> BlockSummary:
    """Reduce one block's outputs to what a run keeps; the same code in every backend.

    With ``keep="paths"`` nothing is reduced (the per-period outputs are kept). With
    ``keep="totals"`` the (path, period) outputs become per-path totals, discounted totals and
    per-period weighted sums. Every sum runs in a fixed order, element by element (no BLAS
    product), so a block reduced in a Dask worker gives the bits it gives in this process, and a
    discounted total equals `path_total` of the kept paths bit for bit.
    """
    per_path: dict[str, NDArray[Any]] = {name: getattr(out, name) for name in PER_PATH}
    if reduction.keep == "paths":
        per_path.update({name: getattr(out, name) for name in PER_PERIOD})
        return BlockSummary(per_path=per_path, occupancy=out.occupancy)
    weight = out.weight[:, None]
    sums = []
    for name in PER_PERIOD:
        values = getattr(out, name)
        per_path[name] = values.sum(axis=1)
        per_path[f"{name}_discounted"] = _discount_rows(values, reduction.discount)
        sums.append((weight * values).sum(axis=0))
    alert_sums = None
    if reduction.alerts:
        alert_sums = np.stack(
            [
                _alert_sums(out, metric, threshold, reduction)
                for _, metric, threshold in reduction.alerts
            ]
        )
    return BlockSummary(
        per_path=per_path,
        occupancy=out.occupancy,
        period_sums=np.stack(sums),
        alert_sums=alert_sums,
    )


def _discount_rows(values: FloatArray, discount: FloatArray) -> FloatArray:
    """``sum_t values[:, t] * discount[t]``, added period by period (fixed order, no BLAS)."""
    total = np.zeros(values.shape[0])
    for t, factor in enumerate(discount):
        total += values[:, t] * factor
    return total


def _alert_sums(
    out: BlockOutput, metric: str, threshold: float, reduction: Reduction
) -> FloatArray:
    kpi = kpi_array(metric, out.loss, out.defaults, out.churn, reduction.total_customers)
    hit = out.weight[:, None] * (kpi > threshold)
    return np.stack([hit.sum(axis=0), np.square(hit).sum(axis=0)])


PER_PATH = ("loss_by_segment", "loss_by_cohort", "weight", "draw", "churn_value_lost")
"""Per-path outputs every run keeps, whatever ``simulation.keep``."""
