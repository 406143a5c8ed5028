"""The differences table of a scenario comparison: each scenario minus a baseline.

Point differences are the differences of the reported figures (nothing is recomputed); their
standard errors are paired, on the common random numbers of the comparison
(`riskmodel.metrics.paired`).
"""

from __future__ import annotations

import difflib
import math

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.errors import ComparisonError
from riskmodel.metrics.expectations import _per_path, _replicate
from riskmodel.metrics.paired import paired_influences, paired_stderr, replicate_stderr
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import format_level

__all__ = ["DIFFERENCE_COLUMNS", "check_baseline", "differences_table"]

DIFFERENCE_COLUMNS = ("scenario", "baseline", "metric", "difference", "stderr", "stderr_unpaired")
"""Columns of `differences_table`."""


def check_baseline(baseline: str | None, names: list[str]) -> str:
    """Return the baseline's name: `baseline` if it is one of `names`, else the first name.

    Raises
    ------
    ComparisonError
        If `baseline` is not one of the compared scenarios (with the closest name suggested).
    """
    if baseline is None:
        return names[0]
    if baseline not in names:
        close = difflib.get_close_matches(str(baseline), names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ComparisonError(
            f"the baseline must be one of the compared scenarios {names}; got {baseline!r}."
            f"{hint} Pass the `name:` of one of the scenario files."
        )
    return baseline


def _row(scenario: str, base: str, metric: str, diff: float, se: float, se_u: float) -> dict:
    return dict(zip(DIFFERENCE_COLUMNS, (scenario, base, metric, diff, se, se_u), strict=True))


def differences_table(
    data: xr.Dataset, results: dict[str, SimulationResult], baseline: str
) -> pd.DataFrame:
    """Each scenario minus `baseline`: EL (exact and Monte Carlo), VaR, ES, ECL.

    Parameters
    ----------
    data : xarray.Dataset
        The comparison table (`riskmodel.metrics.compare.ComparisonResult.data`).
    results : dict of str to SimulationResult
        The per-path results on common random numbers, by scenario.
    baseline : str
        The scenario subtracted.

    Returns
    -------
    pandas.DataFrame
        Columns `DIFFERENCE_COLUMNS`; the baseline's own rows are left out.
    """
    names = [str(s) for s in data["scenario"].values]
    levels = [float(q) for q in data["level"].values]
    b = names.index(baseline)
    infl = {n: _influences(results[n], levels) for n in names}
    rows = []
    for i, name in enumerate(names):
        if i == b:
            continue

        def take(var: str, err: str, k: int | None = None, i: int = i) -> tuple[float, float]:
            v, e = data[var].values, data[err].values
            if k is None:
                return float(v[i] - v[b]), float(math.hypot(e[i], e[b]))
            return float(v[i, k] - v[b, k]), float(math.hypot(e[i, k], e[b, k]))

        exact = "method" in data and all(str(data["method"].values[j]) == "exact" for j in (i, b))
        d, se_u = take("expected", "stderr_expected")
        se_mc = _expected_stderr(results[name], results[baseline], infl, name, baseline)
        rows.append(_row(name, baseline, "expected", d, 0.0 if exact else se_mc, se_u))
        d, se_u = take("expected_mc", "stderr_mc")
        rows.append(_row(name, baseline, "expected_mc", d, se_mc, se_u))
        for k, q in enumerate(levels):
            for kind in ("var", "es"):
                d, se_u = take(kind, f"stderr_{kind}", k)
                se = paired_stderr(infl[name][f"{kind}_{q}"], infl[baseline][f"{kind}_{q}"])
                rows.append(_row(name, baseline, f"{kind}_{format_level(q)}", d, se, se_u))
        for metric in ("ecl_lifetime", "ecl_12_period"):  # exact expectations: exact differences
            v = data[metric].values
            rows.append(_row(name, baseline, metric, float(v[i] - v[b]), 0.0, 0.0))
    return pd.DataFrame(rows, columns=list(DIFFERENCE_COLUMNS))


def _influences(result: SimulationResult, levels: list[float]) -> dict[str, np.ndarray]:
    return paired_influences(result.total("loss").to_numpy(), result.weights, levels)


def _expected_stderr(
    ra: SimulationResult, rb: SimulationResult, infl: dict, a: str, b: str
) -> float:
    """Paired error of the Monte Carlo EL difference (per-replicate spread under QMC)."""
    rep = _replicate(ra.data)
    if rep is not None:
        wa = np.ones(rep.size) if ra.weights is None else np.asarray(ra.weights, dtype=float)
        wb = np.ones(rep.size) if rb.weights is None else np.asarray(rb.weights, dtype=float)
        se = replicate_stderr(
            _per_path(ra.data, "loss"), wa, _per_path(rb.data, "loss"), wb, np.asarray(rep)
        )
        if math.isfinite(se):
            return se
    return paired_stderr(infl[a]["expected"], infl[b]["expected"])
