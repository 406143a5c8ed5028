"""Exact cohorts that coincide are simulated as one cohort: fewer draws, the same model.

Two exact cohorts of the same segment, in the same state today, with the same exposure and
margin per customer follow the same transition rows, correlation and LGD. Their customers are
exchangeable, so the book with both is the book with one cohort holding all their customers:
per period the sum of two independent ``Binomial(n_A, p)`` and ``Binomial(n_B, p)`` given the
factor is ``Binomial(n_A + n_B, p)``, and so on down the chain. `MergedCohorts` finds such groups
and the engine simulates each group as one cohort, drawing one chain instead of one per cohort.
Every output summed over cohorts (losses, defaults, churn, margin, occupancy, value lost to
churn, loss by segment) is then exactly the combined book's; the LGD of the group's defaults is
the kernel's moment-matched Beta over all of them, which has the same conditional mean and
variance as the cohorts' LGDs drawn apart.

Each cohort's own column of ``loss_by_cohort`` is its group's loss times its share of the group's
customers. That is exact for what the column is used for, expectations and contributions given
the total loss (Euler allocation: by exchangeability, ``E[L_A | L] = share_A · E[L_group | L]``),
but the columns of one group are proportional path by path, so they are not the cohorts'
separate loss distributions. Results record how many cohorts were merged into others
(``attrs["merged_cohorts"]``; 0: none); the rule came with reproducibility version 2
(`riskmodel.simulation.plan.REPRODUCIBILITY_VERSION`). The bundled books have none.

Named exposures (each its own default rows and LGD) and large-pool cohorts are never merged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from riskmodel.simulation.block_output import BlockOutput
    from riskmodel.simulation.kernel import KernelInputs

__all__ = ["MergedCohorts", "merged_cohorts"]

Floats = NDArray[np.float64]
Index = NDArray[np.intp]

_PER_COHORT = ("cohort_segment", "cohort_state", "ead", "margin")  # equal within a group


@dataclass(frozen=True)
class MergedCohorts:
    """Groups of coinciding exact cohorts: the first of each group stands for all of it."""

    keep: Index  # (G,) the cohort that stands for each group, in the book's order
    group: Index  # (C,) position in `keep` of each cohort's group
    share: Floats  # (C,) the cohort's customers / its group's customers

    @classmethod
    def find(cls, inp: KernelInputs) -> MergedCohorts | None:
        """Find the groups of `inp`; None when no two cohorts coincide (nothing to merge)."""
        n = len(inp.customers)
        if inp.names is not None or n < 2:
            return None
        key = np.column_stack(
            [np.asarray(getattr(inp, name), dtype=np.float64) for name in _PER_COHORT]
        )
        # a large-pool cohort is never merged: its own index makes its key unique
        own = np.where(inp.large_pool, np.arange(n), -1).astype(np.float64)
        _, first, inverse = np.unique(
            np.column_stack([key, own]), axis=0, return_index=True, return_inverse=True
        )
        if len(first) == n:
            return None
        order = np.argsort(first, kind="stable")  # groups in the order of their first cohort
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        group = rank[inverse.ravel()].astype(np.intp)
        keep = np.sort(first).astype(np.intp)
        customers = np.asarray(inp.customers, dtype=np.float64)
        total = np.bincount(group, weights=customers, minlength=len(keep))
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total[group] > 0, customers / total[group], 0.0)
        # an empty group's loss is 0: its first cohort takes the (zero) column
        share[keep[total == 0]] = 1.0
        return cls(keep=keep, group=group, share=share)

    @property
    def merged_away(self) -> int:
        """Cohorts merged into another one."""
        return len(self.group) - len(self.keep)

    def inputs(self, inp: KernelInputs) -> KernelInputs:
        """`inp` with each group as one cohort holding all of its customers."""
        customers = np.bincount(self.group, weights=inp.customers, minlength=len(self.keep))
        return replace(
            inp,
            customers=np.rint(customers).astype(inp.customers.dtype),
            large_pool=inp.large_pool[self.keep],
            **{name: getattr(inp, name)[self.keep] for name in _PER_COHORT},
        )

    def expand(self, out: BlockOutput) -> BlockOutput:
        """Return the merged book's outputs with ``loss_by_cohort`` back on the book's cohorts."""
        return replace(out, loss_by_cohort=out.loss_by_cohort[:, self.group] * self.share)


def merged_cohorts(inp: KernelInputs) -> int:
    """Return the number of cohorts of `inp` merged into another one (0: none)."""
    found = MergedCohorts.find(inp)
    return 0 if found is None else found.merged_away
