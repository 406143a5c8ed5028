"""Kill tests for `riskmodel.metrics.actions` (see docs/mutation.md): every figure of the
``actions`` block of a hand-built run with two actions and heavy weights, against loops.

The data are fixed (no simulation): exact figures must agree to rounding (1e-12), the paired
Monte Carlo changes too, their delta-method errors ``std(ψ, ddof=1)/√N`` with
``ψ = d − mean(d) (w̃ − 1)``, ``d = w̃ g``, to 1e-9. VaR and ES are recomputed by the VaR
definition ``min{L_i : Σ_{L_j > L_i} w̃_j / N ≤ 1 − q}`` and ``v + Σ w̃ (L − v)⁺ / (N (1 − q))``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from riskmodel.metrics.actions import action_effects, actions_to_dict

N, T = 300, 4
ACTIONS = ["retain", "collect"]


def _run() -> xr.Dataset:
    rng = np.random.default_rng(20261202)
    loss = rng.gamma(2.0, 10.0, (N, T))
    margin = rng.gamma(3.0, 5.0, (N, T))
    df = np.cumprod(np.full(T, 1 / 1.04))
    return xr.Dataset(
        {
            "loss": (("path", "period"), loss),
            "margin": (("path", "period"), margin),
            "weight": ("path", rng.lognormal(0.0, 1.0, N)),
            "discount_factor": ("period", df),
            "exact_loss": ("period", [21.0, 19.0, 17.5, 16.0]),
            "exact_margin": ("period", [15.0, 14.0, 13.0, 12.0]),
            "exact_value_lost_to_churn": ((), 7.5),
            "action_loss_without": (
                ("action", "path"),
                loss.sum(axis=1) * rng.uniform(0.9, 1.3, (2, N)),
            ),
            "action_value_without": (
                ("action", "path"),
                (margin * df).sum(axis=1) * rng.uniform(0.8, 1.1, (2, N)),
            ),
            "action_exact_loss_without": ("action", [80.0, 70.0]),
            "action_exact_ecl_without": ("action", [75.0, 66.0]),
            "action_exact_value_without": ("action", [48.0, 52.0]),
            "action_exact_churn_value_lost_without": ("action", [9.0, 6.0]),
            "action_cost": ("action", [1.25, 2.5]),
            "action_type": ("action", ["retention", "collections"]),
        },
        coords={"action": ACTIONS},
        attrs={"levels": [0.97, 0.9]},  # the highest level, not the first; not a default level
    )


def _var_es(x: list[float], wt: list[float], q: float) -> tuple[float, float]:
    n = len(x)
    v = next(
        a
        for a in sorted(set(x))
        if math.fsum(w for w, b in zip(wt, x, strict=True) if b > a) / n <= 1 - q
    )
    return v, v + math.fsum(w * max(b - v, 0.0) for w, b in zip(wt, x, strict=True)) / (n * (1 - q))


def _paired(d: list[float], wt: list[float]) -> float:
    m = math.fsum(d) / len(d)
    psi = [a - m * (w - 1.0) for a, w in zip(d, wt, strict=True)]
    mp = math.fsum(psi) / len(psi)
    return math.sqrt(math.fsum((p - mp) ** 2 for p in psi) / (len(psi) - 1) / len(psi))


def test_action_effects_against_loops():
    ds = _run()
    got = action_effects(ds)
    assert actions_to_dict(ds) == got and list(got) == ACTIONS
    raw = ds["weight"].values.tolist()
    wt = [w * N / math.fsum(raw) for w in raw]
    df = ds["discount_factor"].values.tolist()
    loss1 = ds["loss"].sum("period").values.tolist()  # the code's own totals (same ties)
    value1 = [
        math.fsum(m * d for m, d in zip(row, df, strict=True))
        for row in ds["margin"].values.tolist()
    ]
    exact_loss1 = math.fsum(ds["exact_loss"].values.tolist())
    ecl1 = math.fsum(a * d for a, d in zip(ds["exact_loss"].values.tolist(), df, strict=True))
    val1 = math.fsum(a * d for a, d in zip(ds["exact_margin"].values.tolist(), df, strict=True))
    v1, es1 = _var_es(loss1, wt, 0.97)
    for k, name in enumerate(ACTIONS):
        e = got[name]
        loss0 = ds["action_loss_without"].values[k].tolist()
        value0 = ds["action_value_without"].values[k].tolist()
        v0, es0 = _var_es(loss0, wt, 0.97)
        assert e["type"] == ["retention", "collections"][k]
        el = e["expected_loss"]
        without = float(ds["action_exact_loss_without"][k])
        assert (el["with"], el["without"]) == (pytest.approx(exact_loss1, rel=1e-12), without)
        assert el["change"] == pytest.approx(exact_loss1 - without, rel=1e-12)
        d = [w * (a - b) for w, a, b in zip(wt, loss1, loss0, strict=True)]
        assert el["change_mc"] == pytest.approx(math.fsum(d) / N, rel=1e-12)
        assert el["stderr_mc"] == pytest.approx(_paired(d, wt), rel=1e-9)
        ecl0 = float(ds["action_exact_ecl_without"][k])
        assert e["ecl_lifetime"]["with"] == pytest.approx(ecl1, rel=1e-12)
        assert e["ecl_lifetime"]["without"] == ecl0
        assert e["ecl_lifetime"]["change"] == pytest.approx(ecl1 - ecl0, rel=1e-12)
        es = e["es"]
        assert es["level"] == "0.97"
        assert es["with"] == pytest.approx(es1, rel=1e-12)
        assert es["without"] == pytest.approx(es0, rel=1e-12)
        assert es["change"] == pytest.approx(es1 - es0, rel=1e-9)
        excess = [
            w * (max(a - v1, 0.0) - max(b - v0, 0.0))
            for w, a, b in zip(wt, loss1, loss0, strict=True)
        ]
        assert es["stderr"] == pytest.approx(_paired(excess, wt) / 0.03, rel=1e-9)
        val0 = float(ds["action_exact_value_without"][k])
        value = e["value"]
        assert value["with"] == pytest.approx(val1, rel=1e-12) and value["without"] == val0
        assert value["gain"] == pytest.approx(val1 - val0, rel=1e-12)
        g = [w * (a - b) for w, a, b in zip(wt, value1, value0, strict=True)]
        assert value["gain_mc"] == pytest.approx(math.fsum(g) / N, rel=1e-9)
        assert value["stderr_mc"] == pytest.approx(_paired(g, wt), rel=1e-9)
        cvl0 = float(ds["action_exact_churn_value_lost_without"][k])
        assert e["value_lost_to_churn"] == {
            "with": 7.5,
            "without": cvl0,
            "change": pytest.approx(7.5 - cvl0, rel=1e-12),
        }
        cost = float(ds["action_cost"][k])
        assert e["cost"] == cost
        assert e["net_benefit"] == pytest.approx((val1 - val0) + (ecl0 - ecl1) - cost, rel=1e-12)


def test_a_run_without_actions_has_no_effects_and_one_path_no_error():
    assert action_effects(_run().drop_dims("action")) == {}
    one = _run().isel(path=slice(0, 1))
    e = action_effects(one)["retain"]
    assert math.isnan(e["expected_loss"]["stderr_mc"]) and math.isnan(e["es"]["stderr"])


def test_two_paths_have_paired_errors_and_one_path_none_without_warnings():
    import warnings

    two = _run().isel(path=slice(0, 2))
    e = action_effects(two)["retain"]
    assert math.isfinite(e["expected_loss"]["stderr_mc"]) and math.isfinite(e["value"]["stderr_mc"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "degrees of freedom" warning for one path
        one = action_effects(_run().isel(path=slice(0, 1)))["retain"]
    assert math.isnan(one["expected_loss"]["stderr_mc"])
