"""`SimulationResult`: the engine's per-path dataset with the metrics a user reads off it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel._files import replace_own_file
from riskmodel.metrics import default_rate
from riskmodel.metrics.ecl import ecl_term_structure
from riskmodel.metrics.expectations import expectation
from riskmodel.metrics.replicates import with_replicate_stderr
from riskmodel.metrics.risk import (
    RiskMeasures,
    risk_measures,
    weighted_quantile,
)
from riskmodel.metrics.value import ValueMeasures, value_measures
from riskmodel.metrics.weighted_paths import WeightedPaths, with_weighting_note
from riskmodel.simulation.store import path_total

__all__ = ["SimulationResult", "write_netcdf_atomic"]


def write_netcdf_atomic(ds: xr.Dataset, path: str | Path, *, kind: str = "dataset") -> Path:
    """Write `ds` to `path` atomically, replacing only a file riskmodel wrote.

    See `riskmodel._files.replace_own_file`.
    """
    return replace_own_file(path, lambda tmp: ds.to_netcdf(tmp, engine="netcdf4"), kind=kind)


@dataclass(frozen=True)
class SimulationResult(WeightedPaths):
    """Per-path results of one scenario run, as an `xarray.Dataset`.

    Variables (dims): ``loss``, ``defaults``, ``churn``, ``margin`` (path, period);
    ``loss_by_segment`` (path, segment); ``weight`` (path) — the importance-sampling likelihood
    ratio, 1 for plain Monte Carlo; ``draw`` (path) — the parameter draw used by the path;
    ``occupancy`` (period, state) — expected customers per state at each period end;
    ``discount_factor`` (period); ``exposure`` (segment); ``churn_value_lost`` (path) — the
    discounted margin the path's churners would have earned to the horizon; ``exact_*`` — the
    exact expected term structure of the scenario (`riskmodel.simulation.expected`); with
    ``actions:``, the ``action`` dimension and ``action_*`` variables of the runs without each
    action (`riskmodel.simulation.actions`); for a run with several posterior draws,
    ``exact_loss_by_draw`` (parameter_draw), ``posterior_mean_loss`` (path) and
    ``exact_loss_at_posterior_mean``, read by `model_risk`
    (`riskmodel.simulation.model_risk_run`). Attributes record the scenario name, seed, number
    of paths, horizon, riskmodel version, the risk levels and the applied ``stresses`` (JSON).

    A run with ``simulation: {keep: totals}`` (``attrs['keep']``) keeps ``loss``, ``defaults``,
    ``churn`` and ``margin`` as per-path totals (path), with ``<name>_discounted`` (path) and
    the per-period weighted means ``mc_mean_<name>`` (period) instead of every path's term
    structure; every metric except the per-period fans (`quantiles_by_period`) reads the same.

    Every metric is weighted by ``weight``, so importance-sampled runs are read like plain ones:
    the weights are self-normalised (`probabilities` ``= w / Σ w``), so every figure is a
    statistic of one simulated distribution. For statistics of your own, use
    `weighted_mean`, `weighted_quantile` (the VaR definition, both tails) or `weighted` (xarray's
    weighted statistics); never an unweighted ``.mean("path")`` or ``.quantile``. A saved
    ``results.nc`` carries the same warning in its ``weighting`` attributes; `from_netcdf`
    shows how to load it with riskmodel and with xarray (``ds.weighted(ds.weight)``).

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

    @property
    def keeps_paths(self) -> bool:
        """True if the run kept every path's per-period outputs (``simulation.keep: paths``).

        False for a ``keep: totals`` run, which kept per-path totals and per-period means.
        """
        return "period" in self.data["loss"].dims

    def _needs_paths(self, what: str) -> None:
        if not self.keeps_paths:
            raise ValueError(
                f"{what} needs every path's per-period outputs, but this run kept per-path totals "
                "only (`simulation: {keep: totals}`); re-run with `keep: paths` (the default)."
            )

    def total(self, variable: str = "loss", *, discounted: bool = False) -> xr.DataArray:
        """Per-path total of a per-period variable over the horizon (dims: path)."""
        return path_total(self.data, variable, discounted=discounted)

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

        Warns
        -----
        TailResolutionWarning
            If a level rests on fewer than `riskmodel.metrics.risk.MIN_TAIL_PATHS` effective
            paths at or beyond its VaR (``tail_paths`` of the result holds the counts).

        Notes
        -----
        Every estimate is self-normalised in the weights (`riskmodel.metrics.risk`). For a
        quasi-Monte Carlo run (a ``replicate`` variable is present) the paths are not
        independent: the point estimates use all paths, and each standard error is the standard
        deviation of the estimate over the independent replicates divided by ``√R``.
        """
        levels = levels or self.levels
        values = self.total(variable, discounted=discounted).to_numpy()
        name = f"{variable} (discounted)" if discounted else variable
        pooled = risk_measures(values, weights=self.weights, levels=levels, name=name)
        if "replicate" not in self.data:
            return pooled
        return with_replicate_stderr(
            pooled,
            values,
            weights=self.weights,
            replicate=self.data["replicate"].to_numpy(),
            levels=levels,
        )

    def expected_by_period(self, variable: str = "loss") -> xr.DataArray:
        """Self-normalised Monte Carlo mean ``Σ w x / Σ w`` per period (dims: period)."""
        w = self.data["weight"]
        if not self.keeps_paths:  # the engine kept (1/N) Σ w x per period
            scale = self.paths / float(w.sum())
            return (self.data[f"mc_mean_{variable}"] * scale).rename(variable)
        return xr.dot(self.data[variable], w, dim="path") / float(w.sum())

    def quantiles_by_period(
        self, variable: str = "loss", quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)
    ) -> xr.DataArray:
        """Weighted quantiles of a per-period variable (dims: quantile, period); for fan charts."""
        self._needs_paths("quantiles_by_period")
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
        """Return the expected credit loss (discounted, exact).

        Lifetime, first 12 periods, per period, per starting state, and default-rate term
        structures (`riskmodel.metrics.ecl`).
        """
        return ecl_term_structure(self.data)

    def model_risk(self, *, levels: tuple[float, ...] | None = None):
        """Parameter versus process risk of a posterior run (`riskmodel.metrics.model_risk`).

        The loss variance split by the law of total variance across posterior draws (parameter
        part exact), and per level the share of ES above EL that disappears at the posterior
        mean, on common random numbers, with paired standard errors. Needs a run with several
        posterior draws simulated with ``model_risk`` on (the default of `riskmodel.simulate`
        for such runs); otherwise raises `ArgumentError`.

        Examples
        --------
        >>> import riskmodel as rm
        >>> res = rm.run("scenarios/posterior/baseline.yaml", paths=4000)  # doctest: +SKIP
        >>> print(res.model_risk().sentence())  # doctest: +SKIP
        """
        from riskmodel.metrics.model_risk import model_risk

        return model_risk(self.data, levels=levels)

    def period(self) -> dict:
        """Return the period: ``length``, ``unit``, ``ecl_12_month_periods``, ``conversion``.

        ``conversion`` is there when parameters were converted from another period length
        (`riskmodel.scenarios.conversion`). Runs saved before periods existed read as one month.
        """
        attrs = self.data.attrs
        length = float(attrs.get("period_length", 1.0))
        out = {
            "length": int(length) if length.is_integer() else length,
            "unit": str(attrs.get("period_unit", "month")),
            "ecl_12_month_periods": float(attrs.get("ecl_12_month_periods", 12.0)),
        }
        if attrs.get("period_conversion"):
            out["conversion"] = json.loads(attrs["period_conversion"])
        return out

    def stresses(self) -> dict:
        """Return what the scenario applied (shift, shocks, LGD, exposure, discount, actions)."""
        text = self.data.attrs.get("stresses")
        return json.loads(text) if text else {}

    def value_risk(self, *, levels: tuple[float, ...] | None = None) -> ValueMeasures:
        """Lower-tail risk of value (discounted margin): std, quantiles, VaR, ES, tail paths.

        ``var[q]`` and ``es[q]`` are measured from the exact expected value (when the run has
        it) down to the ``(1 − q)``-quantile and to the mean of the worst ``1 − q`` of value;
        see `riskmodel.metrics.value`. Warns (`TailResolutionWarning`) like `risk`.
        """
        block = expectation(self.data, "value")
        exact = block is not None and block.get("method") == "exact"
        return value_measures(
            self.total("margin", discounted=True).to_numpy(),
            weights=self.weights,
            levels=levels or self.levels,
            expected=block["expected"] if exact else None,
        )

    def _value(self) -> dict:
        """Discounted margin: exact mean with its MC cross-check, spread, lower tail."""
        block = expectation(self.data, "value")  # exact, with the MC cross-check beside it
        tail = self.value_risk().to_dict()
        return {
            **block,
            **tail,
            "stderr": {**block["stderr"], **tail["stderr"]},
            "description": "discounted margin earned over the horizon; var[q] = expected "
            "minus the (1 - q)-quantile, es[q] = expected minus the mean of the worst (1 - q) "
            "of value (the shortfall of value below its mean); tail_paths[q] = effective "
            "number of paths in that worst (1 - q)",
        }

    def _value_lost_to_churn(self) -> dict | None:
        block = expectation(self.data, "value_lost_to_churn")
        if block is None:
            return None
        return {
            **block,
            "description": "discounted margin the churned customers would have earned from "
            "their churn period to the horizon had they stayed (run-off of the lost margin)",
        }

    def to_dict(self) -> dict:
        """Return the run's headline figures, JSON-ready (the same as `summary`)."""
        return self.summary()

    def summary(
        self, *, loss: RiskMeasures | None = None, contributions: xr.Dataset | None = None
    ) -> dict:
        """Return the run's headline figures, in the `summary.json` layout of DESIGN.md.

        Every ``expected`` (loss, defaults, churn, value, value lost to churn) is the exact
        expectation (``method: "exact"``, ``stderr.expected`` 0); the self-normalised Monte
        Carlo estimate, its standard error and z-score sit beside it as ``expected_mc``,
        ``stderr_mc`` (also ``stderr.expected_mc``) and ``z_mc``. ``expectations`` holds the
        same per period, per segment and per starting state
        (`riskmodel.metrics.expectations`). ``ecl``, ``value``, ``value_lost_to_churn``,
        ``stresses`` and (with ``actions:``) ``actions`` follow `riskmodel.metrics.ecl`,
        `riskmodel.metrics.actions` and ``docs/scenario_format.md``; a posterior run has
        ``model_risk`` (`model_risk`).

        Parameters
        ----------
        loss : RiskMeasures, optional
            ``self.risk("loss")`` if the caller has computed it (the run report shares it with
            its figures, so both show the same numbers).
        contributions : xarray.Dataset, optional
            ``risk_contributions(self.data)`` if already computed.
        """
        from riskmodel.metrics.run_summary import run_summary

        return run_summary(self, loss=loss, contributions=contributions)

    # ------------------------------------------------------------------ I/O
    def to_dataframe(self) -> pd.DataFrame:
        """Per-path totals over the horizon: loss, defaults, churn, margin, weight."""
        cols = {v: self.total(v).to_numpy() for v in ("loss", "defaults", "churn", "margin")}
        cols["weight"] = self.weights
        return pd.DataFrame(cols, index=pd.Index(self.data["path"].values, name="path"))

    def to_netcdf(self, path: str | Path) -> Path:
        """Save to netCDF atomically (temporary file, then rename).

        The file says how to read it: the global attribute ``weighting`` and the ``weighting``
        attribute of the ``weight`` variable (`WEIGHTING_NOTE` for an importance-sampled run),
        so that ``ncdump -h results.nc`` shows that every statistic must use ``weight``.
        """
        return write_netcdf_atomic(with_weighting_note(self.data), path, kind="SimulationResult")

    @classmethod
    def from_netcdf(cls, path: str | Path) -> SimulationResult:
        """Load a result saved with `to_netcdf` (e.g. a run folder's ``results.nc``).

        Every path carries a likelihood-ratio ``weight``; under importance sampling (the
        default) the paths are drawn from a tilted distribution, and unweighted means or
        quantiles of the file's variables are wrong. Read the file either way:

        - with riskmodel: ``res = SimulationResult.from_netcdf("results.nc")``, then
          ``res.risk()``, ``res.weighted_mean(res.total("loss"))``,
          ``res.weighted_quantile(res.total("loss"), [0.5, 0.99])`` or ``res.weighted``;
        - with xarray alone: ``ds = xr.open_dataset("results.nc")``, then
          ``ds.weighted(ds.weight).mean("path")`` or
          ``ds.weighted(ds.weight).quantile(0.99, dim="path")`` (xarray normalises the weights
          itself; its quantile interpolates between paths).

        Examples
        --------
        >>> res = SimulationResult.from_netcdf("reports/adverse/results.nc")  # doctest: +SKIP
        >>> res.weighted_quantile(res.total("loss"), 0.99)  # doctest: +SKIP
        """
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return cls(ds.load())

    # ------------------------------------------------------------------ term structures
    def cumulative_default_rate(
        self, quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
    ) -> xr.Dataset:
        """Cumulative default rate per period: its exact expectation and Monte Carlo quantiles.

        The rate at period ``t`` is the number of customers defaulted up to and including ``t``
        divided by today's customers (``attrs['total_customers']``).

        Parameters
        ----------
        quantiles : tuple of float, default (0.05, 0.25, 0.5, 0.75, 0.95)
            Levels in [0, 1] of the weighted per-path quantiles (for a fan chart).

        Returns
        -------
        xarray.Dataset
            ``expected`` (period): ``cumsum(exact_defaults) / total_customers`` (the weighted
            Monte Carlo mean of the paths if the run has no exact expectations; then
            ``attrs['exact']`` is False); ``quantiles`` (quantile, period): weighted quantiles of
            the per-path cumulative rate — NaN for a ``keep: totals`` run, which did not keep the
            per-period paths (``attrs['quantiles']`` is then 0).

        Examples
        --------
        >>> import riskmodel as rm
        >>> res = rm.run("scenarios/baseline.yaml", paths=2000)  # doctest: +SKIP
        >>> res.cumulative_default_rate()["expected"].values[-1]  # doctest: +SKIP
        """
        return default_rate.cumulative_default_rate(self, quantiles)
