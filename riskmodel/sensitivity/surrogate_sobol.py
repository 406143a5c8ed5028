"""Sobol indices from a polynomial-chaos surrogate: the design, the fit and the result dataset.

`riskmodel.sensitivity.variance.sobol` with ``estimator: surrogate`` evaluates the metrics on
`n` quasi-random points and hands them here; `riskmodel.sensitivity.surrogate` fits the
expansion and reads the indices and their intervals off it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from riskmodel.sensitivity.result import (
    SensitivityResult,
    SensitivityWarning,
    empty_dataset,
)
from riskmodel.sensitivity.surrogate import design_points, fit_all
from riskmodel.simulation.seeding import ANALYSIS_KEY, DESIGN_KEY

if TYPE_CHECKING:
    import xarray as xr


NEGLIGIBLE = 0.05
"""An index whose whole interval lies below this is negligible: a wide interval is not warned."""


def warn_wide_intervals(ds: xr.Dataset) -> None:
    """Warn (`SensitivityWarning`) of indices whose interval is wider than the index itself."""
    wide = []
    for index in ("S1", "ST"):
        val = ds[index].to_numpy()
        conf = ds[f"{index}_conf"].to_numpy()
        with np.errstate(invalid="ignore"):
            flag = (conf > np.abs(val)) & (np.abs(val) + conf >= NEGLIGIBLE)
        for i, j in zip(*np.nonzero(flag), strict=True):
            wide.append(
                f"{index}[{ds['metric'].values[i]}, {ds['factor'].values[j]}] = "
                f"{val[i, j]:.3f} ± {conf[i, j]:.3f}"
            )
    if wide:
        shown = "; ".join(wide[:6]) + (f"; … ({len(wide)} in all)" if len(wide) > 6 else "")
        warnings.warn(
            f"confidence intervals wider than the Sobol indices they qualify: {shown}. "
            "Increase `n` (design points) or `paths` (Monte Carlo noise per point).",
            SensitivityWarning,
            stacklevel=3,
        )


def surrogate_sobol(
    evaluate, bounds, specs, n, entropy, conf_level, resamples, groups, check, attrs
):
    """Sobol indices from a polynomial-chaos surrogate on `n` quasi-random points."""
    names = [s.name for s in specs]
    design_rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(DESIGN_KEY,)))
    x = design_points(list(bounds.values()), n, seed=design_rng)
    y, parts = evaluate(x, groups)
    if not np.all(np.isfinite(y)):
        raise ValueError("the model returned NaN or inf at some design points.")
    g = len(next(iter(parts.values()))[0]) if parts else 0
    stacked = np.full((n, len(names), max(g, 1)), np.nan)
    for m, name in enumerate(names):
        if name in parts:
            stacked[:, m] = parts[name]
    errors = [check.spread(s.name) if check is not None and not s.exact else 0.0 for s in specs]
    fits = fit_all(
        x,
        y,
        bounds,
        groups=stacked if g > 1 else None,
        model_error=errors,
        conf_level=conf_level,
        resamples=resamples,
        rng=np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(ANALYSIS_KEY,))),
    )
    ds = empty_dataset(names, list(bounds))
    ds["low"][:] = [b[0] for b in bounds.values()]
    ds["high"][:] = [b[1] for b in bounds.values()]
    constant = []
    for m, fit in enumerate(fits):
        if not np.isfinite(fit.q2):
            constant.append(names[m])
            continue
        for v in ("S1", "S1_conf", "ST", "ST_conf"):
            ds[v][m, :] = getattr(fit, v)
        ds["surrogate_q2"][m] = fit.q2
    ds["X"] = (("sample", "factor"), x)
    ds["Y"] = (("sample", "metric"), y)
    ds = ds.assign_coords(sample=np.arange(n))
    ds.attrs.update(
        {
            "methods": ["sobol"],
            "sobol_n": int(n),
            "sobol_evaluations": int(n),
            "sobol_entropy": str(entropy),
            "sobol_conf_level": float(conf_level),
            "sobol_resamples": int(resamples),
            "sobol_groups": int(g),
            "constant_metrics": constant,
            **attrs,
        }
    )
    warn_wide_intervals(ds)
    return SensitivityResult(ds)
