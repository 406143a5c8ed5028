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
whatever the defaults, so ``E[loss_t] = Σ_c E[D_ct] · EAD_c · m``. The margin of a period is the
expected number of customers in transient states at the period end times the margin per customer.

With several parameter draws each path uses one draw chosen uniformly, so the expectation is the
mean over draws of each draw's propagation (vectorised over draws and cohorts). Importance
sampling does not change these expectations: it only reweights the paths that estimate them.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.special import ndtr, ndtri

from riskmodel.scenarios.load import Scenario

__all__ = ["exact_summary", "expected_matrices", "expected_term_structure"]

_SCALE_PERIODS_12 = 12


def expected_matrices(
    transitions: np.ndarray,
    correlation: np.ndarray,
    shift: np.ndarray,
    *,
    transient_idx: np.ndarray,
    default_idx: int,
) -> np.ndarray:
    """Expected transient rows ``E[M(Z_t)]`` per draw, period and segment.

    Parameters
    ----------
    transitions : ndarray, shape (D, S, K, K) or (D, T, S, K, K)
        Row-stochastic matrices per parameter draw (and per period when 5-d, with T = 1 or the
        horizon H).
    correlation : ndarray, shape (D,)
        Asset correlation ρ per draw.
    shift : ndarray, shape (H,)
        Mean ``s_t`` of the systematic factor per period.
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
    if rho.shape != (p.shape[0],):
        raise ValueError(
            f"`correlation` needs one value per draw, shape ({p.shape[0]},); got {rho.shape}."
        )
    rows = p[..., transient_idx, :]  # (D, T, S, Kt, K)
    pd = np.clip(rows[..., default_idx], 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = rows / (1.0 - pd)[..., None]
    surv = np.where(np.isfinite(surv), surv, 0.0)
    n_t = len(transient_idx)
    surv[..., default_idx] = 0.0
    surv[..., np.arange(n_t), transient_idx] = 0.0
    # E[p(Z_t)] = Φ(Φ⁻¹(p) − √ρ s_t), broadcast to (D, H, S, Kt)
    mean_pd = ndtr(ndtri(pd) - np.sqrt(rho)[:, None, None, None] * s[None, :, None, None])
    out = surv * (1.0 - mean_pd)[..., None]
    out[..., default_idx] = mean_pd
    stay = 1.0 - out.sum(axis=-1)  # the survivors' remainder, as in the engine
    out[..., np.arange(n_t), transient_idx] = np.clip(stay, 0.0, None)
    return out


def expected_term_structure(scenario: Scenario) -> xr.Dataset:
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
        states cumulative (as the engine's ``occupancy``); ``discount_factor`` (period).

    Notes
    -----
    Per draw ``d`` and cohort ``c`` (starting with ``n_c`` customers in one transient state),
    ``E[x_{c,t}] = E[x_{c,t−1}] E[M_{d,t}]`` over transient rows; the default, churn and other
    absorbing columns of that product are the expected inflows of period ``t``. Loss is
    ``inflow to default × EAD_c × lgd.mean``; margin is ``customers in transient states × margin
    per customer``. The module docstring derives ``E[M(Z_t)]`` and why the product is exact.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.simulation.expected import expected_term_structure, exact_summary
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> exact_summary(expected_term_structure(sc))["loss"]["expected"]  # doctest: +SKIP
    """
    states = scenario.states
    h, k = scenario.horizon, states.n
    t_idx, d_idx = states.transient_idx, states.default_idx
    em = expected_matrices(
        scenario.transitions,
        scenario.correlation,
        scenario.shift,
        transient_idx=t_idx,
        default_idx=d_idx,
    )  # (D, H, S, Kt, K)
    pc = scenario.portfolio.per_customer()
    seg_pos = {name: i for i, name in enumerate(scenario.segments)}
    t_pos = {name: r for r, name in enumerate(states.transient)}
    seg = np.array([seg_pos[x] for x in pc["segment"]], dtype=np.intp)
    start = np.array([t_pos[x] for x in pc["state"]], dtype=np.intp)
    customers = pc["customers"].to_numpy(dtype=float)
    ead = pc["ead"].to_numpy(dtype=float)
    margin_pc = pc["margin_per_customer"].to_numpy(dtype=float)
    n_draws, n_c = em.shape[0], len(customers)

    x = np.zeros((n_draws, n_c, len(t_idx)))  # expected transient counts per draw and cohort
    x[:, np.arange(n_c), start] = customers
    flows = np.empty((h, n_c, k))  # expected inflow per state in period t, mean over draws
    for t in range(h):
        into = np.einsum("dci,dcik->dck", x, em[:, t][:, seg])  # (D, C, K)
        x = into[..., t_idx]
        flows[t] = into.mean(axis=0)

    lgd = float(scenario.config.lgd.mean)
    defaults_c = flows[..., d_idx]  # (H, C)
    transient_c = flows[..., t_idx].sum(axis=-1)  # (H, C) customers in transient states
    loss_c = defaults_c * ead * lgd
    occupancy = flows.sum(axis=1)  # (H, K)
    absorbing = states.absorbing_idx
    occupancy[:, absorbing] = np.cumsum(occupancy[:, absorbing], axis=0)
    churn = (
        flows[..., states.churn_idx].sum(axis=1) if states.churn_idx is not None else np.zeros(h)
    )
    seg_onehot = np.zeros((n_c, len(scenario.segments)))
    seg_onehot[np.arange(n_c), seg] = 1.0
    discount = np.cumprod(1.0 / (1.0 + np.asarray(scenario.discount_rate, dtype=float)))

    ds = xr.Dataset(
        {
            "loss": ("period", loss_c.sum(axis=1)),
            "defaults": ("period", defaults_c.sum(axis=1)),
            "churn": ("period", churn),
            "margin": ("period", transient_c @ margin_pc),
            "loss_by_segment": ("segment", loss_c.sum(axis=0) @ seg_onehot),
            "occupancy": (("period", "state"), occupancy),
            "discount_factor": ("period", discount),
        },
        coords={
            "period": np.arange(1, h + 1),
            "segment": list(scenario.segments),
            "state": list(states.names),
        },
        attrs={"scenario": scenario.name, "horizon": h, "parameter_draws": n_draws, "exact": 1},
    )
    ds["loss"].attrs.update(units="currency", long_name="exact expected credit loss in the period")
    ds["defaults"].attrs.update(units="customers", long_name="exact expected defaults")
    ds["churn"].attrs.update(units="customers", long_name="exact expected churn")
    ds["margin"].attrs.update(units="currency", long_name="exact expected margin")
    ds["occupancy"].attrs.update(
        units="customers", long_name="exact expected customers per state at period end"
    )
    return ds


def exact_summary(ds: xr.Dataset) -> dict:
    """Exact expectations in the `summary.json` layout of DESIGN.md.

    Parameters
    ----------
    ds : xarray.Dataset
        From `expected_term_structure`.

    Returns
    -------
    dict
        ``{"loss": {"expected"}, "ecl": {"lifetime", "12_period", "by_period"},
        "defaults": {"expected"}, "churn": {"expected"}, "value": {"expected"}}``: lifetime
        expected loss (undiscounted), discounted expected credit loss (lifetime, first 12
        periods, per period), expected defaults and churn over the horizon, and the discounted
        expected margin.
    """
    df = ds["discount_factor"]
    ecl = (ds["loss"] * df).to_numpy()
    return {
        "loss": {"expected": float(ds["loss"].sum("period"))},
        "ecl": {
            "lifetime": float(ecl.sum()),
            "12_period": float(ecl[:_SCALE_PERIODS_12].sum()),
            "by_period": [float(v) for v in ecl],
        },
        "defaults": {"expected": float(ds["defaults"].sum("period"))},
        "churn": {"expected": float(ds["churn"].sum("period"))},
        "value": {"expected": float((ds["margin"] * df).sum("period"))},
    }
