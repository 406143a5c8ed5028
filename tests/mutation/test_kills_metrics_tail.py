"""Kill tests for `riskmodel.metrics.tail_resolution` and `risk.as_dataset` (docs/mutation.md):
the survivors of the metrics-risk run at 2a2f930 that a user can see — where the tail warning
points, its threshold at exactly 50 effective paths, its advice for a one-path or empty tail,
its whole text, and the argument named in errors.

The counts are worked by hand: N plain paths put ``N − ⌈N q⌉ + 1`` at or beyond VaR, and the
advice is ``⌈N · 50 / worst⌉`` paths.
"""

from __future__ import annotations

import pytest
import xarray as xr

from riskmodel.errors import ArgumentError, TailResolutionWarning
from riskmodel.metrics.risk import as_dataset, risk_measures, risk_measures_da
from riskmodel.metrics.tail_resolution import warn_tail_resolution
from riskmodel.metrics.value import value_measures

X = [float(i) for i in range(1, 1001)]


def test_the_warning_points_at_the_callers_line():
    # each public estimator warns at the line that called it, not inside riskmodel
    with pytest.warns(TailResolutionWarning) as rec:
        risk_measures(X, levels=[0.999])
    assert rec[0].filename == __file__
    with pytest.warns(TailResolutionWarning) as rec:
        value_measures(X, levels=[0.999])
    assert rec[0].filename == __file__
    with pytest.warns(TailResolutionWarning) as rec:
        risk_measures_da(xr.DataArray(X, dims="path"), levels=[0.999])
    assert rec[0].filename == __file__


def test_fifty_effective_paths_resolve_a_level():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_tail_resolution({0.99: 50.0}, n_paths=5000)
        warn_tail_resolution({0.99: 50.0 * (1.0 - 1e-9)}, n_paths=5000)  # 49.999999…: 50
        warn_tail_resolution({0.99: 3.0}, n_paths=300, min_tail_paths=3.0)
    with pytest.warns(TailResolutionWarning, match=r"99%: 49\.9;"):
        warn_tail_resolution({0.99: 49.9}, n_paths=5000)


def test_the_whole_message_with_its_advice():
    with pytest.warns(TailResolutionWarning) as rec:
        warn_tail_resolution({0.95: 60.0, 0.999: 1.0}, n_paths=1000)
    assert str(rec[0].message) == (
        "`loss`: too few effective paths in the tail (at or beyond its quantile) for level(s) "
        "99.9%: 1; fewer than 50 in a run of 1,000 paths, so VaR and ES there are not resolved "
        "(ES is typically biased low, its standard error unreliable). Fix: run about 50,000 "
        "paths (`--paths` / `paths:`), or use importance sampling (`simulation: "
        "importance_sampling: true`, the default), or report lower levels (`outputs: levels`)."
    )
    with pytest.warns(TailResolutionWarning, match=r"Fix: run many more paths \(`--paths`"):
        warn_tail_resolution({0.99: 0.0}, n_paths=1000, name="value")


def test_errors_name_the_argument():
    with pytest.raises(ArgumentError, match=r"^`data` must be"):
        as_dataset([1.0])
