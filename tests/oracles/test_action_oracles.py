"""``summary.json`` ``actions`` and the ``action_*`` variables of ``results.nc`` in closed form.

The one-period large-pool book (`oracle_builders.one_period_book`) with two actions, each
measured against the same run without it (the other one kept):

- ``retention`` (churn probability × (1 − k), stay absorbs the rest): defaults do not move,
  so loss, ECL and ES are unchanged path by path; the value is ``M df (1 − p − c (1 − k))``
  instead of ``M df (1 − p − c)``, the value lost to churn ``M df c (1 − k)`` instead of
  ``M df c``; the cost ``cost_per_customer · N · df`` (the customers offered it at the start of
  the one period, discounted).
- ``limit_cut`` (exposure × (1 − r)): every path's loss is ``(1 − r)`` times the loss without
  it, so EL, ECL and ES scale by ``1 − r`` (ES by Vasicek's tail mean); margin is untouched;
  the cost is the fixed ``cost``.

``net_benefit = value gain + ECL reduction − cost`` of the closed forms. The Monte Carlo
cross-checks (``change_mc``, ``gain_mc``, their paired errors and the ES change's error) are
recomputed here from the saved paths and weights. Importance sampling: the default tilt and a
full Glasserman–Li shift (heavy weights); tolerance ``Z45 = 4.5`` errors computed here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from oracle_builders import (
    Z45,
    book_constants,
    es_se,
    one_period_book,
    tail_mean,
    vasicek_quantile,
)

import riskmodel as rm

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

K = book_constants()
KEEP, R = 0.3, 0.2  # churn reduction of the retention, exposure reduction of the limit cut
PER_CUSTOMER, FIXED = 0.5, 5_000.0
LEVELS = (0.95, 0.99)
ACTIONS = [
    {
        "name": "retain",
        "type": "retention",
        "state": "performing",
        "churn_reduction": KEEP,
        "cost_per_customer": PER_CUSTOMER,
    },
    {
        "name": "cut",
        "type": "limit_cut",
        "segment": "retail",
        "state": "performing",
        "exposure_reduction": R,
        "cost": FIXED,
    },
]


@pytest.fixture(scope="module", params=["tilt", "shift-heavy"])
def action_run(request):
    method, damping = ("shift", 1.0) if request.param == "shift-heavy" else ("tilt", None)
    cfg = one_period_book(method=method, damping=damping, levels=LEVELS, paths=20_000, seed=23)
    cfg["actions"] = ACTIONS
    result = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    return json.loads(json.dumps(result.summary())), result.data


def _closed_forms() -> dict[str, dict[str, float]]:
    n, p, c, m, df = K["n"], K["p"], K["c"], K["margin"], K["df"]
    q = max(LEVELS)
    es = n * float(tail_mean(q, p, K["rho"]))
    value = {"kept": m * df * (1 - p - c * (1 - KEEP)), "plain": m * df * (1 - p - c)}
    lost = {"kept": m * df * c * (1 - KEEP), "plain": m * df * c}
    return {
        "retain": {  # with both actions, against the limit cut alone
            "loss_with": (1 - R) * n * p,
            "loss_without": (1 - R) * n * p,
            "es_with": (1 - R) * es,
            "es_without": (1 - R) * es,
            "value_with": value["kept"],
            "value_without": value["plain"],
            "lost_with": lost["kept"],
            "lost_without": lost["plain"],
            "cost": PER_CUSTOMER * n * df,
        },
        "cut": {  # with both actions, against the retention alone
            "loss_with": (1 - R) * n * p,
            "loss_without": n * p,
            "es_with": (1 - R) * es,
            "es_without": es,
            "value_with": value["kept"],
            "value_without": value["kept"],
            "lost_with": lost["kept"],
            "lost_without": lost["kept"],
            "cost": FIXED,
        },
    }


def _paired(d: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Self-normalised mean of a per-path difference and its delta-method error, from scratch."""
    wn = w * w.size / w.sum()
    mean = float(np.sum(wn * d) / d.size)
    psi = wn * (d - mean)
    return mean, float(psi.std(ddof=1) / np.sqrt(d.size))


def _weighted_var(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Smallest path value whose self-normalised weight at or below it reaches ``q``."""
    order = np.argsort(x)
    cum = np.cumsum(w[order]) / w.sum()
    return float(x[order][np.searchsorted(cum, q - 1e-12)])


@pytest.mark.parametrize("name", ["retain", "cut"])
def test_exact_action_figures_are_closed_forms(action_run, name):
    summary, _ = action_run
    truth, got, df = _closed_forms()[name], summary["actions"][name], K["df"]
    pairs = {
        ("expected_loss", "with"): truth["loss_with"],
        ("expected_loss", "without"): truth["loss_without"],
        ("expected_loss", "change"): truth["loss_with"] - truth["loss_without"],
        ("ecl_lifetime", "with"): truth["loss_with"] * df,
        ("ecl_lifetime", "without"): truth["loss_without"] * df,
        ("ecl_lifetime", "change"): (truth["loss_with"] - truth["loss_without"]) * df,
        ("value", "with"): truth["value_with"],
        ("value", "without"): truth["value_without"],
        ("value", "gain"): truth["value_with"] - truth["value_without"],
        ("value_lost_to_churn", "with"): truth["lost_with"],
        ("value_lost_to_churn", "without"): truth["lost_without"],
        ("value_lost_to_churn", "change"): truth["lost_with"] - truth["lost_without"],
    }
    for (block, key), value in pairs.items():
        assert got[block][key] == pytest.approx(value, rel=1e-9, abs=1e-6), (block, key)
    assert got["cost"] == pytest.approx(truth["cost"], rel=1e-9)
    benefit = (
        (truth["value_with"] - truth["value_without"])
        + (truth["loss_without"] - truth["loss_with"]) * df
        - truth["cost"]
    )
    assert got["net_benefit"] == pytest.approx(benefit, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("name", ["retain", "cut"])
def test_monte_carlo_action_figures_match_the_paths_and_the_closed_forms(action_run, name):
    summary, ds = action_run
    truth, got = _closed_forms()[name], summary["actions"][name]
    k = list(ds["action"].values).index(name)
    w = ds["weight"].to_numpy()
    loss1 = ds["loss"].sum("period").to_numpy()
    loss0 = ds["action_loss_without"].values[k]
    value1 = (ds["margin"] * ds["discount_factor"]).sum("period").to_numpy()
    value0 = ds["action_value_without"].values[k]
    # per path: the limit cut scales the loss, the retention leaves it alone
    np.testing.assert_allclose(loss1, (1 - R) * loss0 if name == "cut" else loss0, rtol=1e-9)
    change, se = _paired(loss1 - loss0, w)
    assert got["expected_loss"]["change_mc"] == pytest.approx(change, rel=1e-9, abs=1e-9)
    assert got["expected_loss"]["stderr_mc"] == pytest.approx(se, rel=1e-6, abs=1e-9)
    assert abs(change - (truth["loss_with"] - truth["loss_without"])) <= Z45 * se + 1e-9
    gain, se_v = _paired(value1 - value0, w)
    assert got["value"]["gain_mc"] == pytest.approx(gain, rel=1e-9, abs=1e-9)
    assert got["value"]["stderr_mc"] == pytest.approx(se_v, rel=1e-6, abs=1e-9)
    assert abs(gain - (truth["value_with"] - truth["value_without"])) <= Z45 * se_v + 1e-9
    # ES at the highest level, with and without, against Vasicek's tail mean
    q = max(LEVELS)
    es = got["es"]
    assert es["level"] == f"{q:g}"
    v_plain = K["n"] * float(vasicek_quantile(q, K["p"], K["rho"]))
    cut = {"with": 1 - R, "without": 1 - R if name == "retain" else 1.0}  # exposure scale
    for key, x in (("with", loss1), ("without", loss0)):
        v = cut[key] * v_plain
        assert abs(es[key] - truth[f"es_{key}"]) <= Z45 * es_se(x, w, v, q), key
    assert es["change"] == pytest.approx(es["with"] - es["without"], rel=1e-12, abs=1e-9)
    if name == "retain":  # identical losses: the ES change and its error are 0 exactly
        assert es["change"] == 0.0 and es["stderr"] == 0.0
    else:  # (1 − r) L − L = −r L path by path: the paired error is r times ES's own
        se_change = R * es_se(loss0, w, v_plain, q)
        assert abs(es["change"] + R * truth["es_without"]) <= Z45 * se_change
        # the error is that of the paired excesses over each run's estimated VaR (envelope
        # argument), recomputed here with the VaR as the weighted order statistic
        v1, v0 = _weighted_var(loss1, w, q), _weighted_var(loss0, w, q)
        excess = np.maximum(loss1 - v1, 0.0) - np.maximum(loss0 - v0, 0.0)
        _, se_es = _paired(excess, w)
        assert es["stderr"] == pytest.approx(se_es / (1 - q), rel=1e-6)


def test_action_variables_of_the_results(action_run):
    """``action_exact_*`` are the closed forms of the run without each action; the per-path
    ``action_churn_value_lost_without`` is the churners' margin of that run."""
    _, ds = action_run
    df, m, n = K["df"], K["margin"], K["n"]
    forms = _closed_forms()
    for k, name in enumerate(ds["action"].values.tolist()):
        truth = forms[name]
        assert str(ds["action_type"].values[k]) == {"retain": "retention", "cut": "limit_cut"}[name]
        assert float(ds["action_cost"].values[k]) == pytest.approx(truth["cost"], rel=1e-9)
        exact = {
            "action_exact_loss_without": truth["loss_without"],
            "action_exact_ecl_without": truth["loss_without"] * df,
            "action_exact_value_without": truth["value_without"],
            "action_exact_churn_value_lost_without": truth["lost_without"],
        }
        for var, value in exact.items():
            assert float(ds[var].values[k]) == pytest.approx(value, rel=1e-9), (name, var)
        lost = ds["action_churn_value_lost_without"].values[k]
        loss0 = ds["action_loss_without"].values[k]
        scale = 1.0 if name == "retain" else 1.0 / (1 - R)
        frac = loss0 / (n * (1 - R) * scale)  # p(Z) per path
        share = K["churn_share"] * (1 - KEEP if name == "cut" else 1.0)
        np.testing.assert_allclose(lost, m * df * (1 - frac) * share, rtol=1e-9)
