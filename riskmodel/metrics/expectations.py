"""Expectations with one truth: the exact value, and a Monte Carlo cross-check beside it.

Every result carries the exact expected term structure of its scenario (``exact_*`` variables,
`riskmodel.simulation.expected`, zero Monte Carlo error). The headline expectation of a
quantity is that exact value wherever the model allows it: loss, defaults, churn, discounted
margin (value) and value lost to churn, in total, per period, per segment and per starting
state. The paths' own estimate sits beside it as a cross-check, with its standard error and
its z-score ``(MC − exact) / s.e.``.

The Monte Carlo estimator
-------------------------
Under importance sampling each path carries its likelihood ratio ``w_i`` (``E[w] = 1``). The
plain weighted mean ``(1/N) Σ w_i x_i`` is unbiased but not bounded by the values it averages:
when ``Σ w_i ≠ N`` it can exceed the largest possible value (a book whose rows all default
reported 123,118 expected defaults for 122,000 customers). The cross-check therefore uses the
self-normalised estimator

    ``μ̂ = Σ w_i x_i / Σ w_i``,

a weighted average of the paths' values, hence always within ``[min x_i, max x_i]``: never an
impossible figure. It equals the plain mean for ``w = 1``. Its standard error is the delta-method
one of a ratio estimator (Owen 2013, §9.2),

    ``se(μ̂) = sqrt(N/(N − 1) · Σ w_i² (x_i − μ̂)²) / Σ w_i``,

which reduces to ``std(x, ddof=1)/√N`` for plain Monte Carlo (the estimator of
`riskmodel.metrics.risk.expected_value`, used here column by column). Its bias is ``O(1/N)``,
below the standard error by a factor ``O(1/√N)``. A quasi-Monte Carlo run (variable
``replicate``) takes the standard error from the spread of the per-replicate estimates
instead.

References
----------
.. [1] Owen, A. B. (2013). *Monte Carlo theory, methods and examples*, ch. 9 (importance
   sampling; self-normalised estimators and their delta-method variance).
"""

from __future__ import annotations

import math
from typing import Any, Literal, overload

import numpy as np
import xarray as xr

from riskmodel.errors import ArgumentError
from riskmodel.metrics.risk import as_dataset, expected_value
from riskmodel.scenarios.period import ecl_window_sum
from riskmodel.simulation.store import path_total

__all__ = [
    "EXPECTATIONS",
    "MC_ESTIMATOR",
    "exact_dataset",
    "expectation",
    "expectations_section",
    "self_normalised_mean",
]

MC_ESTIMATOR = "self-normalised"
"""Name of the Monte Carlo estimator of the cross-checks (``Σ w x / Σ w``)."""

EXPECTATIONS: tuple[str, ...] = ("loss", "defaults", "churn", "value", "value_lost_to_churn")
"""Headline expectations, as named in ``summary.json``."""

_DESCRIBE = {
    "method": "'exact' when `expected` is the exact expectation (no Monte Carlo error; its "
    "stderr is 0), 'monte_carlo' for a result saved without exact expectations",
    "expected_mc": "Monte Carlo cross-check: self-normalised estimate sum(w x) / sum(w) over "
    "the paths, with stderr_mc its standard error and z_mc = (expected_mc - expected) / stderr_mc",
}


def _columns(x: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """`riskmodel.metrics.risk.expected_value` of each column of the (paths, K) array `x`."""
    pairs = [expected_value(x[:, k], weights=w) for k in range(x.shape[1])]
    return np.array([m for m, _ in pairs]), np.array([e for _, e in pairs])


def self_normalised_mean(
    values: Any, *, weights: Any = None, replicate: Any = None
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Self-normalised weighted mean ``Σ w_i x_i / Σ w_i`` and its standard error.

    The estimator of `riskmodel.metrics.risk.expected_value`, column by column, with the
    quasi-Monte Carlo standard error when the paths come in replicates.

    Parameters
    ----------
    values : array_like, shape (N,) or (N, K)
        Per-path values (paths first), finite.
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights, >= 0 with a positive sum. Default: all ones.
    replicate : array_like of int, shape (N,), optional
        Quasi-Monte Carlo replicate of each path: the standard error is then the spread of the
        per-replicate estimates, ``std(μ̂_r, ddof=1) / √R``.

    Returns
    -------
    mean, stderr : float or ndarray of shape (K,)
        The estimate always lies within the range of `values`; ``stderr`` as in the module
        docstring (NaN for one path).

    Raises
    ------
    ArgumentError
        If `values` is empty, not 1-D or 2-D, or not finite, or `weights` have the wrong
        shape, are negative, not finite or sum to zero.

    Examples
    --------
    >>> self_normalised_mean([1.0, 2.0, 3.0])[0]
    2.0
    >>> float(self_normalised_mean([10.0, 10.0], weights=[3.0, 0.5])[0])  # never above 10
    10.0
    """
    x = np.asarray(values, dtype=float)
    if x.ndim not in (1, 2):
        raise ArgumentError(
            f"`values` must be a (paths,) or (paths, K) array; got shape {x.shape}. Put the "
            "paths first."
        )
    cols = x.reshape(x.shape[0], -1)
    w = None if weights is None else np.asarray(weights, dtype=float)
    mean, se = _columns(cols, w)
    if replicate is not None:
        rep = np.asarray(replicate)
        groups = [np.flatnonzero(rep == r) for r in np.unique(rep)]
        groups = [g for g in groups if w is None or w[g].sum() > 0]
        if len(groups) >= 2:
            per = np.stack([_columns(cols[g], None if w is None else w[g])[0] for g in groups])
            se = np.std(per, axis=0, ddof=1) / math.sqrt(len(groups))
    if x.ndim == 1:
        return float(mean[0]), float(se[0])
    return mean, se


def exact_dataset(data: Any) -> xr.Dataset | None:
    """Return the exact expectations stored in a result, without their ``exact_`` prefix.

    Returns None for a result saved before exact expectations existed.
    """
    ds = as_dataset(data)
    names = {v: str(v)[len("exact_") :] for v in ds.data_vars if str(v).startswith("exact_")}
    if "exact_loss" not in names:
        return None
    out = ds[list(names)].rename(names)
    return out.assign(discount_factor=ds["discount_factor"])


def _per_path(ds: xr.Dataset, name: str) -> np.ndarray:
    """Per-path Monte Carlo values of a headline expectation."""
    if name == "value":
        return path_total(ds, "margin", discounted=True).to_numpy()
    if name == "value_lost_to_churn":
        return ds["churn_value_lost"].to_numpy()
    return path_total(ds, name).to_numpy()


def _replicate(ds: xr.Dataset) -> np.ndarray | None:
    return ds["replicate"].to_numpy() if "replicate" in ds else None


def _block(exact: float | None, mc: float, se: float) -> dict:
    z = None
    if exact is not None and se > 0 and math.isfinite(se):
        z = (mc - exact) / se
    return {
        "expected": mc if exact is None else float(exact),
        "method": "monte_carlo" if exact is None else "exact",
        "expected_mc": float(mc),
        "stderr_mc": float(se),
        "z_mc": z,
        "stderr": {"expected": float(se) if exact is None else 0.0, "expected_mc": float(se)},
    }


@overload
def expectation(data: Any, name: Literal["loss", "defaults", "churn", "value"]) -> dict: ...
@overload
def expectation(data: Any, name: str) -> dict | None: ...
def expectation(data: Any, name: str) -> dict | None:
    """One headline expectation: exact value, method, and the Monte Carlo cross-check.

    Parameters
    ----------
    data : SimulationResult or xarray.Dataset
    name : {"loss", "defaults", "churn", "value", "value_lost_to_churn"}
        ``value`` is the discounted margin; ``value_lost_to_churn`` the discounted margin the
        churners would have earned to the horizon.

    Returns
    -------
    dict or None
        ``{"expected", "method", "expected_mc", "stderr_mc", "z_mc", "stderr": {"expected",
        "expected_mc"}}``; ``expected`` is exact when ``method == "exact"`` (then
        ``stderr.expected`` is 0). None if the run has no per-path values for `name`.

    Raises
    ------
    ValueError
        For an unknown `name`.
    """
    if name not in EXPECTATIONS:
        raise ValueError(f"`name` must be one of {list(EXPECTATIONS)}; got {name!r}.")
    ds = as_dataset(data)
    if name == "value_lost_to_churn" and "churn_value_lost" not in ds:
        return None
    mc, se = self_normalised_mean(
        _per_path(ds, name), weights=ds["weight"].to_numpy(), replicate=_replicate(ds)
    )
    exact = exact_dataset(ds)
    value = None if exact is None else exact_summary(exact)[name]["expected"]
    return _block(value, float(mc), float(se))


def _by_period(ds: xr.Dataset, exact: xr.Dataset | None, stderr: bool) -> dict:
    w = ds["weight"].to_numpy()
    out = {}
    for name in ("loss", "defaults", "churn", "margin"):
        if "period" in ds[name].dims:
            x = ds[name].transpose("path", "period").to_numpy()
            mc, se = map(np.asarray, self_normalised_mean(x, weights=w, replicate=_replicate(ds)))
        else:  # keep: totals kept the per-period means (1/N) Σ w x only
            mc = ds[f"mc_mean_{name}"].to_numpy() * ds.sizes["path"] / w.sum()
            se = np.full(mc.shape, math.nan)
        entry = {"mc": mc.tolist(), "stderr_mc": se.tolist()} if stderr else {"mc": mc.tolist()}
        if exact is not None:
            entry = {"exact": exact[name].to_numpy().tolist(), **entry}
        out[name] = entry
    return out


def _named(keys: list[str], values: Any) -> dict[str, float]:
    return dict(zip(keys, np.asarray(values, dtype=float).tolist(), strict=True))


def _by_segment(ds: xr.Dataset, exact: xr.Dataset | None) -> dict:
    segs = [str(s) for s in ds["segment"].values]
    x = ds["loss_by_segment"].transpose("path", "segment").to_numpy()
    mc, se = self_normalised_mean(x, weights=ds["weight"].to_numpy(), replicate=_replicate(ds))
    out: dict[str, dict] = {"loss": {"mc": _named(segs, mc), "stderr_mc": _named(segs, se)}}
    if exact is None:
        return out
    out["loss"] = {"exact": _named(segs, exact["loss_by_segment"].values), **out["loss"]}
    for name in ("defaults", "churn", "value"):
        if f"{name}_by_segment" in exact:
            out[name] = {"exact": _named(segs, exact[f"{name}_by_segment"].values)}
    return out


def _by_state(exact: xr.Dataset) -> dict:
    states = [str(s) for s in exact["start_state"].values]
    out: dict[str, dict] = {"customers": _named(states, exact["customers_by_state"].values)}
    for name in ("loss", "defaults", "churn"):
        if f"{name}_by_state" in exact:
            out[name] = {"exact": _named(states, exact[f"{name}_by_state"].sum("period").values)}
    if "value_by_state" in exact:
        out["value"] = {"exact": _named(states, exact["value_by_state"].values)}
    return out


def expectations_section(data: Any, *, period_stderr: bool = True) -> dict:
    """Return the ``expectations`` entry of ``summary.json``: per period, per segment, per state.

    Parameters
    ----------
    data : SimulationResult or xarray.Dataset
    period_stderr : bool, default True
        Add the standard errors of the per-period cross-checks (``by_period[...]["stderr_mc"]``;
        NaN for a ``keep: totals`` run, which kept the per-period means only). ``summary.json``
        leaves them out, so that it reads the same whatever the run kept.

    Returns
    -------
    dict
        ``{"method", "mc_estimator", "description", "by_period": {loss, defaults, churn,
        margin: {"exact": [...], "mc": [...], "stderr_mc": [...]}}, "by_segment": {loss:
        {"exact", "mc", "stderr_mc"}, defaults, churn, value: {"exact"}}, "by_state": {
        "customers", loss, defaults, churn, value: {"exact"}}}``. Per-period amounts are
        undiscounted; ``value`` is the discounted margin; ``by_state`` groups the cohorts by
        the state they start in. ``exact`` entries are absent from a result saved without
        exact expectations (then ``method`` is ``"monte_carlo"``).

    Examples
    --------
    >>> import riskmodel as rm
    >>> res = rm.run("scenarios/baseline.yaml", paths=2000)  # doctest: +SKIP
    >>> expectations_section(res)["by_period"]["defaults"]["exact"][0]  # doctest: +SKIP
    """
    ds = as_dataset(data)
    exact = exact_dataset(ds)
    out = {
        "method": "monte_carlo" if exact is None else "exact",
        "mc_estimator": MC_ESTIMATOR,
        "description": dict(_DESCRIBE),
        "by_period": _by_period(ds, exact, period_stderr),
        "by_segment": _by_segment(ds, exact),
    }
    if exact is not None:
        out["by_state"] = _by_state(exact)
    return out


def exact_summary(ds: xr.Dataset) -> dict[str, Any]:
    """Exact expectations in the `summary.json` layout of DESIGN.md.

    Parameters
    ----------
    ds : xarray.Dataset
        From `expected_term_structure`.

    Returns
    -------
    dict
        ``{"loss": {"expected"}, "ecl": {"lifetime", "12_period", "by_period"},
        "defaults": {"expected"}, "churn": {"expected"}, "value": {"expected"},
        "value_lost_to_churn": {"expected"}}``: lifetime expected loss (undiscounted),
        discounted expected credit loss (lifetime, first 12 periods, per period), expected
        defaults and churn over the horizon, the discounted expected margin and the expected
        discounted margin forgone by churners.
    """
    df = ds["discount_factor"]
    ecl = (ds["loss"] * df).to_numpy()
    window = ecl_window_sum(ecl, float(ds.attrs.get("ecl_12_month_periods", 12)))
    return {
        "loss": {"expected": float(ds["loss"].sum("period"))},
        "ecl": {
            "lifetime": float(ecl.sum()),
            "12_month": window,
            "12_period": window,  # the contract's name (DESIGN.md): an alias of 12_month
            "by_period": [float(v) for v in ecl],
        },
        "defaults": {"expected": float(ds["defaults"].sum("period"))},
        "churn": {"expected": float(ds["churn"].sum("period"))},
        "value": {"expected": float((ds["margin"] * df).sum("period"))},
        "value_lost_to_churn": {"expected": float(ds["value_lost_to_churn"])},
    }
