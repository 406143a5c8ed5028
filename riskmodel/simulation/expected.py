"""Exact expectations of the engine's outputs, with zero Monte Carlo error.

The engine estimates expected losses, defaults, churn, margin and state occupancy by averaging
paths. The model allows them in closed form: propagate the expected occupancy of each cohort
through the *expected* conditional transition matrices, period by period.

Why this is exact
-----------------
With ``Z_t ~ N(s_t, 1)`` and the one-factor conditional default probability
``p(Z) = Φ((Φ⁻¹(p) − √ρ Z) / √(1 − ρ))``, write ``p(Z) = P(√ρ Z + √(1 − ρ) ε ≤ Φ⁻¹(p) | Z)``
with ``ε ~ N(0, 1)`` independent of ``Z``. Unconditionally ``√ρ Z + √(1 − ρ) ε ~ N(√ρ s_t, 1)``,
so ``E[p(Z_t)] = Φ(Φ⁻¹(p) − √ρ s_t)`` exactly (``= p`` when ``s_t = 0`` or ``ρ = 0``). The other
entries of a transient row are the row's survivor shares ``p_ij / (1 − p)`` times
``1 − p(Z)``, linear in ``p(Z)``, so ``E[M(Z_t)]`` follows in closed form. The counts before
period ``t`` depend on ``Z_1 … Z_{t−1}`` only, hence are independent of ``Z_t``; conditional on
them the counts at ``t`` are multinomial with mean ``occ_{t−1} M(Z_t)``, and the tower rule gives
``E[occ_t] = E[occ_{t−1}] E[M_t]``.

The engine's LGD (fixed, or a Beta with mean ``m`` given the number of defaults) has mean ``m``
whatever the defaults, so ``E[loss_t] = Σ_c E[D_ct] · EAD_c · f_t · m`` with the amortisation
factor ``f_t = Π_{u≤t} (1 − a_u)``. The margin of a period is the expected number of customers in
transient states at the period end times the margin per customer.

Downturn LGD
------------
With ``lgd.downturn`` the LGD mean moves with the factor, ``m_t(Z) = Φ(Φ⁻¹(m) − b Z_t)``, so
defaults and LGD are correlated and ``E[D_t · LGD_t] ≠ E[D_t] · E[LGD_t]``. Conditional on the
occupancy before ``t`` (independent of ``Z_t``) and on ``Z_t``, the expected loss of origin row
``i`` is ``x_i · p_i(Z_t) · m_t(Z_t)``, hence ``E[loss_t] = Σ_i E[x_i] · E[p_i(Z_t) m_t(Z_t)]``.
That one-dimensional expectation over ``Z_t ~ N(s_t, 1)`` is computed per draw, period, segment
and row by Gauss–Hermite quadrature (`GH_NODES` nodes; the integrand is smooth and bounded, so
the error is at rounding level).

Sector factors
--------------
With ``systematic: factors`` segment ``s`` follows its own factor ``Z_{t,f(s)} ~ N(s_{t,f(s)}, 1)``
with its own correlation ``ρ_s``. Every formula above involves one segment's rows at a time and
the factor of one period only, so each segment's expectation needs only the marginal law of its
own factor: the same closed forms with ``ρ_s`` and ``s_{t,f(s)}`` (`segment_shift`,
`segment_correlation`); the factors' correlation matters for the tail, not for expectations.

With several parameter draws each path uses one draw chosen uniformly, so the expectation is the
mean over draws of each draw's propagation (vectorised over draws and cohorts). Importance
sampling does not change these expectations: it only reweights the paths that estimate them.
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from scipy.special import ndtri

from riskmodel.dynamics import (
    conditional_pd,
    downturn_lgd,
    mean_conditional_pd,
    survivor_shares,
)
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected_dataset import label_term_structure, term_structure_dataset
from riskmodel.simulation.names import cohort_lgd, cohort_rows, own_lgd_loss, scenario_rows


@functools.lru_cache(maxsize=8)
def _hermgauss(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes and weights (cached: computing 96 of them takes ~0.5 s)."""
    x, w = np.polynomial.hermite.hermgauss(nodes)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


__all__ = [
    "GH_NODES",
    "expected_default_lgd",
    "expected_loss_by_draw",
    "expected_matrices",
    "expected_term_structure",
    "scenario_default_lgd",
    "segment_correlation",
    "segment_shift",
]

GH_NODES = 96
"""Gauss–Hermite nodes for ``E[p(Z) m(Z)]`` with a downturn LGD."""


def expected_default_lgd(
    pd: np.ndarray,
    correlation: np.ndarray,
    shift: float,
    *,
    lgd_mean: float,
    sensitivity: float,
    nodes: int = GH_NODES,
) -> np.ndarray:
    """``E[p(Z) m(Z)]`` for ``Z ~ N(shift, 1)`` by Gauss–Hermite quadrature.

    Parameters
    ----------
    pd : ndarray, shape (D, ...)
        Unconditional default probabilities ``p`` per draw (any trailing shape).
    correlation : ndarray, shape (D,)
        Asset correlation ρ per draw.
    shift : float
        Mean of the factor in the period.
    lgd_mean, sensitivity : float
        ``m`` and ``b`` of ``m(Z) = Φ(Φ⁻¹(m) − b Z)``.
    nodes : int
        Number of quadrature nodes.

    Returns
    -------
    ndarray, shape of `pd`
        With ``p(Z) = Φ((Φ⁻¹(p) − √ρ Z)/√(1 − ρ))``.
    """
    x, w = _hermgauss(nodes)
    z = shift + np.sqrt(2.0) * x  # (Q,)
    w = w / np.sqrt(np.pi)
    p = np.asarray(pd, dtype=float)
    rho = np.asarray(correlation, dtype=float).reshape((-1,) + (1,) * (p.ndim - 1) + (1,))
    a = ndtri(np.clip(p, 0.0, 1.0))[..., None]
    pz = conditional_pd(a, rho, z)  # (D, ..., Q)
    mz = downturn_lgd(lgd_mean, sensitivity, z)  # (Q,)
    out: np.ndarray = (pz * mz) @ w
    return out


def expected_matrices(
    transitions: np.ndarray,
    correlation: np.ndarray,
    shift: np.ndarray,
    *,
    transient_idx: np.ndarray,
    default_idx: int,
) -> np.ndarray:
    """Compute the expected transient rows ``E[M(Z_t)]`` per draw, period and segment.

    Parameters
    ----------
    transitions : ndarray, shape (D, S, K, K) or (D, T, S, K, K)
        Row-stochastic matrices per parameter draw (and per period when 5-d, with T = 1 or the
        horizon H).
    correlation : ndarray, shape (D,) or (D, S)
        Asset correlation ρ per draw (and segment, with sector factors).
    shift : ndarray, shape (H,) or (H, S)
        Mean ``s_t`` of the systematic factor per period (of each segment's factor, with
        sector factors: a segment's expectation depends on its own factor's marginal only).
    transient_idx : ndarray of int, shape (Kt,)
        Positions of the transient states.
    default_idx : int
        Position of the default state.

    Returns
    -------
    ndarray, shape (D, H, S, Kt, K)
        ``E[M(Z_t)]`` restricted to transient origin rows. As in the engine, the default entry is
        ``E[p(Z_t)] = Φ(Φ⁻¹(p) − √ρ s_t)``, other moves are the survivor shares
        ``p_ij / (1 − p)`` times ``1 − E[p(Z_t)]``, and staying takes the remainder.

    Raises
    ------
    ValueError
        If the shapes of `transitions`, `correlation` and `shift` do not agree.
    """
    p = np.asarray(transitions, dtype=float)
    rho = np.asarray(correlation, dtype=float)
    s = np.asarray(shift, dtype=float)
    h = s.shape[0]
    if p.ndim == 4:
        p = p[:, None]
    if p.ndim != 5 or p.shape[1] not in (1, h) or p.shape[-1] != p.shape[-2]:
        raise ValueError(
            "`transitions` must have shape (draws, segments, K, K) or (draws, T, segments, K, K) "
            f"with T = 1 or the horizon {h}; got {np.shape(transitions)}."
        )
    if rho.shape not in ((p.shape[0],), (p.shape[0], p.shape[2])):
        raise ValueError(
            f"`correlation` needs one value per draw, shape ({p.shape[0]},), or per draw and "
            f"segment, ({p.shape[0]}, {p.shape[2]}); got {rho.shape}."
        )
    rows = p[..., transient_idx, :]  # (D, T, S, Kt, K)
    pd = np.clip(rows[..., default_idx], 0.0, 1.0)
    surv = survivor_shares(rows, pd, default_idx)
    n_t = len(transient_idx)
    surv[..., np.arange(n_t), transient_idx] = 0.0
    # E[p(Z_t)] = Φ(Φ⁻¹(p) − √ρ s_t), broadcast to (D, H, S, Kt)
    if rho.ndim == 1:
        sqrt_rho, s_t = np.sqrt(rho)[:, None, None, None], s[None, :, None, None]
    else:  # per segment (sector factors): (D, 1, S, 1) and (1, H, S, 1)
        sqrt_rho, s_t = np.sqrt(rho)[:, None, :, None], s.reshape(1, h, -1, 1)
    mean_pd = mean_conditional_pd(ndtri(pd), sqrt_rho, s_t)
    out = surv * (1.0 - mean_pd)[..., None]
    out[..., default_idx] = mean_pd
    stay = 1.0 - out.sum(axis=-1)  # the survivors' remainder, as in the engine
    out[..., np.arange(n_t), transient_idx] = np.clip(stay, 0.0, None)
    return out


def expected_loss_by_draw(scenario: Scenario) -> np.ndarray:
    """Exact expected loss over the horizon of each parameter draw, ``E[L | d]``, shape (D,).

    The same propagation as `expected_term_structure` (whose ``loss`` is the mean of these over
    the draws, up to rounding), kept per draw: the inner expectation of the law of total
    variance across posterior draws (`riskmodel.metrics.model_risk`).

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> expected_loss_by_draw(sc).shape  # doctest: +SKIP
    (1,)
    """
    per_draw: list[np.ndarray] = []
    expected_term_structure(scenario, _loss_by_draw=per_draw)
    out: np.ndarray = np.sum(per_draw, axis=0)
    return out


def scenario_expected_matrices(scenario: Scenario) -> np.ndarray:
    """`expected_matrices` of a scenario's transitions, correlation and shift: (D, H, S, Kt, K)."""
    states = scenario.states
    return expected_matrices(
        scenario.transitions,
        scenario.correlation,
        segment_shift(scenario),
        transient_idx=states.transient_idx,
        default_idx=states.default_idx,
    )


def expected_term_structure(
    scenario: Scenario, *, _loss_by_draw: list[np.ndarray] | None = None
) -> xr.Dataset:
    """Exact expected term structure of a scenario (no Monte Carlo error).

    Parameters
    ----------
    scenario : Scenario
        ``scenario.transitions`` may be (D, S, K, K) or time-varying (D, T, S, K, K) with T = 1
        or the horizon; each Monte Carlo path uses one of the D draws chosen uniformly, so the
        result is the mean over draws.

    Returns
    -------
    xarray.Dataset
        ``loss``, ``defaults``, ``churn``, ``margin`` (period): expected amounts per period,
        undiscounted; ``loss_by_segment`` (segment): expected loss over the horizon;
        ``occupancy`` (period, state): expected customers per state at period end, absorbing
        states cumulative (as the engine's ``occupancy``); ``discount_factor`` (period);
        ``loss_by_state``, ``defaults_by_state``, ``churn_by_state`` (period, start_state): the
        expected loss, defaults and churn of the cohorts that start in each transient state;
        ``customers_by_state`` (start_state): today's customers per state; ``value_by_state``
        (start_state) and ``value_by_segment`` (segment): expected discounted margin of those
        cohorts; ``defaults_by_segment``, ``churn_by_segment`` (segment): expected defaults and
        churn over the horizon; ``occupancy_start`` (period, segment,
        transient_state): expected customers per transient state at the start of each period;
        ``value_lost_to_churn`` (scalar): expected discounted margin forgone by churners (see
        `riskmodel.simulation.kernel`, item 5).

    Notes
    -----
    Per draw ``d`` and cohort ``c`` (starting with ``n_c`` customers in one transient state),
    ``E[x_{c,t}] = E[x_{c,t−1}] E[M_{d,t}]`` over transient rows; the default, churn and other
    absorbing columns of that product are the expected inflows of period ``t``. Loss is
    ``inflow to default × EAD_c × f_t × lgd mean`` (with a downturn LGD, ``E[x] · E[p(Z) m(Z)]``
    per row, see the module docstring); margin is ``customers in transient states × margin
    per customer``. The module docstring derives ``E[M(Z_t)]`` and why the product is exact.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.metrics.expectations import exact_summary
    >>> from riskmodel.simulation.expected import expected_term_structure
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> exact_summary(expected_term_structure(sc))["loss"]["expected"]  # doctest: +SKIP
    """
    states = scenario.states
    t_idx = states.transient_idx
    pc = scenario.portfolio.per_customer()
    seg_pos = {name: i for i, name in enumerate(scenario.segments)}
    t_pos = {name: r for r, name in enumerate(states.transient)}
    seg = np.array([seg_pos[x] for x in pc["segment"]], dtype=np.intp)
    start = np.array([t_pos[x] for x in pc["state"]], dtype=np.intp)
    customers = pc["customers"].to_numpy(dtype=float)
    margin_pc = pc["margin_per_customer"].to_numpy(dtype=float)
    seg_onehot = np.zeros((len(customers), len(scenario.segments)))
    seg_onehot[np.arange(len(customers)), seg] = 1.0
    flows, loss_c, start_occ, n_draws = _propagate(
        scenario, cohort_rows(scenario), start, customers, seg_onehot, _loss_by_draw
    )
    start_onehot = np.zeros((len(customers), len(t_idx)))
    start_onehot[np.arange(len(customers)), start] = 1.0
    ds = term_structure_dataset(
        scenario, flows, loss_c, start_occ, customers, margin_pc, seg_onehot, start_onehot
    )
    ds.attrs["parameter_draws"] = n_draws
    label_term_structure(ds)
    return ds


def _propagate(
    scenario: Scenario,
    seg: np.ndarray,
    start: np.ndarray,
    customers: np.ndarray,
    seg_onehot: np.ndarray,
    loss_by_draw: list[np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Propagate every cohort's expected counts period by period, per draw.

    `seg`: each cohort's row group, its segment or a name's own (`riskmodel.simulation.names`).
    Returns the expected inflow per state (H, C, K) and loss per cohort (H, C), both averaged
    over draws, the expected transient counts per segment at each period's start (H, S, Kt),
    and the number of draws. `loss_by_draw` (if a list) receives E[loss_t | d] per period.
    """
    states = scenario.states
    h, k = scenario.horizon, states.n
    t_idx, d_idx = states.transient_idx, states.default_idx
    own_lgd = cohort_lgd(scenario)
    scenario = scenario_rows(scenario)  # a name's rows are a segment of their own
    em = scenario_expected_matrices(scenario)  # (D, H, S, Kt, K)
    n_draws, n_c = em.shape[0], len(customers)
    n_t = len(t_idx)
    ead = np.asarray(scenario.cohort_ead, dtype=float)
    ead_factor = np.asarray(scenario.ead_factor, dtype=float)
    lgd = scenario.lgd_mean
    sens = scenario.lgd_sensitivity
    rows = np.asarray(scenario.transitions, dtype=float)
    if rows.ndim == 4:
        rows = rows[:, None]
    pd_rows = rows[..., t_idx, d_idx]  # (D, T, S, Kt)

    x = np.zeros((n_draws, n_c, n_t))  # expected transient counts per draw and cohort
    x[:, np.arange(n_c), start] = customers
    flows = np.empty((h, n_c, k))  # expected inflow per state in period t, mean over draws
    loss_c = np.empty((h, n_c))  # expected loss per cohort and period
    start_occ = np.zeros((h, seg_onehot.shape[1], n_t))  # transient counts at period start
    for t in range(h):
        start_occ[t] = np.einsum("cs,ci->si", seg_onehot, x.mean(axis=0))
        into = np.einsum("dci,dcik->dck", x, em[:, t][:, seg])  # (D, C, K)
        if sens > 0:
            g = scenario_default_lgd(scenario, pd_rows[:, t if pd_rows.shape[1] > 1 else 0], t)
            loss_c[t] = np.einsum("dci,dci->c", x, g[:, seg]) / n_draws
        else:
            loss_c[t] = into[..., d_idx].mean(axis=0) * lgd
        loss_c[t] = own_lgd_loss(own_lgd, into[..., d_idx].mean(axis=0), loss_c[t])
        loss_c[t] *= ead * ead_factor[t]
        if loss_by_draw is not None:  # E[loss_t | d]: the same terms, not averaged over draws
            per = np.einsum("dci,dci->dc", x, g[:, seg]) if sens > 0 else into[..., d_idx] * lgd
            per = own_lgd_loss(own_lgd, into[..., d_idx], per)
            loss_by_draw.append(per @ (ead * ead_factor[t]))
        x = into[..., t_idx]
        flows[t] = into.mean(axis=0)
    return flows, loss_c, start_occ, n_draws


def segment_shift(scenario: Scenario, *, per_segment: bool = False) -> np.ndarray:
    """Return the factor shift per period (H,); with sector factors each segment's, (H, S).

    `per_segment`: (H, S) in either case (one factor: the same column for every segment).
    """
    shift = np.asarray(scenario.shift, dtype=float)
    if scenario.factors is not None:
        out: np.ndarray = shift[:, scenario.factors.segment_factor]
        return out
    if per_segment:
        return np.repeat(shift[:, None], len(scenario.segments), axis=1)
    return shift


def segment_correlation(scenario: Scenario) -> np.ndarray:
    """Return the asset correlation per draw and segment, (D, S), in either factor form."""
    corr = np.asarray(scenario.correlation, dtype=float)
    if corr.ndim == 2:
        return corr
    return np.repeat(corr[:, None], len(scenario.segments), axis=1)


def scenario_default_lgd(scenario: Scenario, pd: np.ndarray, t: int) -> np.ndarray:
    """Return ``E[p(Z_t) m(Z_t)]`` of period `t` per draw, segment and row (D, S, Kt).

    `pd` (D, S, Kt): the period's unconditional default probabilities of the transient rows
    (`expected_default_lgd` with the scenario's correlation, shift and downturn LGD). With sector
    factors each segment integrates over its own factor ``N(shift_{t,f(s)}, 1)``.
    """
    lgd, sens = scenario.lgd_mean, scenario.lgd_sensitivity
    if scenario.factors is None:
        return expected_default_lgd(
            pd, scenario.correlation, float(scenario.shift[t]), lgd_mean=lgd, sensitivity=sens
        )
    shift = segment_shift(scenario)[t]
    corr = np.asarray(scenario.correlation, dtype=float)
    per_segment = [
        expected_default_lgd(pd[:, s], corr[:, s], float(shift[s]), lgd_mean=lgd, sensitivity=sens)
        for s in range(pd.shape[1])
    ]
    return np.stack(per_segment, axis=1)
