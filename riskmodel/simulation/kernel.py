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
depends only on (seed, block index, block length).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from riskmodel.dynamics import (
    conditional_pd_scaled,
    downturn_lgd,
    remaining_discount,
    survivor_shares,
)

if TYPE_CHECKING:  # importance.py imports this module
    from riskmodel.simulation.importance import FactorTilt

__all__ = ["BlockOutput", "KernelInputs", "simulate_block"]


@dataclass(frozen=True)
class KernelInputs:
    """Plain arrays the kernel needs; picklable, so it travels with tasks to remote workers.

    Shapes: C cohorts, S segments, K states, Kt transient states, D parameter draws, T periods of
    parameters (1 for time-invariant, else the horizon H), J destination steps.
    """

    horizon: int
    n_states: int
    transient_idx: np.ndarray  # (Kt,) positions of transient states in the state list
    default_idx: int
    churn_idx: int  # -1 if no churn state
    cohort_segment: np.ndarray  # (C,) segment index
    cohort_state: np.ndarray  # (C,) transient position (index into transient_idx)
    customers: np.ndarray  # (C,) int64
    ead: np.ndarray  # (C,) exposure per customer
    margin: np.ndarray  # (C,) margin per customer per period
    n_segments: int
    probit_pd: np.ndarray  # (D, T, S, Kt) Φ⁻¹ of the default probability of each transient row
    seq_prob: np.ndarray  # (D, T, S, Kt, J) sequential conditional probabilities of survivors
    dest: np.ndarray  # (Kt, J + 1) destination state of each step; last column = remainder
    surv_prob: np.ndarray  # (D, T, S, Kt, K) survivors' destination probabilities (large pool)
    large_pool: np.ndarray  # (C,) bool: cohorts evolved by the large-pool approximation
    correlation: np.ndarray  # (D,)
    shift: np.ndarray  # (H,)
    lgd_mean: float
    lgd_sd: float
    transitions_mean: np.ndarray  # (T, S, K, K) mean over draws (for importance-sampling design)
    ead_factor: np.ndarray  # (H,) exposure of period t as a fraction of today's (amortisation)
    lgd_sensitivity: float  # downturn LGD: b in m_t(Z) = Φ(Φ⁻¹(m) − b Z_t); 0 = no downturn
    discount_factor: np.ndarray  # (H,) discount factor of each period

    @property
    def n_draws(self) -> int:
        """Number of parameter draws D."""
        return self.probit_pd.shape[0]


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
    """Simulate `n` paths over the whole horizon.

    Parameters
    ----------
    inp : KernelInputs
    rng : numpy.random.Generator
        The block's own generator.
    n : int
        Number of paths in the block.
    z_mean : array, shape (H,), optional
        Importance-sampling mean shift of the factor (added to the scenario shift); the
        likelihood ratio is returned in ``weight``. None means plain Monte Carlo. A 2-d array
        (M, H) is a mixture of M mean shifts drawn with probabilities `z_prob`; the weight is then
        ``1 / Σ_m π_m exp(μ_m·y − |μ_m|²/2)`` with ``y`` the factor minus the scenario shift.
    eps : array, shape (n, H), optional
        Standard-normal innovations of the factor (e.g. from a scrambled Sobol' sequence); by
        default they are the first draws of `rng`.
    tilt : FactorTilt, optional
        Per-period exponential tilt of the factor (`riskmodel.simulation.importance`); it maps
        `eps` to the tilted innovations and gives the weights. Excludes `z_mean`.
    """
    h, n_c = inp.horizon, len(inp.customers)
    n_t = len(inp.transient_idx)
    k = inp.n_states
    n_draws = inp.n_draws

    if eps is None:
        eps = rng.standard_normal((n, h))
    elif eps.shape != (n, h):
        raise ValueError(f"`eps` must have shape ({n}, {h}); got {eps.shape}.")
    if tilt is not None:
        if z_mean is not None:
            raise ValueError("`tilt` and `z_mean` are two importance-sampling designs; pass one.")
        y, weight, tilt_draw = tilt.sample(eps, rng, n_draws)
        z = inp.shift + y
    elif z_mean is not None and np.ndim(z_mean) == 2:
        # defensive mixture: component m (mean row m of z_mean, probability z_prob[m]) per path
        means = np.asarray(z_mean, dtype=float)
        probs = np.asarray(z_prob, dtype=float)
        comp = rng.choice(len(probs), size=n, p=probs)
        y = means[comp] + eps  # factor minus the scenario shift
        z = inp.shift + y
        log_terms = np.log(probs)[None] + y @ means.T - 0.5 * np.sum(means**2, axis=1)[None]
        top = log_terms.max(axis=1, keepdims=True)
        log_q = top[:, 0] + np.log(np.exp(log_terms - top).sum(axis=1))
        weight = np.exp(-log_q)
    elif z_mean is not None:
        mu = np.asarray(z_mean, dtype=float)
        z = inp.shift + mu + eps
        # likelihood ratio of N(shift, 1) against N(shift + mu, 1), per path
        weight = np.exp(-(eps @ mu) - 0.5 * float(mu @ mu))
    else:
        z = inp.shift + eps
        weight = np.ones(n)
    if tilt is not None:  # the tilt also samples the posterior draws
        draw = tilt_draw
    else:
        draw = rng.integers(n_draws, size=n) if n_draws > 1 else np.zeros(n, dtype=np.intp)

    seg = inp.cohort_segment
    rho = inp.correlation[draw] if n_draws > 1 else inp.correlation[:1]
    sqrt_rho = np.sqrt(rho)[:, None, None]
    inv_sqrt_1mrho = (1.0 / np.sqrt(1.0 - rho))[:, None, None]

    counts = np.zeros((n, n_c, n_t))
    counts[:, np.arange(n_c), inp.cohort_state] = inp.customers
    exact = np.flatnonzero(~inp.large_pool)
    pool = np.flatnonzero(inp.large_pool)
    all_exact = len(pool) == 0
    absorbing_mask = np.ones(k, dtype=bool)
    absorbing_mask[inp.transient_idx] = False
    seg_onehot = np.zeros((n_c, inp.n_segments))
    seg_onehot[np.arange(n_c), seg] = 1.0
    other = absorbing_mask.copy()  # absorbing states that are neither default nor churn
    other[inp.default_idx] = False
    if inp.churn_idx >= 0:
        other[inp.churn_idx] = False

    loss = np.zeros((n, h))
    defaults = np.zeros((n, h))
    churn = np.zeros((n, h))
    margin = np.zeros((n, h))
    loss_by_segment = np.zeros((n, inp.n_segments))
    loss_by_cohort = np.zeros((n, n_c))
    occupancy = np.zeros((h, k))
    rows = np.arange(n_t)
    n_steps = inp.dest.shape[1] - 1
    stay = inp.dest[:, -1]
    lgd_kappa = (
        inp.lgd_mean * (1.0 - inp.lgd_mean) / inp.lgd_sd**2 - 1.0 if inp.lgd_sd > 0 else np.inf
    )
    remaining_df = remaining_discount(inp.discount_factor)
    churn_value_lost = np.zeros(n)
    downturn = inp.lgd_sensitivity > 0
    flow = np.zeros((n, len(exact), n_t, k), dtype=np.int64)
    d = np.zeros((n, n_c, n_t))
    into = np.zeros((n, n_c, k))

    for t in range(h):
        tt = t if inp.probit_pd.shape[1] > 1 else 0
        if n_draws > 1:
            a = inp.probit_pd[draw, tt][:, seg]  # (n, C, Kt)
        else:
            a = inp.probit_pd[0, tt][seg][None]  # (1, C, Kt)
        pd_z = conditional_pd_scaled(a, sqrt_rho, inv_sqrt_1mrho, z[:, t, None, None])
        if len(exact):
            # exact: chains of binomial counts
            seq = (
                inp.seq_prob[draw, tt][:, seg[exact]]
                if n_draws > 1
                else inp.seq_prob[0, tt][seg[exact]][None]
            )
            n_e = counts if all_exact else counts[:, exact]
            n_e = n_e.astype(np.int64)
            d_e = rng.binomial(n_e, pd_z if all_exact else pd_z[:, exact])
            rem = n_e - d_e
            flow.fill(0)
            for step in range(n_steps):
                moved = rng.binomial(rem, seq[..., step])
                rem -= moved
                flow[:, :, rows, inp.dest[:, step]] += moved
            flow[:, :, rows, stay] += rem
            if all_exact:
                d[:] = d_e
                into[:] = flow.sum(axis=2)
            else:
                d[:, exact] = d_e
                into[:, exact] = flow.sum(axis=2)
        if len(pool):
            # large-pool approximation: the expected split given Z, no idiosyncratic noise
            surv = (
                inp.surv_prob[draw, tt][:, seg[pool]]
                if n_draws > 1
                else inp.surv_prob[0, tt][seg[pool]][None]
            )
            n_p = counts[:, pool]
            d_p = n_p * pd_z[:, pool]
            d[:, pool] = d_p
            surv = np.broadcast_to(surv, (n, *surv.shape[1:]))
            into[:, pool] = np.einsum("nck,nckj->ncj", n_p - d_p, surv)
        counts = into[:, :, inp.transient_idx]
        d_c = d.sum(axis=2)  # (n, C)
        if downturn:
            lgd = _downturn_lgd(
                inp, rng, d_c, downturn_lgd(inp.lgd_mean, inp.lgd_sensitivity, z[:, t])
            )
        elif np.isfinite(lgd_kappa):
            lgd = np.full(d_c.shape, inp.lgd_mean)
            hit = d_c > 0
            if hit.any():
                # large-pool cohorts can have fractional defaults below 1: use the D = 1 Beta
                kd = np.maximum(d_c[hit], 1.0) * (lgd_kappa + 1.0) - 1.0
                lgd[hit] = rng.beta(inp.lgd_mean * kd, (1.0 - inp.lgd_mean) * kd)
        else:
            lgd = inp.lgd_mean
        loss_c = d_c * (inp.ead * inp.ead_factor[t]) * lgd  # (n, C)
        loss[:, t] = loss_c.sum(axis=1)
        defaults[:, t] = d_c.sum(axis=1)
        if inp.churn_idx >= 0:
            churned = into[:, :, inp.churn_idx]  # (n, C)
            churn[:, t] = churned.sum(axis=1)
            churn_value_lost += (churned @ inp.margin) * remaining_df[t]
        margin[:, t] = counts.sum(axis=2) @ inp.margin
        loss_by_segment += loss_c @ seg_onehot
        loss_by_cohort += loss_c
        occ = np.zeros(k)
        occ[inp.transient_idx] = weight @ counts.sum(axis=1)
        occupancy[t] = occ
        occupancy[t, inp.default_idx] = weight @ defaults[:, t]
        if inp.churn_idx >= 0:
            occupancy[t, inp.churn_idx] = weight @ churn[:, t]
        if other.any():
            occupancy[t, other] = weight @ into[:, :, other].sum(axis=1)
    # absorbing occupancy is cumulative
    absorbing = np.flatnonzero(absorbing_mask)
    occupancy[:, absorbing] = np.cumsum(occupancy[:, absorbing], axis=0)
    return BlockOutput(
        loss=loss,
        defaults=defaults,
        churn=churn,
        margin=margin,
        loss_by_segment=loss_by_segment,
        loss_by_cohort=loss_by_cohort,
        weight=weight,
        draw=draw,
        occupancy=occupancy,
        churn_value_lost=churn_value_lost,
    )


def _downturn_lgd(
    inp: KernelInputs, rng: np.random.Generator, d_c: np.ndarray, mean: np.ndarray
) -> np.ndarray:
    """LGD per path and cohort with the path's downturn mean ``m_t(Z)`` (shape (n,))."""
    mean = np.broadcast_to(mean[:, None], d_c.shape)
    if inp.lgd_sd <= 0:
        return np.array(mean)
    lgd = np.array(mean)
    var = mean * (1.0 - mean)
    hit = (d_c > 0) & (var > 0)
    if hit.any():
        m, v = mean[hit], var[hit]
        sd = np.minimum(inp.lgd_sd, 0.99 * np.sqrt(v))
        kappa = v / sd**2 - 1.0
        kd = np.maximum(d_c[hit], 1.0) * (kappa + 1.0) - 1.0
        lgd[hit] = rng.beta(m * kd, (1.0 - m) * kd)
    return lgd
