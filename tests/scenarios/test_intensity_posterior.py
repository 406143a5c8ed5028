"""Continuous-time posteriors in scenarios: `parameters: {posterior: FILE}` from an IntensityModel
(or `riskmodel fit` with `model: intensity`), converted per draw to the scenario's period."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sl
import xarray as xr

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary
from riskmodel.models.draws import ParameterDraws, netcdf_engine
from riskmodel.models.intensity_draws import generator_variables, read_generator_draws
from riskmodel.models.intensity_io import IntensityFit
from riskmodel.simulation.expected import expected_term_structure

STATES = rm.StateSpace(
    ["good", "watch", "churned", "defaulted"],
    absorbing=["churned", "defaulted"],
    default="defaulted",
    churn="churned",
)
ALLOWED = [
    ("good", "watch"),
    ("good", "churned"),
    ("watch", "good"),
    ("watch", "churned"),
    ("watch", "defaulted"),
    ("good", "defaulted"),
]
# per year
RATES = {
    ("good", "watch"): 0.30,
    ("good", "churned"): 0.10,
    ("good", "defaulted"): 0.01,
    ("watch", "good"): 0.50,
    ("watch", "churned"): 0.15,
    ("watch", "defaulted"): 0.20,
}
SEGMENTS = ("retail", "sme")


def generator(rates: dict, scale: float = 1.0) -> np.ndarray:
    Q = np.zeros((STATES.n, STATES.n))
    for (f, t), r in rates.items():
        Q[STATES.index(f), STATES.index(t)] = r * scale
    Q[np.diag_indices(STATES.n)] = -Q.sum(axis=1)
    return Q


def random_generators(n_draws: int, seed: int) -> np.ndarray:
    """(draws, segments, n, n): the rates times lognormal noise per draw, segment and entry."""
    rng = np.random.default_rng(seed)
    G = np.zeros((n_draws, len(SEGMENTS), STATES.n, STATES.n))
    for d in range(n_draws):
        for s in range(len(SEGMENTS)):
            noisy = {k: v * float(np.exp(rng.normal(0, 0.3))) for k, v in RATES.items()}
            G[d, s] = generator(noisy, 1.0 + 0.5 * s)
    return G


def write_fit_file(path, G: np.ndarray, *, time_unit: str | None = "year") -> None:
    """A posterior as `riskmodel fit` with `model: intensity` writes it (monthly transitions)."""
    P = np.stack([[sl.expm(q / 12) for q in g] for g in G])
    ds = ParameterDraws(STATES, SEGMENTS, P / P.sum(-1, keepdims=True)).to_dataset()
    data, attrs = generator_variables(
        G, SEGMENTS, STATES, time_unit=time_unit, period_length=1 / 12
    )
    ds = ds.assign(data)
    ds.attrs.update(attrs)
    ds.to_netcdf(path, group="posterior", mode="w", engine=netcdf_engine())


def scenario(posterior: str, **extra) -> dict:
    data = {
        "name": "ct",
        "horizon": 12,
        "paths": 200,
        "seed": 5,
        "states": {
            "names": list(STATES.names),
            "absorbing": ["churned", "defaulted"],
            "default": "defaulted",
            "churn": "churned",
        },
        "portfolio": {
            "cohorts": [
                {"segment": "retail", "state": "good", "customers": 5000, "exposure": 5.0e6},
                {"segment": "sme", "state": "watch", "customers": 800, "exposure": 4.0e6},
            ]
        },
        "parameters": {"posterior": posterior},
        "systematic": {"correlation": 0.1},
        "lgd": {"mean": 0.4},
    }
    data.update(extra)
    return data


def load(data: dict, base):
    return rm.scenario_from_dict(copy.deepcopy(data), base_dir=base)


# ----------------------------------------------------------------------------- per draw
@pytest.mark.parametrize(
    ("period", "years"),
    [
        ({"length": 1, "unit": "month"}, 1 / 12),
        ({"length": 1, "unit": "quarter"}, 0.25),
        ({"length": 14, "unit": "day"}, 14 / 365.25),
    ],
)
def test_a_fit_posterior_is_converted_per_draw_and_segment(tmp_path, period, years):
    G = random_generators(6, seed=1)
    write_fit_file(tmp_path / "fit.nc", G)
    data = scenario("fit.nc", period=period)
    day = period["unit"] == "day"  # 12 months are 26.09 fortnights: an interpolated window
    with pytest.warns(rm.PeriodConversionWarning) if day else contextlib.nullcontext():
        sc = load(data, tmp_path)
    assert sc.n_draws == 6
    for d in range(6):
        for s, seg in enumerate(SEGMENTS):
            np.testing.assert_allclose(
                sc.transitions[d, sc.segments.index(seg)], sl.expm(G[d, s] * years), atol=1e-14
            )
    assert sc.conversion["time_unit"] == "year"
    assert sc.conversion["length_in_time_unit"] == pytest.approx(years, rel=1e-15)
    assert sc.conversion["draws"] == 6


def test_parameter_uncertainty_off_takes_the_mean_of_the_converted_matrices(tmp_path):
    G = random_generators(4, seed=2)
    write_fit_file(tmp_path / "fit.nc", G)
    data = scenario(
        "fit.nc",
        period={"length": 1, "unit": "quarter"},
        simulation={"parameter_uncertainty": False},
    )
    sc = load(data, tmp_path)
    want = np.mean([[sl.expm(q / 4) for q in g] for g in G], axis=0)
    np.testing.assert_allclose(sc.transitions[0], want, atol=1e-14)


def test_the_time_unit_comes_from_the_file_or_the_scenario(tmp_path):
    G = random_generators(2, seed=3)
    write_fit_file(tmp_path / "nounit.nc", G, time_unit=None)
    with pytest.raises(rm.ScenarioError, match="time_unit: year"):
        load(scenario("nounit.nc"), tmp_path)
    data = scenario("nounit.nc")
    data["parameters"]["time_unit"] = "month"  # the intensities are then per month
    sc = load(data, tmp_path)
    np.testing.assert_allclose(sc.transitions[1, 0], sl.expm(G[1, 0]), atol=1e-14)
    write_fit_file(tmp_path / "year.nc", G, time_unit="year")
    data = scenario("year.nc")
    data["parameters"]["time_unit"] = "month"
    with pytest.raises(rm.ScenarioError, match="per year, but the scenario says month"):
        load(data, tmp_path)


def test_time_unit_is_refused_for_a_discrete_time_posterior(tmp_path):
    P = np.stack([[sl.expm(generator(RATES) / 12)] * 2])
    ParameterDraws(STATES, SEGMENTS, P).to_netcdf(tmp_path / "tm.nc")
    data = scenario("tm.nc")
    assert read_generator_draws(tmp_path / "tm.nc") is None
    np.testing.assert_array_equal(load(data, tmp_path).transitions, P)
    data["parameters"]["time_unit"] = "year"
    with pytest.raises(rm.ScenarioError, match="discrete-time transition model"):
        load(data, tmp_path)


# ----------------------------------------------------------------------------- IntensityModel
def panel(seed: int, n: int = 300) -> pd.DataFrame:
    """Subjects observed yearly-ish from the true generator (exact expm transitions)."""
    rng = np.random.default_rng(seed)
    Q = generator(RATES)
    rows = []
    for i in range(n):
        seg = SEGMENTS[i % 2]
        s = int(rng.integers(0, 2))
        t = 0.0
        rows.append((i, t, STATES.names[s], seg))
        for _ in range(5):
            dt = float(rng.uniform(0.3, 1.5))
            P = sl.expm(Q * dt)
            s = int(rng.choice(STATES.n, p=np.clip(P[s], 0, None) / np.clip(P[s], 0, None).sum()))
            t += dt
            rows.append((i, t, STATES.names[s], seg))
            if s in STATES.absorbing_idx:
                break
    return pd.DataFrame(rows, columns=["id", "t", "state", "segment"])


def test_an_intensity_model_file_works_like_a_transition_posterior(tmp_path):
    """MLE (one draw, the estimate) and a NUTS-shaped posterior (log intensities per draw)."""
    model = rm.IntensityModel(STATES, allowed=ALLOWED).fit(
        panel(1), subject="id", time="t", state="state", segment="segment", time_unit="year"
    )
    model.save(tmp_path / "mle.nc")
    sc = load(scenario("mle.nc", period={"length": 1, "unit": "quarter"}), tmp_path)
    want = model.transition_matrix(0.25).sel(segment=list(sc.segments)).values
    np.testing.assert_allclose(sc.transitions[0], want, atol=1e-14)
    assert sc.conversion["source"] == "IntensityModel (mle)"

    # the same file layout NUTS writes: log_intensity (chain, draw, segment, transition)
    rng = np.random.default_rng(4)
    mle = model._fit.groups["mle"]["log_intensity"]
    draws = mle.values[None, None] + rng.normal(0, 0.1, (2, 3, *mle.shape))
    post = xr.Dataset(
        {"log_intensity": (("chain", "draw", "segment", "transition"), draws)},
        coords={"segment": mle.segment.values, "transition": mle.transition.values},
    )
    model._fit = IntensityFit({**model._fit.config, "method": "nuts"}, {"posterior": post}, None)
    model.save(tmp_path / "nuts.nc")
    sc = load(scenario("nuts.nc"), tmp_path)
    assert sc.n_draws == 6
    P = model.transition_matrix(1 / 12, stat=None)  # (chain, draw, segment, from, to)
    flat = P.sel(segment=list(sc.segments)).values.reshape(6, *sc.transitions.shape[1:])
    np.testing.assert_allclose(sc.transitions, flat, atol=1e-14)


# ----------------------------------------------------------------------------- the engine
def _point_run(tmp_path, period: dict, **extra):
    G = generator(RATES)[None, None].repeat(2, axis=1)  # one draw, both segments alike
    write_fit_file(tmp_path / "point.nc", G)
    return load(scenario("point.nc", period=period, **extra), tmp_path)


@pytest.mark.parametrize(
    ("period", "years"),
    [({"length": 1, "unit": "month"}, 1 / 12), ({"length": 3, "unit": "month"}, 0.25)],
)
def test_engine_occupancy_is_expm_propagation(tmp_path, period, years):
    """Generator → P(period) → the engine's exact expected occupancy equals x0 · expm(Q t L)
    (no shift, so E[M(Z)] = M: the expectation is linear in the matrices)."""
    sc = _point_run(tmp_path, period, horizon=8)
    occ = expected_term_structure(sc)["occupancy"].values  # (period, state), end of period
    x0 = np.zeros(STATES.n)
    x0[STATES.index("good")], x0[STATES.index("watch")] = 5000, 800
    Q = generator(RATES)
    for t in range(1, 9):
        want = x0 @ sl.expm(Q * years * t)
        np.testing.assert_allclose(occ[t - 1], want, rtol=1e-11, atol=1e-9)


def test_quarterly_and_monthly_runs_give_the_same_12_month_ecl(tmp_path):
    """The same generator at 3 and 1 months. Occupancy at months 3, 6, 9, 12 is identical in
    both (expm semigroup), so the undiscounted 12-month expected loss agrees to rounding
    (fixed EAD and LGD). With discounting, the quarterly run discounts a quarter's losses at its
    end while the monthly run discounts each month's at the month end: each loss moves by at
    most two months of discounting, so |ECL_q − ECL_m| ≤ (1 − d²) · ECL_m with d the monthly
    discount factor; and the quarterly figure is the smaller (later discounting)."""
    runs = {}
    for name, period in (
        ("month", {"length": 1, "unit": "month"}),
        ("quarter", {"length": 1, "unit": "quarter"}),
    ):
        h = 12 if name == "month" else 4
        plain = exact_summary(expected_term_structure(_point_run(tmp_path, period, horizon=h)))
        disc = exact_summary(
            expected_term_structure(
                _point_run(tmp_path, period, horizon=h, annual_discount_rate=0.08)
            )
        )
        runs[name] = (plain["ecl"]["12_month"], disc["ecl"]["12_month"])
    assert runs["quarter"][0] == pytest.approx(runs["month"][0], rel=1e-11)
    d = 1.08 ** (-1 / 12)
    m, q = runs["month"][1], runs["quarter"][1]
    assert q <= m
    assert m - q <= (1 - d**2) * m
    assert m - q > 0  # the bound is not vacuous: timing is the only difference
