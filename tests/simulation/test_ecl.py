"""ECL term structure against the textbook closed form, and the `ecl` entry of the summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scenario_builders import one_cohort_dict

import riskmodel as rm
from riskmodel.metrics.ecl import ecl_term_structure

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

ROOT = Path(rm.__file__).resolve().parents[1]


def textbook(n, ead, lgd, p, r, horizon, amortisation=None):
    """Σ_t n·EAD_t·LGD·(1−p)^{t−1}·p·(1+r)^{−t} per period, EAD_t = EAD·Π_{u≤t}(1 − a_u)."""
    t = np.arange(1, horizon + 1)
    factor = np.ones(horizon) if amortisation is None else np.cumprod(1.0 - amortisation)
    return n * ead * factor * lgd * (1.0 - p) ** (t - 1) * p * (1.0 + r) ** (-t)


def constant_pd(*, rho, amortisation=None, horizon=30, p=0.02, r=0.01, lgd=0.6, n=5000):
    cfg = one_cohort_dict(customers=n, pd=p, rho=rho, horizon=horizon, paths=200, seed=4)
    cfg["lgd"] = {"mean": lgd, "sd": 0.0}
    cfg["discount_rate"] = r
    if amortisation is not None:
        cfg["exposure"] = {"amortisation": list(amortisation)}
    return rm.scenario_from_dict(cfg)


@pytest.mark.parametrize("rho", [0.0, 0.2, 0.6])
def test_lifetime_and_12_period_ecl_match_the_textbook_formula(rho):
    sc = constant_pd(rho=rho)
    res = rm.simulate(sc, progress=False)
    truth = textbook(5000, 1.0, 0.6, 0.02, 0.01, 30)
    ecl = res.summary()["ecl"]
    np.testing.assert_allclose(ecl["by_period"], truth, rtol=1e-12)
    assert ecl["lifetime"] == pytest.approx(truth.sum(), rel=1e-12)
    assert ecl["12_period"] == pytest.approx(truth[:12].sum(), rel=1e-12)
    state = ecl["by_state"]["performing"]
    assert state["lifetime"] == pytest.approx(truth.sum(), rel=1e-12)
    assert state["12_period"] == pytest.approx(truth[:12].sum(), rel=1e-12)
    t = np.arange(1, 31)
    np.testing.assert_allclose(ecl["cumulative_default_rate"], 1 - 0.98**t, rtol=1e-12)
    np.testing.assert_allclose(ecl["marginal_default_rate"], 0.98 ** (t - 1) * 0.02, rtol=1e-12)
    assert state["lifetime_default_rate"] == pytest.approx(1 - 0.98**30, rel=1e-12)


def test_textbook_ecl_with_amortisation_and_drawdown():
    a = np.array([-0.05, -0.02, 0.0, 0.01, 0.03])  # drawdown first, then amortisation
    a_full = np.concatenate([a, np.full(25, a[-1])])  # a short list repeats its last value
    sc = constant_pd(rho=0.15, amortisation=a)
    truth = textbook(5000, 1.0, 0.6, 0.02, 0.01, 30, amortisation=a_full)
    ecl = ecl_term_structure(rm.simulate(sc, progress=False))
    np.testing.assert_allclose(ecl["by_period"], truth, rtol=1e-12)
    assert ecl["lifetime"] == pytest.approx(truth.sum(), rel=1e-12)
    assert ecl["12_period"] == pytest.approx(truth[:12].sum(), rel=1e-12)


def test_expected_loss_in_summary_is_exact_with_monte_carlo_beside_it():
    sc = constant_pd(rho=0.1, horizon=6)
    s = rm.simulate(sc, paths=3000, progress=False).summary()
    loss = s["loss"]
    truth = textbook(5000, 1.0, 0.6, 0.02, 0.0, 6).sum()  # undiscounted
    assert loss["expected"] == pytest.approx(truth, rel=1e-12)
    assert loss["stderr"]["expected"] == 0.0
    assert abs(loss["expected_mc"] - truth) < 4 * loss["stderr_mc"]


def test_ifrs9_example_reports_12_month_and_lifetime_ecl_per_stage():
    res = rm.run(ROOT / "scenarios/ifrs9.yaml", paths=300, progress=False)
    ecl = res.summary()["ecl"]
    assert set(ecl["by_state"]) == {"stage1", "stage2"}
    total12 = sum(v["12_period"] for v in ecl["by_state"].values())
    total = sum(v["lifetime"] for v in ecl["by_state"].values())
    assert total12 == pytest.approx(ecl["12_period"], rel=1e-12)
    assert total == pytest.approx(ecl["lifetime"], rel=1e-12)
    for v in ecl["by_state"].values():
        assert 0 < v["12_period"] < v["lifetime"]
    # stage 2 customers default more than stage 1 customers over their lifetime
    assert (
        ecl["by_state"]["stage2"]["lifetime_default_rate"]
        > ecl["by_state"]["stage1"]["lifetime_default_rate"]
    )
    assert np.all(np.diff(ecl["cumulative_default_rate"]) >= 0)
