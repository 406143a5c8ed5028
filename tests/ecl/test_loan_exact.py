"""Loan-level ECL equals the cohort engine's exact ECL, and averages posterior draws as it does.

No Monte Carlo error is involved: both sides are exact expectations, so they must agree to
floating-point accuracy (rtol 1e-10; the sums run over up to 122,000 loans, each with ~1e-16
relative rounding).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import riskmodel as rm
from riskmodel.ecl.term_structure import term_structure
from riskmodel.metrics.expectations import exact_summary
from riskmodel.simulation.expected import expected_term_structure

REPO = Path(__file__).resolve().parents[2]
BUNDLED = ["baseline", "adverse", "severe", "ifrs9", "retention_action"]


def _per_customer_tape(sc: rm.Scenario) -> pd.DataFrame:
    """One loan per customer, each with its cohort's exposure per customer (after actions)."""
    pc = sc.portfolio.per_customer()
    counts = pc["customers"].to_numpy(dtype=int)
    rows = np.repeat(np.arange(len(pc)), counts)
    return pd.DataFrame(
        {
            "loan_id": [f"c{r}-{i}" for r, i in zip(rows, range(len(rows)), strict=True)],
            "segment": pc["segment"].to_numpy()[rows],
            "state": pc["state"].to_numpy()[rows],
            "exposure": np.asarray(sc.cohort_ead)[rows],
        }
    )


@pytest.mark.parametrize("name", BUNDLED)
def test_loans_sum_to_the_cohort_engines_exact_ecl(name):
    sc = rm.load_scenario(REPO / "scenarios" / f"{name}.yaml")
    res = rm.loan_ecl(sc, _per_customer_tape(sc))
    exact = exact_summary(expected_term_structure(sc))["ecl"]
    loans = res.loans
    assert math.fsum(loans["ecl_lifetime"]) == pytest.approx(exact["lifetime"], rel=1e-10)
    assert math.fsum(loans["ecl_12m"]) == pytest.approx(exact["12_month"], rel=1e-10)
    assert res.summary()["ecl"]["lifetime"] == pytest.approx(exact["lifetime"], rel=1e-10)
    assert res.summary()["ecl"]["12_month"] == pytest.approx(exact["12_month"], rel=1e-10)


def test_matches_the_ecl_of_a_runs_summary():
    """The figure a user compares with: ``ecl`` in a run's summary.json."""
    sc = rm.load_scenario(REPO / "scenarios" / "ifrs9.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rm.TailResolutionWarning)  # 256 paths: a thin tail
        summary = rm.simulate(sc, paths=256, seed=1, progress=False).summary()
    res = rm.loan_ecl(sc, _per_customer_tape(sc))
    assert res.summary()["ecl"]["lifetime"] == pytest.approx(summary["ecl"]["lifetime"], rel=1e-10)
    assert res.summary()["ecl"]["12_month"] == pytest.approx(summary["ecl"]["12_month"], rel=1e-10)


def test_a_quarterly_window_takes_four_periods(tiny_config):
    tiny_config["period"] = {"length": 1, "unit": "quarter"}
    tiny_config["horizon"] = 8
    sc = rm.scenario_from_dict(tiny_config)
    res = rm.loan_ecl(sc, _per_customer_tape(sc))
    exact = exact_summary(expected_term_structure(sc))["ecl"]
    assert res.summary()["ecl"]["12_month"] == pytest.approx(exact["12_month"], rel=1e-10)
    ts = term_structure(sc)
    assert ts.window == 4.0
    first = res.loans.iloc[0]
    g_pd = ts.pd[0, sc.states.index(first["state"])]
    assert first["pd_12m"] == pytest.approx(g_pd[:4].sum(), rel=1e-12)


# -- posterior draws ---------------------------------------------------------------------------


def _posterior_scenario(tmp_path: Path, tiny_config: dict, draws: np.ndarray, name: str):
    states = rm.LIFECYCLE
    rm.ParameterDraws(states, ("retail",), draws, correlation=np.full(len(draws), 0.1)).to_netcdf(
        tmp_path / f"{name}.nc"
    )
    cfg = dict(tiny_config)
    cfg["parameters"] = {"posterior": f"{name}.nc"}
    cfg["simulation"] = {"parameter_uncertainty": True}
    cfg["systematic"] = {"shift": [-0.5, -1.0, 0.0]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return rm.load_scenario(path)


def _draws(seed: int, n: int) -> np.ndarray:
    states = rm.LIFECYCLE
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(states.n, 2.0), size=(n, 1, states.n))
    p[..., states.absorbing_idx, :] = np.eye(states.n)[states.absorbing_idx]
    return p


def test_posterior_draws_are_averaged_as_the_engine_does(tmp_path, tiny_config):
    draws = _draws(3, 5)
    sc = _posterior_scenario(tmp_path, tiny_config, draws, "post")
    assert sc.n_draws == 5
    res = rm.loan_ecl(sc, _per_customer_tape(sc))
    exact = exact_summary(expected_term_structure(sc))["ecl"]
    assert res.summary()["ecl"]["lifetime"] == pytest.approx(exact["lifetime"], rel=1e-10)
    # and the term structure is the mean over draws of each draw's own term structure
    singles = [
        term_structure(_posterior_scenario(tmp_path, tiny_config, draws[d : d + 1], f"d{d}"))
        for d in range(5)
    ]
    ts = term_structure(sc)
    np.testing.assert_allclose(ts.pd, np.mean([s.pd for s in singles], axis=0), rtol=1e-12)
    np.testing.assert_allclose(ts.loss, np.mean([s.loss for s in singles], axis=0), rtol=1e-12)
    # the mean over draws is not the term structure of the mean matrix (a real average)
    mean_sc = _posterior_scenario(tmp_path, tiny_config, draws.mean(axis=0, keepdims=True), "m")
    assert not np.allclose(term_structure(mean_sc).pd, ts.pd, rtol=1e-6)
