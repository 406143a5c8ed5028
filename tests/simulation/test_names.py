"""Named exposures in the engine: exact expectations by closed forms, simulated frequencies
within binomial bands, and names equal to cohorts of one customer."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary
from riskmodel.simulation.engine import simulate_dataset
from riskmodel.simulation.expected import expected_term_structure

STATES = {
    "names": ["good", "watch", "repaid", "defaulted"],
    "absorbing": ["repaid", "defaulted"],
    "default": "defaulted",
}
# rows of the transient states good, watch; columns good, watch, repaid, defaulted
MATRIX = [[0.90, 0.05, 0.03, 0.02], [0.20, 0.60, 0.05, 0.15]]


def _config(names, *, horizon=1, correlation=0.0, cohorts=None, lgd=None) -> dict:
    portfolio = {"names": names}
    if cohorts:
        portfolio["cohorts"] = cohorts
    return {
        "name": "names",
        "horizon": horizon,
        "paths": 2048,
        "seed": 5,
        "states": STATES,
        "portfolio": portfolio,
        "parameters": {"transitions": {"corp": MATRIX, "sme": MATRIX}},
        "systematic": {"correlation": correlation, "shift": 0.0},
        "lgd": lgd or {"mean": 0.4, "sd": 0.0},
        "simulation": {"batch": 1024},
        "outputs": {"levels": [0.9]},
    }


def _name(i, m=1.0, lgd=None, state="good", segment="corp", exposure=1.0e6) -> dict:
    out = {"id": f"N{i}", "segment": segment, "state": state, "exposure": exposure}
    out["pd_multiplier"] = m
    if lgd is not None:
        out["lgd"] = lgd
    return out


def _named_matrix(m: float) -> np.ndarray:
    """The 4x4 chain of a name with multiplier m: PD min(m p, 1), survivors rescaled."""
    full = np.zeros((4, 4))
    full[:2] = MATRIX
    full[2, 2] = full[3, 3] = 1.0
    for i in range(2):
        p = full[i, 3]
        q = min(m * p, 1.0)
        full[i, :3] *= (1.0 - q) / (1.0 - p)
        full[i, 3] = q
    return full


@pytest.mark.parametrize(("m", "state"), [(3.0, "good"), (0.5, "watch"), (10.0, "watch")])
def test_one_period_exact_el_is_exposure_lgd_capped_pd(m, state):
    sc = rm.scenario_from_dict(_config([_name(0, m=m, lgd=0.7, state=state)]))
    p = MATRIX[0 if state == "good" else 1][3]
    want = 1.0e6 * 0.7 * min(m * p, 1.0)
    ts = expected_term_structure(sc)
    assert float(ts["loss"].sum()) == pytest.approx(want, rel=1e-12)
    assert float(ts["loss_by_segment"].sel(segment="corp")) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("m", [0.0, 2.5, 8.0])
def test_horizon_exact_el_is_the_markov_chain_absorption(m):
    h = 12
    sc = rm.scenario_from_dict(_config([_name(0, m=m, lgd=0.55)], horizon=h))
    absorbed = np.linalg.matrix_power(_named_matrix(m), h)[0, 3]
    ts = expected_term_structure(sc)
    assert float(ts["loss"].sum()) == pytest.approx(1.0e6 * 0.55 * absorbed, rel=1e-10)
    assert float(ts["defaults"].sum()) == pytest.approx(absorbed, rel=1e-10)


def test_default_frequency_of_independent_names_within_binomial_band():
    n, m = 400, 2.5
    sc = rm.scenario_from_dict(_config([_name(i, m=m, lgd=1.0) for i in range(n)]))
    ds = simulate_dataset(sc, paths=2048, importance_sampling=False)
    q = m * MATRIX[0][3]  # 0.05
    freq = float(ds["defaults"].sum("period").mean()) / n
    band = 4.0 * np.sqrt(q * (1.0 - q) / (n * 2048))  # independent names (correlation 0)
    assert abs(freq - q) < band
    # and the multiplier matters: the segment's own PD lies far outside that band
    assert abs(freq - MATRIX[0][3]) > 10 * band


def _run_el(sc, **simulation):
    res = rm.simulate(sc.with_options(simulation=simulation))
    s = res.summary()["loss"]
    return s["expected_mc"], s["stderr"]["expected_mc"], s["expected"]


@pytest.mark.parametrize(
    "options",
    [{}, {"qmc": True}, {"importance_sampling": False}],
    ids=["tilt", "qmc", "plain"],
)
def test_simulated_el_matches_exact_with_multipliers_and_lgds(options):
    names = [_name(i, m=1 + i % 4, lgd=0.2 + 0.1 * (i % 5), state="good") for i in range(30)]
    cohorts = [{"segment": "sme", "state": "good", "customers": 5000, "exposure": 5.0e8}]
    cfg = _config(names, horizon=6, correlation=0.15, cohorts=cohorts)
    sc = rm.scenario_from_dict(cfg)
    mc, se, exact = _run_el(sc.with_options(paths=4096), **options)
    assert abs(mc - exact) < 4.0 * se
    lgd = [n["lgd"] for n in names]
    mult = [n["pd_multiplier"] for n in names]
    by_name = [
        1.0e6 * g * np.linalg.matrix_power(_named_matrix(k), 6)[0, 3]
        for g, k in zip(lgd, mult, strict=True)
    ]
    cohort = 5.0e8 * 0.4 * np.linalg.matrix_power(_named_matrix(1.0), 6)[0, 3]
    assert exact == pytest.approx(sum(by_name) + cohort, rel=1e-10)


def _same_as_cohorts(cfg_names: dict) -> dict:
    cfg = copy.deepcopy(cfg_names)
    extra = [
        {"segment": n["segment"], "state": n["state"], "customers": 1, "exposure": n["exposure"]}
        for n in cfg["portfolio"].pop("names")
    ]
    cfg["portfolio"]["cohorts"] = cfg["portfolio"].get("cohorts", []) + extra
    return cfg


@pytest.mark.parametrize("sectors", [False, True])
def test_names_at_multiplier_one_equal_cohorts_of_one_customer_bit_for_bit(sectors):
    names = [_name(i, segment=("corp", "sme")[i % 2], exposure=1e6 * (i + 1)) for i in range(6)]
    cohorts = [{"segment": "sme", "state": "watch", "customers": 300, "exposure": 3.0e7}]
    lgd = {"mean": 0.45, "sd": 0.2, "downturn": {"sensitivity": 0.2}}
    cfg = _config(names, horizon=4, correlation=0.2, cohorts=cohorts, lgd=lgd)
    if sectors:
        cfg["systematic"] = {
            "factors": ["a", "b"],
            "factor_correlation": [[1.0, 0.5], [0.5, 1.0]],
            "segments": {
                "corp": {"factor": "a", "correlation": 0.2},
                "sme": {"factor": "b", "correlation": 0.1},
            },
            "shift": {"a": -0.5, "b": 0.0},
        }
    a = simulate_dataset(rm.scenario_from_dict(cfg), paths=2048)
    b = simulate_dataset(rm.scenario_from_dict(_same_as_cohorts(cfg)), paths=2048)
    for var in ("loss", "defaults", "loss_by_segment", "loss_by_cohort", "weight", "exact_loss"):
        np.testing.assert_array_equal(a[var].values, b[var].values, err_msg=var)
    assert list(a["cohort"].values[1:]) == [f"N{i}" for i in range(6)]


def test_batching_does_not_change_a_book_with_names():
    names = [_name(i, m=2.0, lgd=0.5) for i in range(5)]
    sc = rm.scenario_from_dict(_config(names, horizon=3, correlation=0.1))
    a = simulate_dataset(sc, paths=3000, batch=1024)
    b = simulate_dataset(sc, paths=3000, batch=4096, workers=1)
    np.testing.assert_array_equal(a["loss"].values, b["loss"].values)


def test_fixed_lgd_name_loses_exactly_exposure_times_lgd():
    lgd = {"mean": 0.45, "sd": 0.2}
    sc = rm.scenario_from_dict(_config([_name(0, m=20.0, lgd=0.35)], lgd=lgd))  # PD 0.4
    res = rm.simulate(sc, paths=1024, progress=False)
    loss = res.data["loss_by_cohort"].sel(cohort="N0").values
    assert set(np.unique(loss)) == {0.0, 0.35e6}
    want = 1.0e6 * 0.35 * 0.4
    assert exact_summary(expected_term_structure(sc))["loss"]["expected"] == pytest.approx(want)
    summary = res.summary()  # the published EL and ECL (no discounting here) are the exact ones
    assert summary["loss"]["expected"] == pytest.approx(want, rel=1e-12)
    assert summary["ecl"]["lifetime"] == pytest.approx(want, rel=1e-12)


def test_kernel_inputs_with_names_travel_to_workers_unchanged():
    """The Dask backend pickles the kernel inputs: the names' arrays must survive the trip."""
    import pickle

    from riskmodel.simulation.inputs import build_kernel_inputs
    from riskmodel.simulation.kernel import simulate_block

    sc = rm.scenario_from_dict(_config([_name(0, m=3.0, lgd=0.5), _name(1)], horizon=3))
    inp = build_kernel_inputs(sc)
    back = pickle.loads(pickle.dumps(inp))
    a = simulate_block(inp, np.random.default_rng(1), 256)
    b = simulate_block(back, np.random.default_rng(1), 256)
    np.testing.assert_array_equal(a.loss_by_cohort, b.loss_by_cohort)
    assert inp.names is not None and back.names is not None


def test_names_stay_exact_beside_many_large_pool_cohorts():
    """With ``approximation: large_pool`` (and enough cohorts to pool them) names keep their
    own draws, rows and fixed LGD: each name's mean loss within 4 s.e. of its chain's closed
    form, and every loss either 0 or exposure × lgd."""
    cohorts = [
        {"segment": "sme", "state": "good", "customers": 2000, "exposure": 2.0e7}
        for _ in range(1000)
    ]
    cfg = _config([_name(i, m=3.0, lgd=0.5) for i in range(3)], horizon=3, cohorts=cohorts)
    cfg["systematic"]["correlation"] = 0.1
    cfg["simulation"]["approximation"] = "large_pool"
    ds = simulate_dataset(rm.scenario_from_dict(cfg), paths=1024, importance_sampling=False)
    loss = ds["loss_by_cohort"].values[:, -3:]
    assert set(np.unique(loss)) <= {0.0, 0.5e6}
    want = 1.0e6 * 0.5 * np.linalg.matrix_power(_named_matrix(3.0), 3)[0, 3]
    se = np.sqrt(want * (0.5e6 - want) / 1024)  # a Bernoulli loss of 0.5e6
    assert np.all(np.abs(loss.mean(axis=0) - want) < 4 * se)


def test_dask_backend_gives_the_local_numbers_for_names():
    from riskmodel.simulation.cluster import local_cluster

    names = [_name(i, m=1.0 + i, lgd=0.3 if i % 2 else None) for i in range(4)]
    cohorts = [{"segment": "sme", "state": "watch", "customers": 300, "exposure": 3.0e7}]
    cfg = _config(names, horizon=3, correlation=0.15, cohorts=cohorts)
    cfg["lgd"] = {"mean": 0.45, "sd": 0.2}
    sc = rm.scenario_from_dict(cfg)
    local = rm.simulate(sc, backend="local", paths=3000, batch=2048, progress=False)
    with local_cluster(2) as cluster:
        remote = rm.simulate(
            sc, scheduler=cluster.scheduler_address, paths=3000, batch=2048, progress=False
        )
    for var in ("loss", "loss_by_cohort", "weight", "exact_loss"):
        np.testing.assert_array_equal(local.data[var].values, remote.data[var].values)


def test_time_varying_shock_then_multiplier_over_a_horizon():
    """A per-period default shock makes the matrices time-varying; a name multiplies the
    shocked PD: the exact EL is the absorption of the product of the period's name chains."""
    shock = [1.0, 2.0, 1.5]
    cfg = _config([_name(0, m=2.0, lgd=0.5)], horizon=3)
    cfg["shocks"] = [{"segment": "corp", "default_multiplier": shock}]
    sc = rm.scenario_from_dict(cfg)
    chain = np.eye(4)
    for s in shock:
        full = np.zeros((4, 4))
        full[:2] = MATRIX
        full[2, 2] = full[3, 3] = 1.0
        for i in range(2):  # the shock: default x s, the stay probability absorbs it
            full[i, i] -= full[i, 3] * (s - 1.0)
            full[i, 3] *= s
            p, q = full[i, 3], min(2.0 * full[i, 3], 1.0)
            full[i, :3] *= (1.0 - q) / (1.0 - p)
            full[i, 3] = q
        chain = chain @ full
    want = 1.0e6 * 0.5 * chain[0, 3]
    assert float(expected_term_structure(sc)["loss"].sum()) == pytest.approx(want, rel=1e-10)
    ds = simulate_dataset(sc, paths=4096, importance_sampling=False)
    q = chain[0, 3]  # each path's loss is 0.5e6 with probability q (correlation 0: no factor)
    mean, se = float(ds["loss"].sum("period").mean()), 0.5e6 * np.sqrt(q * (1 - q) / 4096)
    assert abs(mean - want) < 4 * se
