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

Draws whose outcome is certain are not made. A binomial with ``n = 0`` or ``p = 0`` is 0 and
numpy's generator consumes no random number for it, so leaving it out of a call keeps the stream,
and every later draw, bit-identical: per period the kernel draws only the (cohort, origin) columns
holding customers on some path of the block (a cohort never enters an origin its rows cannot
reach, e.g. ``new`` from ``mature``), only the default draws of origins whose default probability
is not 0 in every parameter draw, and only the chain steps of destinations not structurally
zero. The stay destination is the remainder. ``benchmarks/engine.py`` counts the variates a run
draws and times the same draws as bulk numpy calls: the bound of exact sampling, against which
it reports the engine's efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from riskmodel.dynamics import (
    conditional_pd_scaled,
    downturn_lgd,
    remaining_discount,
    survivor_shares,
)
from riskmodel.simulation.qmc import FactorPaths, sample_factor

if TYPE_CHECKING:  # importance.py imports this module
    from riskmodel.simulation.importance import FactorTilt

__all__ = ["BlockOutput", "KernelInputs", "simulate_block", "simulate_paths"]

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
    correlation: Floats  # (D,)
    shift: Floats  # (H,)
    lgd_mean: float
    lgd_sd: float
    transitions_mean: Floats  # (T, S, K, K) mean over draws (for importance-sampling design)
    ead_factor: Floats  # (H,) exposure of period t as a fraction of today's (amortisation)
    lgd_sensitivity: float  # downturn LGD: b in m_t(Z) = Φ(Φ⁻¹(m) − b Z_t); 0 = no downturn
    discount_factor: Floats  # (H,) discount factor of each period

    @property
    def n_draws(self) -> int:
        """Number of parameter draws D."""
        return int(self.probit_pd.shape[0])


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


def prepare_transitions(
    transitions: np.ndarray, transient_idx: np.ndarray, default_idx: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precompute the kernel's transition arrays from full matrices.

    Parameters
    ----------
    transitions : array, shape (D, T, S, K, K)
        Row-stochastic matrices.

    Returns
    -------
    probit_pd : (D, T, S, Kt)
    seq_prob : (D, T, S, Kt, J)
    dest : (Kt, J + 1)
    surv_prob : (D, T, S, Kt, K)
        Destination probabilities of the survivors (default column 0, rows sum to 1).
    """
    p = np.asarray(transitions, dtype=float)[..., transient_idx, :]  # (D,T,S,Kt,K)
    n_t, k = len(transient_idx), p.shape[-1]
    pd = np.clip(p[..., default_idx], 0.0, 1.0)
    surv = survivor_shares(p, pd, default_idx)
    # destination order per row: non-zero destinations by decreasing mean mass, stay last
    mass = surv.reshape(-1, n_t, k).max(axis=0)
    orders = []
    for r, i in enumerate(transient_idx):
        others = [j for j in range(k) if j not in (i, default_idx) and mass[r, j] > 0]
        others.sort(key=lambda j: -mass[r, j])
        orders.append(others)
    n_steps = max((len(o) for o in orders), default=0)
    dest = np.empty((n_t, n_steps + 1), dtype=np.intp)
    for r, i in enumerate(transient_idx):
        o = orders[r]
        # pad with the stay state (probability 0 at padded steps), stay is the remainder
        dest[r, : len(o)] = o
        dest[r, len(o) : n_steps] = i
        dest[r, n_steps] = i
    seq = np.zeros((*surv.shape[:-1], n_steps))
    remaining = np.ones(surv.shape[:-1])
    for step in range(n_steps):
        for r in range(n_t):
            if step >= len(orders[r]):
                continue
            q = surv[..., r, dest[r, step]]
            with np.errstate(divide="ignore", invalid="ignore"):
                cond = np.where(remaining[..., r] > 0, q / remaining[..., r], 0.0)
            seq[..., r, step] = np.clip(cond, 0.0, 1.0)
            remaining[..., r] = np.maximum(remaining[..., r] - q, 0.0)
    probit_pd = ndtri(pd)  # -inf for 0, +inf for 1
    return probit_pd, seq, dest, surv


def simulate_block(
    inp: KernelInputs,
    rng: np.random.Generator,
    n: int,
    *,
    z_mean: np.ndarray | None = None,
    eps: np.ndarray | None = None,
    z_prob: np.ndarray | None = None,
    tilt: FactorTilt | None = None,
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

    Returns
    -------
    BlockOutput
    """
    factor = sample_factor(
        inp.shift, inp.n_draws, rng, n, eps=eps, z_mean=z_mean, z_prob=z_prob, tilt=tilt
    )
    return simulate_paths(inp, rng, factor)


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
    cols = _Columns.build(inp)
    rates = _Rates.build(inp, factor)
    acc = _Accumulators.zeros(inp, n)
    n_t, k = len(inp.transient_idx), inp.n_states
    start = np.zeros((n, len(inp.customers), n_t))
    start[:, np.arange(len(inp.customers)), inp.cohort_state] = inp.customers
    cnt = start[:, cols.exact].astype(np.int64).reshape(n, -1)
    pool_counts = start[:, cols.pool]
    d_full = np.zeros((n, len(inp.customers), n_t))
    into = np.zeros((n, len(inp.customers), k))
    for t in range(inp.horizon):
        pd_sr = rates.conditional_pd(inp, t)
        d_e, into_int = _draw_exact(cols, rng, cnt, pd_sr, rates.seq(inp, t))
        into_e = into_int.reshape(n, -1, k)
        cnt = into_e[:, :, inp.transient_idx].reshape(n, -1)
        if cols.all_exact:
            d_c = d_e.astype(np.float64)
            into = into_e.astype(np.float64)
        else:
            d_full[:, cols.exact] = 0.0
            d_full[:, cols.exact, 0] = d_e  # integer counts: any split over origins sums the same
            into[:, cols.exact] = into_e
            d_p, into_p = _evolve_pool(inp, cols, rates, t, pool_counts, pd_sr)
            d_full[:, cols.pool] = d_p
            into[:, cols.pool] = into_p
            pool_counts = into_p[:, :, inp.transient_idx]
            d_c = d_full.sum(axis=2)
        lgd = _lgd(inp, rng, d_c, factor.z[:, t])
        acc.record(inp, t, d_c, lgd, into, factor.weight)
    return acc.output(factor)


@dataclass
class _Selection:
    """What a period draws when the columns `active` hold customers, and where moves go.

    Positions index the active columns; None means all of them. Targets are flat indices into
    the block's (path, cohort, state) destination counts, so that one ``np.add.at`` per step
    adds every path's moves (two origins of a cohort may move to the same state).
    """

    active: Index  # (A,) active exact columns (cohort-major, origin-minor)
    sr: Index  # (A,) flat (segment, origin) index of each active column
    default_pos: Index | None  # columns with a default probability not always 0
    step_pos: list[Index | None]  # per chain step: columns whose destination is not always 0
    step_target: list[Index]  # per chain step: flat targets of the drawn columns, (n·A_s,)
    stay_target: Index  # (n·A,) flat target of each active column's stay destination
    cohort_start: Index | None  # first active column of each cohort; None if one has none


@dataclass
class _Columns:
    """The exact cohorts' (cohort, origin) columns and the structure of their draws."""

    exact: Index  # (Ce,) exact cohorts
    pool: Index  # (Cp,) large-pool cohorts
    n_origins: int  # Kt
    sr: Index  # (Ce·Kt,) flat (segment, origin) index of each column
    pool_sr: Index  # (Cp, Kt) flat (segment, origin) index of the large-pool cohorts' rows
    default_drawn: NDArray[np.bool_]  # (Ce·Kt,) default probability not 0 in every draw
    step_drawn: NDArray[np.bool_]  # (J, Ce·Kt) step probability not 0 in every draw
    step_target: Index  # (J, Ce·Kt) flat (cohort, state) index of each step's destination
    stay_target: Index  # (Ce·Kt,) flat (cohort, state) index of the stay destination
    n_into: int  # Ce·K destinations
    cache: dict[tuple[int, bytes], _Selection] = field(default_factory=dict)

    @property
    def all_exact(self) -> bool:
        """No cohort uses the large-pool approximation."""
        return len(self.pool) == 0

    @classmethod
    def build(cls, inp: KernelInputs) -> _Columns:
        """Columns of the exact cohorts of `inp`."""
        n_t, k = len(inp.transient_idx), inp.n_states
        exact = np.flatnonzero(~inp.large_pool)
        pool = np.flatnonzero(inp.large_pool)
        seg = inp.cohort_segment
        rows = np.tile(np.arange(n_t), len(exact))
        owner = np.repeat(np.arange(len(exact)), n_t)  # position of the column's cohort
        sr = seg[exact][owner] * n_t + rows
        # structurally zero probabilities: 0 in every parameter draw and period
        default_drawn = (inp.probit_pd > -np.inf).any(axis=(0, 1)).ravel()[sr]  # Φ⁻¹(0) = −∞
        seq_nonzero = (inp.seq_prob > 0).any(axis=(0, 1))  # (S, Kt, J)
        seq_nonzero = seq_nonzero.reshape(inp.n_segments * n_t, seq_nonzero.shape[-1])
        return cls(
            exact=exact,
            pool=pool,
            n_origins=n_t,
            sr=sr,
            pool_sr=seg[pool][:, None] * n_t + np.arange(n_t)[None],
            default_drawn=default_drawn,
            step_drawn=seq_nonzero[sr].T,
            step_target=(owner * k)[None] + inp.dest[rows, :-1].T,
            stay_target=owner * k + inp.dest[rows, -1],
            n_into=len(exact) * k,
        )

    def selection(self, active: Index, n: int) -> _Selection:
        """Return what to draw for `n` paths when the columns `active` hold customers (cached)."""
        key = (n, active.tobytes())
        sel = self.cache.get(key)
        if sel is None:
            offset = (np.arange(n) * self.n_into)[:, None]
            step_pos = [_positions(drawn[active]) for drawn in self.step_drawn]
            owner = active // self.n_origins
            first = np.flatnonzero(np.diff(owner, prepend=-1))
            sel = _Selection(
                active=active,
                sr=self.sr[active],
                default_pos=_positions(self.default_drawn[active]),
                step_pos=step_pos,
                step_target=[
                    (offset + _take(target[active], pos)[None]).ravel()
                    for target, pos in zip(self.step_target, step_pos, strict=True)
                ],
                stay_target=(offset + self.stay_target[active][None]).ravel(),
                cohort_start=first if len(first) == len(self.exact) else None,
            )
            self.cache[key] = sel
        return sel


def _positions(mask: NDArray[np.bool_]) -> Index | None:
    """Positions where `mask` holds, or None if it holds everywhere."""
    return None if mask.all() else np.flatnonzero(mask)


def _take(a: Index, pos: Index | None) -> Index:
    """``a[pos]``, or `a` itself for None."""
    return a if pos is None else a[pos]


@dataclass
class _Rates:
    """The block's per-path correlation terms and parameter-draw lookups."""

    z: Floats  # (n, H)
    draw: Index  # (n,)
    sqrt_rho: Floats  # (n, 1) or (1, 1)
    inv_sqrt_1mrho: Floats  # (n, 1) or (1, 1)

    @classmethod
    def build(cls, inp: KernelInputs, factor: FactorPaths) -> _Rates:
        """Per-path √ρ and 1/√(1 − ρ) of the paths' parameter draws."""
        rho = inp.correlation[factor.draw] if inp.n_draws > 1 else inp.correlation[:1]
        return cls(
            z=factor.z,
            draw=factor.draw,
            sqrt_rho=np.sqrt(rho)[:, None],
            inv_sqrt_1mrho=(1.0 / np.sqrt(1.0 - rho))[:, None],
        )

    def conditional_pd(self, inp: KernelInputs, t: int) -> Floats:
        """``p(Z_t)`` of every path and (segment, origin), shape (n, S·Kt)."""
        tt = t if inp.probit_pd.shape[1] > 1 else 0
        if inp.n_draws > 1:
            a = inp.probit_pd[self.draw, tt].reshape(len(self.draw), -1)
        else:
            a = inp.probit_pd[0, tt].reshape(1, -1)
        return conditional_pd_scaled(a, self.sqrt_rho, self.inv_sqrt_1mrho, self.z[:, t, None])

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


def _draw_exact(
    cols: _Columns, rng: np.random.Generator, cnt: Counts, pd_sr: Floats, seq_sr: Floats
) -> tuple[Counts, Counts]:
    """One period of the exact cohorts: defaults per cohort and destination counts.

    `cnt` (n, Ce·Kt) holds the customers of each path and (cohort, origin). Returns the defaults
    of each path and cohort (n, Ce) and the customers moved into each (cohort, state), shape
    (n, Ce·K). Only active columns are drawn (module docstring: the stream is unchanged).
    """
    n = cnt.shape[0]
    into = np.zeros((n, cols.n_into), np.int64)
    active = np.flatnonzero(cnt.any(axis=0))
    if active.size == 0:
        return np.zeros((n, len(cols.exact)), np.int64), into
    sel = cols.selection(active, n)
    n_a = cnt if active.size == cnt.shape[1] else cnt[:, active]
    if sel.default_pos is None:
        d = rng.binomial(n_a, pd_sr[:, sel.sr])
    else:
        d = np.zeros_like(n_a)
        if sel.default_pos.size:
            pos = sel.default_pos
            d[:, pos] = rng.binomial(n_a[:, pos], pd_sr[:, sel.sr[pos]])
    rem = n_a - d
    flat = into.reshape(-1)
    for s, (pos_s, target) in enumerate(zip(sel.step_pos, sel.step_target, strict=True)):
        if pos_s is None:
            moved = rng.binomial(rem, seq_sr[:, sel.sr, s])
            rem -= moved
        elif pos_s.size:
            moved = rng.binomial(rem[:, pos_s], seq_sr[:, sel.sr[pos_s], s])
            rem[:, pos_s] -= moved
        else:
            continue
        np.add.at(flat, target, moved.reshape(-1))
    flat[sel.stay_target] += rem.reshape(-1)  # one stay destination per column: no repeats
    return _cohort_sums(cols, sel, d), into


def _cohort_sums(cols: _Columns, sel: _Selection, d: Counts) -> Counts:
    """Sum the active columns `d` (n, A) per exact cohort, shape (n, Ce)."""
    if sel.cohort_start is not None:
        sums: Counts = np.add.reduceat(d, sel.cohort_start, axis=1)
        return sums
    full = np.zeros((d.shape[0], len(cols.exact) * cols.n_origins), np.int64)
    full[:, sel.active] = d
    return full.reshape(d.shape[0], len(cols.exact), -1).sum(axis=2)


def _evolve_pool(
    inp: KernelInputs,
    cols: _Columns,
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


def _lgd(inp: KernelInputs, rng: np.random.Generator, d_c: Floats, z_t: Floats) -> Floats | float:
    """Return the LGD of each path and cohort in a period: the mean over its defaults."""
    if inp.lgd_sensitivity > 0:
        return _downturn_lgd(inp, rng, d_c, downturn_lgd(inp.lgd_mean, inp.lgd_sensitivity, z_t))
    if inp.lgd_sd <= 0:
        return inp.lgd_mean
    kappa = inp.lgd_mean * (1.0 - inp.lgd_mean) / inp.lgd_sd**2 - 1.0
    lgd = np.full(d_c.shape, inp.lgd_mean)
    hit = d_c > 0
    if hit.any():
        # large-pool cohorts can have fractional defaults below 1: use the D = 1 Beta
        kd = np.maximum(d_c[hit], 1.0) * (kappa + 1.0) - 1.0
        lgd[hit] = rng.beta(inp.lgd_mean * kd, (1.0 - inp.lgd_mean) * kd)
    return lgd


def _downturn_lgd(inp: KernelInputs, rng: np.random.Generator, d_c: Floats, mean: Floats) -> Floats:
    """LGD per path and cohort with the path's downturn mean ``m_t(Z)`` (shape (n,)).

    The sd is clipped to ``0.99 √(m_t (1 − m_t))`` so that the Beta exists; its concentration is
    a property of the path, computed once per path and then taken by each defaulting cohort.
    """
    lgd = np.repeat(mean[:, None], d_c.shape[1], axis=1)
    if inp.lgd_sd <= 0:
        return lgd
    var = mean * (1.0 - mean)
    hit = (d_c > 0) & (var > 0)[:, None]
    if hit.any():
        sd = np.minimum(inp.lgd_sd, 0.99 * np.sqrt(var))
        with np.errstate(divide="ignore", invalid="ignore"):  # paths with var 0 are not hit
            kappa = var / sd**2 - 1.0
        path = np.nonzero(hit)[0]
        m = mean[path]
        kd = np.maximum(d_c[hit], 1.0) * (kappa[path] + 1.0) - 1.0
        lgd[hit] = rng.beta(m * kd, (1.0 - m) * kd)
    return lgd


@dataclass
class _Accumulators:
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

    @classmethod
    def zeros(cls, inp: KernelInputs, n: int) -> _Accumulators:
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
        )

    def record(
        self,
        inp: KernelInputs,
        t: int,
        d_c: Floats,
        lgd: Floats | float,
        into: Floats,
        weight: Floats,
    ) -> None:
        """Add period `t`: defaults per cohort `d_c` (n, C), LGD, and arrivals `into` (n, C, K)."""
        counts = into[:, :, inp.transient_idx]
        loss_c = d_c * (inp.ead * inp.ead_factor[t]) * lgd  # (n, C)
        self.loss[:, t] = loss_c.sum(axis=1)
        self.defaults[:, t] = d_c.sum(axis=1)
        if inp.churn_idx >= 0:
            churned = into[:, :, inp.churn_idx]  # (n, C)
            self.churn[:, t] = churned.sum(axis=1)
            self.churn_value_lost += (churned @ inp.margin) * self.remaining_df[t]
        self.margin[:, t] = counts.sum(axis=2) @ inp.margin
        self.loss_by_segment += loss_c @ self.seg_onehot
        self.loss_by_cohort += loss_c
        occ = np.zeros(inp.n_states)
        occ[inp.transient_idx] = weight @ counts.sum(axis=1)
        self.occupancy[t] = occ
        self.occupancy[t, inp.default_idx] = weight @ self.defaults[:, t]
        if inp.churn_idx >= 0:
            self.occupancy[t, inp.churn_idx] = weight @ self.churn[:, t]
        if self.other.any():
            self.occupancy[t, self.other] = weight @ into[:, :, self.other].sum(axis=1)

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
