"""The exact cohort kernel: one block of paths, all periods, all cohorts, in numpy.

Each cohort is a homogeneous group of customers evolving as its own Markov chain. Per period
and per transient origin state the kernel draws the *counts* moving to each destination, so the
cost depends on the number of cohorts, states, periods and paths, never on the number of
customers.

Per period ``t`` and path, with systematic factor ``Z_t``:

1. Defaults from origin ``i``: ``D_i ~ Binomial(n_i, p_i(Z_t))`` with the one-factor
   conditional PD ``p_i(Z) = Φ((Φ⁻¹(p_i) − √ρ Z) / √(1 − ρ))``.
2. The ``n_i − D_i`` survivors split over the other destinations with the row's remaining
   probabilities rescaled to sum to one: ``p_ij / (1 − p_i)``. Rescaling is proportional, so these
   conditional probabilities do not depend on ``Z`` and are precomputed. The multinomial is drawn
   as a chain of binomials in a fixed destination order, skipping destinations that are
   structurally zero and leaving the stay destination as the remainder (no draw).
3. Loss of cohort ``c``: ``D_c × EAD_c × f_t × LGD`` with the amortisation factor
   ``f_t = Π_{u≤t} (1 − a_u)``. With a Beta LGD (mean m, sd s, concentration
   κ = m(1−m)/s² − 1) the mean LGD over the ``D`` defaults of a cohort-period is drawn in one go as
   ``Beta(m κ_D, (1 − m) κ_D)`` with ``κ_D = D(κ + 1) − 1``. This is exact for ``D = 1`` and
   matches the mean and variance of the average of ``D`` independent Beta(mκ, (1−m)κ) draws for
   every ``D`` (moment-matched; the exact sum of Betas has no closed form). Bounds [0, 1] are kept.
   With a downturn LGD (sensitivity ``b > 0``) the mean of period ``t`` is
   ``m_t(Z) = Φ(Φ⁻¹(m) − b Z_t)`` per path, and the sd is clipped to ``0.99 √(m_t (1 − m_t))``
   so that the Beta exists.
4. Margin: customers in transient states at the end of the period earn their per-customer margin.
5. Value lost to churn: each customer churning in period ``t`` forgoes its margin per period
   over the rest of the horizon, discounted: ``churned_ct × margin_c × Σ_{u=t}^{H} df_u``
   (the run-off of the lost margin as if the churner had stayed; it ignores that the churner
   might later have defaulted or churned anyway, so it is an upper bound of the survival-
   weighted loss of value). Summed per path over periods and cohorts.

Random numbers are drawn in a fixed order from the block's own generator, so a block's output
depends only on (seed, block index, block length): first the factor paths and posterior draws
(`riskmodel.simulation.qmc.sample_factor`), then per period the default counts of every
(path, cohort, origin) in that order, the chain's steps one after the other, and the LGD Betas.

Draws whose outcome is certain are not made (``n = 0`` or ``p = 0``: numpy consumes no random
number for them, so the stream stays bit-identical); `riskmodel.simulation.chains` draws the exact
cohorts' chains that way. The chains and the LGD Betas run in the compiled kernel
(`riskmodel.simulation._chains_c`, chosen by `riskmodel.simulation.compiled`) when it is built:
numpy's own samplers in the same order on the same generator, so the same numbers as the numpy
code here. ``benchmarks/engine.py`` counts the variates a run draws and times the
same draws as bulk numpy calls: the bound of exact sampling, against which it reports the
engine's efficiency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from riskmodel.dynamics import (
    conditional_pd_scaled,
    downturn_lgd,
)
from riskmodel.simulation.block_output import Accumulators, BlockOutput
from riskmodel.simulation.chains import ExactColumns, draw_exact, prepare_transitions
from riskmodel.simulation.compiled import kernel_for
from riskmodel.simulation.factors import cohort_factor
from riskmodel.simulation.qmc import FactorPaths, sample_factor

if TYPE_CHECKING:  # importance.py and names.py import this module
    from riskmodel.simulation.importance import FactorTilt
    from riskmodel.simulation.names import NameArrays

__all__ = [
    "BlockOutput",
    "KernelInputs",
    "prepare_transitions",
    "simulate_block",
    "simulate_paths",
]

Floats = NDArray[np.float64]
Counts = NDArray[np.int64]
Index = NDArray[np.intp]


@dataclass(frozen=True)
class KernelInputs:
    """Plain arrays the kernel needs; picklable, so it travels with tasks to remote workers.

    Shapes: C cohorts, S segments, K states, Kt transient states, D parameter draws, T periods of
    parameters (1 for time-invariant, else the horizon H), J destination steps.
    """

    horizon: int
    n_states: int
    transient_idx: Index  # (Kt,) positions of transient states in the state list
    default_idx: int
    churn_idx: int  # -1 if no churn state
    cohort_segment: Index  # (C,) segment index
    cohort_state: Index  # (C,) transient position (index into transient_idx)
    customers: Counts  # (C,) int64
    ead: Floats  # (C,) exposure per customer
    margin: Floats  # (C,) margin per customer per period
    n_segments: int
    probit_pd: Floats  # (D, T, S, Kt) Φ⁻¹ of the default probability of each transient row
    seq_prob: Floats  # (D, T, S, Kt, J) sequential conditional probabilities of survivors
    dest: Index  # (Kt, J + 1) destination state of each step; last column = remainder
    surv_prob: Floats  # (D, T, S, Kt, K) survivors' destination probabilities (large pool)
    large_pool: NDArray[np.bool_]  # (C,) bool: cohorts evolved by the large-pool approximation
    correlation: Floats  # (D,); with sector factors (D, S), one per segment
    shift: Floats  # (H,); with sector factors (H, F)
    lgd_mean: float
    lgd_sd: float
    transitions_mean: Floats  # (T, S, K, K) mean over draws (for importance-sampling design)
    ead_factor: Floats  # (H,) exposure of period t as a fraction of today's (amortisation)
    lgd_sensitivity: float  # downturn LGD: b in m_t(Z) = Φ(Φ⁻¹(m) − b Z_t); 0 = no downturn
    discount_factor: Floats  # (H,) discount factor of each period
    # sector factors (`riskmodel.scenarios.factors`); None for the one-factor model
    factor_root: Floats | None = None  # (F, F) L with L Lᵀ = factor correlation
    segment_factor: Index | None = None  # (S,) factor of each segment
    # named exposures (`riskmodel.simulation.names`): their own default rows and fixed LGDs
    names: NameArrays | None = None

    @property
    def n_draws(self) -> int:
        """Number of parameter draws D."""
        return int(self.probit_pd.shape[0])

    @property
    def n_factors(self) -> int:
        """Number of systematic factors F (1 for the one-factor model)."""
        return 1 if self.factor_root is None else int(self.factor_root.shape[0])


def simulate_block(
    inp: KernelInputs,
    rng: np.random.Generator,
    n: int,
    *,
    z_mean: np.ndarray | None = None,
    eps: np.ndarray | None = None,
    z_prob: np.ndarray | None = None,
    tilt: FactorTilt | None = None,
    evolve: Callable[[KernelInputs, np.random.Generator, FactorPaths], BlockOutput] | None = None,
) -> BlockOutput:
    """Simulate `n` paths over the whole horizon: sample the factor paths, then evolve the cohorts.

    Parameters
    ----------
    inp : KernelInputs
    rng : numpy.random.Generator
        The block's own generator.
    n : int
        Number of paths in the block.
    z_mean : array, shape (H,) or (M, H), optional
        Importance-sampling mean shift of the factor, or the means of a defensive mixture drawn
        with probabilities `z_prob` (see `riskmodel.simulation.qmc.sample_factor`); the
        likelihood ratio is returned in ``weight``. None means plain Monte Carlo.
    eps : array, shape (n, H), optional
        Standard-normal innovations of the factor (e.g. from a scrambled Sobol' sequence); by
        default they are the first draws of `rng`.
    z_prob : array, shape (M,), optional
        Mixture probabilities (with a 2-d `z_mean`).
    tilt : FactorTilt, optional
        Per-period exponential tilt of the factor (`riskmodel.simulation.importance`); it maps
        `eps` to the tilted innovations and gives the weights. Excludes `z_mean`.
    evolve : callable, optional
        Evolves the cohorts given the factor paths; default `simulate_paths`
        (`riskmodel.simulation.pooled.simulate_block` passes its pooled units).

    Returns
    -------
    BlockOutput
    """
    factor = sample_factor(
        inp.shift,
        inp.n_draws,
        rng,
        n,
        eps=eps,
        z_mean=z_mean,
        z_prob=z_prob,
        tilt=tilt,
        root=inp.factor_root,
    )
    return (evolve or simulate_paths)(inp, rng, factor)


def simulate_paths(inp: KernelInputs, rng: np.random.Generator, factor: FactorPaths) -> BlockOutput:
    """Evolve every cohort of a block over the horizon given its factor paths and draws.

    Parameters
    ----------
    inp : KernelInputs
    rng : numpy.random.Generator
        The block's generator, after the factor paths were drawn from it.
    factor : FactorPaths
        Factor, weight and posterior draw of each path (`riskmodel.simulation.qmc.sample_factor`).

    Returns
    -------
    BlockOutput
    """
    n = len(factor.weight)
    rows = inp if inp.names is None else inp.names.view(inp)  # names' own default rows
    cols = ExactColumns.build(rows)
    rates = _Rates.build(rows, factor)
    acc = Accumulators.zeros(inp, n)
    n_t, k = len(inp.transient_idx), inp.n_states
    start = np.zeros((n, len(inp.customers), n_t))
    start[:, np.arange(len(inp.customers)), inp.cohort_state] = inp.customers
    cnt = start[:, cols.exact].astype(np.int64).reshape(n, -1)
    pool_counts = start[:, cols.pool]
    d_full = np.zeros((n, len(inp.customers), n_t))
    into = np.zeros((n, len(inp.customers), k))
    for t in range(inp.horizon):
        pd_sr = rates.conditional_pd(rows, t)
        d_e, into_int = draw_exact(cols, rng, cnt, pd_sr, rates.seq(rows, t))
        into_e = into_int.reshape(n, -1, k)
        cnt = np.take(into_e, inp.transient_idx, axis=2).reshape(n, -1)  # C order: a view
        if cols.all_exact:
            d_c = d_e.astype(np.float64)
            into = into_e.astype(np.float64)
        else:
            d_full[:, cols.exact] = 0.0
            d_full[:, cols.exact, 0] = d_e  # integer counts: any split over origins sums the same
            into[:, cols.exact] = into_e
            d_p, into_p = _evolve_pool(rows, cols, rates, t, pool_counts, pd_sr)
            d_full[:, cols.pool] = d_p
            into[:, cols.pool] = into_p
            pool_counts = into_p[:, :, inp.transient_idx]
            d_c = d_full.sum(axis=2)
        lgd = _cohort_lgd(inp, rng, d_c, cohort_factor(inp, factor.z, t))
        acc.record(inp, t, d_c, lgd, into, factor.weight, whole=cols.all_exact)
    return acc.output(factor)


@dataclass
class _Rates:
    """The block's per-path correlation terms and parameter-draw lookups."""

    z: Floats  # (n, H), or (n, H, F) with sector factors
    draw: Index  # (n,)
    sqrt_rho: Floats  # (n, 1) or (1, 1); with sector factors (n or 1, S·Kt)
    inv_sqrt_1mrho: Floats  # as sqrt_rho
    col_factor: Index | None = None  # (S·Kt,) factor of each (segment, origin) column

    @classmethod
    def build(cls, inp: KernelInputs, factor: FactorPaths) -> _Rates:
        """Per-path √ρ and 1/√(1 − ρ) of the paths' parameter draws (and segments)."""
        rho = inp.correlation[factor.draw] if inp.n_draws > 1 else inp.correlation[:1]
        if inp.segment_factor is None:
            return cls(
                z=factor.z,
                draw=factor.draw,
                sqrt_rho=np.sqrt(rho)[:, None],
                inv_sqrt_1mrho=(1.0 / np.sqrt(1.0 - rho))[:, None],
            )
        col_seg = np.repeat(np.arange(inp.n_segments), len(inp.transient_idx))
        rho = rho[:, col_seg]
        return cls(
            z=factor.z,
            draw=factor.draw,
            sqrt_rho=np.sqrt(rho),
            inv_sqrt_1mrho=1.0 / np.sqrt(1.0 - rho),
            col_factor=inp.segment_factor[col_seg],
        )

    def conditional_pd(self, inp: KernelInputs, t: int) -> Floats:
        """``p(Z_t)`` of every path and (segment, origin), shape (n, S·Kt)."""
        tt = t if inp.probit_pd.shape[1] > 1 else 0
        if inp.n_draws > 1:
            a = inp.probit_pd[self.draw, tt].reshape(len(self.draw), -1)
        else:
            a = inp.probit_pd[0, tt].reshape(1, -1)
        z_t = self.z[:, t, None] if self.col_factor is None else self.z[:, t][:, self.col_factor]
        return conditional_pd_scaled(a, self.sqrt_rho, self.inv_sqrt_1mrho, z_t)

    def seq(self, inp: KernelInputs, t: int) -> Floats:
        """Chain-step probabilities of the survivors, shape (n or 1, S·Kt, J)."""
        tt = t if inp.seq_prob.shape[1] > 1 else 0
        j = inp.seq_prob.shape[-1]
        rows = inp.n_segments * inp.seq_prob.shape[3]
        seq: Floats = (
            inp.seq_prob[self.draw, tt].reshape(len(self.draw), rows, j)
            if inp.n_draws > 1
            else inp.seq_prob[0, tt].reshape(1, rows, j)
        )
        return seq


def _evolve_pool(
    inp: KernelInputs,
    cols: ExactColumns,
    rates: _Rates,
    t: int,
    counts: Floats,
    pd_sr: Floats,
) -> tuple[Floats, Floats]:
    """Large-pool cohorts: the expected split given the factor, no idiosyncratic noise.

    Returns the defaults (n, Cp, Kt) and the customers moved into each state (n, Cp, K).
    """
    tt = t if inp.surv_prob.shape[1] > 1 else 0
    seg = inp.cohort_segment[cols.pool]
    if inp.n_draws > 1:
        surv = inp.surv_prob[rates.draw, tt][:, seg]
    else:
        surv = inp.surv_prob[0, tt][seg][None]
    d_p = counts * pd_sr[:, cols.pool_sr]
    surv = np.broadcast_to(surv, (counts.shape[0], *surv.shape[1:]))
    return d_p, np.einsum("nck,nckj->ncj", counts - d_p, surv)


def _cohort_lgd(
    inp: KernelInputs, rng: np.random.Generator, d_c: Floats, z_t: Floats
) -> Floats | float:
    """`_lgd`, with the fixed LGD of the names that have their own (no Beta drawn for them)."""
    fixed = None if inp.names is None else inp.names.lgd
    if fixed is None:
        return _lgd(inp, rng, d_c, z_t)
    own, value = fixed
    lgd = _lgd(inp, rng, np.where(own, 0.0, d_c), z_t)
    return np.where(own, value, lgd)


def _lgd(inp: KernelInputs, rng: np.random.Generator, d_c: Floats, z_t: Floats) -> Floats | float:
    """Return the LGD of each path and cohort in a period: the mean over its defaults."""
    if inp.lgd_sensitivity > 0:
        return _downturn_lgd(inp, rng, d_c, downturn_lgd(inp.lgd_mean, inp.lgd_sensitivity, z_t))
    if inp.lgd_sd <= 0:
        return inp.lgd_mean
    kappa = inp.lgd_mean * (1.0 - inp.lgd_mean) / inp.lgd_sd**2 - 1.0
    compiled = kernel_for(rng)
    if compiled is not None:  # the same numbers (riskmodel.simulation._chains_c.lgd_betas)
        lgd = np.empty(d_c.shape)
        mean = np.full((1, 1), inp.lgd_mean)
        compiled.lgd_betas(rng, _floats(d_c), mean, inp.lgd_sd, kappa + 1.0, False, lgd)
        return lgd
    lgd = np.full(d_c.shape, inp.lgd_mean)
    hit = d_c > 0
    if hit.any():
        # large-pool cohorts can have fractional defaults below 1: use the D = 1 Beta
        kd = np.maximum(d_c[hit], 1.0) * (kappa + 1.0) - 1.0
        lgd[hit] = rng.beta(inp.lgd_mean * kd, (1.0 - inp.lgd_mean) * kd)
    return lgd


def _downturn_lgd(inp: KernelInputs, rng: np.random.Generator, d_c: Floats, mean: Floats) -> Floats:
    """LGD per path and cohort with the downturn mean ``m_t(Z)``, shape (n,) or (n, C).

    The mean is per cohort when each cohort follows its segment's factor. The sd is clipped
    to ``0.99 √(m_t (1 − m_t))`` so that the Beta exists; elementwise, so a mean per path gives
    the same numbers as that mean repeated over the cohorts.
    """
    per_path = mean[:, None] if mean.ndim == 1 else mean  # (n, 1) or (n, C)
    lgd = np.empty(d_c.shape)
    compiled = kernel_for(rng) if inp.lgd_sd > 0 else None
    if compiled is not None:  # the same numbers (riskmodel.simulation._chains_c.lgd_betas)
        compiled.lgd_betas(rng, _floats(d_c), _floats(per_path), inp.lgd_sd, np.nan, True, lgd)
        return lgd
    lgd[...] = per_path
    if inp.lgd_sd <= 0:
        return lgd
    # the Beta's parameters once per path (or per path and cohort), then where defaults fall
    var = per_path * (1.0 - per_path)
    hit = (d_c > 0) & (var > 0)
    if hit.any():
        with np.errstate(divide="ignore", invalid="ignore"):  # var = 0: no Beta drawn there
            sd = np.minimum(inp.lgd_sd, 0.99 * np.sqrt(var))
            one_kappa = np.empty(d_c.shape)
            one_kappa[...] = 1.0 + (var / sd**2 - 1.0)
        m = lgd[hit]
        kd = np.maximum(d_c[hit], 1.0) * one_kappa[hit] - 1.0  # (as `_lgd`)
        lgd[hit] = rng.beta(m * kd, (1.0 - m) * kd)
    return lgd


def _floats(a: Floats) -> Floats:
    """Return `a` as a C-contiguous float64 array (no copy if it is one)."""
    return np.ascontiguousarray(a, dtype=np.float64)
