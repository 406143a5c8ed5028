"""Kill tests for `riskmodel.metrics.risk` and `.weighted` (see docs/mutation.md): the sparsity
behind the VaR standard error against the normal density, and what a user reads besides the
numbers — the tail-resolution warning's counts and names, and the argument errors.

The expected counts are worked by hand: with N plain paths VaR is the order statistic
``x_(⌈N q⌉)``, so ``N − ⌈N q⌉ + 1`` paths lie at or beyond it, and a level resting on
``t < 50`` of them needs about ``N · 50 / t`` paths.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from scipy.special import ndtri

from riskmodel.errors import ArgumentError, TailResolutionWarning
from riskmodel.metrics.risk import as_dataset, risk_measures, risk_measures_da
from riskmodel.metrics.weighted import sort_paths, sparsity


def test_as_dataset_accepts_a_result_or_its_dataset_and_names_the_argument():
    ds = xr.Dataset({"loss": ("path", np.arange(3.0))})

    class Result:
        data = ds

    assert as_dataset(Result()) is ds
    assert as_dataset(ds) is ds
    with pytest.raises(ArgumentError, match=r"`results` must be a SimulationResult.*got list"):
        as_dataset([1.0], argument="results")


def test_tail_warning_counts_names_and_paths_needed():
    # 1,000 plain paths: 11 at or beyond the 99% VaR (x_(990) … x_(1000)), 2 at 99.9%, 51 at 95%
    x = np.arange(1.0, 1001.0)
    with pytest.warns(TailResolutionWarning) as rec:
        risk_measures(x, levels=[0.95, 0.99, 0.999], name="value")
    assert len(rec) == 1
    msg = str(rec[0].message)
    assert msg.startswith("`value`:")
    assert "99%: 11," in msg and "99.9%: 2;" in msg  # 95% rests on 51 paths: resolved
    assert "95%" not in msg
    assert "in a run of 1,000 paths" in msg
    assert "about 25,000 paths" in msg  # the worst level: 1,000 × 50 / 2
    with pytest.warns(TailResolutionWarning, match=r"^`loss`: .* 99%: 11;"):
        risk_measures(x, levels=[0.99])


def test_labelled_tail_warning_is_named_after_the_array_and_counts_its_paths():
    x = np.arange(1.0, 1001.0)
    da = xr.DataArray(np.stack([x, 2 * x]), dims=("segment", "path"), name="value")
    with pytest.warns(TailResolutionWarning) as rec:
        risk_measures_da(da, levels=[0.99])
    assert len(rec) == 1  # one warning for all cells
    msg = str(rec[0].message)
    assert msg.startswith("`value`:") and "in a run of 1,000 paths" in msg
    with pytest.warns(TailResolutionWarning, match=r"^`loss`:"):
        risk_measures_da(da.rename(None), levels=[0.99])


def test_labelled_errors_name_the_array():
    x = np.arange(1.0, 101.0)
    x[7] = np.nan
    da = xr.DataArray(x, dims="path", name="value")
    with pytest.raises(ArgumentError, match=r"`value` must be finite"):
        risk_measures_da(da, levels=[0.5])
    with pytest.raises(ArgumentError, match=r"`loss` must be finite"):
        risk_measures_da(da.rename(None), levels=[0.5])


def test_sparsity_is_the_inverse_density_on_noise_free_normal_data():
    # the VaR standard error's s(q) = 1/f(Q(q)) (Siddiqui–Bofinger, Hall–Sheather bandwidth h)
    # on the exact normal quantiles at (i − 1/2)/N: no sampling noise, only the central
    # difference's bias h² (1 + 2 z²) / (6 φ(z)²) ≤ 1% at N = 10⁶ for these levels (h ≈ 1e-3);
    # a window at its cap min(q, 1 − q)/3 would be off by 3%. Tolerance 2%.
    n = 10**6
    x = ndtri((np.arange(1, n + 1) - 0.5) / n)
    q = np.array([0.95, 0.99, 0.999])
    got = sparsity(*sort_paths(x, np.ones(n)), q)
    want = 1.0 / stats.norm.pdf(stats.norm.ppf(q))
    np.testing.assert_allclose(got, want, rtol=0.02)
