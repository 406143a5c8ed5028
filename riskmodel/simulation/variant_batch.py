"""Many variants of one scenario at once: exact expectations and the large-pool model, vectorised.

A sensitivity design evaluates hundreds of variants of one scenario (the same states, segments,
portfolio cohorts and horizon; other correlations, LGDs, shifts, transition rows, exposures).
Running the engine, or even `riskmodel.simulation.expected.expected_term_structure`, once per
variant costs milliseconds of Python per variant; here every variant is a row of stacked arrays
and each period is one vectorised step over all of them.

Exact expectations (`exact_batch`)
----------------------------------
The same propagation as `riskmodel.simulation.expected` (its module docstring derives why it is
exact): expected transient counts move through the expected transition rows ``E[M(Z_t)]``,
``E[p(Z_t)] = Φ(Φ⁻¹(p) − √ρ s_t)``, and with a downturn LGD the loss of a row is
``E[p(Z_t) m(Z_t)]`` by Gauss–Hermite quadrature (`GH_NODES` nodes). The engine's outputs are
linear in the customers of each cohort and all cohorts of a segment share its matrices, so the
cohorts are summed per segment and start state, weighted by customers (defaults, churn), by
exposure per customer (loss) and by margin per customer (value). Equal to `expected_term_structure`
of each variant up to rounding (``tests/simulation/test_variant_batch.py``).

The large-pool model (`large_pool_batch`)
-----------------------------------------
The conditional expected loss given the factor path, ``L̄(z)`` of `riskmodel.simulation.large_pool`
(the engine's ``approximation: large_pool`` with every cohort in the pool and a fixed LGD at its
(downturn) mean): idiosyncratic count noise and LGD noise are left out. The factor paths are the
engine's: block ``b`` draws its standard-normal innovations first from
`riskmodel.simulation.seeding.block_rng` and maps them through the run's `Sampling` (tilt,
mixture, shift or none) as the kernel does, so path ``i`` of every variant, and of an engine run
with the same seed entropy and sampling, sees the same factor path (common random numbers). The
error of the approximation is measured against the engine on those paired paths by its callers
(`riskmodel.sensitivity`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri

from riskmodel.config.metrics import EXACT_METRICS
from riskmodel.dynamics import (
    conditional_pd,
    conditional_pd_scaled,
    discount_factors,
    downturn_lgd,
    mean_conditional_pd,
    survivor_shares,
)
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected import (
    GH_NODES,
    _hermgauss,
    segment_correlation,
    segment_shift,
)
from riskmodel.simulation.plan import Sampling, plan_run
from riskmodel.simulation.qmc import sample_factor
from riskmodel.simulation.seeding import block_rng

__all__ = ["EXACT_OUTPUTS", "LargePoolPaths", "exact_batch", "factor_paths", "large_pool_batch"]

EXACT_OUTPUTS = EXACT_METRICS
"""Names of the per-variant exact expectations `exact_batch` returns (the exact metrics)."""

_CHUNK = 1 << 16
"""Variant-paths (or variant-draws-nodes) per vectorised chunk: bounds memory to a few MB."""


@dataclass(frozen=True)
class _Stack:
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


def _portfolio_weights(scenario: Scenario, cache: dict[Any, Any]) -> np.ndarray:
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


def _check_family(scenarios: Sequence[Scenario]) -> None:
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


def _stack(scenarios: Sequence[Scenario]) -> _Stack:
    """Stack the variants' arrays; one-draw variants are repeated over the others' draws."""
    _check_family(scenarios)
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
    return _Stack(
        probit_pd=ndtri(pd),
        shares=survivor_shares(rows, pd, st.default_idx),
        rho=rho,
        shift=np.stack([segment_shift(sc, per_segment=True) for sc in scenarios]),
        lgd_mean=np.array([sc.lgd_mean for sc in scenarios]),
        lgd_sensitivity=np.array([sc.lgd_sensitivity for sc in scenarios]),
        ead_factor=np.stack([np.asarray(sc.ead_factor, dtype=float) for sc in scenarios]),
        discount=np.stack([discount_factors(sc.discount_rate) for sc in scenarios]),
        start=np.stack([_portfolio_weights(sc, cache) for sc in scenarios]),
    )


# ------------------------------------------------------------------------------ exact
def _mean_default_lgd(
    a: np.ndarray, rho: np.ndarray, shift: np.ndarray, lgd: np.ndarray, sens: np.ndarray
) -> np.ndarray:
    """``E[p(Z) m(Z)]`` for ``Z ~ N(s_p, 1)`` per variant, by Gauss–Hermite quadrature.

    `a` (P, D, S, Kt) probit PDs, `rho` (P, D, S), `shift` (P, S) (each segment's factor's),
    `lgd`, `sens` (P,); as `riskmodel.simulation.expected.expected_default_lgd` with the shift
    and LGD per variant.
    """
    x, w = _hermgauss(GH_NODES)
    w = w / np.sqrt(np.pi)
    out = np.empty(a.shape)
    step = max(1, _CHUNK // max(1, a[0].size * len(x) // 64))
    for lo in range(0, a.shape[0], step):
        sl = slice(lo, lo + step)
        z = shift[sl, :, None] + np.sqrt(2.0) * x[None, None]  # (p, S, Q)
        pz = conditional_pd(a[sl, ..., None], rho[sl, :, :, None, None], z[:, None, :, None])
        mz = downturn_lgd(lgd[sl, None, None], sens[sl, None, None], z)  # type: ignore[arg-type]
        out[sl] = (pz * mz[:, None, :, None]) @ w
    return out


def exact_batch(
    scenarios: Sequence[Scenario], *, window: float | None = None
) -> dict[str, np.ndarray]:
    """Exact expectations of many variants of one scenario, vectorised over the variants.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Variants of one base scenario: the same states, segments, horizon and cohorts.
    window : float, optional
        Periods of the 12-month ECL window; default: the first scenario's ``ecl_window``.

    Returns
    -------
    dict of str to ndarray
        For each name of `EXACT_OUTPUTS`, one value per variant (shape (P,)): the expected loss
        over the horizon (undiscounted), the discounted ECL (lifetime and 12-month window), the
        discounted expected margin (``value``), the expected defaults and churn. Equal to
        ``exact_summary(expected_term_structure(variant))`` up to rounding.

    Raises
    ------
    ArgumentError
        If the variants differ in states, segments or horizon, or in their number of draws
        other than by one.

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> exact_batch([sc, sc])["expected_loss"].shape  # doctest: +SKIP
    (2,)
    """
    if not scenarios:
        return {name: np.zeros(0) for name in EXACT_OUTPUTS}
    base = scenarios[0]
    st = base.states
    stack = _stack(scenarios)
    n_p, n_d = stack.rho.shape[:2]
    h = base.horizon
    t_idx = st.transient_idx
    x = np.broadcast_to(stack.start[:, None], (n_p, n_d, *stack.start.shape[1:])).copy()
    sqrt_rho = np.sqrt(stack.rho)[..., None]  # (P, D, S, 1)
    downturn = bool(np.any(stack.lgd_sensitivity > 0))
    loss = np.zeros((n_p, h))
    defaults = np.zeros(n_p)
    churn = np.zeros(n_p)
    margin = np.zeros((n_p, h))
    cached: dict[
        tuple[int, bytes], np.ndarray
    ] = {}  # E[p m] of periods with the same factor mean and parameters
    for t in range(h):
        tt = t if stack.probit_pd.shape[2] > 1 else 0
        a = stack.probit_pd[:, :, tt]  # (P, D, S, Kt)
        mpd = mean_conditional_pd(a, sqrt_rho, stack.shift[:, t, None, :, None])
        shares = stack.shares[:, :, tt]  # (P, D, S, Kt, K)
        if downturn:
            key = (tt, stack.shift[:, t].tobytes())
            if key not in cached:
                cached[key] = _mean_default_lgd(
                    a, stack.rho, stack.shift[:, t], stack.lgd_mean, stack.lgd_sensitivity
                )
            rate = cached[key]
        else:
            rate = mpd * stack.lgd_mean[:, None, None, None]
        loss[:, t] = np.einsum("pdsi,pdsi->p", x[:, :, 1], rate) / n_d * stack.ead_factor[:, t]
        defaults += np.einsum("pdsi,pdsi->p", x[:, :, 0], mpd) / n_d
        alive = x * (1.0 - mpd)[:, :, None]  # survivors (P, D, 3, S, Kt)
        if st.churn_idx is not None:
            churn += np.einsum("pdsi,pdsi->p", alive[:, :, 0], shares[..., st.churn_idx]) / n_d
        x = np.einsum("pdwsi,pdsij->pdwsj", alive, shares[..., t_idx])
        margin[:, t] = x[:, :, 2].sum(axis=(1, 2, 3)) / n_d
    ecl = loss * stack.discount
    window = base.ecl_window if window is None else float(window)
    whole = int(np.floor(window))
    ecl_12 = ecl[:, :whole].sum(axis=1)
    if window - whole > 0 and whole < h:
        ecl_12 = ecl_12 + (window - whole) * ecl[:, whole]
    return {
        "expected_loss": loss.sum(axis=1),
        "ecl_lifetime": ecl.sum(axis=1),
        "ecl_12_period": ecl_12,
        "value": (margin * stack.discount).sum(axis=1),
        "expected_defaults": defaults,
        "expected_churn": churn,
    }


# ------------------------------------------------------------------------------ large pool
@dataclass(frozen=True)
class LargePoolPaths:
    """Per-path total loss of each variant under the large-pool model, with IS weights.

    ``loss`` has shape (P, paths); ``weight`` (P, paths) is each path's likelihood ratio (the
    same for every variant with as many parameter draws as the base).
    """

    loss: np.ndarray
    weight: np.ndarray


def factor_paths(
    sampling: Sampling,
    entropy: int,
    blocks: Sequence[tuple[int, int, int]],
    horizon: int,
    n_draws: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the engine's factor innovations, weights and parameter draws of the given blocks.

    Block ``b`` uses ``block_rng(entropy, b)`` through the kernel's own
    `riskmodel.simulation.qmc.sample_factor` (at a zero shift), so the paths are the engine's.
    QMC sampling is not supported (sensitivity designs use pseudo-random paths); nor are sector
    factors (the variants' large-pool model is one-factor).

    Returns
    -------
    y : ndarray, shape (paths, H)
        Factor minus the scenario shift.
    weight : ndarray, shape (paths,)
    draw : ndarray of int, shape (paths,)
    """
    if sampling.qmc_replicates:
        raise ArgumentError("factor_paths draws pseudo-random paths; got a QMC sampling plan.")
    z_mean, z_prob, tilt, zero = sampling.z_mean, sampling.z_prob, sampling.tilt, np.zeros(horizon)
    out = [
        sample_factor(
            zero, n_draws, block_rng(entropy, b), n, z_mean=z_mean, z_prob=z_prob, tilt=tilt
        )
        for b, _, n in blocks
    ]
    parts = ([f.z for f in out], [f.weight for f in out], [f.draw for f in out])
    return np.concatenate(parts[0]), np.concatenate(parts[1]), np.concatenate(parts[2])


def _large_pool_chunk(
    stack: _Stack, rows: np.ndarray, y: np.ndarray, draw: np.ndarray, transient: np.ndarray
) -> np.ndarray:
    """Total large-pool loss of variants `rows` on paths `y` (m, H) with draws `draw`: (p, m).

    The exposure-weighted transient occupancy is kept as (p, S, m, Kt), so that a period's move
    is one batched matrix product per variant and segment.
    """
    n_d = stack.rho.shape[1]
    m = y.shape[0]
    per_path = n_d > 1  # with several draws each path has its own matrices
    pick = draw if per_path else np.zeros(1, dtype=np.intp)
    rho = stack.rho[rows][:, pick, 0]  # (p, m) or (p, 1): one factor, the same for all segments
    sqrt_rho = np.sqrt(rho)[:, None, :, None]
    inv = (1.0 / np.sqrt(1.0 - rho))[:, None, :, None]
    start = stack.start[rows, 1]  # (p, S, Kt)
    occ = np.repeat(start[:, :, None, :], m, axis=2)  # (p, S, m, Kt)
    total = np.zeros((len(rows), m))
    lgd = stack.lgd_mean[rows, None]
    sens = stack.lgd_sensitivity[rows, None]
    downturn = bool(np.any(sens > 0))
    probit = stack.probit_pd[rows][:, pick]  # (p, m or 1, T, S, Kt)
    moves = stack.shares[rows][:, pick][..., transient]  # (p, m or 1, T, S, Kt, Kt)
    for t in range(y.shape[1]):
        tt = t if probit.shape[2] > 1 else 0
        z = stack.shift[rows, t, 0, None] + y[None, :, t]  # (p, m)
        a = np.moveaxis(probit[:, :, tt], 1, 2)  # (p, S, m or 1, Kt)
        pdz = conditional_pd_scaled(a, sqrt_rho, inv, z[:, None, :, None])
        m_z = np.where(sens > 0, downturn_lgd(lgd, sens, z), lgd) if downturn else lgd  # type: ignore[arg-type]
        total += (occ * pdz).sum(axis=(1, 3)) * m_z * stack.ead_factor[rows, t, None]
        shares = moves[:, :, tt]  # (p, m or 1, S, Kt, Kt)
        alive = occ * (1.0 - pdz)
        if per_path:
            occ = np.einsum("psmi,pmsij->psmj", alive, shares)
        else:
            occ = alive @ shares[:, 0]  # (p, S, m, Kt) @ (p, S, Kt, Kt)
    return total


def large_pool_batch(
    scenarios: Sequence[Scenario],
    *,
    paths: int,
    entropy: int,
    sampling: Sampling,
    workers: int | None = None,
) -> LargePoolPaths:
    """Per-path total loss of many variants under the large-pool model, on common paths.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Variants of one base scenario (see `exact_batch`).
    paths : int
        Paths per variant; the same seeded blocks as an engine run of `paths` paths.
    entropy : int
        Seed entropy (`riskmodel.simulation.seeding.seed_entropy`).
    sampling : Sampling
        The factor sampling shared by the variants (as for `simulate_variants`); not QMC.
    workers : int, optional
        Threads; default: the CPU count.

    Returns
    -------
    LargePoolPaths
        ``loss`` and ``weight`` of shape (P, paths).

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.simulation.plan import Sampling
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> out = large_pool_batch([sc], paths=1024, entropy=7, sampling=Sampling())  # doctest: +SKIP
    >>> out.loss.shape  # doctest: +SKIP
    (1, 1024)
    """
    if not scenarios:
        return LargePoolPaths(np.zeros((0, paths)), np.zeros((0, paths)))
    if any(sc.factors is not None for sc in scenarios):
        raise ArgumentError(
            "the variants' large-pool model (a sensitivity `approximation: large_pool`) has one "
            "factor; this scenario has `systematic: factors`. Use `approximation: none`."
        )
    stack = _stack(scenarios)
    transient = scenarios[0].states.transient_idx
    n_p = stack.rho.shape[0]
    h = scenarios[0].horizon
    blocks = plan_run(paths, entropy, batch=paths).blocks
    own_draws = np.array([np.shape(sc.transitions)[0] for sc in scenarios])
    loss = np.empty((n_p, paths))
    weight = np.empty((n_p, paths))
    jobs = []
    for d in sorted(set(own_draws.tolist())):  # one set of paths per number of draws
        y, w, draw = factor_paths(sampling, entropy, blocks, h, d)
        rows = np.flatnonzero(own_draws == d)
        weight[rows] = w
        per = max(1, _CHUNK // max(1, paths * stack.start.shape[2]))
        for lo in range(0, len(rows), per):
            jobs.append((rows[lo : lo + per], y, draw))

    def run(job: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        rows, y, draw = job
        loss[rows] = _large_pool_chunk(stack, rows, y, draw, transient)

    n = workers or os.cpu_count() or 1
    if n <= 1 or len(jobs) == 1:
        for job in jobs:
            run(job)
    else:
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(run, jobs))
    return LargePoolPaths(loss=loss, weight=weight)
