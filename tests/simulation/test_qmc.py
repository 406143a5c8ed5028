"""Randomised quasi-Monte Carlo of the factor path: unbiased, reproducible, honest errors."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_builders import lifecycle_dict, one_cohort_dict
from scipy import stats

import riskmodel as rm
from riskmodel.simulation.qmc import householder, sobol_innovations

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")


def test_householder_is_orthogonal_and_maps_e1_to_direction():
    rng = np.random.default_rng(0)
    d = rng.standard_normal(7)
    q = householder(d)
    np.testing.assert_allclose(q @ q.T, np.eye(7), atol=1e-12)
    np.testing.assert_allclose(q[:, 0], d / np.linalg.norm(d), atol=1e-12)
    np.testing.assert_allclose(householder(np.zeros(3)), np.eye(3))


def test_innovations_depend_only_on_seed_and_block():
    a = sobol_innovations(5, 3, 1024, 6, replicates=4, block_size=1024)
    b = sobol_innovations(5, 3, 1024, 6, replicates=4, block_size=1024)
    c = sobol_innovations(5, 7, 1024, 6, replicates=4, block_size=1024)  # same replicate, next run
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # each column is standard normal: Kolmogorov–Smirnov on 1024 scrambled points
    for j in range(6):
        assert stats.kstest(a[:, j], "norm").pvalue > 1e-3


def test_qmc_is_reproducible_across_batches_and_workers():
    cfg = lifecycle_dict(horizon=6, paths=5000, seed=4)
    cfg["simulation"] = {"qmc": True, "qmc_replicates": 4, "importance_sampling": False}
    sc = rm.scenario_from_dict(cfg)
    a = rm.simulate(sc, batch=1000, workers=1, progress=False)
    b = rm.simulate(sc, batch=7000, workers=2, progress=False)
    np.testing.assert_array_equal(a.data["loss"], b.data["loss"])
    np.testing.assert_array_equal(a.data["replicate"], b.data["replicate"])
    assert set(np.unique(a.data["replicate"])) == {0, 1, 2, 3}


def test_qmc_expected_loss_agrees_with_exact_and_has_smaller_error():
    cfg = lifecycle_dict(horizon=12, paths=16 * 1024, seed=6, rho=0.2)
    plain = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    cfg["simulation"] = {"qmc": True, "qmc_replicates": 16, "importance_sampling": False}
    res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    exact = float(res.data["exact_loss"].sum())
    m = res.risk()
    # replicate standard error: t distribution with R - 1 = 15 degrees of freedom
    assert abs(m.expected - exact) < stats.t.ppf(0.9995, 15) * m.stderr_expected
    assert m.stderr_expected < plain.risk().stderr_expected


def test_importance_sampling_with_qmc_matches_vasicek():
    p, rho, n_cust = 0.02, 0.15, 10**9
    cfg = one_cohort_dict(customers=n_cust, pd=p, rho=rho, paths=16 * 1024, seed=17)
    cfg["simulation"] = {"qmc": True, "qmc_replicates": 16, "importance_sampling": True}
    res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    m = res.risk(levels=(0.99, 0.999))
    t = stats.t.ppf(0.9995, 15)
    for q in (0.99, 0.999):
        truth = n_cust * stats.norm.cdf(
            (stats.norm.ppf(p) + np.sqrt(rho) * stats.norm.ppf(q)) / np.sqrt(1 - rho)
        )
        assert abs(m.var[q] - truth) < t * m.stderr_var[q] + 1e-9 * truth
