"""Sobol indices through SALib: closed forms, checks and warnings, scenario plumbing."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.sensitivity import (
    SensitivityWarning,
    apply_factors,
    run_sensitivity,
    sobol,
    sobol_indices,
)
from riskmodel.sensitivity.measures import exact_metrics, parse_metrics


def test_additive_toy_matches_the_closed_form():
    # Y = 2 X1 + X2 + 0 X3 with X_i ~ U(0, 1): Var = (4 + 1)/12, so S1 = ST = (4/5, 1/5, 0).
    calls = []

    def model(x):
        calls.append(len(x))
        return 2.0 * x[:, 0] + 1.0 * x[:, 1] + 0.0 * x[:, 2]

    bounds = {"x1": (0.0, 1.0), "x2": (0.0, 1.0), "x3": (0.0, 1.0)}
    res = sobol_indices(model, bounds, n=1024, seed=0, batch=500)
    truth = np.array([0.8, 0.2, 0.0])
    ds = res.data.sel(metric="y")
    # within the reported 95% intervals, no widening needed: for an additive model the
    # Saltelli/Jansen estimators are nearly exact (errors ~1e-5 against half-widths ~0.02-0.07)
    for index in ("S1", "ST"):
        err = np.abs(ds[index].to_numpy() - truth)
        assert np.all(err <= ds[f"{index}_conf"].to_numpy() + 1e-12), (index, err)
    assert float(ds["ST"].sel(factor="x3")) == 0.0  # X3 does not enter Y at all
    assert sum(calls) == 1024 * (3 + 2) and max(calls) == 500  # batched evaluation
    assert res.data["X"].shape == (5120, 3) and res.data["Y"].shape == (5120, 1)
    np.testing.assert_allclose(res.data["Y"][:, 0], model(res.data["X"].to_numpy()))


def test_seed_zero_is_a_seed():
    f = lambda x: x[:, 0] + 0.5 * x[:, 1] ** 2  # noqa: E731
    a = sobol_indices(f, {"a": (0, 1), "b": (0, 1)}, n=64, seed=0)
    b = sobol_indices(f, {"a": (0, 1), "b": (0, 1)}, n=64, seed=0)
    assert a.data.identical(b.data)


@pytest.mark.parametrize("n", [100, 4, 0])
def test_sample_size_must_be_a_power_of_two(n):
    with pytest.raises(ValueError, match="power of 2"):
        sobol_indices(lambda x: x[:, 0], {"a": (0, 1)}, n=n, seed=1)


def test_small_samples_and_wide_intervals_warn():
    rng = np.random.default_rng(3)

    def noisy(x):  # a weak signal under strong noise: intervals wider than the indices
        return 0.2 * x[:, 0] + x[:, 1] * 0.0 + rng.normal(size=len(x))

    with pytest.warns(SensitivityWarning) as record:
        sobol_indices(noisy, {"a": (0, 1), "b": (0, 1)}, n=16, seed=1)
    messages = " ".join(str(r.message) for r in record)
    assert "n = 16 is small" in messages
    assert "wider than the Sobol indices" in messages


def _saltelli_s1_sd(n: int, d: int, index: int, reps: int = 1000) -> float:
    """Sampling sd of SALib's first-order estimator ``mean(f_B (f_AB − f_A)) / Var f`` for a
    metric linear in factor `index` alone (so ``f_AB = f_B``), over scramblings of the
    design's 2d-dimensional Sobol' sequence (A: columns 0..d-1, B: d..2d-1), n base points.
    The index is invariant to the metric's scale and offset, so a unit-uniform factor serves."""
    from scipy.stats import qmc

    s1 = np.empty(reps)
    for r in range(reps):
        u = qmc.Sobol(d=2 * d, scramble=True, seed=r).random(n)
        a, b = u[:, index], u[:, d + index]
        s1[r] = np.mean(b * (b - a)) / np.var(np.concatenate([a, b]))
    return float(s1.std())


def test_constant_metric_has_undefined_indices(scenario, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sobol(
            scenario.with_options(systematic={"shift": 0.0}),
            {"systematic.correlation": (0.05, 0.25), "lgd.mean": (0.3, 0.5)},
            ["expected_loss", "value"],
            n=64,
            seed=2,
        )
    # expected loss: linear in the LGD mean, independent of rho (no shift)
    el = res.data.sel(metric="expected_loss")
    assert float(el["ST"].sel(factor="systematic.correlation")) == 0.0
    # S1 = 1 in truth; the tolerance is 4.5 sampling sd of the estimator on this design
    sd_s1 = _saltelli_s1_sd(64, d=2, index=1)
    assert abs(float(el["S1"].sel(factor="lgd.mean")) - 1.0) <= 4.5 * sd_s1
    # value (discounted margin) moves with neither factor
    assert res.data.attrs["constant_metrics"] == ["value"]
    assert np.isnan(res.data["S1"].sel(metric="value")).all()
    back = type(res).from_netcdf(res.to_netcdf(tmp_path / "s.nc"))
    assert back.data.attrs["constant_metrics"] == ["value"] and back.methods == ["sobol"]
    np.testing.assert_array_equal(back.data["X"], res.data["X"])
    np.testing.assert_array_equal(back.data["ST"], res.data["ST"])
    assert res.data.attrs["sobol_paths"] == 0  # exact metrics: nothing simulated


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 128 paths
def test_simulated_metrics_use_common_random_numbers(scenario):
    factors = {"lgd.mean": (0.3, 0.5), "systematic.shift": (-0.5, 0.5)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)  # tiny runs: rough indices
        res = sobol(scenario, factors, ["var_0.99", "mean_loss"], n=8, paths=128, seed=4)
    x, y = res.data["X"].to_numpy(), res.data["Y"].sel(metric="mean_loss").to_numpy()
    assert x.shape == (8 * 4, 2)
    # each design point is a run with the same seed: reproduce one point with the engine
    k = 5
    point = apply_factors(scenario, {"lgd.mean": x[k, 0], "systematic.shift": x[k, 1]})
    assert y[k] == rm.simulate(point, paths=128, seed=4).risk().expected
    # CRN: rows that differ only in the LGD mean have mean losses in the ratio of the means
    # when the LGD is fixed (checked on the A and AB_1 rows of SALib's design)
    fixed = scenario.with_options(lgd={"mean": 0.45, "sd": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)
        res = sobol(fixed, factors, ["mean_loss"], n=8, paths=128, seed=4)
    x, y = res.data["X"].to_numpy(), res.data["Y"][:, 0].to_numpy()
    a, ab1 = slice(0, None, 4), slice(1, None, 4)
    np.testing.assert_array_equal(x[a, 1], x[ab1, 1])
    np.testing.assert_allclose(y[ab1] / y[a], x[ab1, 0] / x[a, 0], rtol=1e-12)


def test_posterior_draw_share_of_variance(posterior_scenario):
    sc = posterior_scenario
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = sobol(
            sc,
            {"posterior.draw": (0.0, 1.0), "lgd.mean": (0.44, 0.46)},
            ["expected_loss"],
            n=256,
            seed=1,
        )
    # the draws move default probabilities by x0.6 ... x1.5, the LGD by only ±2%
    ds = res.data.sel(metric="expected_loss")
    assert float(ds["ST"].sel(factor="posterior.draw")) > 0.9
    assert float(ds["ST"].sel(factor="lgd.mean")) < 0.05
    # a design point reproduces the pinned draw's exact expectation
    x = res.data["X"].to_numpy()
    d = int(np.floor(x[0, 0] * 4))
    # the LGD first: it derives the scenario again from its config (and would drop a pin)
    moved = apply_factors(sc, {"lgd.mean": x[0, 1]})
    pinned = dataclasses.replace(
        moved, transitions=moved.transitions[[d]], correlation=moved.correlation[[d]]
    )
    el = exact_metrics(pinned, parse_metrics(["expected_loss"]))["expected_loss"]
    assert float(res.data["Y"][0, 0]) == pytest.approx(el, rel=1e-12)


def test_run_sensitivity_merges_both_methods(scenario):
    config = {
        "factors": [
            {"name": "lgd.mean", "low": 0.35, "high": 0.55},
            {"name": "transitions.declining->defaulted", "low": 0.8, "high": 1.2},
        ],
        "metrics": ["expected_loss", "ecl_lifetime"],
        "sobol": {"n": 64, "seed": 3},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)
        res = run_sensitivity(scenario, config)
    assert res.methods == ["tornado", "sobol"]
    df = res.to_dataframe()
    assert df[["swing", "S1", "ST"]].notna().all().all()
    assert res.data.attrs["sobol_n"] == 64
