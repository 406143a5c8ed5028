"""summary.json publishes every expectation exact, with a self-normalised MC cross-check beside it.

The exact values come from `riskmodel.simulation.expected` (tested against closed forms in
``tests/simulation/test_expected*.py``); here: that the summary publishes them, in every place
(total, per period, per segment, per starting state), marks them, keeps the DESIGN.md §3 keys,
and that no published expectation can be impossible under heavy importance sampling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.errors import InputError
from riskmodel.metrics.expectations import (
    EXPECTATIONS,
    exact_summary,
    expectation,
    expectations_section,
    self_normalised_mean,
)
from riskmodel.metrics.risk import expected_value
from riskmodel.simulation.expected import expected_term_structure

# Heavy weights aim at the loss tail; tail-resolution warnings are not the subject here.
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

HEAVY_IS = {  # a full Glasserman–Li mean shift: largest weights in the tens, Kish ESS small
    "importance_sampling": True,
    "importance_method": "shift",
    "importance_damping": 1.0,
    "importance_level": 0.999,
}


def all_default_book(*, pd: float, horizon: int = 12, paths: int = 2000, seed: int = 5) -> dict:
    """122,000 customers, EAD 1 each, LGD 1: a row defaulting w.p. `pd` per period, so over the
    horizon practically every customer defaults (loss = defaults ≤ 122,000)."""
    return {
        "name": "all-default",
        "horizon": horizon,
        "paths": paths,
        "seed": seed,
        "states": {
            "names": ["performing", "defaulted"],
            "absorbing": ["defaulted"],
            "default": "defaulted",
        },
        "portfolio": {
            "cohorts": [
                {"segment": "a", "state": "performing", "customers": 61_000, "exposure": 61e3},
                {"segment": "b", "state": "performing", "customers": 61_000, "exposure": 61e3},
            ]
        },
        "parameters": {"transitions": {"a": [[1 - pd, pd]], "b": [[1 - pd, pd]]}},
        "systematic": {"correlation": 0.3},
        "lgd": {"mean": 1.0, "sd": 0.0},
        "simulation": dict(HEAVY_IS),
        "outputs": {"levels": [0.9]},
    }


TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


@pytest.fixture(scope="module")
def lifecycle_run():
    """The tiny lifecycle scenario with margins, importance sampled (the default tilt)."""
    cfg = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    for c, margin in zip(cfg["portfolio"]["cohorts"], (5_000.0, 12_000.0), strict=True):
        c["margin"] = margin
    cfg["outputs"] = {"levels": [0.9]}
    sc = rm.scenario_from_dict(cfg)
    return sc, rm.simulate(sc, paths=4096, seed=2, progress=False)


class TestSummaryIsExact:
    def test_every_expectation_is_the_exact_one(self, lifecycle_run):
        sc, res = lifecycle_run
        s = res.summary()
        truth = exact_summary(expected_term_structure(sc))
        for name in EXPECTATIONS:
            block = s[name]
            assert block["method"] == "exact", name
            assert block["expected"] == pytest.approx(truth[name]["expected"], rel=1e-12), name
            assert block["stderr"]["expected"] == 0.0
            assert block["stderr"]["expected_mc"] == block["stderr_mc"] > 0
            # the cross-check is the self-normalised mean of the per-path values
            z = (block["expected_mc"] - block["expected"]) / block["stderr_mc"]
            assert block["z_mc"] == pytest.approx(z)
            assert abs(z) < 4.5, (name, z)  # 4.5 s.e.: a false alarm once in ~150,000 runs
        mc, se = expected_value(res.total("defaults").to_numpy(), weights=res.weights)
        assert s["defaults"]["expected_mc"] == pytest.approx(mc, rel=1e-12)
        assert s["defaults"]["stderr_mc"] == pytest.approx(se, rel=1e-12)
        assert s["ecl"]["exact"] and s["ecl"]["method"] == "exact"
        assert s["ecl"]["lifetime"] == pytest.approx(truth["ecl"]["lifetime"], rel=1e-12)

    def test_design_keys_are_kept(self, lifecycle_run):
        s = lifecycle_run[1].summary()
        loss = s["loss"]
        for key in ("expected", "std", "var", "es", "stderr"):
            assert key in loss
        assert set(loss["stderr"]) >= {"expected", "var", "es"}
        assert isinstance(s["defaults"]["expected"], float) and "0.9" in s["defaults"]["var"]
        assert isinstance(s["churn"]["expected"], float)

    def test_per_period_segment_and_state_are_exact_and_add_up(self, lifecycle_run):
        sc, res = lifecycle_run
        s = res.summary()
        ex = s["expectations"]
        ds = expected_term_structure(sc)
        assert ex["method"] == "exact" and ex["mc_estimator"] == "self-normalised"
        full = expectations_section(res)  # with the per-period standard errors
        for name in ("loss", "defaults", "churn", "margin"):
            per = ex["by_period"][name]
            assert set(per) == {"exact", "mc"}  # summary.json: the same whatever is kept
            np.testing.assert_allclose(per["exact"], ds[name].to_numpy(), rtol=1e-12)
            mc, se = self_normalised_mean(
                res.data[name].transpose("path", "period").to_numpy(), weights=res.weights
            )
            np.testing.assert_allclose(per["mc"], mc, rtol=1e-12)
            np.testing.assert_allclose(full["by_period"][name]["stderr_mc"], se, rtol=1e-12)
        for name in ("loss", "defaults", "churn", "value"):
            total = s[name]["expected"]
            by_seg = ex["by_segment"][name]["exact"]
            by_state = ex["by_state"][name]["exact"]
            assert sum(by_seg.values()) == pytest.approx(total, rel=1e-12), name
            assert sum(by_state.values()) == pytest.approx(total, rel=1e-12), name
        assert sum(ex["by_state"]["customers"].values()) == sc.portfolio.total_customers

    def test_a_result_without_exact_values_says_monte_carlo(self, lifecycle_run):
        _, res = lifecycle_run
        legacy = res.data.drop_vars([v for v in res.data.data_vars if v.startswith("exact_")])
        block = expectation(legacy, "defaults")
        assert block["method"] == "monte_carlo"
        assert block["expected"] == block["expected_mc"]
        assert block["stderr"]["expected"] == block["stderr_mc"] > 0
        section = expectations_section(legacy)
        assert section["method"] == "monte_carlo" and "by_state" not in section
        assert "exact" not in section["by_period"]["defaults"]


class TestNeverImpossible:
    @pytest.mark.parametrize(
        "method, pd, seed", [("tilt", 0.3, 5), ("mixture", 0.6, 5), ("shift", 0.6, 7)]
    )
    def test_every_published_expectation_is_possible(self, method, pd, seed):
        cfg = all_default_book(pd=pd, seed=seed)
        cfg["simulation"]["importance_method"] = method
        if method == "tilt":  # the tilt has no shift to damp
            del cfg["simulation"]["importance_damping"]
        sc = rm.scenario_from_dict(cfg)
        res = rm.simulate(sc, progress=False)
        n = sc.portfolio.total_customers
        w = res.weights
        defaults = res.total("defaults").to_numpy()
        # the run is the failing case of the issue: the plain weighted mean (1/N) Σ w x of the
        # defaults exceeds the book, because Σ w ≠ N under these heavy weights
        assert np.mean(w * defaults) > n
        s = res.summary()
        for name in ("defaults", "loss"):  # loss = defaults here (EAD 1, LGD 1)
            block = s[name]
            assert 0 <= block["expected"] <= n
            assert 0 <= block["expected_mc"] <= n
            assert block["expected_mc"] + 0.0 <= defaults.max()
            assert all(v <= n for v in block.get("var", {}).values())
        per = s["expectations"]["by_period"]["defaults"]
        assert sum(per["exact"]) <= n and sum(per["mc"]) <= n * (1 + 1e-12)
        for seg in ("a", "b"):
            assert s["expectations"]["by_segment"]["defaults"]["exact"][seg] <= 61_000
            assert 0 <= s["expectations"]["by_segment"]["loss"]["mc"][seg] <= 61_000
        cdr = s["ecl"]["cumulative_default_rate"]
        assert all(0 <= r <= 1 for r in cdr)
        # exact and cross-check agree within the cross-check's own error (4.5 s.e.)
        assert abs(s["defaults"]["z_mc"]) < 4.5


class TestSelfNormalisedMean:
    def test_matches_expected_value_column_by_column(self):
        rng = np.random.default_rng(1)
        x = rng.gamma(2.0, size=(500, 3))
        w = rng.exponential(size=500)
        mean, se = self_normalised_mean(x, weights=w)
        for k in range(3):
            m, e = expected_value(x[:, k], weights=w)
            assert mean[k] == pytest.approx(m, rel=1e-14) and se[k] == pytest.approx(e, rel=1e-14)
            assert x[:, k].min() <= mean[k] <= x[:, k].max()
        # plain Monte Carlo: the sample mean and std(ddof=1)/√N
        m, e = self_normalised_mean(x[:, 0])
        assert m == pytest.approx(x[:, 0].mean()) and e == pytest.approx(
            x[:, 0].std(ddof=1) / np.sqrt(500)
        )

    def test_constant_values_have_zero_error_whatever_the_weights(self):
        m, e = self_normalised_mean(np.full(100, 7.0), weights=np.linspace(0.01, 50, 100))
        assert m == pytest.approx(7.0, rel=1e-15) and e == pytest.approx(0.0, abs=1e-12)

    def test_replicates_give_the_spread_of_their_estimates(self):
        rng = np.random.default_rng(2)
        x = rng.normal(size=400)
        rep = np.repeat(np.arange(4), 100)
        m, e = self_normalised_mean(x, replicate=rep)
        per = [x[rep == r].mean() for r in range(4)]
        assert m == pytest.approx(x.mean()) and e == pytest.approx(np.std(per, ddof=1) / 2)

    @pytest.mark.parametrize(
        "values, weights",
        [
            (np.zeros((2, 2, 2)), None),
            (np.array([1.0, np.nan]), None),
            (np.ones(3), np.array([1.0, -1.0, 1.0])),
            (np.ones(3), np.zeros(3)),
        ],
    )
    def test_bad_input_is_refused(self, values, weights):
        with pytest.raises(InputError):
            self_normalised_mean(values, weights=weights)

    def test_unknown_name_is_refused(self, lifecycle_run):
        with pytest.raises(ValueError, match="must be one of"):
            expectation(lifecycle_run[1], "margin")
