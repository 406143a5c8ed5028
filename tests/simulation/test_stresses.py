"""Scenario stresses: shocks, LGD add-on and downturn LGD, amortisation, value lost to churn."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_builders import lifecycle_dict, one_cohort_dict
from scipy import integrate, stats

import riskmodel as rm
from riskmodel.simulation.expected import expected_default_lgd, expected_term_structure

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

Z4 = 4.0  # tolerance in Monte Carlo standard errors


def _one_period(k: float, **extra) -> dict:
    cfg = one_cohort_dict(customers=20_000, pd=0.03, rho=0.1, horizon=1, paths=6000, seed=8)
    if k != 1.0:
        cfg["shocks"] = [{"name": "triple", "default_multiplier": k}]
    cfg.update(extra)
    return cfg


# --------------------------------------------------------------------------------- shocks
@pytest.mark.parametrize("k", [0.5, 3.0])
def test_default_multiplier_scales_exact_defaults_and_mc_agrees(k):
    base = expected_term_structure(rm.scenario_from_dict(_one_period(1.0)))
    sc = rm.scenario_from_dict(_one_period(k))
    shocked = expected_term_structure(sc)
    assert float(shocked["defaults"].sum()) == pytest.approx(
        k * float(base["defaults"].sum()), rel=1e-12
    )
    assert sc.transitions.ndim == 4  # no per-period variation: no time axis (memory)
    res = rm.simulate(sc, progress=False)
    r = res.risk("defaults")
    assert abs(r.expected - float(shocked["defaults"].sum())) < Z4 * r.stderr_expected
    assert res.summary()["stresses"]["shocks"][0]["default_multiplier"] == k


def test_per_period_shock_gives_time_varying_matrices_and_mc_agrees():
    cfg = lifecycle_dict(horizon=6, paths=3000)
    cfg["shocks"] = [
        {"name": "cards stress", "segment": "cards", "default_multiplier": [1.0, 2.0, 1.5]},
        {"state": "declining", "churn_multiplier": [1.2, 0.8]},
    ]
    sc = rm.scenario_from_dict(cfg)
    assert sc.transitions.shape[:2] == (1, 6)
    base = rm.scenario_from_dict(lifecycle_dict(horizon=6))
    p, p0 = sc.transitions[0], base.transitions[0]
    cards, d, c = 0, sc.states.default_idx, sc.states.churn_idx
    np.testing.assert_allclose(p[1, cards, :4, d], 2.0 * p0[cards, :4, d], rtol=1e-14)
    np.testing.assert_allclose(p[5, cards, :4, d], 1.5 * p0[cards, :4, d], rtol=1e-14)
    np.testing.assert_allclose(p[0, 1, 3, c], 1.2 * p0[1, 3, c], rtol=1e-14)
    np.testing.assert_allclose(p[4, 1, 3, c], 0.8 * p0[1, 3, c], rtol=1e-14)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-13)
    res = rm.simulate(sc, progress=False)
    for v in ("loss", "defaults", "churn"):
        r = res.risk(v)
        exact = float(res.data[f"exact_{v}"].sum())
        assert abs(r.expected - exact) < Z4 * r.stderr_expected, v
    shocks = res.summary()["stresses"]["shocks"]
    assert shocks[0]["name"] == "cards stress" and shocks[0]["default_multiplier"][1] == 2.0
    assert shocks[1]["name"] == "shocks[1]" and shocks[1]["segment"] == "all"


def test_shock_pushing_a_row_out_of_range_names_the_shock_and_period():
    cfg = lifecycle_dict(horizon=6)
    cfg["shocks"] = [{"name": "crash", "state": "declining", "default_multiplier": [1, 2, 60]}]
    with pytest.raises(rm.ScenarioError) as err:
        rm.scenario_from_dict(cfg)
    msg = str(err.value)
    assert "shocks[0]" in msg and "crash" in msg and "period 3" in msg
    assert "declining" in msg and "Lower the multiplier" in msg


@pytest.mark.parametrize(
    ("shock", "fragment"),
    [
        ({"stat": "new"}, "Did you mean 'state'?"),
        ({"state": "declning"}, "Did you mean 'declining'?"),
        ({"segment": "card"}, "Did you mean 'cards'?"),
        ({"state": "defaulted"}, "absorbing"),
        ({"default_multiplier": -1}, "must be >= 0"),
        ({"default_multiplier": []}, "the list is empty"),
    ],
)
def test_bad_shocks_get_readable_errors(shock, fragment):
    cfg = lifecycle_dict()
    cfg["shocks"] = [shock]
    with pytest.raises(rm.ScenarioError) as err:
        rm.scenario_from_dict(cfg)
    assert "shocks[0]" in str(err.value) and fragment in str(err.value)


def test_churn_levers_need_a_churn_state():
    cfg = one_cohort_dict(customers=10, pd=0.1, rho=0.1)
    cfg["shocks"] = [{"churn_multiplier": 2.0}]
    with pytest.raises(rm.ScenarioError, match="declares no churn state"):
        rm.scenario_from_dict(cfg)


def test_macro_section_is_refused_until_the_covariate_model_is_available():
    cfg = lifecycle_dict()
    cfg["macro"] = {"unemployment": [4.0, 5.0, 6.0]}
    with pytest.raises(rm.ScenarioError, match=r"macro.*covariate"):
        rm.scenario_from_dict(cfg)


# --------------------------------------------------------------------------------- LGD
def test_lgd_addon_scales_the_exact_loss():
    cfg = lifecycle_dict(horizon=5)
    base = expected_term_structure(rm.scenario_from_dict(cfg))
    cfg["lgd"] = {"mean": 0.45, "sd": 0.2, "addon": 0.1}
    sc = rm.scenario_from_dict(cfg)
    stressed = expected_term_structure(sc)
    np.testing.assert_allclose(stressed["loss"], base["loss"] * 0.55 / 0.45, rtol=1e-12)
    assert sc.stresses["lgd"]["effective_mean"] == pytest.approx(0.55)


@pytest.mark.parametrize(
    ("lgd", "fragment"),
    [
        ({"mean": 0.9, "addon": 0.2}, "`mean` + `addon` must be in (0, 1)"),
        ({"mean": 0.5, "sd": 0.45, "addon": 0.3}, "`sd` must be below"),
        ({"mean": 0.5, "downturn": {"sensitivty": 0.2}}, "Did you mean 'sensitivity'?"),
        ({"mean": 0.5, "downturn": {"sensitivity": -0.2}}, "must be >= 0"),
    ],
)
def test_bad_lgd_stresses_get_readable_errors(lgd, fragment):
    cfg = lifecycle_dict()
    cfg["lgd"] = lgd
    with pytest.raises(rm.ScenarioError) as err:
        rm.scenario_from_dict(cfg)
    assert "lgd" in str(err.value) and fragment in str(err.value)


def _downturn_cfg(*, b, sd, shift, paths=6000):
    cfg = one_cohort_dict(customers=5000, pd=0.04, rho=0.2, horizon=1, paths=paths, seed=21)
    cfg["lgd"] = {"mean": 0.4, "sd": sd, "downturn": {"sensitivity": b}}
    cfg["systematic"]["shift"] = shift
    return cfg


@pytest.mark.parametrize("shift", [0.0, -1.5])
def test_downturn_lgd_expectation_matches_quadrature(shift):
    b, rho, p, m = 0.4, 0.2, 0.04, 0.4

    def integrand(z):
        pz = stats.norm.cdf((stats.norm.ppf(p) - np.sqrt(rho) * z) / np.sqrt(1 - rho))
        mz = stats.norm.cdf(stats.norm.ppf(m) - b * z)
        return pz * mz * stats.norm.pdf(z - shift)

    truth, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13)
    g = expected_default_lgd(np.array([p]), np.array([rho]), shift, lgd_mean=m, sensitivity=b)
    assert g[0] == pytest.approx(truth, rel=1e-10)
    sc = rm.scenario_from_dict(_downturn_cfg(b=b, sd=0.2, shift=shift))
    exact = expected_term_structure(sc)
    assert float(exact["loss"].sum()) == pytest.approx(5000 * truth, rel=1e-10)
    # the downturn raises the expected loss above E[defaults] × m (positive PD–LGD correlation)
    assert float(exact["loss"].sum()) > float(exact["defaults"].sum()) * m


@pytest.mark.parametrize("sd", [0.0, 0.25])
def test_downturn_lgd_monte_carlo_agrees_with_the_exact_expectation(sd):
    cfg = _downturn_cfg(b=0.5, sd=sd, shift=-1.0)
    cfg["horizon"] = 4
    res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    r = res.risk("loss")
    exact = float(res.data["exact_loss"].sum())
    assert abs(r.expected - exact) < Z4 * r.stderr_expected


def test_downturn_lgd_fattens_the_tail():
    plain = _downturn_cfg(b=0.0, sd=0.2, shift=0.0)
    del plain["lgd"]["downturn"]
    tail = [
        rm.simulate(rm.scenario_from_dict(c), progress=False).risk("loss").es[0.99]
        for c in (plain, _downturn_cfg(b=0.5, sd=0.2, shift=0.0))
    ]
    assert tail[1] > tail[0]


# --------------------------------------------------------------------------------- exposure
def test_amortisation_scales_loss_per_period_and_mc_agrees():
    cfg = lifecycle_dict(horizon=8, paths=3000)
    base = expected_term_structure(rm.scenario_from_dict(cfg))
    cfg["exposure"] = {"amortisation": [-0.02, 0.01, 0.03]}
    sc = rm.scenario_from_dict(cfg)
    factor = np.cumprod(1.0 - np.array([-0.02, 0.01, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03]))
    np.testing.assert_allclose(sc.ead_factor, factor, rtol=1e-15)
    res = rm.simulate(sc, progress=False)
    np.testing.assert_allclose(res.data["exact_loss"], base["loss"] * factor, rtol=1e-12)
    r = res.risk("loss")
    assert abs(r.expected - float(res.data["exact_loss"].sum())) < Z4 * r.stderr_expected
    np.testing.assert_allclose(res.summary()["stresses"]["exposure"]["ead_factor"], factor)


@pytest.mark.parametrize("rate", [-1.0, 1.5, [0.1, -2.0]])
def test_bad_amortisation_is_refused(rate):
    cfg = lifecycle_dict()
    cfg["exposure"] = {"amortisation": rate}
    with pytest.raises(rm.ScenarioError, match=r"exposure -> amortisation.*\(-1, 1\]"):
        rm.scenario_from_dict(cfg)


# --------------------------------------------------------------------------------- value
def test_value_lost_to_churn_matches_its_definition_and_mc():
    cfg = lifecycle_dict(horizon=10, paths=3000)
    sc = rm.scenario_from_dict(cfg)
    res = rm.simulate(sc, progress=False)
    ds = res.data
    # exact: Σ_t Σ_c E[churn_ct] margin_c Σ_{u≥t} df_u, rebuilt from per-cohort runs
    df = ds["discount_factor"].to_numpy()
    remaining = np.cumsum(df[::-1])[::-1]
    truth = 0.0
    for co in cfg["portfolio"]["cohorts"]:
        one = dict(cfg, portfolio={"cohorts": [co]})
        churn = expected_term_structure(rm.scenario_from_dict(one))["churn"].to_numpy()
        truth += float(np.sum(churn * co["margin"] / co["customers"] * remaining))
    s = res.summary()
    lost = s["value_lost_to_churn"]
    assert lost["expected"] == pytest.approx(truth, rel=1e-12)
    assert abs(lost["expected_mc"] - truth) < Z4 * lost["stderr_mc"]
    value = s["value"]
    assert abs(value["expected_mc"] - value["expected"]) < Z4 * value["stderr_mc"]
    assert value["stderr"]["expected"] == 0.0
    for q, v in value["var"].items():
        low = format(round(1 - float(q), 12), "g")
        assert v == pytest.approx(value["expected"] - value["quantiles"][low])


def test_stressed_runs_are_reproducible_whatever_the_batch_size():
    cfg = lifecycle_dict(horizon=5, paths=2500)
    cfg["shocks"] = [{"segment": "loans", "default_multiplier": [1.5, 1.2]}]
    cfg["lgd"] = {"mean": 0.45, "sd": 0.2, "addon": 0.05, "downturn": {"sensitivity": 0.3}}
    cfg["exposure"] = {"amortisation": 0.02}
    cfg["actions"] = [
        {"name": "keep", "type": "retention", "state": "declining", "churn_reduction": 0.2}
    ]
    sc = rm.scenario_from_dict(cfg)
    a = rm.simulate(sc, batch=1024, workers=1, progress=False).summary()
    b = rm.simulate(sc, batch=4096, workers=3, progress=False).summary()
    assert a == b
