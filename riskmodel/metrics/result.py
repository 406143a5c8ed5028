"""`SimulationResult`: the engine's per-path dataset with the metrics a user reads off it."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.metrics.contributions import contributions_to_dict, risk_contributions
from riskmodel.metrics.risk import RiskMeasures, expected_value, risk_measures, weighted_quantile

__all__ = ["SimulationResult", "write_netcdf_atomic"]

_SCALE_PERIODS_12 = 12


def write_netcdf_atomic(ds: xr.Dataset, path: str | Path) -> Path:
    """Write `ds` to `path` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class SimulationResult:
    """Per-path results of one scenario run, as an `xarray.Dataset`.

    Variables (dims): ``loss``, ``defaults``, ``churn``, ``margin`` (path, period);
    ``loss_by_segment`` (path, segment); ``weight`` (path) — the importance-sampling likelihood
    ratio, 1 for plain Monte Carlo; ``draw`` (path) — the parameter draw used by the path;
    ``occupancy`` (period, state) — expected customers per state at each period end;
    ``discount_factor`` (period); ``exposure`` (segment). Attributes record the scenario name,
    seed, number of paths, horizon, riskmodel version and the risk levels.

    Every metric is weighted by ``weight``, so importance-sampled runs are read like plain ones.

    Examples
    --------
    >>> import riskmodel as rm
    >>> res = rm.run("scenarios/baseline.yaml", paths=2000)  # doctest: +SKIP
    >>> res.risk().var[0.99]  # doctest: +SKIP
    """

    data: xr.Dataset

    # ------------------------------------------------------------------ basic views
    @property
    def scenario(self) -> str:
        """Scenario name."""
        return str(self.data.attrs["scenario"])

    @property
    def paths(self) -> int:
        """Number of Monte Carlo paths."""
        return int(self.data.sizes["path"])

    @property
    def horizon(self) -> int:
        """Number of periods."""
        return int(self.data.sizes["period"])

    @property
    def levels(self) -> tuple[float, ...]:
        """Risk levels configured for this run."""
        return tuple(float(x) for x in np.atleast_1d(self.data.attrs["levels"]))

    @property
    def seed(self) -> int | None:
        """The run's seed (None if the run drew fresh entropy; see ``attrs['entropy']``)."""
        s = str(self.data.attrs.get("seed", ""))
        return int(s) if s else None

    @property
    def weights(self) -> np.ndarray:
        """Per-path likelihood-ratio weights (ones for plain Monte Carlo)."""
        return self.data["weight"].to_numpy()

    def total(self, variable: str = "loss", *, discounted: bool = False) -> xr.DataArray:
        """Per-path total of a per-period variable over the horizon (dims: path)."""
        da = self.data[variable]
        if discounted:
            da = da * self.data["discount_factor"]
        return da.sum("period")

    # ------------------------------------------------------------------ metrics
    def risk(
        self,
        variable: str = "loss",
        *,
        levels: tuple[float, ...] | None = None,
        discounted: bool = False,
    ) -> RiskMeasures:
        """EL, std, VaR and ES (with Monte Carlo standard errors) of a per-path total.

        Parameters
        ----------
        variable : {"loss", "defaults", "churn", "margin"}
        levels : tuple of float, optional
            Defaults to the run's configured levels.
        discounted : bool
            Discount each period's amount with the run's discount factors first.

        Notes
        -----
        For a quasi-Monte Carlo run (a ``replicate`` variable is present) the paths are not
        independent: the point estimates use all paths, and each standard error is the standard
        deviation of the estimate over the independent replicates divided by ``√R``.
        """
        levels = levels or self.levels
        values = self.total(variable, discounted=discounted).to_numpy()
        pooled = risk_measures(values, weights=self.weights, levels=levels)
        if "replicate" not in self.data:
            return pooled
        rep = self.data["replicate"].to_numpy()
        groups = [np.flatnonzero(rep == r) for r in np.unique(rep)]
        per = [risk_measures(values[g], weights=self.weights[g], levels=levels) for g in groups]
        root = np.sqrt(len(per))

        def spread(get) -> float:
            return float(np.std([get(m) for m in per], ddof=1) / root)

        return replace(
            pooled,
            stderr_expected=spread(lambda m: m.expected),
            stderr_var={q: spread(lambda m, q=q: m.var[q]) for q in pooled.var},
            stderr_es={q: spread(lambda m, q=q: m.es[q]) for q in pooled.es},
        )

    def expected_by_period(self, variable: str = "loss") -> xr.DataArray:
        """Monte Carlo estimate of the expected amount per period (dims: period)."""
        w = self.data["weight"]
        return (self.data[variable] * w).mean("path")

    def quantiles_by_period(
        self, variable: str = "loss", quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)
    ) -> xr.DataArray:
        """Weighted quantiles of a per-period variable (dims: quantile, period); for fan charts."""
        w = self.weights
        values = self.data[variable].to_numpy()
        out = np.column_stack(
            [
                weighted_quantile(values[:, t], list(quantiles), weights=w)
                for t in range(self.horizon)
            ]
        )
        return xr.DataArray(
            out,
            dims=("quantile", "period"),
            coords={"quantile": list(quantiles), "period": self.data["period"].values},
            name=variable,
        )

    def ecl(self) -> dict:
        """Expected credit loss: lifetime, first 12 periods, and per period (discounted)."""
        by_period = self.expected_by_period("loss") * self.data["discount_factor"]
        values = by_period.to_numpy()
        return {
            "lifetime": float(values.sum()),
            "12_period": float(values[:_SCALE_PERIODS_12].sum()),
            "by_period": [float(v) for v in values],
        }

    def summary(self) -> dict:
        """The run's headline figures, in the `summary.json` layout of DESIGN.md."""
        attrs = self.data.attrs
        loss = self.risk("loss")
        defaults = self.risk("defaults")
        churn_mean, churn_se = expected_value(self.total("churn").to_numpy(), weights=self.weights)
        value = self.risk("margin", discounted=True)
        loss_dict = loss.to_dict()
        return {
            "scenario": self.scenario,
            "paths": self.paths,
            "seed": self.seed,
            "horizon": self.horizon,
            "riskmodel_version": str(attrs.get("riskmodel_version", "")),
            "loss": {k: loss_dict[k] for k in ("expected", "std", "var", "es", "stderr")},
            "defaults": {
                "expected": defaults.expected,
                "var": defaults.to_dict()["var"],
                "stderr": {"expected": defaults.stderr_expected},
            },
            "churn": {"expected": churn_mean, "stderr": {"expected": churn_se}},
            "ecl": self.ecl(),
            "value": {
                "expected": value.expected,
                "stderr": {"expected": value.stderr_expected},
                "description": "discounted margin earned over the horizon",
            },
            "contributions": contributions_to_dict(risk_contributions(self.data)),
            "portfolio": {
                "customers": int(attrs.get("total_customers", 0)),
                "exposure": float(attrs.get("total_exposure", 0.0)),
            },
            "diagnostics": {
                "effective_sample_size": loss.ess,
                "importance_sampling": bool(attrs.get("importance_sampling", 0)),
                "parameter_draws": int(attrs.get("parameter_draws", 1)),
                "block_size": int(attrs.get("block_size", 0)),
            },
        }

    # ------------------------------------------------------------------ I/O
    def to_dataframe(self) -> pd.DataFrame:
        """Per-path totals over the horizon: loss, defaults, churn, margin, weight."""
        cols = {v: self.total(v).to_numpy() for v in ("loss", "defaults", "churn", "margin")}
        cols["weight"] = self.weights
        return pd.DataFrame(cols, index=pd.Index(self.data["path"].values, name="path"))

    def to_netcdf(self, path: str | Path) -> Path:
        """Save to netCDF atomically (temporary file, then rename)."""
        return write_netcdf_atomic(self.data, path)

    @classmethod
    def from_netcdf(cls, path: str | Path) -> SimulationResult:
        """Load a result saved with `to_netcdf`."""
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return cls(ds.load())
