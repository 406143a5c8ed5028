"""Large-pool cohorts pooled into units: a block's cost independent of the number of cohorts.

With ``approximation: large_pool`` a cohort of at least ``large_pool_min_customers`` customers
evolves by its conditional expectation given the factor path (`riskmodel.simulation.kernel`):
the share of its customers in each state moves by the conditional transition matrices of its
segment, which do not depend on the cohort. So every large-pool cohort of a segment that starts
in the same transient state follows the same *unit path*: the expected state shares of one
customer starting there. A cohort's occupancy is its customers times its unit's path, and every
output is a weighted sum of unit paths:

- defaults, churn and occupancy weigh the unit paths by the customers ``Σ_c n_c``;
- margin and the margin forgone by churners by ``Σ_c n_c margin_c``;
- the expected loss by the exposure ``Σ_c n_c ead_c``;
- the LGD noise by ``Σ_c n_c ead_c²`` (below).

From `POOL_MIN_COHORTS` large-pool cohorts a block runs on these units (one per segment and
start state), at a cost independent of the number of cohorts; with fewer, the kernel keeps its
per-cohort arrays and its numbers (every bundled scenario).

The LGD
-------
Per cohort the kernel draws the mean LGD of a cohort-period's ``D_c`` defaults as one Beta of
mean ``m_t`` and variance ``s_t² / max(D_c, 1)`` (moment-matched; ``m_t``, ``s_t`` the downturn
mean and clipped sd). Pooled, one Beta is drawn per path, segment and period for the segment's
loss ``A × L`` with ``A = f_t Σ_c D_c ead_c`` (the expected-LGD-free loss): its mean is
``m_t`` and its variance ``s_t² B / A²`` with ``B = f_t² Σ_c D_c ead_c²``, so the segment's loss
given the factor has the mean ``m_t A`` and the variance ``s_t² B`` of the sum of the
per-cohort draws (an effective number of defaults ``A² / B``, at least 1). Two differences from
the per-cohort draws, both confined to books of `POOL_MIN_COHORTS` large-pool cohorts or more:
the segment's loss is one Beta rather than a sum of independent Betas (same first two moments;
the per-cohort form is itself moment-matched), and a cohort whose expected defaults in a period
are below one contributes the variance of its fractional count, ``s² D_c``, where the per-cohort
form rounds the count up to one default. Each cohort's loss (``loss_by_cohort``) takes its
segment's draw: ``n_c ead_c Σ_t f_t d_u(t) L_s(t)``, so the cohorts add up to their segment.

The random stream: the block's exact cohorts are simulated first, over the whole horizon, as a
book of their own (`riskmodel.simulation.kernel.simulate_paths`), then the pooled LGD Betas period
by period. So the numbers of such a book differ from those of the per-cohort kernel (announced
by the ``large_pool_units`` attribute of the results); with a fixed LGD (sd 0) only the summation
order differs (tests/simulation/test_pooled.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from riskmodel.dynamics import downturn_lgd, remaining_discount
from riskmodel.simulation import kernel
from riskmodel.simulation.block_output import BlockOutput
from riskmodel.simulation.chains import ExactColumns
from riskmodel.simulation.kernel import KernelInputs, _evolve_pool, _Rates, simulate_paths
from riskmodel.simulation.merged import MergedCohorts
from riskmodel.simulation.qmc import FactorPaths
from riskmodel.simulation.sub_blocks import evolve_in_sub_blocks, sub_block_paths

__all__ = [
    "COHORT_FIELDS",
    "POOL_MIN_COHORTS",
    "PoolUnits",
    "kernel_cohorts",
    "pools",
    "simulate_block",
    "simulate_pooled",
]

Floats = NDArray[np.float64]
Index = NDArray[np.intp]

POOL_MIN_COHORTS = 1000
"""Large-pool cohorts from which a block runs on pooled units (module docstring).

Part of the reproducibility contract: below it the kernel's per-cohort numbers are kept.
"""

COHORT_FIELDS = ("cohort_segment", "cohort_state", "customers", "ead", "margin", "large_pool")
"""`KernelInputs` fields with one entry per cohort (the rest describe the book's model)."""

_CHUNK = 8192  # cohorts per slice when spreading the unit losses over the cohorts


def simulate_block(
    inp: KernelInputs, rng: np.random.Generator, n: int, **sampling: Any
) -> BlockOutput:
    """`riskmodel.simulation.kernel.simulate_block` at any number of cohorts.

    Simulates coinciding exact cohorts as one (`riskmodel.simulation.merged`), pools the
    large-pool cohorts if `pools`, and evolves the paths in sub-blocks when the block would hold
    too many (`riskmodel.simulation.sub_blocks`). `sampling` are the kernel's keywords
    (``z_mean``, ``eps``, ``z_prob``, ``tilt``).
    """
    merged = MergedCohorts.find(inp)
    if merged is not None:
        return merged.expand(simulate_block(merged.inputs(inp), rng, n, **sampling))
    evolve = simulate_pooled if pools(inp) else simulate_paths
    step = sub_block_paths(kernel_cohorts(inp), n)  # bounded memory (`sub_blocks`)
    return kernel.simulate_block(
        inp, rng, n, **sampling, evolve=partial(evolve_in_sub_blocks, evolve, step)
    )


def kernel_cohorts(inp: KernelInputs) -> int:
    """Cohorts the kernel keeps arrays for, per path: the exact ones if `pools`, else all."""
    return int(np.count_nonzero(~inp.large_pool)) if pools(inp) else len(inp.customers)


def pools(inp: KernelInputs) -> bool:
    """Whether a block of `inp` runs its large-pool cohorts as pooled units.

    Not with named exposures (``inp.names``): their row groups are arrays per cohort.
    """
    if getattr(inp, "names", None) is not None:
        return False
    return int(np.count_nonzero(inp.large_pool)) >= POOL_MIN_COHORTS


@dataclass(frozen=True)
class PoolUnits:
    """The pooled units of a book's large-pool cohorts: one per (segment, start state).

    ``inputs`` is the book's `KernelInputs` with the units as its cohorts (one customer each,
    all large-pool), so the kernel's large-pool step evolves them unchanged.
    """

    cohorts: Index  # (Cp,) the large-pool cohorts
    unit: Index  # (Cp,) unit of each
    scale: Floats  # (Cp,) n_c ead_c: the cohort's loss per unit of its unit's loss path
    customers: Floats  # (U,) Σ n_c
    exposure: Floats  # (U,) Σ n_c ead_c
    exposure_sq: Floats  # (U,) Σ n_c ead_c²
    margin: Floats  # (U,) Σ n_c margin_c
    segment_of: Floats  # (U, S) one-hot segment of each unit
    inputs: KernelInputs

    @classmethod
    def build(cls, inp: KernelInputs) -> PoolUnits:
        """Units of the large-pool cohorts of `inp`."""
        cohorts = np.flatnonzero(inp.large_pool)
        n_t = len(inp.transient_idx)
        key = inp.cohort_segment[cohorts] * n_t + inp.cohort_state[cohorts]
        keys, unit = np.unique(key, return_inverse=True)
        n = inp.customers[cohorts].astype(float)
        ead = inp.ead[cohorts]

        def total(values: Floats) -> Floats:
            out: Floats = np.bincount(unit, weights=values, minlength=len(keys)).astype(float)
            return out

        seg = (keys // n_t).astype(np.intp)
        segment_of = np.zeros((len(keys), inp.n_segments))
        segment_of[np.arange(len(keys)), seg] = 1.0
        units = _subset(inp, np.zeros(len(keys), dtype=np.intp))
        units = replace(
            units,
            cohort_segment=seg,
            cohort_state=(keys % n_t).astype(np.intp),
            customers=np.ones(len(keys), dtype=np.int64),
            large_pool=np.ones(len(keys), dtype=bool),
        )
        return cls(
            cohorts=cohorts,
            unit=unit.astype(np.intp),
            scale=n * ead,
            customers=total(n),
            exposure=total(n * ead),
            exposure_sq=total(n * ead * ead),
            margin=total(n * inp.margin[cohorts]),
            segment_of=segment_of,
            inputs=units,
        )


def _subset(inp: KernelInputs, keep: Index | NDArray[np.bool_]) -> KernelInputs:
    """`inp` restricted to the cohorts `keep` (positions or a mask)."""
    return replace(inp, **{name: getattr(inp, name)[keep] for name in COHORT_FIELDS})


def simulate_pooled(
    inp: KernelInputs, rng: np.random.Generator, factor: FactorPaths
) -> BlockOutput:
    """`riskmodel.simulation.kernel.simulate_paths` with the large-pool cohorts pooled.

    The exact cohorts are simulated first as a book of their own, then the pooled units; the
    block's outputs are their sums, and each cohort keeps its own loss (module docstring).
    """
    exact = np.flatnonzero(~inp.large_pool)
    units = PoolUnits.build(inp)
    out = simulate_paths(_subset(inp, exact), rng, factor)
    pool = _PoolRun.run(inp, units, rng, factor)
    n = len(factor.weight)
    loss_by_cohort = np.empty((n, len(inp.customers)))
    loss_by_cohort[:, exact] = out.loss_by_cohort
    for lo in range(0, len(units.cohorts), _CHUNK):
        part = slice(lo, lo + _CHUNK)
        cols = units.cohorts[part]
        loss_by_cohort[:, cols] = pool.unit_loss[:, units.unit[part]] * units.scale[part]
    return replace(
        out,
        loss=out.loss + pool.loss,
        defaults=out.defaults + pool.defaults,
        churn=out.churn + pool.churn,
        margin=out.margin + pool.margin,
        loss_by_segment=out.loss_by_segment + pool.loss_by_segment,
        loss_by_cohort=loss_by_cohort,
        occupancy=out.occupancy + pool.occupancy,
        churn_value_lost=out.churn_value_lost + pool.churn_value_lost,
    )


@dataclass
class _PoolRun:
    """The pooled units' outputs of a block, filled period by period."""

    loss: Floats  # (n, H)
    defaults: Floats  # (n, H)
    churn: Floats  # (n, H)
    margin: Floats  # (n, H)
    loss_by_segment: Floats  # (n, S)
    unit_loss: Floats  # (n, U) Σ_t f_t d_u(t) L_s(t): loss per unit of ead × customers
    occupancy: Floats  # (H, K), absorbing states cumulative
    churn_value_lost: Floats  # (n,)

    @classmethod
    def run(
        cls, inp: KernelInputs, units: PoolUnits, rng: np.random.Generator, factor: FactorPaths
    ) -> _PoolRun:
        """Evolve the units over the horizon and draw their segments' LGDs."""
        n, h, k = len(factor.weight), inp.horizon, inp.n_states
        u_inp = units.inputs
        n_u = len(units.customers)
        acc = cls(
            loss=np.zeros((n, h)),
            defaults=np.zeros((n, h)),
            churn=np.zeros((n, h)),
            margin=np.zeros((n, h)),
            loss_by_segment=np.zeros((n, inp.n_segments)),
            unit_loss=np.zeros((n, n_u)),
            occupancy=np.zeros((h, k)),
            churn_value_lost=np.zeros(n),
        )
        cols = ExactColumns.build(u_inp)
        rates = _Rates.build(u_inp, factor)
        share = np.zeros((n, n_u, len(inp.transient_idx)))
        share[:, np.arange(n_u), u_inp.cohort_state] = 1.0
        run_off = remaining_discount(inp.discount_factor)
        for t in range(h):
            pd_sr = rates.conditional_pd(u_inp, t)
            d, into = _evolve_pool(u_inp, cols, rates, t, share, pd_sr)
            share = into[:, :, inp.transient_idx]
            acc._record(inp, units, t, d.sum(axis=2), into, factor, rng, run_off[t])
        absorbing = np.ones(k, dtype=bool)
        absorbing[inp.transient_idx] = False
        acc.occupancy[:, absorbing] = np.cumsum(acc.occupancy[:, absorbing], axis=0)
        return acc

    def _record(
        self,
        inp: KernelInputs,
        units: PoolUnits,
        t: int,
        d_u: Floats,
        into: Floats,
        factor: FactorPaths,
        rng: np.random.Generator,
        run_off: float,
    ) -> None:
        """Add period `t`: unit defaults `d_u` (n, U) and arrivals `into` (n, U, K)."""
        f_t = inp.ead_factor[t]
        mean_loss = (d_u * units.exposure) @ units.segment_of * f_t  # A (n, S)
        spread = (d_u * units.exposure_sq) @ units.segment_of * f_t**2  # B (n, S)
        lgd = _segment_lgd(inp, rng, mean_loss, spread, factor.z, t)  # (n, S) or scalar
        loss_s = mean_loss * lgd
        self.loss[:, t] = loss_s.sum(axis=1)
        self.loss_by_segment += loss_s
        self.unit_loss += d_u * f_t * (lgd @ units.segment_of.T if np.ndim(lgd) else lgd)
        self.defaults[:, t] = d_u @ units.customers
        arrived = np.einsum("nuk,u->nk", into, units.customers)  # (n, K) customers per state
        self.margin[:, t] = into[:, :, inp.transient_idx].sum(axis=2) @ units.margin
        occ = factor.weight @ arrived
        occ[inp.default_idx] = factor.weight @ self.defaults[:, t]
        if inp.churn_idx >= 0:
            churned = into[:, :, inp.churn_idx]
            self.churn[:, t] = arrived[:, inp.churn_idx]
            self.churn_value_lost += (churned @ units.margin) * run_off
        self.occupancy[t] = occ


def _segment_lgd(
    inp: KernelInputs,
    rng: np.random.Generator,
    mean_loss: Floats,
    spread: Floats,
    z: Floats,
    t: int,
) -> Floats | float:
    """Mean LGD of each path's and segment's defaults in period `t` (module docstring).

    `mean_loss` (A) and `spread` (B) are (n, S); the Beta has mean ``m_t`` and variance
    ``s_t² B / A²``, drawn where ``A > 0``; shape (n, S), or the mean LGD itself when it is fixed.
    """
    if inp.lgd_sensitivity > 0:
        z_t = z[:, t] if inp.segment_factor is None else z[:, t][:, inp.segment_factor]
        m = downturn_lgd(inp.lgd_mean, inp.lgd_sensitivity, z_t)
        m = np.array(np.broadcast_to(m[:, None] if m.ndim == 1 else m, mean_loss.shape))
    elif inp.lgd_sd <= 0:
        return inp.lgd_mean
    else:
        m = np.full(mean_loss.shape, inp.lgd_mean)
    if inp.lgd_sd <= 0:
        return m
    var = m * (1.0 - m)
    hit = (mean_loss > 0) & (var > 0)
    if hit.any():
        mh = m[hit]
        sd: Floats | float = inp.lgd_sd
        if inp.lgd_sensitivity > 0:  # clipped so that the Beta exists (as the kernel's `_lgd`)
            sd = np.minimum(inp.lgd_sd, 0.99 * np.sqrt(var[hit]))
        kappa = var[hit] / sd**2 - 1.0
        defaults = np.maximum(mean_loss[hit] ** 2 / spread[hit], 1.0)  # effective count A² / B
        kd = defaults * (kappa + 1.0) - 1.0
        m[hit] = rng.beta(mh * kd, (1.0 - mh) * kd)
    return m
