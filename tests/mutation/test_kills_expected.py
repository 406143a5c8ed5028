"""Kill tests for `riskmodel.simulation.expected` (see docs/mutation.md).

Oracles by other routes than the module's closed forms and Gauss–Hermite sums:

- ``E[p(Z) m(Z)]`` with ``Z ~ N(s, 1)`` is a bivariate normal probability,
  ``Φ₂(Φ⁻¹(p) − √ρ s, (Φ⁻¹(m) − b s) / √(1 + b²); √ρ b / √(1 + b²))`` (write ``p(Z)`` and
  ``m(Z)`` as probabilities of two latent normals sharing ``Z``);
- the expected term structure by scalar loops over draws, cohorts, periods and rows, with each
  period's expectations over its own factor by adaptive quadrature (`scipy.integrate.quad`) of
  the conditional moves of `mutation_oracles.book` (the tower rule chains the periods).

Everything is deterministic: tolerances are quadrature accuracy (1e-8 relative).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import mutation_oracles as mo
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import ndtr, ndtri

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary
from riskmodel.simulation.expected import (
    expected_default_lgd,
    expected_loss_by_draw,
    expected_matrices,
    expected_term_structure,
)

norm = stats.norm


@pytest.mark.parametrize(
    ("p", "rho", "s", "m", "b"), [(0.02, 0.12, -1.0, 0.45, 0.3), (0.2, 0.4, 0.5, 0.3, 1.0)]
)
def test_expected_default_lgd_is_a_bivariate_normal_probability(p, rho, s, m, b):
    r = math.sqrt(rho) * b / math.sqrt(1 + b * b)
    x = [norm.ppf(p) - math.sqrt(rho) * s, (norm.ppf(m) - b * s) / math.sqrt(1 + b * b)]
    want = stats.multivariate_normal(mean=[0, 0], cov=[[1, r], [r, 1]]).cdf(x)
    got = expected_default_lgd(
        np.array([[p, p / 2]]), np.array([rho]), s, lgd_mean=m, sensitivity=b
    )
    assert got.shape == (1, 2)
    assert got[0, 0] == pytest.approx(want, rel=1e-6)  # the Φ₂ routine's own accuracy ~1e-8
    # several draws, each with its own correlation
    got2 = expected_default_lgd(
        np.array([[p], [p]]), np.array([0.0, rho]), s, lgd_mean=m, sensitivity=b
    )
    indep = p * stats.norm.cdf((norm.ppf(m) - b * s) / math.sqrt(1 + b * b))  # ρ = 0: independent
    assert got2[0, 0] == pytest.approx(indep, rel=1e-10)
    assert got2[1, 0] == pytest.approx(want, rel=1e-6)


def _quad(f, s):
    def phi(z):
        return math.exp(-0.5 * (z - s) ** 2) / math.sqrt(2 * math.pi)

    return integrate.quad(
        lambda z: f(z) * phi(z), -12 + s, 12 + s, epsabs=0, epsrel=1e-12, limit=200
    )[0]


@functools.cache
def _moments(p, rho, s, b):
    """``E[p(Z)]`` and ``E[p(Z) m(Z)]`` over ``Z ~ N(s, 1)`` by adaptive quadrature."""

    def pz(z):
        return ndtr((ndtri(p) - math.sqrt(rho) * z) / math.sqrt(1 - rho))

    return _quad(pz, s), _quad(lambda z: pz(z) * ndtr(ndtri(mo.LGD) - b * z), s)


def expected_oracle(sc, *, downturn):
    """Exact expectations of the book by loops and quadrature; means over the draws."""
    h = sc.horizon
    shift = np.asarray(sc.shift, dtype=float)
    rhos = np.asarray(sc.correlation, dtype=float)
    n_d = len(rhos)
    n_c = len(mo.COHORTS)
    out = {k: np.zeros(h) for k in ("loss", "defaults", "churn", "margin")}
    out["loss_c"] = np.zeros((h, n_c))
    out["defaults_c"] = np.zeros((h, n_c))
    out["churn_c"] = np.zeros((h, n_c))
    out["transient_c"] = np.zeros((h, n_c))
    out["occ"] = np.zeros((h, 4))
    out["loss_by_draw"] = np.zeros(n_d)
    trans = np.asarray(sc.transitions, dtype=float)
    for d in range(n_d):
        rho = rhos[d]
        for c, (seg, state, n, exposure, _) in enumerate(mo.COHORTS):
            x = [0.0] * 4
            x[mo.STATES.index(state)] = float(n)
            for t in range(h):
                s = shift[t]
                per_t = trans[d, t] if trans.ndim == 5 else trans[d]
                mats = {g: per_t[k].tolist() for k, g in enumerate(sc.segments)}
                new = [0.0, 0.0, x[2], x[3]]
                loss = 0.0
                for i in (0, 1):
                    p = mats[seg][i][3]
                    ep, epm = _moments(p, rho, s, downturn)
                    loss += x[i] * epm * exposure / n * mo.ead_factor(t)
                    for j in range(4):
                        new[j] += x[i] * (ep if j == 3 else mats[seg][i][j] * (1 - ep) / (1 - p))
                out["loss_c"][t, c] += loss / n_d
                out["loss_by_draw"][d] += loss
                out["defaults_c"][t, c] += (new[3] - x[3]) / n_d
                out["churn_c"][t, c] += (new[2] - x[2]) / n_d
                out["transient_c"][t, c] += (new[0] + new[1]) / n_d
                out["occ"][t] += np.array(new) / n_d
                x = new
    return out


def _shock_path(sc):
    """Transitions per period (D, T, S, K, K): default rates scaled 1, 1.6, 0.7, 1.3, ..."""
    base = np.asarray(sc.transitions, dtype=float)
    tt = np.repeat(base[:, None], sc.horizon, axis=1)
    for t in range(sc.horizon):
        tt[:, t, :, :2, 3] *= (1.0, 1.6, 0.7, 1.3)[t % 4]
        tt[:, t, :, :2, 0] = 1.0 - tt[:, t, :, :2, 1:].sum(axis=-1)
    return dataclasses.replace(sc, transitions=tt)


@pytest.mark.parametrize(
    ("downturn", "shocked", "horizon"),
    [(0.0, False, 13), (mo.B, False, 13), (mo.B, True, 13), (mo.B, True, 2)],
)
def test_expected_term_structure_matches_the_quadrature_oracle(downturn, shocked, horizon):
    sc = mo.with_draws(mo.book(horizon=horizon, downturn=downturn))
    if shocked:
        sc = _shock_path(sc)
    ds = expected_term_structure(sc)
    o = expected_oracle(sc, downturn=downturn)
    margin_pc = np.array([m / n for _, _, n, _, m in mo.COHORTS])
    df = np.array([(1 + mo.RATE) ** -(t + 1) for t in range(horizon)])
    seg_of = np.array([0, 0, 1])  # cards, cards, loans
    start_of = np.array([0, 1, 1])  # good, watch, watch
    rtol = 1e-8

    def close(name, want):
        np.testing.assert_allclose(ds[name].to_numpy(), want, rtol=rtol, atol=1e-9, err_msg=name)

    close("loss", o["loss_c"].sum(axis=1))
    close("defaults", o["defaults_c"].sum(axis=1))
    close("churn", o["churn_c"].sum(axis=1))
    close("margin", o["transient_c"] @ margin_pc)
    close("occupancy", o["occ"])
    close("discount_factor", df)
    by_seg = np.zeros((2, 3))
    by_seg[seg_of, np.arange(3)] = 1.0
    by_start = np.zeros((3, 2))
    by_start[np.arange(3), start_of] = 1.0
    close("loss_by_segment", by_seg @ o["loss_c"].sum(axis=0))
    close("defaults_by_segment", by_seg @ o["defaults_c"].sum(axis=0))
    close("churn_by_segment", by_seg @ o["churn_c"].sum(axis=0))
    close("loss_by_state", o["loss_c"] @ by_start)
    close("defaults_by_state", o["defaults_c"] @ by_start)
    close("churn_by_state", o["churn_c"] @ by_start)
    close("customers_by_state", np.array([1000.0, 700.0]))
    value_c = (o["transient_c"] * df[:, None]).sum(axis=0) * margin_pc
    close("value_by_state", value_c @ by_start)
    close("value_by_segment", by_seg @ value_c)
    remaining = np.array([math.fsum(df[t:]) for t in range(horizon)])
    close("value_lost_to_churn", float(np.sum((o["churn_c"] @ margin_pc) * remaining)))
    # customers per segment and transient state at the start of each period
    start_occ = ds["occupancy_start"].to_numpy()
    np.testing.assert_allclose(start_occ[0], [[1000.0, 200.0], [0.0, 500.0]], rtol=1e-12)
    np.testing.assert_allclose(
        start_occ[1:].sum(axis=(1, 2)), o["occ"][:-1, :2].sum(axis=1), rtol=rtol
    )
    # per-draw expected loss, and the summary's discounted figures
    np.testing.assert_allclose(expected_loss_by_draw(sc), o["loss_by_draw"], rtol=rtol)
    summ = exact_summary(ds)
    ecl = o["loss_c"].sum(axis=1) * df
    assert summ["ecl"]["lifetime"] == pytest.approx(ecl.sum(), rel=rtol)
    assert summ["ecl"]["12_period"] == pytest.approx(ecl[:12].sum(), rel=rtol)
    assert ds.attrs["parameter_draws"] == 3 and ds.attrs["horizon"] == horizon
    np.testing.assert_allclose(summ["ecl"]["by_period"], ecl, rtol=rtol)
    assert summ["value"]["expected"] == pytest.approx(value_c.sum(), rel=rtol)
    assert summ["loss"]["expected"] == pytest.approx(o["loss_c"].sum(), rel=rtol)
    assert summ["ecl"]["12_month"] == summ["ecl"]["12_period"]
    want_vlc = float(np.sum((o["churn_c"] @ margin_pc) * remaining))
    assert summ["value_lost_to_churn"]["expected"] == pytest.approx(want_vlc, rel=rtol)
    assert summ["defaults"]["expected"] == pytest.approx(o["defaults_c"].sum(), rel=rtol)
    assert summ["churn"]["expected"] == pytest.approx(o["churn_c"].sum(), rel=rtol)


def test_twelve_month_ecl_of_quarterly_periods_is_four_periods():
    # periods of one quarter: the 12-month window is 4 periods; a dataset without the period
    # attribute is read as monthly (12 periods)
    sc = mo.book(horizon=13, period={"length": 1, "unit": "quarter"})
    ds = expected_term_structure(sc)
    df = np.array([(1 + mo.RATE) ** -(t + 1) for t in range(13)])
    ecl = ds["loss"].to_numpy() * df
    summ = exact_summary(ds)
    assert summ["ecl"]["12_month"] == pytest.approx(ecl[:4].sum(), rel=1e-12)
    del ds.attrs["ecl_12_month_periods"]
    assert exact_summary(ds)["ecl"]["12_period"] == pytest.approx(ecl[:12].sum(), rel=1e-12)


def test_pds_rounded_past_the_unit_interval_are_clipped():
    # p = 1 (+ rounding): E[1 · m(Z)] = Φ((Φ⁻¹(m) − b s)/√(1 + b²)); p = 0 (− rounding): 0
    m, b, s = 0.45, 0.3, -0.5
    got = expected_default_lgd(
        np.array([[1.0 + 2e-16, -1e-18]]), np.array([0.2]), s, lgd_mean=m, sensitivity=b
    )
    want = norm.cdf((norm.ppf(m) - b * s) / math.sqrt(1 + b * b))
    assert got[0, 0] == pytest.approx(want, rel=1e-12)
    assert got[0, 1] == 0.0


def test_single_precision_parameters_give_the_same_expectations():
    # posterior draws stored as float32: the exact expectations are computed in float64 from
    # the same values (metamorphic: the input's dtype must not change the result)
    sc = mo.with_draws(mo.book(horizon=6))
    t32 = np.asarray(sc.transitions).astype(np.float32)
    r32 = np.asarray(sc.correlation).astype(np.float32)
    sc32 = dataclasses.replace(sc, transitions=t32, correlation=r32)
    sc64 = dataclasses.replace(sc, transitions=t32.astype(float), correlation=r32.astype(float))
    a, b = expected_term_structure(sc32), expected_term_structure(sc64)
    for v in ("loss", "defaults", "churn", "margin", "occupancy"):
        np.testing.assert_allclose(a[v], b[v], rtol=1e-13, err_msg=v)
    pd32 = t32[:, :, :2, 3]
    got = expected_default_lgd(pd32, r32, -1.0, lgd_mean=0.45, sensitivity=0.3)
    want = expected_default_lgd(
        pd32.astype(float), r32.astype(float), -1.0, lgd_mean=0.45, sensitivity=0.3
    )
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_expected_matrices_of_float32_inputs_and_bad_shapes():
    sc = mo.with_draws(mo.book(horizon=4))
    t = np.asarray(sc.transitions).astype(np.float32)  # (D, S, K, K)
    rho = np.asarray(sc.correlation).astype(np.float32)
    shift = np.array([-1.0, 0.5, 0.25, -0.7], dtype=np.float32)
    kw = {"transient_idx": np.array([0, 1]), "default_idx": 3}
    want = expected_matrices(t.astype(float), rho.astype(float), shift.astype(float), **kw)
    np.testing.assert_allclose(expected_matrices(t, rho, shift, **kw), want, rtol=1e-13)
    # the default entry is Φ(Φ⁻¹(p) − √ρ s) and each row sums to one
    p, r, s = t[:, :, :2, 3].astype(float), rho.astype(float), shift.astype(float)
    mean_pd = norm.cdf(
        norm.ppf(p)[:, None] - np.sqrt(r)[:, None, None, None] * s[None, :, None, None]
    )
    np.testing.assert_allclose(want[..., 3], mean_pd, rtol=1e-12)
    np.testing.assert_allclose(want.sum(axis=-1), 1.0, rtol=1e-12)
    t = t.astype(float)
    bad = {
        "three dims": t[0],
        "time axis 3 for horizon 4": np.repeat(t[:, None], 3, axis=1),
        "rows not square": np.concatenate([t, t[..., :1]], axis=-1)[:, None],
    }
    for what, arr in bad.items():
        with pytest.raises(ValueError, match="`transitions` must have shape"):
            expected_matrices(arr, rho, shift, **kw)
        assert what
    with pytest.raises(ValueError, match="`correlation` needs one value per draw"):
        expected_matrices(t, rho[:2], shift, **kw)


def test_a_book_without_churn_state_has_no_churn():
    # states ok / defaulted only: churn is zero, defaults of period 1 are N Φ(Φ⁻¹(p) − √ρ s)
    cfg = {
        "name": "no-churn",
        "horizon": 3,
        "paths": 10,
        "seed": 1,
        "states": {
            "names": ["ok", "defaulted"],
            "absorbing": ["defaulted"],
            "default": "defaulted",
        },
        "portfolio": {
            "cohorts": [{"segment": "a", "state": "ok", "customers": 100, "exposure": 1e4}]
        },
        "parameters": {"transitions": {"a": [[0.97, 0.03]]}},
        "systematic": {"correlation": 0.2, "shift": -1.0},
        "lgd": {"mean": 0.5, "sd": 0.0},
    }
    ds = expected_term_structure(rm.scenario_from_dict(cfg))
    assert ds["churn"].to_numpy().tolist() == [0.0, 0.0, 0.0]
    pd1 = norm.cdf(norm.ppf(0.03) + math.sqrt(0.2))
    alive = 100.0 * (1 - pd1) ** np.arange(3)
    np.testing.assert_allclose(ds["defaults"], alive * pd1, rtol=1e-12)
    np.testing.assert_allclose(ds["loss"], alive * pd1 * 100.0 * 0.5, rtol=1e-12)


def test_default_entries_rounded_past_the_unit_interval_are_clipped():
    # a row that defaults surely (its entry 1 + rounding) stays a sure default; a PD of −0 is 0
    t = np.zeros((1, 1, 4, 4))
    t[0, 0, 0, 3] = 1.0 + 2e-16
    t[0, 0, 1, :] = [0.9, 0.1, 0.0, -1e-18]
    t[0, 0, 2, 2] = t[0, 0, 3, 3] = 1.0
    em = expected_matrices(
        t, np.array([0.2]), np.array([-1.0]), transient_idx=np.array([0, 1]), default_idx=3
    )
    np.testing.assert_allclose(em[0, 0, 0, 0], [0.0, 0.0, 0.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(em[0, 0, 0, 1], [0.9, 0.1, 0.0, 0.0], atol=1e-15)


def test_term_structure_is_labelled_by_the_contracts_dimensions():
    # the labelled-array contract (DESIGN.md, STYLE.md #5): reduce by name, never by position
    sc = mo.with_draws(mo.book(horizon=3))
    ds = expected_term_structure(sc)
    dims = {
        "loss": ("period",),
        "occupancy": ("period", "state"),
        "loss_by_segment": ("segment",),
        "loss_by_state": ("period", "start_state"),
        "customers_by_state": ("start_state",),
        "value_by_segment": ("segment",),
        "occupancy_start": ("period", "segment", "transient_state"),
        "value_lost_to_churn": (),
    }
    for name, want in dims.items():
        assert ds[name].dims == want, name
    assert ds["period"].to_numpy().tolist() == [1, 2, 3]
    assert ds["state"].to_numpy().tolist() == mo.STATES
    assert ds["segment"].to_numpy().tolist() == ["cards", "loans"]
    assert ds["start_state"].to_numpy().tolist() == ["good", "watch"]
    assert ds["transient_state"].to_numpy().tolist() == ["good", "watch"]
    assert ds.attrs["scenario"] == "mutation-oracle"
    assert ds.attrs["exact"] == 1
