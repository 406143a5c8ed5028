"""The variables of ``results.nc`` against closed forms: a three-period large-pool book.

The book of `oracle_builders.one_period_book`, run for ``H = 3`` periods: one cohort of ``N``
customers in one transient state, PD ``p``, churn ``c``, stay ``s = 1 − p − c``, EAD 1, LGD 1,
margin ``M`` per period for the whole cohort. Then, exactly,

- expected customers alive at the start of period ``t``: ``N s^(t−1)``; expected defaults,
  loss and churn in ``t``: ``N s^(t−1) p`` and ``N s^(t−1) c``; margin earned in ``t`` (by
  those still there at its end): ``M s^t``; occupancy at the end of ``t``: ``N s^t``
  performing, ``N c Σ_{u ≤ t} s^(u−1)`` churned, ``N p Σ_{u ≤ t} s^(u−1)`` defaulted;
- per path, in the large-pool limit, the default rate of period ``t`` (defaults over the
  customers alive at its start) is ``p(Z_t)``: its weighted law is Vasicek's, the factor
  ``Z_t = (Φ⁻¹(p) − √(1 − ρ) Φ⁻¹(rate)) / √ρ`` can be read back from it, and the churners and
  the margin follow from it.

Importance sampling is on (the default tilt). Tolerances: exact variables to rounding; Monte
Carlo comparisons within ``Z45 = 4.5`` standard errors computed here from the saved paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle_builders import Z45, book_constants, fraction_cdf, one_period_book, vasicek_quantile
from scipy import stats

import riskmodel as rm

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

K = book_constants()
H = 3
ALERT = {"name": "rate", "metric": "default_rate", "threshold": 0.03, "confidence": 0.5}


def _config(keep: str) -> dict:
    cfg = one_period_book(paths=20_000, seed=31, levels=(0.99,))
    cfg["horizon"] = H
    cfg["alerts"] = [ALERT]
    cfg["simulation"]["keep"] = keep
    return cfg


@pytest.fixture(scope="module")
def runs():
    """(paths run, totals run) of the same scenario and seed."""
    return tuple(
        rm.simulate(rm.scenario_from_dict(_config(keep)), progress=False).data
        for keep in ("paths", "totals")
    )


def _per_period(ds, name: str) -> np.ndarray:
    return ds[name].transpose("path", "period").to_numpy()


def _rates(ds) -> np.ndarray:
    d, ch = _per_period(ds, "defaults"), _per_period(ds, "churn")
    alive = K["n"] - (np.cumsum(d + ch, axis=1) - (d + ch))
    return d / alive


def test_exact_variables_are_the_closed_forms(runs):
    ds, _ = runs
    n, p, c, m, df = K["n"], K["p"], K["c"], K["margin"], K["df"]
    s = 1.0 - p - c
    t = np.arange(1, H + 1)
    start = n * s ** (t - 1)
    disc = df**t
    np.testing.assert_allclose(ds["discount_factor"], disc, rtol=1e-12)
    np.testing.assert_allclose(ds["exposure"].sel(segment="retail"), float(n), rtol=1e-12)
    per_period = {
        "exact_loss": start * p,
        "exact_defaults": start * p,
        "exact_churn": start * c,
        "exact_margin": m * s**t,
    }
    for name, truth in per_period.items():
        np.testing.assert_allclose(ds[name], truth, rtol=1e-9, err_msg=name)
    for name in ("exact_loss", "exact_defaults", "exact_churn"):
        by_state = ds[f"{name}_by_state"].sel(start_state="performing")
        np.testing.assert_allclose(by_state, per_period[name], rtol=1e-9, err_msg=name)
    occ = ds["exact_occupancy"]
    left = np.cumsum(start)
    np.testing.assert_allclose(occ.sel(state="performing"), n * s**t, rtol=1e-9)
    np.testing.assert_allclose(occ.sel(state="churned"), c * left, rtol=1e-9)
    np.testing.assert_allclose(occ.sel(state="defaulted"), p * left, rtol=1e-9)
    start_occ = ds["exact_occupancy_start"].sel(segment="retail", transient_state="performing")
    np.testing.assert_allclose(start_occ, start, rtol=1e-9)
    assert float(ds["exact_customers_by_state"].sel(start_state="performing")) == n
    value = float(np.sum(m * s**t * disc))
    assert float(ds["exact_value_by_state"].sel(start_state="performing")) == pytest.approx(
        value, rel=1e-9
    )
    totals = {
        "exact_loss_by_segment": p * left[-1],
        "exact_defaults_by_segment": p * left[-1],
        "exact_churn_by_segment": c * left[-1],
        "exact_value_by_segment": value,
    }
    for name, truth in totals.items():
        assert float(ds[name].sel(segment="retail")) == pytest.approx(truth, rel=1e-9), name


def test_per_period_paths_follow_the_one_factor_law(runs):
    """Each period's default rate has Vasicek's weighted law; churn and margin are its
    closed-form functions path by path; the segment and cohort splits add up to the total."""
    ds, _ = runs
    w = ds["weight"].to_numpy()
    wn = w * w.size / w.sum()
    rates = _rates(ds)
    d, ch = _per_period(ds, "defaults"), _per_period(ds, "churn")
    alive = d / rates
    np.testing.assert_allclose(ch, alive * (1 - rates) * K["churn_share"], rtol=1e-9)
    stay = alive - d - ch
    np.testing.assert_allclose(_per_period(ds, "margin"), K["margin"] / K["n"] * stay, rtol=1e-9)
    np.testing.assert_allclose(_per_period(ds, "loss"), d, rtol=1e-12)
    total = d.sum(axis=1)
    np.testing.assert_allclose(ds["loss_by_segment"].sum("segment"), total, rtol=1e-12)
    np.testing.assert_allclose(ds["loss_by_cohort"].sum("cohort"), total, rtol=1e-12)
    for t in range(H):
        for q in (0.5, 0.9, 0.99):
            x = float(vasicek_quantile(q, K["p"], K["rho"]))
            ind = (rates[:, t] <= x).astype(float)
            est = float(np.mean(wn * ind))
            se = float(np.std(wn * (ind - est), ddof=1) / np.sqrt(w.size))
            assert abs(est - fraction_cdf(x, K["p"], K["rho"])) <= Z45 * se, (t, q, est)


def test_is_shift_is_the_mean_factor_innovation_of_the_tilt(runs):
    """The factor read back from each path's default rate: the proposal is a mixture of the
    tilt (mean ``is_shift``) and, with probability ``importance_p_plain``, the untilted law,
    so the paths' plain mean is ``(1 − p_plain) is_shift``; the weighted mean is the
    target's, 0."""
    ds, _ = runs
    w = ds["weight"].to_numpy()
    wn = w * w.size / w.sum()
    a, rho = stats.norm.ppf(K["p"]), K["rho"]
    z = (a - np.sqrt(1 - rho) * stats.norm.ppf(_rates(ds))) / np.sqrt(rho)
    shift = ds["is_shift"].to_numpy()
    plain = float(ds.attrs["importance_p_plain"])
    assert 0 < plain < 1 and np.all(shift < -0.1)  # tilted toward the downturn
    for t in range(H):
        se = z[:, t].std(ddof=1) / np.sqrt(w.size)
        mean = z[:, t].mean()
        assert abs(mean - (1 - plain) * shift[t]) <= Z45 * se, (t, mean, shift[t])
        psi = wn * (z[:, t] - np.mean(wn * z[:, t]))
        assert abs(np.mean(wn * z[:, t])) <= Z45 * psi.std(ddof=1) / np.sqrt(w.size)


def test_totals_run_variables_are_the_discounted_sums_and_weighted_means(runs):
    """``keep: totals``: ``*_discounted`` are ``Σ_t df_t x_t`` of the same paths; ``mc_mean_*``
    the weighted means per period, covering the exact ones; the engine's alert sums are
    ``(1/N) Σ w 1{rate > x}`` and ``(1/N) Σ (w 1{…})²`` per period."""
    full, totals = runs
    w = full["weight"].to_numpy()
    np.testing.assert_array_equal(totals["weight"].to_numpy(), w)
    df = full["discount_factor"].to_numpy()
    wn = w * w.size / w.sum()
    for name in ("loss", "defaults", "churn", "margin"):
        x = _per_period(full, name)
        np.testing.assert_allclose(totals[f"{name}_discounted"], x @ df, rtol=1e-12)
        np.testing.assert_allclose(totals[name], x.sum(axis=1), rtol=1e-12)
        # stored unnormalised, (1/N) Σ w x; readers rescale by N / Σ w (self-normalised)
        np.testing.assert_allclose(
            totals[f"mc_mean_{name}"], np.mean(w[:, None] * x, axis=0), rtol=1e-9
        )
        mean = np.mean(wn[:, None] * x, axis=0)
        se = np.std(wn[:, None] * (x - mean), axis=0, ddof=1) / np.sqrt(w.size)
        exact = full[f"exact_{name}"].to_numpy()
        assert np.all(np.abs(mean - exact) <= Z45 * se), (name, mean, exact, se)
    hit = w[:, None] * (_rates(full) > ALERT["threshold"])
    assert list(totals["engine_alert"].values) == [ALERT["name"]]
    assert str(totals["engine_alert_metric"].values[0]) == ALERT["metric"]
    assert float(totals["engine_alert_threshold"].values[0]) == ALERT["threshold"]
    np.testing.assert_allclose(totals["engine_alert_mean"][0], hit.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(totals["engine_alert_square"][0], np.mean(hit**2, axis=0), rtol=1e-9)


def test_labels_are_the_scenarios(runs):
    ds, _ = runs
    assert list(ds["path"].values) == list(range(20_000))
    assert list(ds["period"].values) == [1, 2, 3]
    assert list(ds["segment"].values) == ["retail"]
    assert list(ds["state"].values) == ["performing", "churned", "defaulted"]
    assert list(ds["start_state"].values) == ["performing"]
    assert list(ds["transient_state"].values) == ["performing"]
    assert list(ds["cohort"].values) == ["retail/performing"]
    assert np.all(ds["draw"].values == 0)  # point parameters: one draw
