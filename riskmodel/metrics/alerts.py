"""Early warnings: per period, the probability that a KPI breaches its threshold.

An alert (the `alerts:` section of a scenario, `riskmodel.scenarios.schema.AlertConfig`) watches
one per-period KPI of the simulated paths:

- ``loss``, ``defaults``, ``churn``: the amount in the period (currency, customers, customers);
- ``default_rate``, ``churn_rate``: defaults (churn) in the period divided by the customers alive
  at the period start, ``n_alive(t) = n_total − Σ_{u<t} (defaults_u + churn_u)`` per path.
  This assumes that customers leave the book only by default or churn (true for the lifecycle
  and IFRS 9 state spaces); a rate with nobody alive is 0.

Per period ``t`` the breach probability is the self-normalised
``p_t = Σ w_i 1{KPI_it > threshold} / Σ w_i`` with the importance-sampling weights ``w_i``
(a probability in [0, 1] whatever ``Σ w`` is), and its standard error the delta-method one,
``std(ψ, ddof=1) / sqrt(N)`` with ``ψ_i = w̃_i 1{…} − p_t (w̃_i − 1)``, ``w̃ = N w / Σ w``
(as `riskmodel.metrics.exceedance_probability`; ``std(1{…}, ddof=1) / sqrt(N)`` for plain
Monte Carlo). A `keep: totals` run kept ``(1/N) Σ w 1{…}`` and ``(1/N) Σ (w 1{…})²`` per
period; with the kept weights they give the same two figures (see `_totals_estimate`). The
alert fires at the first period with ``p_t ≥ confidence``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pydantic
import xarray as xr

from riskmodel.metrics.risk import as_dataset
from riskmodel.scenarios.errors import format_validation_error
from riskmodel.scenarios.schema import ALERT_METRICS, AlertConfig
from riskmodel.simulation.kpi import kpi_array

__all__ = ["alert_kpi", "alerts_to_dict", "evaluate_alerts"]


def alert_kpi(data: Any, metric: str) -> xr.DataArray:
    """Return the per-path, per-period KPI an alert watches (dims: path, period).

    Parameters
    ----------
    data : SimulationResult or xarray.Dataset
        Engine output with ``loss``, ``defaults`` and ``churn`` (path, period) and the
        ``total_customers`` attribute.
    metric : {"default_rate", "churn_rate", "loss", "defaults", "churn"}

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    ValueError
        For an unknown `metric`.
    """
    ds = as_dataset(data, "result")
    if metric not in ALERT_METRICS:
        raise ValueError(f"`metric` must be one of {list(ALERT_METRICS)}; got {metric!r}.")
    if "period" not in ds["loss"].dims:
        raise ValueError(
            "alert_kpi needs every path's per-period outputs, but this run kept per-path totals "
            "only (`simulation: {keep: totals}`); its alerts were evaluated by the engine "
            "(`evaluate_alerts` reads them), or re-run with `keep: paths`."
        )
    arrays = [ds[v].transpose("path", "period") for v in ("loss", "defaults", "churn")]
    loss, defaults, churn = (a.to_numpy() for a in arrays)
    values = kpi_array(metric, loss, defaults, churn, ds.attrs["total_customers"])
    return xr.DataArray(values, coords=arrays[0].coords, dims=("path", "period"), name=metric)


def _configs(alerts: Iterable[AlertConfig | Mapping]) -> list[AlertConfig]:
    out = []
    for i, a in enumerate(alerts):
        if isinstance(a, AlertConfig):
            out.append(a)
            continue
        try:
            out.append(AlertConfig.model_validate(a))
        except pydantic.ValidationError as exc:
            problems = format_validation_error(exc, AlertConfig)
            text = "; ".join(f"{f}: {m}" if f else m for f, m in problems)
            raise ValueError(
                f"alert {i} is invalid: {text} Give name, metric, threshold and optionally "
                "confidence, as in a scenario's `alerts:` section."
            ) from None
    names = [a.name for a in out]
    if len(set(names)) != len(names):
        raise ValueError(f"alert names must be unique; got {names}. Rename the duplicates.")
    return out


def evaluate_alerts(result: Any, alerts: Iterable[AlertConfig | Mapping]) -> xr.Dataset:
    """Breach probabilities per alert and period, with standard errors and first alarms.

    Parameters
    ----------
    result : SimulationResult or xarray.Dataset
        A simulated run (its per-path ``weight`` is used).
    alerts : iterable of AlertConfig or mapping
        E.g. ``scenario.config.alerts``, or dicts ``{name, metric, threshold[, confidence]}``.

    Returns
    -------
    xarray.Dataset
        ``probability`` and ``stderr`` (alert, period); ``first_period`` (alert; the period
        label of the first ``probability ≥ confidence``, -1 if never); ``metric``,
        ``threshold``, ``confidence`` (alert).

    Raises
    ------
    ValueError
        If an alert is invalid or the names are not unique.

    Examples
    --------
    >>> import riskmodel as rm
    >>> res = rm.run("scenarios/baseline.yaml", paths=2000)  # doctest: +SKIP
    >>> evaluate_alerts(res, [{"name": "dr", "metric": "default_rate", "threshold": 0.01}])
    ... # doctest: +SKIP
    """
    ds = as_dataset(result, "result")
    configs = _configs(alerts)
    raw = ds["weight"].values
    n = raw.shape[0]
    w = (raw * (n / raw.sum()))[:, None]  # self-normalised: mean one (unchanged if all one)
    periods = ds["period"].values
    prob = np.empty((len(configs), periods.size))
    se = np.full_like(prob, math.nan)
    first = np.full(len(configs), -1, dtype=np.int64)
    for k, cfg in enumerate(configs):
        if "period" in ds["loss"].dims:
            hit = w * (alert_kpi(ds, cfg.metric).values > cfg.threshold)
            prob[k] = hit.mean(axis=0)
            if n > 1:
                psi = hit - prob[k] * (w - 1.0)  # delta-method influence; = hit for w = 1
                se[k] = np.sqrt(np.var(psi, axis=0, ddof=1) / n)
        else:  # a `keep: totals` run: the engine summed w·1{breach} and its square per period
            prob[k], se[k] = _totals_estimate(*_engine_sums(ds, cfg), raw)
        fired = np.flatnonzero(prob[k] >= cfg.confidence)
        if fired.size:
            first[k] = periods[fired[0]]
    names = [c.name for c in configs]
    return xr.Dataset(
        {
            "probability": (("alert", "period"), prob),
            "stderr": (("alert", "period"), se),
            "first_period": ("alert", first),
            "metric": ("alert", np.array([c.metric for c in configs], dtype=object)),
            "threshold": ("alert", np.array([c.threshold for c in configs], dtype=float)),
            "confidence": ("alert", np.array([c.confidence for c in configs], dtype=float)),
        },
        coords={"alert": np.array(names, dtype=object), "period": periods},
        attrs={"n_paths": n},
    )


def _totals_estimate(
    mean: np.ndarray, square: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Self-normalised breach probability and its error from a `keep: totals` run's sums.

    With ``m1 = mean(w)``, ``m2 = mean(w²)``, the kept ``mean = (1/N) Σ w 1`` and
    ``square = (1/N) Σ w² 1``: ``p = mean / m1``; the influence ``ψ = w̃ (1 − p) + p``
    (``w̃ = w / m1``) has ``Var ψ = S (1 − 2p) + p² M`` with ``S = square / m1²``,
    ``M = m2 / m1²``, written as ``(S − p²) + (p² (M + 1) − 2 p S)`` so that plain Monte Carlo
    (``S = p``, ``M = 1``: the bracket is exactly 0) keeps ``(square − mean²)``. The variance
    is scaled by ``N/(N − 1)`` as ``ddof=1``.
    """
    n = weights.size
    m1 = float(weights.mean())
    m2 = float(np.mean(weights**2)) / m1**2
    p = mean / m1
    s = square / m1**2
    if n < 2:
        return p, np.full_like(p, math.nan)
    var = (s - p**2) + (p**2 * (m2 + 1.0) - 2.0 * p * s)
    return p, np.sqrt(np.maximum(var, 0.0) / (n - 1))


def _engine_sums(ds: xr.Dataset, cfg: AlertConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per-period means of ``w·1{breach}`` and of its square, as a `keep: totals` run kept them."""
    names = [] if "engine_alert" not in ds.coords else ds["engine_alert"].values.tolist()
    if cfg.name not in names:
        raise ValueError(
            f"alert {cfg.name!r} was not in the scenario of this `keep: totals` run, which keeps "
            f"no per-period paths to evaluate new alerts on (it has {names}); add the alert to "
            "the scenario's `alerts:` and re-run, or re-run with `keep: paths`."
        )
    k = names.index(cfg.name)
    metric = str(ds["engine_alert_metric"].values[k])
    threshold = float(ds["engine_alert_threshold"].values[k])
    if metric != cfg.metric or threshold != cfg.threshold:
        raise ValueError(
            f"alert {cfg.name!r} watches {cfg.metric} > {cfg.threshold}, but this `keep: totals` "
            f"run evaluated {metric} > {threshold}; use the run's own alerts or re-run."
        )
    return ds["engine_alert_mean"].values[k], ds["engine_alert_square"].values[k]


def alerts_to_dict(alerts: xr.Dataset) -> dict:
    """Return the ``alerts`` entry of ``summary.json``: one entry per alert name.

    Each entry: ``metric``, ``threshold``, ``confidence``, ``probability`` and ``stderr`` (lists,
    one per period), ``max_probability`` and ``first_period`` (``None`` if never reached).
    """
    out = {}
    for k, name in enumerate(alerts["alert"].values.tolist()):
        first = int(alerts["first_period"].values[k])
        prob = alerts["probability"].values[k]
        out[str(name)] = {
            "metric": str(alerts["metric"].values[k]),
            "threshold": float(alerts["threshold"].values[k]),
            "confidence": float(alerts["confidence"].values[k]),
            "probability": [float(p) for p in prob],
            "stderr": [float(s) for s in alerts["stderr"].values[k]],
            "max_probability": float(prob.max()) if prob.size else 0.0,
            "first_period": None if first < 0 else first,
        }
    return out
