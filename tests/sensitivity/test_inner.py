"""How each metric is computed: exact, by the engine, or on the large-pool model (issue 17)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from riskmodel.sensitivity import SensitivityWarning, resolve_factors, sobol, tornado
from riskmodel.sensitivity.inner import evaluate_points, large_pool_check
from riskmodel.sensitivity.measures import parse_metrics
from riskmodel.sensitivity.swing import tornado_points
from riskmodel.simulation.seeding import seed_entropy
from riskmodel.simulation.variants import shared_sampling

FACTORS = {"lgd.mean": (0.35, 0.55), "systematic.correlation": (0.05, 0.2)}


@pytest.mark.parametrize("approximation", ["none", "large_pool"])
def test_exact_metrics_agree_with_the_simulated_mean_within_its_standard_error(
    scenario, approximation
):
    # the exact path (no simulation) against the paths' weighted mean at every tornado point;
    # the large-pool loss is the conditional expectation given the factor path, so its mean is
    # the same expected loss. Tolerance: 4 Monte Carlo standard errors of the mean (std / √n)
    # per point, so 9 points fail together with probability below 1e-3.
    points = tornado_points(scenario, resolve_factors(scenario, FACTORS))
    specs = parse_metrics(["expected_loss", "mean_loss"])
    paths = 4096
    ev = evaluate_points(
        points,
        specs,
        approximation=approximation,
        paths=paths,
        entropy=seed_entropy(2),
        sampling=shared_sampling(scenario),
    )
    for p, t in enumerate(ev.totals):
        se = np.std(t.weight * t.loss, ddof=1) / np.sqrt(paths)
        assert abs(ev.values["mean_loss"][p] - ev.values["expected_loss"][p]) <= 4 * se


def test_the_large_pool_error_is_measured_and_small_on_a_large_book(big_book):
    # 10^6 customers per cohort and a fixed LGD: the idiosyncratic noise the large-pool model
    # leaves out is of relative size ~1/√(defaults) ≈ 1e-3, so VaR and ES agree to < 1%
    points = tornado_points(big_book, resolve_factors(big_book, FACTORS))
    specs = parse_metrics(["var_0.99", "es_0.99"])
    check = large_pool_check(
        points, specs, paths=1024, entropy=seed_entropy(4), sampling=shared_sampling(big_book)
    )
    for name in ("var_0.99", "es_0.99"):
        assert 0 < check.relative_error(name) < 0.01
        assert check.spread(name) >= 0


def test_the_large_pool_error_is_reported_per_metric(big_book):
    res = tornado(
        big_book,
        FACTORS,
        ["expected_loss", "var_0.99"],
        paths=2048,
        seed=1,
        approximation="large_pool",
        check_paths=512,
        bootstrap=20,
    )
    methods = dict(zip(res.metrics, res.data["method"].values.tolist(), strict=True))
    assert methods == {"expected_loss": "exact", "var_0.99": "large_pool"}
    assert np.isnan(float(res.data["large_pool_error"].sel(metric="expected_loss")))
    assert 0 < float(res.data["large_pool_error"].sel(metric="var_0.99")) < 0.01
    block = res.to_dict()["metrics"]["var_0.99"]
    assert block["method"] == "large_pool" and block["large_pool_error"] > 0


def test_the_surrogate_agrees_with_saltelli_on_exact_metrics(scenario):
    # Saltelli (SALib, n = 512) and the surrogate (64 points) estimate the same indices of a
    # smooth exact metric: they must agree within Saltelli's own 95% intervals
    metrics = ["expected_loss", "ecl_lifetime"]
    factors = {**FACTORS, "systematic.shift": (-0.5, 0.5)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)
        ref = sobol(scenario, factors, metrics, n=512, seed=3)
        sur = sobol(scenario, factors, metrics, n=64, seed=3, estimator="surrogate")
    for index in ("S1", "ST"):
        diff = np.abs(sur.data[index] - ref.data[index])
        assert bool((diff <= ref.data[f"{index}_conf"] + 1e-3).all())
        assert bool((sur.data[f"{index}_conf"] < ref.data[f"{index}_conf"]).all())
    assert sur.data.attrs["sobol_evaluations"] == 64
