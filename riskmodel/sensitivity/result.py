"""`SensitivityResult`: tornado swings and Sobol indices per metric and factor, in xarray."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel._files import STAMP
from riskmodel.errors import SensitivityWarning
from riskmodel.metrics.result import write_netcdf_atomic

__all__ = [
    "METHOD_VARS",
    "SOBOL_VARS",
    "TORNADO_VARS",
    "SensitivityResult",
    "SensitivityWarning",
    "empty_dataset",
    "merge_results",
    "record_methods",
]

TORNADO_VARS = ("low", "high", "base", "value_low", "value_high", "swing", "swing_stderr")
SOBOL_VARS = ("S1", "S1_conf", "ST", "ST_conf")
METHOD_VARS = ("large_pool_error", "large_pool_spread", "surrogate_q2")
"""Per-metric numbers about how a metric was computed (NaN where they do not apply)."""
_COLUMNS = (
    "metric",
    "factor",
    "low",
    "high",
    "base",
    "value_low",
    "value_high",
    "swing",
    "stderr",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
    "method",
)


def empty_dataset(metrics, factors) -> xr.Dataset:
    """Return a dataset with every per-(metric, factor) variable set to NaN."""
    m, f = list(metrics), list(factors)
    nan = np.full((len(m), len(f)), np.nan)
    ds = xr.Dataset(
        {v: (("metric", "factor"), nan.copy()) for v in ("value_low", "value_high", "swing")}
        | {"swing_stderr": (("metric", "factor"), nan.copy())}
        | {v: (("metric", "factor"), nan.copy()) for v in SOBOL_VARS}
        | {v: ("factor", np.full(len(f), np.nan)) for v in ("low", "high", "factor_base")}
        | {"base": ("metric", np.full(len(m), np.nan))}
        | {v: ("metric", np.full(len(m), np.nan)) for v in METHOD_VARS}
        | {"method": ("metric", np.array([""] * len(m), dtype=str))},
        coords={"metric": m, "factor": f},
    )
    ds.attrs["methods"] = []
    return ds


def record_methods(ds: xr.Dataset, specs, methods, check) -> None:
    """Store each metric's method and, for the large-pool model, its measured error.

    ``method`` (metric): ``exact``, ``engine`` or ``large_pool``; ``large_pool_error``: the
    largest relative difference to the engine at the check points; ``large_pool_spread``: the
    standard deviation of the differences (metric units). `check` is a
    `riskmodel.sensitivity.inner.LargePoolCheck` or None.
    """
    ds["method"] = ("metric", np.array(list(methods), dtype=str))
    for var, how in (("large_pool_error", "relative_error"), ("large_pool_spread", "spread")):
        ds[var] = (
            "metric",
            np.array(
                [
                    getattr(check, how)(s.name)
                    if check is not None and m == "large_pool"
                    else np.nan
                    for s, m in zip(specs, methods, strict=True)
                ],
                dtype=float,
            ),
        )


@dataclass(frozen=True)
class SensitivityResult:
    """Results of a sensitivity analysis of one scenario.

    Variables of ``data`` (dims):

    - ``low``, ``high``, ``factor_base`` (factor): the range of each factor and its value in
      the base scenario;
    - ``base`` (metric): the metric in the base scenario (tornado);
    - ``value_low``, ``value_high`` (metric, factor): the metric with the factor at its low or
      high value and every other factor at base;
    - ``swing`` (metric, factor): ``value_high − value_low``; ``swing_stderr`` its Monte Carlo
      standard error on common random numbers (0 for exact metrics);
    - ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (metric, factor): first-order and total Sobol
      indices with the half-widths of their confidence intervals (SALib);
    - ``X`` (sample, factor), ``Y`` (sample, metric): the Sobol design and the model outputs,
      when Sobol indices were computed.

    Attributes record the scenario, methods, seeds, paths and the Sobol sample size. Variables of
    a method that was not run are NaN.

    Examples
    --------
    >>> import riskmodel as rm
    >>> from riskmodel.sensitivity import tornado
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> res = tornado(sc, {"lgd.mean": (0.35, 0.55)}, ["expected_loss"])  # doctest: +SKIP
    >>> res.to_dataframe()  # doctest: +SKIP
    """

    data: xr.Dataset

    @property
    def metrics(self) -> list[str]:
        """Metric names."""
        return [str(m) for m in self.data["metric"].values]

    @property
    def factors(self) -> list[str]:
        """Factor names."""
        return [str(f) for f in self.data["factor"].values]

    @property
    def methods(self) -> list[str]:
        """Methods that were run (``tornado``, ``sobol``)."""
        return [str(m) for m in np.atleast_1d(self.data.attrs.get("methods", []))]

    @property
    def has_tornado(self) -> bool:
        """True if tornado swings were computed."""
        return "tornado" in self.methods

    @property
    def has_sobol(self) -> bool:
        """True if Sobol indices were computed."""
        return "sobol" in self.methods

    def ranking(self, metric: str) -> list[str]:
        """Order the factors by decreasing importance for `metric`.

        By |swing| (tornado), else by the total index ST (Sobol). NaN ranks last.
        """
        self._check_metric(metric)
        var = "swing" if self.has_tornado else "ST"
        score = np.abs(self.data[var].sel(metric=metric).to_numpy())
        score = np.where(np.isfinite(score), score, -1.0)
        order = np.argsort(-score, kind="stable")
        return [self.factors[i] for i in order]

    def _check_metric(self, metric: str) -> None:
        if metric not in self.metrics:
            raise ValueError(f"`metric` must be one of {self.metrics}; got {metric!r}.")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per (metric, factor), factors ranked per metric (see `ranking`).

        Columns: ``metric, factor, low, high, base, value_low, value_high, swing, stderr, S1,
        S1_conf, ST, ST_conf`` (``base`` is the metric's base value).
        """
        ds = self.data
        rows = []
        for m in self.metrics:
            for f in self.ranking(m):
                sel = ds.sel(metric=m, factor=f)
                rows.append(
                    {
                        "metric": m,
                        "factor": f,
                        "low": float(sel["low"]),
                        "high": float(sel["high"]),
                        "base": float(sel["base"]),
                        "value_low": float(sel["value_low"]),
                        "value_high": float(sel["value_high"]),
                        "swing": float(sel["swing"]),
                        "stderr": float(sel["swing_stderr"]),
                        **{v: float(sel[v]) for v in SOBOL_VARS},
                        "method": str(sel["method"].values) if "method" in ds else "",
                    }
                )
        return pd.DataFrame(rows, columns=list(_COLUMNS))

    def to_dict(self) -> dict:
        """JSON-ready dict: settings plus, per metric, the ranked rows of `to_dataframe`.

        NaN (a method not run, or an undefined index) becomes None.
        """

        def clean(v):
            if isinstance(v, float | np.floating):
                return None if not math.isfinite(v) else float(v)
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, np.ndarray):
                return [clean(x) for x in v.tolist()]
            if isinstance(v, list | tuple):
                return [clean(x) for x in v]
            return v

        df = self.to_dataframe()
        per_metric = {}
        for m in self.metrics:
            sub = df[df["metric"] == m].drop(columns=["metric", "base", "method"])
            per_metric[m] = {
                "base": clean(float(self.data["base"].sel(metric=m))),
                **self._method_of(m, clean),
                "factors": [
                    {k: clean(v) for k, v in row.items()} for row in sub.to_dict("records")
                ],
            }
        settings = {str(k): clean(v) for k, v in self.data.attrs.items()}
        settings["methods"] = self.methods
        settings.setdefault("constant_metrics", [])  # set by Sobol; none for a tornado alone
        settings.pop(STAMP, None)
        return {
            "settings": settings,
            "factors": {
                f: {
                    "low": clean(float(self.data["low"].sel(factor=f))),
                    "high": clean(float(self.data["high"].sel(factor=f))),
                    "base": clean(float(self.data["factor_base"].sel(factor=f))),
                }
                for f in self.factors
            },
            "metrics": per_metric,
        }

    def _method_of(self, metric: str, clean) -> dict:
        """Return the method entries of one metric in `to_dict` (absent in older results)."""
        ds = self.data
        if "method" not in ds:
            return {}
        out = {"method": str(ds["method"].sel(metric=metric).values) or None}
        for v in METHOD_VARS:
            if v in ds:
                out[v] = clean(float(ds[v].sel(metric=metric)))
        return out

    def summary(self) -> dict:
        """Return the indices of every metric, JSON-ready (the same as `to_dict`)."""
        return self.to_dict()

    def to_netcdf(self, path: str | Path) -> Path:
        """Save to netCDF atomically (temporary file, then rename)."""
        ds = self.data.copy()
        ds.attrs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in ds.attrs.items()}
        for k, v in list(ds.attrs.items()):
            if isinstance(v, list) and not v:
                ds.attrs[k] = ""
            elif v is None:
                ds.attrs[k] = ""
        return write_netcdf_atomic(ds, path, kind="SensitivityResult")

    @classmethod
    def from_netcdf(cls, path: str | Path) -> SensitivityResult:
        """Load a result saved with `to_netcdf`."""
        with xr.open_dataset(path, engine="netcdf4") as ds:
            ds = ds.load()
        for key in ("methods", "constant_metrics"):  # netCDF stores a 1-item list as a string
            v = ds.attrs.get(key, [])
            items = [v] if isinstance(v, str) else [str(x) for x in np.atleast_1d(v)]
            ds.attrs[key] = [str(x) for x in items if x]
        ds.attrs.pop(STAMP, None)  # the file stamp, not a setting of the analysis
        for c in ("metric", "factor"):
            ds = ds.assign_coords({c: [str(x) for x in ds[c].values]})
        return cls(ds)


def merge_results(first: SensitivityResult, second: SensitivityResult) -> SensitivityResult:
    """Combine a tornado and a Sobol result of the same metrics and factors."""
    a, b = first.data, second.data
    if a["metric"].values.tolist() != b["metric"].values.tolist() or (
        a["factor"].values.tolist() != b["factor"].values.tolist()
    ):
        raise ValueError("results to merge must have the same metrics and factors in order.")
    ds = a.copy()
    for v in b.data_vars:
        if v not in ds:
            ds[v] = b[v]
        elif ds[v].dtype.kind in "USO":  # the method: keep the first result's unless unset
            if all(not str(x) for x in ds[v].values):
                ds[v] = b[v]
        elif np.all(np.isnan(np.asarray(ds[v], dtype=float))):
            ds[v] = b[v]
    methods = [*first.methods, *(m for m in second.methods if m not in first.methods)]
    attrs = {**b.attrs, **a.attrs}
    attrs["methods"] = methods
    ds.attrs = attrs
    return SensitivityResult(ds)
