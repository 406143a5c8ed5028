"""The statistics each figure draws, computed once by the metrics layer.

`riskmodel.plotting` draws these and computes nothing: a plot given a `SimulationResult`
(the notebook convenience) calls the ``from_result`` constructors here, and the reports compute
the risk measures, contributions and alerts once and hand the same objects to ``summary.json``
and to every figure, so one figure shows one number.

- `LossDistribution`: per-path totals, their weights, the x-range (weighted `XRANGE_LEVELS`
  quantiles) and the risk measures marked on the histogram.
- `ScenarioDistributions`: the same for several scenarios, with each one's EL and ES at one
  level (from a comparison's table, or computed from a dict of runs).
- `Fan`: a per-period fan chart (weighted quantiles of the paths) around the exact expectation.
- `Occupancy`: expected customers per state and period.
- `contributions_data`: the Euler contributions dataset of a result (or the dataset itself).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

    from riskmodel.metrics.result import SimulationResult
    from riskmodel.metrics.risk import RiskMeasures

__all__ = [
    "FAN_QUANTILES",
    "PER_PERIOD_VARIABLES",
    "XRANGE_LEVELS",
    "Fan",
    "LossDistribution",
    "Occupancy",
    "ScenarioDistributions",
    "contributions_data",
    "pick_level",
]

XRANGE_LEVELS: tuple[float, float] = (1e-4, 0.9999)
"""Weighted quantile levels that bound the x-axis of the loss-distribution figures."""

FAN_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles of the fan charts: outer band 5–95%, inner band 25–75%, median line."""

PER_PERIOD_VARIABLES: tuple[str, ...] = ("loss", "defaults", "churn", "margin")
"""Per-period variables whose horizon totals a loss-distribution figure can show."""


@dataclass(frozen=True)
class LossDistribution:
    """What a one-run histogram draws: paths' totals, weights, x-range and risk measures.

    Attributes
    ----------
    scenario, variable, units : str
        Scenario name, the per-period variable totalled, its units (``"currency"`` for money).
    horizon, paths : int
        Periods totalled and the number of paths.
    values, weights : numpy.ndarray
        Per-path totals over the horizon and their importance-sampling weights.
    quantile_range : (float, float)
        Weighted `XRANGE_LEVELS` quantiles of `values` (before the marks widen the axis).
    measures : RiskMeasures or None
        EL, VaR and ES of the same totals, marked on the figure (None in the runs of a
        `ScenarioDistributions`, which carries its own marks).
    exact : float or None
        The run's exact expectation of the total (legend cross-check), if it has one.
    """

    scenario: str
    variable: str
    units: str
    horizon: int
    paths: int
    values: np.ndarray
    weights: np.ndarray
    quantile_range: tuple[float, float]
    measures: RiskMeasures | None
    exact: float | None

    @classmethod
    def from_result(
        cls,
        result: SimulationResult,
        variable: str = "loss",
        measures: RiskMeasures | None = None,
        *,
        risk: bool = True,
    ) -> LossDistribution:
        """Compute the figure's statistics from a run (``result.risk(variable)`` if not given).

        With ``risk=False`` and no `measures`, the risk measures are not computed (None).

        Raises
        ------
        ValueError
            If `variable` is not one of `PER_PERIOD_VARIABLES`.
        """
        if variable not in PER_PERIOD_VARIABLES:
            raise ValueError(
                f"`variable` must be one of {list(PER_PERIOD_VARIABLES)}; got {variable!r}. "
                "Pick the per-period variable to plot."
            )
        totals = result.total(variable)
        lo, hi = (float(v) for v in result.weighted_quantile(totals, list(XRANGE_LEVELS)).values)
        exact = result.data.get(f"exact_{variable}")
        return cls(
            scenario=str(result.scenario),
            variable=variable,
            units=str(result.data[variable].attrs.get("units", "")),
            horizon=int(result.horizon),
            paths=int(result.paths),
            values=totals.to_numpy(),
            weights=np.asarray(result.weights),
            quantile_range=(lo, hi),
            measures=measures if measures is not None or not risk else result.risk(variable),
            exact=None if exact is None else float(exact.sum()),
        )

    def x_range(self, marks: list[float] | None = None) -> tuple[float, float]:
        """Return the quantile range widened to include `marks` (default: EL, VaR and ES)."""
        m = self.measures
        if marks is None:
            marks = [] if m is None else [m.expected, *m.var.values(), *m.es.values()]
        finite = [float(x) for x in marks if math.isfinite(x)]
        lo, hi = self.quantile_range
        return min([lo, *finite]), max([hi, *finite])


@dataclass(frozen=True)
class ScenarioDistributions:
    """What the overlaid histograms of several scenarios draw.

    Attributes
    ----------
    runs : dict of str to LossDistribution
        Each scenario's loss totals, weights and quantile range (its `measures` are the run's).
    marks : dict of str to (float, float)
        Each scenario's EL (exact when the run has it) and ES at `level`.
    level : float
        The ES level marked.
    exact : dict of str to bool
        Whether each scenario's EL is the exact expectation.
    """

    runs: dict[str, LossDistribution]
    marks: dict[str, tuple[float, float]]
    level: float
    exact: dict[str, bool]

    @classmethod
    def from_results(cls, results: Any, level: float | None = None) -> ScenarioDistributions:
        """From a `ComparisonResult` (its table's EL and ES) or a dict of name → result.

        Raises
        ------
        TypeError
            If `results` is neither a ComparisonResult nor a non-empty dict.
        ValueError
            If `level` is not one of the runs' levels.
        """
        from riskmodel.metrics.compare import ComparisonResult

        if isinstance(results, ComparisonResult):
            runs = {str(n): r for n, r in results.results.items()}
            level = pick_level(results.levels, level)
            k = next(i for i, q in enumerate(results.levels) if abs(q - level) < 1e-12)
            ds = results.data
            marks = {
                str(n): (float(ds["expected"].values[i]), float(ds["es"].values[i, k]))
                for i, n in enumerate(results.scenarios)
            }
        elif isinstance(results, Mapping) and results:
            runs = {str(n): r for n, r in results.items()}
            level = pick_level(sorted({q for r in runs.values() for q in r.levels}), level)
            marks = {}
            for name, res in runs.items():
                risk = res.risk(levels=(level,))
                exact = res.data.get("exact_loss")  # the exact EL, as a comparison reports it
                el = risk.expected if exact is None else float(exact.sum())
                marks[name] = (el, risk.es[level])
        else:
            raise TypeError(
                "`results` must be a ComparisonResult or a non-empty dict of scenario name -> "
                f"SimulationResult; got {type(results).__name__}."
            )
        return cls(
            runs={n: LossDistribution.from_result(r, risk=False) for n, r in runs.items()},
            marks=marks,
            level=level,
            exact={n: "exact_loss" in r.data for n, r in runs.items()},
        )


def pick_level(levels: Any, level: float | None) -> float:
    """Return `level` if it is among `levels`; by default 0.99 if there, else the highest.

    Raises
    ------
    ValueError
        If `level` is given and not among `levels`.
    """
    levels = [float(q) for q in levels]
    if level is None:
        return 0.99 if any(abs(q - 0.99) < 1e-12 for q in levels) else max(levels)
    if not any(abs(q - level) < 1e-12 for q in levels):
        raise ValueError(f"`level` must be one of {levels}; got {level}.")
    return float(level)


@dataclass(frozen=True)
class Fan:
    """A per-period fan chart: weighted quantiles of the paths around an expectation.

    Attributes
    ----------
    scenario : str
    periods : numpy.ndarray
    band : numpy.ndarray or None
        (quantile, period) in `FAN_QUANTILES` order; None when the run kept no per-period
        paths (``keep: totals``).
    expected : numpy.ndarray
        The expectation per period (exact when `exact`, else the Monte Carlo mean).
    exact : bool
    """

    scenario: str
    periods: np.ndarray
    band: np.ndarray | None
    expected: np.ndarray
    exact: bool

    @classmethod
    def loss(cls, result: SimulationResult) -> Fan:
        """Fan of the loss per period: weighted path quantiles and the exact expected loss."""
        data = result.data
        band = result.quantiles_by_period("loss", FAN_QUANTILES) if result.keeps_paths else None
        exact = "exact_loss" in data
        mean = data["exact_loss"] if exact else result.expected_by_period("loss")
        return cls(
            scenario=str(result.scenario),
            periods=data["period"].to_numpy(),
            band=None if band is None else band.to_numpy(),
            expected=mean.to_numpy(),
            exact=exact,
        )

    @classmethod
    def cumulative_default_rate(cls, result: SimulationResult) -> Fan:
        """Fan of the cumulative default rate (`SimulationResult.cumulative_default_rate`)."""
        cdr = result.cumulative_default_rate(FAN_QUANTILES)
        return cls(
            scenario=str(result.scenario),
            periods=cdr["period"].to_numpy(),
            band=cdr["quantiles"].to_numpy() if cdr.attrs.get("quantiles", 1) else None,
            expected=cdr["expected"].to_numpy(),
            exact=bool(cdr.attrs.get("exact", 0)),
        )


@dataclass(frozen=True)
class Occupancy:
    """Expected customers per state at each period end (exact when the run has it).

    Attributes
    ----------
    scenario : str
    occupancy : xarray.DataArray
        (period, state).
    """

    scenario: str
    occupancy: xr.DataArray

    @classmethod
    def from_result(cls, result: SimulationResult) -> Occupancy:
        """``exact_occupancy`` of the run (``occupancy`` for runs without exact expectations)."""
        data = result.data
        occ = data["exact_occupancy"] if "exact_occupancy" in data else data["occupancy"]
        return cls(scenario=str(result.scenario), occupancy=occ.transpose("period", "state"))


def contributions_data(source: Any) -> xr.Dataset:
    """Return the Euler contributions dataset: `source` itself, or computed from a result."""
    import xarray as xr

    if isinstance(source, xr.Dataset) and "expected" in source and "es" in source:
        return source
    from riskmodel.metrics.contributions import risk_contributions

    return risk_contributions(source)
