"""Expected credit loss (ECL) term structure from a run's exact expectations.

Every result dataset carries the exact expected term structure of its scenario (variables
``exact_*``, computed by `riskmodel.simulation.expected` with zero Monte Carlo error). From it:

- ``by_period``: discounted expected loss of each period, ``E[loss_t] · df_t`` with
  ``df_t = Π_{u≤t} 1/(1 + r_u)``;
- ``lifetime``: their sum over the horizon; ``12_month``: the sum over the periods of the first
  12 months (12 monthly periods, 4 quarterly ones; the whole horizon if shorter) — IFRS 9's
  12-month ECL. The window comes from the run's ``ecl_12_month_periods`` attribute (the
  scenario's ``period``; 12 when absent); a fractional window takes that fraction of the period
  straddling month 12 (`riskmodel.scenarios.period.ecl_window_sum`). ``12_period``, the name
  in DESIGN.md's summary contract, is kept as an alias of ``12_month``;
- ``by_state``: the same two figures for the cohorts that *start* in each transient state (an
  IFRS 9 book with states ``stage1, stage2, stage3`` reads stage 1's 12-month ECL and stage 2's
  lifetime ECL off this table), with the cohorts' customers and lifetime default rate;
- ``cumulative_default_rate`` and ``marginal_default_rate``: expected defaults up to / in each
  period divided by today's customers (unconditional rates over the initial book).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from riskmodel.metrics.risk import as_dataset
from riskmodel.scenarios.period import ecl_window_sum

__all__ = ["ECL_12_PERIODS", "ecl_term_structure"]

ECL_12_PERIODS = 12
"""Periods in the short ECL window with monthly periods (the default when a run has no
``ecl_12_month_periods`` attribute)."""


def ecl_term_structure(data: Any, *, short_window: float | None = None) -> dict:
    """Return the ``ecl`` entry of ``summary.json`` from a run's exact expectations.

    Parameters
    ----------
    data : SimulationResult or xarray.Dataset
        A run with ``exact_loss``, ``exact_defaults`` (period), ``discount_factor`` (period) and
        the ``total_customers`` attribute; ``exact_loss_by_state``, ``exact_defaults_by_state``
        (period, start_state) and ``exact_customers_by_state`` (start_state) add ``by_state``.
        Results saved before exact expectations existed fall back to the self-normalised Monte
        Carlo means ``Σ w x / Σ w`` (then ``exact`` is False, ``method`` is ``"monte_carlo"``
        and ``by_state`` is empty).
    short_window : float, optional
        Periods of the 12-month ECL window; default: the run's ``ecl_12_month_periods``
        attribute (from the scenario's ``period``), else 12.

    Returns
    -------
    dict
        ``{"lifetime", "12_month", "12_period", "by_period", "by_state": {state: {"12_month",
        "12_period", "lifetime", "customers", "lifetime_default_rate"}},
        "cumulative_default_rate",
        "marginal_default_rate", "exact", "method"}``; amounts discounted, in currency units;
        ``method`` is ``"exact"`` (every figure exact) or ``"monte_carlo"``.

    Raises
    ------
    ValueError
        If `short_window` < 1.

    Examples
    --------
    >>> import riskmodel as rm
    >>> res = rm.run("scenarios/ifrs9.yaml", paths=500)  # doctest: +SKIP
    >>> ecl_term_structure(res)["by_state"]["stage2"]["lifetime"]  # doctest: +SKIP
    """
    ds = as_dataset(data)
    if short_window is None:
        short_window = float(ds.attrs.get("ecl_12_month_periods", ECL_12_PERIODS))
    if not short_window > 0:
        raise ValueError(f"`short_window` must be > 0; got {short_window}.")
    df = ds["discount_factor"].to_numpy()
    exact = "exact_loss" in ds
    if exact:
        loss = ds["exact_loss"].to_numpy()
        defaults = ds["exact_defaults"].to_numpy()
    else:  # self-normalised Monte Carlo means Σ w x / Σ w: never outside the paths' range
        w = ds["weight"]
        if "mc_mean_loss" in ds:  # a `keep: totals` run kept the per-period (1/N) Σ w x
            scale = ds.sizes["path"] / float(w.sum())
            loss = ds["mc_mean_loss"].to_numpy() * scale
            defaults = ds["mc_mean_defaults"].to_numpy() * scale
        else:
            loss = (xr.dot(ds["loss"], w, dim="path") / w.sum()).to_numpy()
            defaults = (xr.dot(ds["defaults"], w, dim="path") / w.sum()).to_numpy()
    discounted = loss * df
    # no customers: no one can default, so every rate is 0 (as in by_state), never 0/0
    n0 = float(ds.attrs.get("total_customers", 0)) or float("inf")
    by_state: dict[str, dict[str, float]] = {}
    if "exact_loss_by_state" in ds:
        per_state = ds["exact_loss_by_state"].transpose("period", "start_state").to_numpy()
        pd_state = ds["exact_defaults_by_state"].transpose("period", "start_state").to_numpy()
        customers = ds["exact_customers_by_state"].to_numpy()
        for j, state in enumerate(ds["start_state"].values.tolist()):
            d = per_state[:, j] * df
            n = float(customers[j])
            window = ecl_window_sum(d, short_window)
            by_state[str(state)] = {
                "12_month": window,
                "12_period": window,
                "lifetime": float(d.sum()),
                "customers": n,
                "lifetime_default_rate": float(pd_state[:, j].sum() / n) if n > 0 else 0.0,
            }
    window = ecl_window_sum(discounted, short_window)
    return {
        "lifetime": float(discounted.sum()),
        "12_month": window,
        "12_period": window,  # DESIGN.md's name, an alias of 12_month
        "by_period": [float(v) for v in discounted],
        "by_state": by_state,
        "cumulative_default_rate": [float(v) for v in np.cumsum(defaults) / n0],
        "marginal_default_rate": [float(v) for v in defaults / n0],
        "exact": bool(exact),
        "method": "exact" if exact else "monte_carlo",
    }
