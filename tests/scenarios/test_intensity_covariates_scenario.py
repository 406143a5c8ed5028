"""Intensity posteriors fitted with covariates in scenarios: `parameters: {posterior: f.nc,
covariates: {...}}` evaluates the generator of every draw at the named values, then converts it
to the scenario's period."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sl
import xarray as xr

import riskmodel as rm
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
    ("good", "defaulted"),
    ("watch", "good"),
    ("watch", "churned"),
    ("watch", "defaulted"),
]
RATES = np.array([0.30, 0.10, 0.02, 0.50, 0.15, 0.20])  # per year, at age 45
AGE_EFFECT = 0.03  # log intensity per year of age, on every transition
SEGMENTS = ("retail", "sme")
X0 = {"retail": ("good", 5000), "sme": ("watch", 800)}


def true_generator(age: float) -> np.ndarray:
    Q = np.zeros((STATES.n, STATES.n))
    for (f, t), r in zip(ALLOWED, RATES * np.exp(AGE_EFFECT * (age - 45.0)), strict=True):
        Q[STATES.index(f), STATES.index(t)] = r
    Q[np.diag_indices(STATES.n)] = -Q.sum(axis=1)
    return Q


def panel(seed: int, n: int = 400) -> pd.DataFrame:
    """Subjects of ages 25..65 observed at irregular times (exact expm transitions)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        seg, age = SEGMENTS[i % 2], float(rng.uniform(25, 65))
        Q = true_generator(age)
        s, t = int(rng.integers(0, 2)), 0.0
        rows.append((i, t, STATES.names[s], seg, age))
        for _ in range(5):
            dt = float(rng.uniform(0.3, 1.5))
            p = np.clip(sl.expm(Q * dt)[s], 0, None)
            s = int(rng.choice(STATES.n, p=p / p.sum()))
            t += dt
            rows.append((i, t, STATES.names[s], seg, age))
            if s in STATES.absorbing_idx:
                break
    return pd.DataFrame(rows, columns=["id", "t", "state", "segment", "age"])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """An MLE fit with a shared age effect, saved; and a NUTS-shaped copy with beta draws."""
    folder = tmp_path_factory.mktemp("cov")
    model = rm.IntensityModel(STATES, allowed=ALLOWED, covariates={"age": "shared"}).fit(
        panel(1), subject="id", time="t", state="state", segment="segment", time_unit="year"
    )
    model.save(folder / "mle.nc")
    return model, folder


def scenario(posterior: str, covariates=None, **extra) -> dict:
    params: dict = {"posterior": posterior}
    if covariates is not None:
        params["covariates"] = covariates
    data = {
        "name": "ct-cov",
        "horizon": 8,
        "paths": 100,
        "seed": 5,
        "states": {
            "names": list(STATES.names),
            "absorbing": ["churned", "defaulted"],
            "default": "defaulted",
            "churn": "churned",
        },
        "portfolio": {
            "cohorts": [
                {"segment": seg, "state": st, "customers": n, "exposure": 1000.0 * n}
                for seg, (st, n) in X0.items()
            ]
        },
        "parameters": params,
        "systematic": {"correlation": 0.1},
        "lgd": {"mean": 0.4},
        "period": {"length": 1, "unit": "quarter"},
    }
    data.update(extra)
    return data


def load(data: dict, base):
    return rm.scenario_from_dict(copy.deepcopy(data), base_dir=base)


def test_engine_occupancy_is_expm_propagation_at_the_covariate_values(fitted):
    """Exact expected occupancy (no factor shift, so linear in the matrices) equals
    x0 · expm(Q(age) · t · L) with Q(age) the fitted generator at the scenario's ages."""
    model, folder = fitted
    ages = {"retail": 50.0, "sme": 30.0}
    sc = load(scenario("mle.nc", {"age": 50, "sme": {"age": 30}}), folder)
    assert "age=50" in sc.conversion["source"] and "sme: age=30" in sc.conversion["source"]
    occ = expected_term_structure(sc)["occupancy"].values  # (period, state)
    Q = {s: model.generator(covariates={"age": a}).sel(segment=s).values for s, a in ages.items()}
    # the age effect is estimated (not zero): the two segments' generators differ by e^{30 β}
    beta = float(model.coefficients()["estimate"].iloc[0])
    assert abs(beta - AGE_EFFECT) < 3 * float(model.coefficients()["se"].iloc[0])
    for t in range(1, 9):
        want = np.zeros(STATES.n)
        for seg, (state, n) in X0.items():
            x0 = np.zeros(STATES.n)
            x0[STATES.index(state)] = n
            want += x0 @ sl.expm(Q[seg] * 0.25 * t)
        np.testing.assert_allclose(occ[t - 1], want, rtol=1e-11, atol=1e-9)


def test_nuts_draws_are_evaluated_per_draw(fitted):
    """A NUTS-shaped file (log_intensity and beta per draw): each draw's matrix equals
    IntensityModel.parameter_draws at the same covariate values."""
    model, folder = fitted
    rng = np.random.default_rng(4)
    mle = model._fit.groups["mle"]
    lq = mle["log_intensity"]
    beta = mle["beta"]
    post = xr.Dataset(
        {
            "log_intensity": (
                ("chain", "draw", "segment", "transition"),
                lq.values[None, None] + rng.normal(0, 0.1, (2, 3, *lq.shape)),
            ),
            "beta": (
                ("chain", "draw", "coefficient"),
                beta.values[None, None] + rng.normal(0, 0.01, (2, 3, *beta.shape)),
            ),
        },
        coords={
            "segment": lq.segment.values,
            "transition": lq.transition.values,
            "coefficient": beta.coefficient.values,
        },
    )
    nuts = rm.IntensityModel.load(folder / "mle.nc")
    nuts._fit = IntensityFit({**nuts._fit.config, "method": "nuts"}, {"posterior": post}, None)
    nuts.save(folder / "nuts.nc")
    sc = load(scenario("nuts.nc", {"age": 61.5}, period={"length": 1, "unit": "month"}), folder)
    assert sc.n_draws == 6
    want = nuts.parameter_draws(1 / 12, covariates={"age": 61.5})
    segs = [want.segments.index(s) for s in sc.segments]
    np.testing.assert_allclose(sc.transitions, want.transitions[:, segs], atol=1e-13)


def test_missing_or_unknown_covariates_are_refused_naming_the_field(fitted):
    _, folder = fitted
    with pytest.raises(rm.ScenarioError) as err:
        load(scenario("mle.nc"), folder)
    msg = str(err.value)
    assert "parameters -> covariates" in msg and "'mle.nc'" in msg
    assert "['age']" in msg and "covariates: {age: <value>}" in msg
    with pytest.raises(rm.ScenarioError, match=r"missing for \{'retail': \['age'\]\}"):
        load(scenario("mle.nc", {"sme": {"age": 40}}), folder)
    with pytest.raises(rm.ScenarioError, match=r"\['income'\], which are not covariates"):
        load(scenario("mle.nc", {"age": 40, "income": 3}), folder)


def test_covariates_are_refused_where_they_mean_nothing(fitted, tmp_path):
    _, folder = fitted
    plain = rm.IntensityModel(STATES, allowed=ALLOWED).fit(
        panel(2), subject="id", time="t", state="state", time_unit="year"
    )
    plain.save(tmp_path / "plain.nc")
    data = scenario("plain.nc", {"age": 40})
    data["portfolio"]["cohorts"] = [
        {"segment": "all", "state": "good", "customers": 10, "exposure": 1.0}
    ]
    with pytest.raises(rm.ScenarioError, match="has no covariates"):
        load(data, tmp_path)
    point = scenario("mle.nc", {"age": 40})
    point["parameters"] = {"transitions": {"retail": [[0.9, 0.05, 0.03, 0.02]] * 2},
                           "covariates": {"age": 40}}  # fmt: skip
    with pytest.raises(rm.ScenarioError, match="Remove `covariates`"):
        load(point, folder)
