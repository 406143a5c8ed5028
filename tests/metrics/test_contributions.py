"""Euler risk contributions: closed forms, exact additivity, zero segments, weighted runs."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

import riskmodel as rm
from riskmodel.metrics.contributions import (
    contributions_to_dict,
    euler_contributions,
    risk_contributions,
)
from riskmodel.metrics.risk import risk_measures

N_SE = 4.0


def _two_segments(tiny: dict, *, second_exposure: float = 2.4e6, **extra) -> dict:
    """The tiny scenario with a second segment `b` (its own matrix and exposure)."""
    cfg = copy.deepcopy(tiny)
    matrix = cfg["parameters"]["transitions"]["retail"]
    cfg["parameters"]["transitions"]["b"] = matrix
    cfg["portfolio"]["cohorts"].append(
        {"segment": "b", "state": "mature", "customers": 700, "exposure": second_exposure}
    )
    cfg.update(extra)
    return cfg


# --------------------------------------------------------------------------- closed form
@pytest.mark.parametrize("q", [0.95, 0.99])
def test_gaussian_contributions_match_the_closed_form(q):
    # X ~ N(mu, C): E[X_s | L = v] = mu_s + C_s·1 (v − μ_L)/σ_L², and
    # E[X_s | L ≥ VaR_q] = mu_s + (C_s·1 / σ_L) φ(z_q)/(1 − q)
    rng = np.random.default_rng(20261129)
    mu = np.array([1.0, 2.0, 0.5])
    cov = np.array([[1.0, 0.3, 0.1], [0.3, 2.0, 0.2], [0.1, 0.2, 0.5]])
    x = rng.multivariate_normal(mu, cov, size=200_000)
    c = euler_contributions(x, levels=[q])
    sigma = np.sqrt(cov.sum())
    beta = cov.sum(axis=1) / sigma
    z = stats.norm.ppf(q)
    var_true = mu + beta * z
    es_true = mu + beta * stats.norm.pdf(z) / (1 - q)
    assert np.all(np.abs(c["expected"] - mu) <= N_SE * c["stderr_expected"])
    assert np.all(np.abs(c["var"][0] - var_true) <= N_SE * c["stderr_var"][0])
    assert np.all(np.abs(c["es"][0] - es_true) <= N_SE * c["stderr_es"][0])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("q", [0.95, 0.99])
def test_var_contribution_errors_carry_the_var_error(q, weighted):
    # Fixed shares X_s = a_s L: VaR_s = a_s VaR_q exactly, so its error is a_s times the VaR's
    # error at least (the kernel's conditional part adds to it). An error conditional on the
    # estimated VaR is only a_s times the window mean's error: at 2,000 paths and q = 0.95,
    # 0.99 about a fifth of a_s se(VaR) (measured on this seed), so this fails for it.
    rng = np.random.default_rng(20261202)
    loss = rng.gamma(2.0, 1.0, 2_000)
    w = rng.uniform(0.2, 1.8, loss.size) if weighted else None
    shares = np.array([0.7, 0.2, 0.1])
    c = euler_contributions(loss[:, None] * shares, weights=w, levels=[q])
    se_var = risk_measures(loss, weights=w, levels=[q], min_tail_paths=0).stderr_var[q]
    np.testing.assert_allclose(c["var"][0], shares * c["total_var"][0], rtol=1e-12)
    assert np.all(c["stderr_var"][0] >= shares * se_var * (1 - 1e-9)), (c["stderr_var"], se_var)


# --------------------------------------------------------------------------- additivity
def _check_sums(c: dict, total: np.ndarray, weights: np.ndarray | None) -> None:
    levels = c["level"].tolist()
    risk = risk_measures(total, weights=weights, levels=levels, min_tail_paths=0)
    scale = max(1.0, float(np.max(np.abs(total))))
    assert c["expected"].sum() == pytest.approx(risk.expected, rel=1e-12, abs=1e-12 * scale)
    assert c["total_expected"] == pytest.approx(risk.expected, rel=1e-12, abs=1e-12 * scale)
    for k, q in enumerate(levels):
        assert c["total_var"][k] == risk.var[q]
        assert c["total_es"][k] == pytest.approx(risk.es[q], rel=1e-12, abs=1e-12 * scale)
        assert c["es"][k].sum() == pytest.approx(risk.es[q], rel=1e-12, abs=1e-12 * scale)
        assert c["var"][k].sum() == pytest.approx(risk.var[q], rel=1e-12, abs=1e-12 * scale)


def test_contributions_of_a_run_add_up_to_its_risk_measures(tiny_config):
    # plain Monte Carlo (the importance-sampled case is the next test)
    scenario = rm.scenario_from_dict(
        _two_segments(tiny_config, simulation={"importance_sampling": False})
    )
    # 6,000 plain paths: 61 beyond the 99% VaR (3,000 would warn with TailResolutionWarning)
    result = rm.simulate(scenario, paths=6000, seed=5, progress=False)
    contrib = risk_contributions(result)
    assert list(contrib["segment"].values) == list(scenario.segments)
    assert contrib["var"].dims == ("segment", "level")
    total = result.data["loss_by_segment"].sum("segment").values
    c = {
        k: contrib[k].transpose(..., "segment", missing_dims="ignore").values
        for k in contrib.data_vars
    }
    c["level"] = contrib["level"].values
    _check_sums(c, total, None)
    # the segment total is the run's loss total up to rounding; EL matches the run's EL
    risk = result.risk()
    assert contrib["expected"].sum() == pytest.approx(risk.expected, rel=1e-12)
    for q in result.levels:
        assert float(contrib["es"].sel(level=q).sum()) == pytest.approx(risk.es[q], rel=1e-12)
        # the unrescaled kernel estimate of E[L | L = VaR] lies within the VaR's error
        raw = float(contrib["kernel_total"].sel(level=q))
        assert abs(raw - risk.var[q]) <= N_SE * risk.stderr_var[q]


def test_importance_sampled_contributions_use_the_weights(tiny_config):
    cfg = _two_segments(tiny_config, simulation={"importance_sampling": True})
    result = rm.simulate(rm.scenario_from_dict(cfg), paths=2000, seed=2, progress=False)
    assert not np.allclose(result.weights, 1.0)
    contrib = risk_contributions(result)
    risk = result.risk()
    assert float(contrib["expected"].sum()) == pytest.approx(risk.expected, rel=1e-12)
    for q in result.levels:
        assert float(contrib["es"].sel(level=q).sum()) == pytest.approx(risk.es[q], rel=1e-12)
        assert float(contrib["var"].sel(level=q).sum()) == pytest.approx(risk.var[q], rel=1e-12)


def test_segment_without_exposure_contributes_nothing(tiny_config):
    cfg = _two_segments(tiny_config, second_exposure=0.0)
    result = rm.simulate(rm.scenario_from_dict(cfg), paths=1000, seed=4, progress=False)
    contrib = risk_contributions(result).sel(segment="b")
    for name in ("expected", "var", "es", "stderr_expected", "stderr_var", "stderr_es"):
        assert np.all(contrib[name].values == 0.0), name


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(1, 60), st.integers(1, 4)),
        elements=st.floats(0, 1e6, allow_subnormal=False),
    ),
    seed=st.integers(0, 2**32 - 1),
    q=st.sampled_from([0.5, 0.9, 0.95, 0.99]),
    weighted=st.booleans(),
)
def test_contributions_always_add_up(x, seed, q, weighted):
    w = np.random.default_rng(seed).uniform(0.0, 2.0, x.shape[0]) if weighted else None
    if w is not None and not w.sum() > 0:
        w = None
    c = euler_contributions(x, weights=w, levels=[q])
    _check_sums(c, x.sum(axis=1), w)
    assert np.all(c["expected"] >= 0) and np.all(c["es"] >= -1e-9 * max(1.0, x.max()))


def test_discrete_losses_with_an_atom_at_var():
    # 10 paths, VaR_0.75 = 7 is an atom of two paths: ES = 7 + (1/2.5)(1 + 2) = 8.2
    total = np.array([1, 2, 3, 4, 5, 6, 7, 7, 8, 9], dtype=float)
    x = np.column_stack([total * 0.25, total * 0.75])
    c = euler_contributions(x, levels=[0.75])
    assert c["total_var"][0] == 7.0 and c["total_es"][0] == pytest.approx(8.2)
    np.testing.assert_allclose(c["es"][0], [0.25 * 8.2, 0.75 * 8.2])
    np.testing.assert_allclose(c["var"][0], [0.25 * 7, 0.75 * 7])


# --------------------------------------------------------------------------- summary & errors
def test_summary_has_contributions_in_the_documented_layout(tiny_config):
    result = rm.simulate(rm.scenario_from_dict(_two_segments(tiny_config)), progress=False)
    block = result.summary()["contributions"]
    assert json.loads(json.dumps(block, allow_nan=False)) == block
    assert block["by"] == "segment" and set(block["expected"]) == {"b", "retail"}
    assert list(block["var"]) == ["0.95", "0.99"] and list(block["es"]) == ["0.95", "0.99"]
    assert set(block["stderr"]) == {"expected", "var", "es"}
    assert sum(block["es"]["0.99"].values()) == pytest.approx(block["total"]["es"]["0.99"])
    assert block == contributions_to_dict(risk_contributions(result))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"components": np.ones(5)}, "2-D"),
        ({"components": np.full((3, 2), np.nan)}, "finite"),
        ({"components": np.ones((3, 2)), "weights": np.ones(2)}, "one entry per path"),
        ({"components": np.ones((3, 2)), "weights": -np.ones(3)}, ">= 0"),
        ({"components": np.ones((3, 2)), "levels": [1.0]}, r"\(0, 1\)"),
        ({"components": np.ones((3, 2)), "bandwidth": 0.0}, "positive"),
    ],
)
def test_invalid_inputs_say_what_and_how(kwargs, match):
    with pytest.raises(ValueError, match=match):
        euler_contributions(**kwargs)


def test_dataset_without_segment_losses_is_refused():
    import xarray as xr

    with pytest.raises(ValueError, match="loss_by_segment"):
        risk_contributions(xr.Dataset({"weight": ("path", np.ones(3))}))


def test_cohort_contributions_sum_to_segment_contributions(tiny_config):
    scenario = rm.scenario_from_dict(_two_segments(tiny_config))
    result = rm.simulate(scenario, paths=2000, seed=3, progress=False)
    by_cohort = risk_contributions(result, by="cohort")
    by_segment = risk_contributions(result)
    labels = [str(c) for c in by_cohort["cohort"].values]
    assert labels == [
        f"{s}/{t}"
        for s, t in zip(*scenario.portfolio.table[["segment", "state"]].T.values, strict=True)
    ]
    np.testing.assert_allclose(
        result.data["loss_by_cohort"].sum("cohort"), result.total("loss"), rtol=1e-12
    )
    # cohorts of a segment add up to the segment's EL and ES contribution (same tail weights)
    for seg in scenario.segments:
        members = [i for i, lab in enumerate(labels) if lab.split("/")[0] == seg]
        for name in ("expected", "es"):
            got = by_cohort[name].isel(cohort=members).sum("cohort")
            want = by_segment[name].sel(segment=seg)
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)
    summary = result.summary()["contributions_by_cohort"]
    assert summary["by"] == "cohort"
    assert set(summary["expected"]) == set(labels)
