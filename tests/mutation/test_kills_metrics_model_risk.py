"""Kill tests for `riskmodel.metrics.model_risk` and `.model_risk_results` (docs/mutation.md):
the variance and tail splits of a hand-built posterior run with heavy weights, against loops.

The data are fixed (no simulation): point figures agree to rounding (1e-12), delta-method
errors ``std(ψ, ddof=1)/√N`` to 1e-9. Formulas (module docstring): with ``w̃ = N w / Σ w``,
``m_d`` the exact EL of draw ``d`` and ``m̄`` their mean, ``V_par = mean_d (m_d − m̄)²``,
``V_proc = mean(w̃ (L − m_D)²)``, ``parameter_mc = mean(w̃ (L − m̄)(m_D − m̄))``,
``total_mc = mean(w̃ (L − m̄)²)``; the tail share ``1 − B/A`` with
``se = std((B ψ_A − A ψ_B)/A², ddof=1)/√N``. ES and VaR are recomputed by their definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from riskmodel.errors import ArgumentError
from riskmodel.metrics.model_risk import model_risk, tail_split, variance_split

N, T, D = 400, 3, 5
LEVELS = [0.9, 0.95]


def _mean_one(w: list[float]) -> list[float]:
    s = math.fsum(w)
    return [x * len(w) / s for x in w]


def _infl(a: list[float], wt: list[float]) -> list[float]:
    m = math.fsum(a) / len(a)
    return [x - m * (w - 1.0) for x, w in zip(a, wt, strict=True)]


def _se(psi: list[float]) -> float:
    m = math.fsum(psi) / len(psi)
    return math.sqrt(math.fsum((p - m) ** 2 for p in psi) / (len(psi) - 1) / len(psi))


def _run(*, with_exact_loss: bool = True) -> xr.Dataset:
    rng = np.random.default_rng(20261202)
    draw = rng.integers(0, D - 1, N)  # the last draw is never used: draws_used = D − 1
    by_draw = np.array([10.0, 14.0, 9.0, 16.0, 12.0])
    loss = rng.gamma(4.0, 1.0, (N, T)) * (by_draw[draw] / 12.0)[:, None]
    ds = xr.Dataset(
        {
            "loss": (("path", "period"), loss),
            "weight": ("path", rng.lognormal(0.0, 0.8, N)),
            "draw": ("path", draw),
            "exact_loss_by_draw": ("parameter_draw", by_draw),
            "posterior_mean_loss": ("path", loss.sum(axis=1) * rng.uniform(0.6, 1.0, N)),
            "exact_loss_at_posterior_mean": ((), 9.5),
        },
        attrs={"levels": LEVELS, "parameter_draws": D},
    )
    if with_exact_loss:
        ds["exact_loss"] = ("period", [4.5, 4.0, 3.6])
    return ds


def _variance(ds: xr.Dataset) -> dict[str, float]:
    x = ds["loss"].sum("period").values.tolist()
    wt = _mean_one(ds["weight"].values.tolist())
    m = ds["exact_loss_by_draw"].values.tolist()
    md = [m[d] for d in ds["draw"].values.tolist()]
    mean = math.fsum(m) / len(m)
    terms = {
        "process": [w * (a - b) ** 2 for w, a, b in zip(wt, x, md, strict=True)],
        "parameter_mc": [w * (a - mean) * (b - mean) for w, a, b in zip(wt, x, md, strict=True)],
        "total_mc": [w * (a - mean) ** 2 for w, a in zip(wt, x, strict=True)],
    }
    est = {k: math.fsum(v) / N for k, v in terms.items()}
    psi = {k: _infl(v, wt) for k, v in terms.items()}
    out = {k: est[k] for k in terms} | {f"se_{k}": _se(psi[k]) for k in terms}
    out["parameter"] = math.fsum((v - mean) ** 2 for v in m) / len(m)
    total = out["parameter"] + est["process"]
    out["se_parameter_share"] = out["parameter"] * out["se_process"] / total**2
    tmc = est["parameter_mc"] + est["process"]
    ratio = [
        (est["process"] * a - est["parameter_mc"] * b) / tmc**2
        for a, b in zip(psi["parameter_mc"], psi["process"], strict=True)
    ]
    out["se_parameter_share_mc"] = _se(ratio)
    return out


def test_variance_split_against_loops():
    ds = _run()
    got = variance_split(
        ds["loss"].sum("period").values,
        draw=ds["draw"].values,
        expected_by_draw=ds["exact_loss_by_draw"].values,
        weights=ds["weight"].values,
    )
    want = _variance(ds)
    for k in ("parameter", "process", "parameter_mc", "total_mc"):
        assert getattr(got, k) == pytest.approx(want[k], rel=1e-12), k
    for k in ("process", "parameter_mc", "total_mc", "parameter_share", "parameter_share_mc"):
        assert got.stderr[k] == pytest.approx(want[f"se_{k}"], rel=1e-9), k
    assert got.stderr["parameter"] == 0.0
    assert (got.draws, got.draws_used) == (D, D - 1)
    total = want["parameter"] + want["process"]
    share_mc = want["parameter_mc"] / (want["parameter_mc"] + want["process"])
    assert got.to_dict() == {
        "total": pytest.approx(total, rel=1e-12),
        "parameter": got.parameter,
        "process": got.process,
        "parameter_share": pytest.approx(want["parameter"] / total, rel=1e-12),
        "process_share": pytest.approx(1 - want["parameter"] / total, rel=1e-12),
        "method": {"parameter": "exact", "process": "monte_carlo"},
        "mc": {
            "total": got.total_mc,
            "parameter": got.parameter_mc,
            "process": got.process,
            "parameter_share": pytest.approx(share_mc, rel=1e-12),
        },
        "stderr": got.stderr,
        "draws": D,
        "draws_used": D - 1,
    }


def test_a_loss_without_variance_has_no_shares():
    got = variance_split(np.full(6, 2.0), draw=np.zeros(6, dtype=int), expected_by_draw=[2.0])
    assert got.total == 0.0 and math.isnan(got.parameter_share)
    assert math.isnan(got.parameter_share_mc) and math.isnan(got.stderr["parameter_share"])
    assert math.isnan(got.stderr["parameter_share_mc"])
    with pytest.raises(ArgumentError, match="one integer draw index per path"):
        variance_split([1.0, 2.0], draw=[0.0, 1.0], expected_by_draw=[1.0, 2.0])
    with pytest.raises(ArgumentError, match="must index"):
        variance_split([1.0, 2.0], draw=[0, 2], expected_by_draw=[1.0, 2.0])
    with pytest.raises(ArgumentError, match="must index"):
        variance_split([1.0, 2.0], draw=[-1, 0], expected_by_draw=[1.0, 2.0])
    with pytest.raises(ArgumentError, match="must index"):
        variance_split([1.0, 2.0], draw=[0, 0], expected_by_draw=[])


def _tail(x: list[float], wt: list[float], q: float) -> dict[str, object]:
    n = len(x)
    v = next(
        a
        for a in sorted(set(x))
        if math.fsum(w for w, b in zip(wt, x, strict=True) if b > a) / n <= 1 - q
    )
    exc = [w * max(b - v, 0.0) for w, b in zip(wt, x, strict=True)]
    return {
        "var": v,
        "es": v + math.fsum(exc) / (n * (1 - q)),
        "psi_es": [p / (1 - q) for p in _infl(exc, wt)],
    }


def test_tail_split_against_loops():
    ds = _run()
    x = ds["loss"].sum("period").values.tolist()
    y = ds["posterior_mean_loss"].values.tolist()
    wt = _mean_one(ds["weight"].values.tolist())
    el, el_mean = 12.1, 9.5
    got = tail_split(
        x,
        y,
        expected=el,
        expected_at_mean=el_mean,
        levels=LEVELS[::-1],
        weights=ds["weight"].values,
    )
    assert [s.level for s in got] == LEVELS
    for split, q in zip(got, LEVELS, strict=True):
        tx, ty = _tail(x, wt, q), _tail(y, wt, q)
        a, b = tx["es"] - el, ty["es"] - el_mean
        assert split.es_minus_el == pytest.approx(a, rel=1e-12)
        assert split.es_minus_el_at_mean == pytest.approx(b, rel=1e-12)
        assert split.parameter_share == pytest.approx(1 - b / a, rel=1e-12)
        psi = [(b * p - a * r) / a**2 for p, r in zip(tx["psi_es"], ty["psi_es"], strict=True)]
        assert split.stderr == pytest.approx(_se(psi), rel=1e-9)
        assert split.stderr_es_minus_el == pytest.approx(_se(tx["psi_es"]), rel=1e-9)
        assert split.stderr_es_minus_el_at_mean == pytest.approx(_se(ty["psi_es"]), rel=1e-9)
        assert split.var_minus_el == pytest.approx(tx["var"] - el, rel=1e-12)
        assert split.var_minus_el_at_mean == pytest.approx(ty["var"] - el_mean, rel=1e-12)
        share = 1 - (ty["var"] - el_mean) / (tx["var"] - el)
        assert split.var_parameter_share == pytest.approx(share, rel=1e-12)
        assert split.stderr_var > 0
        assert split.to_dict() == {k: getattr(split, k) for k in split.to_dict()}
        assert set(split.to_dict()) == set(split.__dataclass_fields__)
    # the run at the mean with its own weights
    w2 = np.linspace(0.5, 1.5, N)
    other = tail_split(
        x,
        y,
        expected=el,
        expected_at_mean=el_mean,
        levels=[0.9],
        weights=ds["weight"].values,
        weights_at_mean=w2,
    )[0]
    assert other.es_minus_el_at_mean == pytest.approx(
        _tail(y, _mean_one(w2.tolist()), 0.9)["es"] - el_mean, rel=1e-12
    )
    # ES not above EL: no share
    flat = tail_split(x, y, expected=1e6, expected_at_mean=el_mean, levels=[0.9])[0]
    assert math.isnan(flat.parameter_share) and math.isnan(flat.stderr)
    with pytest.raises(ArgumentError, match="same paths"):
        tail_split(x, y[:-1], expected=el, expected_at_mean=el_mean, levels=[0.9])


@pytest.mark.parametrize("with_exact_loss", [True, False])
def test_model_risk_of_a_run_and_its_summary_block(with_exact_loss):
    ds = _run(with_exact_loss=with_exact_loss)
    got = model_risk(ds)
    el = 12.1 if with_exact_loss else math.fsum(ds["exact_loss_by_draw"].values.tolist()) / D
    assert got.expected == pytest.approx(el, rel=1e-12) and got.expected_at_mean == 9.5
    assert got.variance.parameter == pytest.approx(_variance(ds)["parameter"], rel=1e-12)
    assert [s.level for s in got.levels] == LEVELS
    x = ds["loss"].sum("period").values.tolist()
    wt = _mean_one(ds["weight"].values.tolist())
    assert got.levels[1].es_minus_el == pytest.approx(_tail(x, wt, 0.95)["es"] - el, rel=1e-12)
    assert [s.level for s in model_risk(ds, levels=[0.99]).levels] == [0.99]
    block = got.to_dict()
    assert block["expected"] == got.expected and block["expected_at_posterior_mean"] == 9.5
    assert block["variance"] == got.variance.to_dict()
    assert block["levels"] == [s.to_dict() for s in got.levels]
    assert block["sentence"] == got.sentence()
    assert (
        block["posterior_mean"].startswith("per segment") and "law of total" in block["description"]
    )


def test_the_sentence_names_the_highest_level_and_its_error():
    got = model_risk(_run())
    top = got.levels[-1]
    share, se = 100 * top.parameter_share, 100 * top.stderr
    assert got.sentence() == (
        f"{share:.3g}% (± {se:.2g} points) of the 95% ES above EL comes from not knowing the "
        "parameters."
    )
    assert got.sentence(0.9).endswith(
        "of the 90% ES above EL comes from not knowing the parameters."
    )
    with pytest.raises(ArgumentError, match=r"one of the run's levels \[0.9, 0.95\]; got 0.5"):
        got.sentence(0.5)
    flat = model_risk(_run().assign(exact_loss=("period", [1e6, 0.0, 0.0])))
    assert flat.sentence() == (
        "The 95% ES does not exceed EL, so its split into parameter and process risk is undefined."
    )
    empty = type(got)(variance=got.variance, levels=(), expected=1.0, expected_at_mean=1.0)
    with pytest.raises(ArgumentError, match="no risk levels"):
        empty.sentence()


def test_a_run_without_model_risk_data_says_why():
    ds = _run().drop_vars("posterior_mean_loss")
    with pytest.raises(ArgumentError, match="without the posterior-mean run"):
        model_risk(ds)
    ds.attrs["parameter_draws"] = 1
    with pytest.raises(ArgumentError, match="single parameter set"):
        model_risk(ds)
    ds.attrs.pop("parameter_draws")
    with pytest.raises(ArgumentError, match="single parameter set"):
        model_risk(ds)


def test_edges_of_the_splits():
    ds = _run()
    x = ds["loss"].sum("period").values
    y = ds["posterior_mean_loss"].values
    es = tail_split(x, y, expected=0.0, expected_at_mean=0.0, levels=[0.9])[0].es_minus_el
    flat = tail_split(x, y, expected=es, expected_at_mean=0.0, levels=[0.9])[0]  # ES = EL
    assert flat.es_minus_el == 0.0 and math.isnan(flat.parameter_share)
    half = tail_split(x, y, expected=es - 0.5, expected_at_mean=0.0, levels=[0.9])[0]
    # ES − EL = 0.5 ≤ 1: still a share and its error
    assert math.isfinite(half.parameter_share) and math.isfinite(half.stderr)
    small = _run().assign(
        loss=_run()["loss"] * 0.01, exact_loss_by_draw=_run()["exact_loss_by_draw"] * 0.01
    )
    got = variance_split(
        small["loss"].sum("period").values,
        draw=small["draw"].values,
        expected_by_draw=small["exact_loss_by_draw"].values.reshape(-1, 1),  # any shape
        weights=small["weight"].values,
    )
    want = _variance(small)  # variances below 1: the shares still have errors
    assert got.parameter + got.process < 1 and got.total_mc < 1
    assert got.stderr["parameter_share"] == pytest.approx(want["se_parameter_share"], rel=1e-9)
    assert got.stderr["parameter_share_mc"] == pytest.approx(
        want["se_parameter_share_mc"], rel=1e-9
    )
    with pytest.raises(ArgumentError, match="must index"):
        variance_split([1.0, 2.0], draw=[0, 1], expected_by_draw=[1.0, math.nan])
    with pytest.raises(ArgumentError, match=r"^`loss` must be finite"):
        variance_split([1.0, math.nan], draw=[0, 1], expected_by_draw=[1.0, 2.0])
    with pytest.raises(ArgumentError, match=r"^`loss` must be finite"):
        tail_split([1.0, math.nan], [1.0, 2.0], expected=0.0, expected_at_mean=0.0, levels=[0.5])
    with pytest.raises(ArgumentError, match=r"^`data` must be"):
        model_risk([1.0])


def test_messages_of_model_risk():
    import dataclasses

    ds = _run().drop_vars("posterior_mean_loss")
    ds.attrs["parameter_draws"] = 2
    with pytest.raises(ArgumentError) as err:
        model_risk(ds)
    assert str(err.value) == (
        "this run has no model-risk data: it was simulated without the posterior-mean run; "
        "simulate with rm.simulate(scenario, model_risk=True)."
    )
    ds.attrs["parameter_draws"] = 1
    with pytest.raises(ArgumentError) as err:
        model_risk(ds)
    assert str(err.value) == (
        "this run has no model-risk data: it has a single parameter set (point parameters, or a "
        "posterior with `parameter_uncertainty: false`), so there is no parameter risk to split."
    )
    got = model_risk(_run())
    top = got.levels[-1]
    odd = dataclasses.replace(got, levels=(dataclasses.replace(top, stderr=0.0095),))
    assert f"{100 * top.parameter_share:.3g}% (± 0.95 points)" in odd.sentence()
    bare = dataclasses.replace(got, levels=(dataclasses.replace(top, stderr=math.nan),))
    assert bare.sentence().startswith(f"{100 * top.parameter_share:.3g}% of the 95% ES")
    block = got.to_dict()
    assert block["posterior_mean"] == (
        "per segment (and period) the mean over draws of the transition matrices the paths "
        "use, rows renormalised, and the mean asset correlation; run on the same paths "
        "(common random numbers)"
    )
    assert block["description"] == (
        "law of total variance across posterior draws (parameter part exact from E[L | d] per "
        "draw, process part Monte Carlo) and, per level, the share of ES - EL that disappears "
        "at the posterior mean: 1 - (ES - EL at mean) / (ES - EL)"
    )
