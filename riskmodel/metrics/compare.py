"""Scenario sets: several scenarios on common random numbers, side by side.

Every scenario is simulated with the same seed and number of paths. The engine seeds fixed-size
blocks of paths from the seed alone, so path ``i`` uses the same innovations in every scenario
(common random numbers): differences between scenarios are then far less noisy than the
scenarios' own Monte Carlo errors. Scenario weights (the optional top-level ``weight:`` key)
give the probability-weighted expected credit loss of IFRS 9 (B5.5.42).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import netCDF4
import numpy as np
import pandas as pd
import xarray as xr

from riskmodel._files import STAMP, replace_own_file
from riskmodel._validate import describe
from riskmodel.errors import ArgumentError, ComparisonError
from riskmodel.metrics.differences import differences_table
from riskmodel.metrics.expectations import expectation
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import format_level, risk_measures
from riskmodel.scenarios.load import Scenario

__all__ = [
    "WEIGHT_TOL",
    "ComparisonError",
    "ComparisonResult",
    "check_scenarios",
    "check_weights",
    "comparison_from_results",
]

WEIGHT_TOL = 1e-9
"""Scenario weights must sum to 1 within this tolerance."""


def scenario_label(sc: Scenario) -> str:
    return str(sc.source) if sc.source is not None else f"scenario {sc.name!r}"


def check_weights(scenarios: Sequence[Scenario]) -> np.ndarray | None:
    """Return the scenarios' ``weight:`` values, or None if none has one.

    Parameters
    ----------
    scenarios : sequence of Scenario

    Returns
    -------
    numpy.ndarray or None
        One weight per scenario, in order.

    Raises
    ------
    ComparisonError
        If only some scenarios have a weight, or the weights do not sum to 1 (within
        `WEIGHT_TOL`); the message names every file and its weight.
    """
    weights = [sc.config.weight for sc in scenarios]
    if all(w is None for w in weights):
        return None
    listing = ", ".join(
        f"{scenario_label(sc)}: {'none' if w is None else f'{w:g}'}"
        for sc, w in zip(scenarios, weights, strict=True)
    )
    if any(w is None for w in weights):
        raise ComparisonError(
            f"scenario weights must be given on every file or on none; got {listing}. Add "
            "`weight:` to the files without one (or remove it from all)."
        )
    total = math.fsum(w for w in weights if w is not None)
    if abs(total - 1.0) > WEIGHT_TOL:
        raise ComparisonError(
            f"scenario weights must sum to 1 (within {WEIGHT_TOL:g}); they sum to {total:.12g} "
            f"({listing}). Adjust the `weight:` values so that they add up to 1."
        )
    return np.asarray(weights, dtype=float)


@dataclass(frozen=True)
class ComparisonResult:
    """Headline figures of several scenarios run on common random numbers.

    Attributes
    ----------
    data : xarray.Dataset
        Dim ``scenario`` (and ``level``): ``weight`` (NaN without weights), ``method``
        (``"exact"`` when every ``expected*`` is the exact expectation, with ``stderr*`` 0),
        ``expected``, ``stderr_expected``, ``expected_mc``, ``stderr_mc`` (the self-normalised
        Monte Carlo cross-check), ``std``, ``var``, ``stderr_var``, ``es``, ``stderr_es``
        (scenario, level), ``ecl_lifetime``, ``ecl_12_period``, and for defaults, churn and
        value (discounted margin) ``expected_<name>``, ``stderr_<name>``,
        ``expected_<name>_mc``, ``stderr_<name>_mc``; ``ess``. Attributes: ``paths``,
        ``seed``, ``entropy``.
    results : dict of str to SimulationResult
        The per-path results, by scenario name (same paths, same innovations).
    differences : pandas.DataFrame or None
        Each scenario minus the baseline (``data.attrs['baseline']``), one row per scenario and
        metric: columns ``scenario``, ``baseline``, ``metric`` (``expected``, ``expected_mc``,
        ``var_<q>``, ``es_<q>``, ``ecl_lifetime``, ``ecl_12_period``), ``difference``,
        ``stderr`` (paired, on common random numbers; 0 for exact figures) and
        ``stderr_unpaired`` (``√(se_a² + se_b²)``, what independent runs would give). See
        `riskmodel.metrics.paired`.
    """

    data: xr.Dataset
    results: dict[str, SimulationResult] = field(default_factory=dict, repr=False)
    differences: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names, in the order given."""
        return [str(s) for s in self.data["scenario"].values]

    @property
    def levels(self) -> list[float]:
        """Risk levels (the union of the scenarios' levels)."""
        return [float(q) for q in self.data["level"].values]

    @property
    def weights(self) -> np.ndarray | None:
        """Scenario weights, or None if the scenarios have none."""
        w = self.data["weight"].values
        return None if np.all(np.isnan(w)) else w

    def _weighted(self, name: str) -> float | None:
        w = self.weights
        return None if w is None else float(np.sum(w * self.data[name].values))

    @property
    def weighted_ecl(self) -> float | None:
        """Probability-weighted lifetime ECL ``Σ_k w_k ECL_k`` (None without weights)."""
        return self._weighted("ecl_lifetime")

    @property
    def weighted_ecl_12_period(self) -> float | None:
        """Probability-weighted 12-period ECL (None without weights)."""
        return self._weighted("ecl_12_period")

    def to_dataframe(self) -> pd.DataFrame:
        """One row per scenario; per-level columns are named like ``var_0.99``."""
        ds = self.data
        cols: dict[str, Any] = {"weight": ds["weight"].values}
        for name in ("expected", "stderr_expected", "expected_mc", "stderr_mc", "std"):
            cols[name] = ds[name].values
        for k, q in enumerate(self.levels):
            lv = format_level(q)
            for name in ("var", "stderr_var", "es", "stderr_es"):
                cols[f"{name}_{lv}"] = ds[name].values[:, k]
        for name in (
            "ecl_lifetime",
            "ecl_12_period",
            *(
                name
                for v in _EXTRA
                for name in (f"expected_{v}", f"stderr_{v}", f"expected_{v}_mc", f"stderr_{v}_mc")
            ),
            "ess",
            "method",
        ):
            cols[name] = ds[name].values
        return pd.DataFrame(cols, index=pd.Index(self.scenarios, name="scenario"))

    def difference_records(self) -> list[dict]:
        """`differences` as JSON-ready records (NaN as None); empty without differences."""
        if self.differences is None:
            return []
        return [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in self.differences.to_dict(orient="records")
        ]

    def to_netcdf(self, path: str | Path) -> Path:
        """Save the comparison table and the differences (not the per-path results) atomically.

        ``data`` is the root group; `differences`, when there are some, the group
        ``differences`` (one variable per column, dim ``row``). `from_netcdf` reads both back.
        """
        diffs = None
        if self.differences is not None and len(self.differences):
            diffs = xr.Dataset.from_dataframe(self.differences.reset_index(drop=True))
            diffs = diffs.rename({"index": "row"})

        def write(tmp: Path) -> None:
            self.data.to_netcdf(tmp, engine="netcdf4")
            if diffs is not None:
                diffs.to_netcdf(tmp, group="differences", mode="a", engine="netcdf4")

        return replace_own_file(path, write, kind="ComparisonResult")

    @classmethod
    def from_netcdf(cls, path: str | Path) -> ComparisonResult:
        """Load a comparison saved with `to_netcdf` (without the per-path `results`)."""
        with xr.open_dataset(path, engine="netcdf4") as ds:
            data = ds.load()
        data.attrs.pop(STAMP, None)  # the file stamp, not a setting of the comparison
        data = data.assign_coords(scenario=[str(s) for s in data["scenario"].values])
        differences = None
        with netCDF4.Dataset(str(path)) as nc:
            has_diffs = "differences" in nc.groups
        if has_diffs:
            with xr.open_dataset(path, group="differences", engine="netcdf4") as ds:
                frame = ds.load().to_dataframe().reset_index(drop=True)
            for col in ("scenario", "baseline", "metric"):
                frame[col] = frame[col].astype(str)
            differences = frame
        return cls(data=data, differences=differences)

    def summary(self) -> dict:
        """Return the headline figures of every scenario, JSON-ready (the same as `to_dict`)."""
        return self.to_dict()

    def to_dict(self) -> dict:
        """JSON-ready: run settings, one record per scenario, and the weighted ECL."""
        frame = self.to_dataframe().reset_index()
        records = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")
        ]
        attrs = self.data.attrs
        return {
            "paths": int(attrs["paths"]),
            "seed": None if attrs.get("seed", "") == "" else int(attrs["seed"]),
            "entropy": str(attrs.get("entropy", "")),
            "levels": [format_level(q) for q in self.levels],
            "common_random_numbers": True,
            "scenarios": records,
            "baseline": attrs.get("baseline") or None,
            "differences": self.difference_records(),
            "weighted_ecl": None
            if self.weights is None
            else {"lifetime": self.weighted_ecl, "12_period": self.weighted_ecl_12_period},
        }


_EXTRA: tuple[Literal["defaults", "churn", "value"], ...] = ("defaults", "churn", "value")
"""Expectations tabulated beside the loss, as ``expected_<name>`` (exact) and ``_mc``."""


def _row(result: SimulationResult, levels: list[float]) -> dict[str, Any]:
    loss = risk_measures(
        result.total("loss").to_numpy(),
        weights=result.weights,
        levels=levels,
        name=f"loss ({result.scenario})",
    )
    ecl = result.ecl()
    # exact expectations with the self-normalised MC cross-check, the same as summary.json
    block = expectation(result, "loss")
    row: dict[str, Any] = {
        "method": block["method"],
        "expected": block["expected"],
        "stderr_expected": block["stderr"]["expected"],
        "expected_mc": block["expected_mc"],
        "stderr_mc": block["stderr_mc"],
        "std": loss.std,
        "ess": loss.ess,
        "ecl_lifetime": ecl["lifetime"],
        "ecl_12_period": ecl["12_period"],
    }
    for name in ("var", "stderr_var", "es", "stderr_es"):
        row[name] = [getattr(loss, name)[q] for q in levels]
    for var in _EXTRA:
        block = expectation(result, var)
        row[f"expected_{var}"] = block["expected"]
        row[f"stderr_{var}"] = block["stderr"]["expected"]
        row[f"expected_{var}_mc"] = block["expected_mc"]
        row[f"stderr_{var}_mc"] = block["stderr_mc"]
    return row


def check_scenarios(scenarios: object) -> list[Scenario]:
    """Return the scenarios as a list; ArgumentError for file names or anything else."""
    if isinstance(scenarios, str | Path | Scenario) or not isinstance(scenarios, Sequence):
        raise ArgumentError(
            "`scenarios` must be a list of Scenario objects from rm.load_scenario(...); got "
            f"{describe(scenarios)}. Load the files first: "
            "[rm.load_scenario(f) for f in files]."
        )
    bad = [describe(sc) for sc in scenarios if not isinstance(sc, Scenario)]
    if bad:
        raise ArgumentError(
            f"`scenarios` must hold Scenario objects from rm.load_scenario(...); got {bad[0]}. "
            "Load each file first: [rm.load_scenario(f) for f in files]."
        )
    return list(scenarios)


def comparison_from_results(
    results: dict[str, SimulationResult],
    *,
    paths: int,
    seed: int | None,
    entropy: int,
    weights: np.ndarray | None,
    baseline: str,
    levels: Sequence[float],
) -> ComparisonResult:
    """Tabulate results of scenarios run on common random numbers as a `ComparisonResult`.

    Parameters
    ----------
    results : dict of str to SimulationResult
        Per scenario name, in order (from `riskmodel.simulation.variants.simulate_variants`).
    paths : int
        Paths per scenario.
    seed : int or None
        The seed asked for (None: fresh entropy).
    entropy : int
        The common seed entropy.
    weights : ndarray or None
        Scenario weights (`check_weights`).
    baseline : str
        The scenario the others are differenced against.
    levels : sequence of float
        Risk levels tabulated (sorted; the union of the scenarios' levels).

    Returns
    -------
    ComparisonResult
    """
    names = list(results)
    levels = list(levels)
    rows = [_row(results[name], levels) for name in names]
    per_level = {"var", "stderr_var", "es", "stderr_es"}
    data = xr.Dataset(
        {
            k: (("scenario", "level") if k in per_level else ("scenario",), [r[k] for r in rows])
            for k in rows[0]
        },
        coords={"scenario": names, "level": levels},
    )
    data["weight"] = ("scenario", np.full(len(names), np.nan) if weights is None else weights)
    data.attrs.update(
        paths=int(paths),
        seed="" if seed is None else str(seed),
        entropy=str(entropy),
        baseline=baseline,
    )
    diffs = differences_table(data, results, baseline)
    return ComparisonResult(data=data, results=results, differences=diffs)
