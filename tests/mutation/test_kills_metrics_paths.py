"""Kill tests for `riskmodel.metrics.expectations` and `.weighted_paths` (see docs/mutation.md):
every figure of the ``expectations`` block and of a headline expectation, on a hand-built
dataset with heavy weights, against sums written out path by path.

The data are fixed (no simulation): the oracle is scalar Python arithmetic (``math.fsum``), so
figures must agree to rounding (1e-12 relative). The self-normalised mean is
``Σ w x / Σ w`` with the delta-method error ``sqrt(N/(N−1) Σ w² (x − μ̂)²) / Σ w``
(Owen 2013, §9.2), or, with quasi-Monte Carlo replicates, the spread of the per-replicate
means ``std(μ̂_r, ddof=1)/√R`` over the replicates with a positive weight sum.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from riskmodel.metrics.expectations import (
    EXPECTATIONS,
    exact_dataset,
    exact_summary,
    expectation,
    expectations_section,
    self_normalised_mean,
)
from riskmodel.metrics.weighted_paths import (
    WEIGHTING_NOTE,
    WeightedPaths,
    with_weighting_note,
)

N, T = 240, 5
SEGMENTS, STATES = ["a", "b"], ["s1", "s2", "s3"]
PER_PERIOD = ("loss", "defaults", "churn", "margin")


def _sn(x: list[float], w: list[float]) -> tuple[float, float]:
    """Self-normalised mean and its delta-method standard error, in scalar loops."""
    sw = math.fsum(w)
    mu = math.fsum(wi * xi for wi, xi in zip(w, x, strict=True)) / sw
    ss = math.fsum(wi * wi * (xi - mu) ** 2 for wi, xi in zip(w, x, strict=True))
    return mu, math.sqrt(len(x) / (len(x) - 1) * ss) / sw


def _sn_replicates(x: list[float], w: list[float], rep: list[int]) -> tuple[float, float]:
    """Self-normalised mean; the error from the replicates with a positive weight sum."""
    mu = _sn(x, w)[0]
    means = []
    for r in sorted(set(rep)):
        xr_ = [xi for xi, ri in zip(x, rep, strict=True) if ri == r]
        wr = [wi for wi, ri in zip(w, rep, strict=True) if ri == r]
        if math.fsum(wr) > 0:
            means.append(math.fsum(a * b for a, b in zip(wr, xr_, strict=True)) / math.fsum(wr))
    if len(means) < 2:
        return mu, _sn(x, w)[1]
    m = math.fsum(means) / len(means)
    sd = math.sqrt(math.fsum((v - m) ** 2 for v in means) / (len(means) - 1))
    return mu, sd / math.sqrt(len(means))


def _dataset(*, exact: bool = True, replicate: np.ndarray | None = None) -> xr.Dataset:
    rng = np.random.default_rng(20261202)
    per_period = {k: rng.gamma(2.0, 10.0, (N, T)) for k in PER_PERIOD}
    ds = xr.Dataset(
        {
            **{k: (("path", "period"), v) for k, v in per_period.items()},
            "loss_by_segment": (("path", "segment"), rng.gamma(2.0, 5.0, (N, len(SEGMENTS)))),
            "churn_value_lost": ("path", rng.gamma(3.0, 4.0, N)),
            "weight": ("path", rng.lognormal(0.0, 1.0, N)),  # heavy: Σ w far from N
            "discount_factor": ("period", np.cumprod(np.full(T, 1 / 1.03))),
        },
        coords={"segment": SEGMENTS},
        attrs={"ecl_12_month_periods": 2.5},
    )
    if replicate is not None:
        ds["replicate"] = ("path", replicate)
    if exact:
        ex = {f"exact_{k}": ("period", rng.uniform(5.0, 50.0, T)) for k in PER_PERIOD}
        ex.update(
            exact_value_lost_to_churn=((), 12.5),
            exact_loss_by_segment=("segment", [30.0, 70.0]),
            exact_defaults_by_segment=("segment", [3.0, 7.0]),
            exact_value_by_segment=("segment", [40.0, 60.0]),
            exact_customers_by_state=("start_state", [100.0, 50.0, 0.0]),
            exact_loss_by_state=(("start_state", "period"), rng.uniform(1.0, 9.0, (3, T))),
            exact_defaults_by_state=(("period", "start_state"), rng.uniform(0.1, 1.0, (T, 3))),
            exact_value_by_state=("start_state", [11.0, 22.0, 0.0]),
        )
        ds = ds.assign(ex).assign_coords(start_state=STATES)
    return ds


def _col(ds: xr.Dataset, name: str) -> list[float]:
    """Per-path horizon totals of a headline expectation, in scalar loops."""
    df = ds["discount_factor"].values.tolist()
    if name == "value":
        rows = ds["margin"].transpose("path", "period").values.tolist()
        return [math.fsum(v * d for v, d in zip(row, df, strict=True)) for row in rows]
    if name == "value_lost_to_churn":
        return ds["churn_value_lost"].values.tolist()
    return [math.fsum(row) for row in ds[name].transpose("path", "period").values.tolist()]


def _exact_total(ds: xr.Dataset, name: str) -> float:
    if name == "value":
        return math.fsum(
            m * d
            for m, d in zip(ds["exact_margin"].values, ds["discount_factor"].values, strict=True)
        )
    if name == "value_lost_to_churn":
        return float(ds["exact_value_lost_to_churn"])
    return math.fsum(ds[f"exact_{name}"].values.tolist())


@pytest.mark.parametrize("name", EXPECTATIONS)
def test_headline_expectation_is_exact_with_the_self_normalised_cross_check(name):
    ds = _dataset()
    got = expectation(ds, name)
    mc, se = _sn(_col(ds, name), ds["weight"].values.tolist())
    truth = _exact_total(ds, name)
    assert got["method"] == "exact"
    assert got["expected"] == pytest.approx(truth, rel=1e-12)
    assert got["expected_mc"] == pytest.approx(mc, rel=1e-12)
    assert got["stderr_mc"] == pytest.approx(se, rel=1e-10)
    assert got["z_mc"] == pytest.approx((mc - truth) / se, rel=1e-9)
    assert got["stderr"] == {"expected": 0.0, "expected_mc": got["stderr_mc"]}


@pytest.mark.parametrize("name", ["loss", "value"])
def test_headline_expectation_without_exact_values_is_the_monte_carlo_one(name):
    ds = _dataset(exact=False)
    got = expectation(ds, name)
    mc, se = _sn(_col(ds, name), ds["weight"].values.tolist())
    assert got["method"] == "monte_carlo" and got["z_mc"] is None
    assert got["expected"] == pytest.approx(mc, rel=1e-12)
    assert got["stderr"]["expected"] == pytest.approx(se, rel=1e-10)
    assert got["stderr"]["expected_mc"] == pytest.approx(se, rel=1e-10)
    assert exact_dataset(ds) is None


def test_expectation_of_a_run_without_churn_value_and_an_unknown_name():
    ds = _dataset().drop_vars("churn_value_lost")
    assert expectation(ds, "value_lost_to_churn") is None
    with pytest.raises(ValueError, match="`name` must be one of"):
        expectation(ds, "losses")


def test_a_zero_standard_error_gives_no_z_score():
    ds = _dataset()
    ds["churn"] = xr.full_like(ds["churn"], 1.0)  # every path the same: stderr 0
    ds["weight"] = xr.ones_like(ds["weight"])  # (unit weights: μ̂ is exactly 5, no rounding)
    got = expectation(ds, "churn")
    assert got["stderr_mc"] == 0.0 and got["z_mc"] is None


def test_replicate_errors_are_the_spread_of_the_replicate_means():
    rep = np.repeat(np.arange(6), N // 6)
    ds = _dataset(replicate=rep)
    w = ds["weight"].values.copy()
    w[rep == 5] = 0.0  # a replicate without weight is left out of the spread
    ds["weight"] = ("path", w)
    got = expectation(ds, "loss")
    mc, se = _sn_replicates(_col(ds, "loss"), w.tolist(), rep.tolist())
    assert got["expected_mc"] == pytest.approx(mc, rel=1e-12)
    assert got["stderr_mc"] == pytest.approx(se, rel=1e-10)
    # one replicate with weight: the delta-method error instead
    w1 = np.where(rep == 0, ds["weight"].values, 0.0)
    m1, s1 = self_normalised_mean(_col(ds, "loss"), weights=w1, replicate=rep)
    assert (m1, s1) == pytest.approx(_sn(_col(ds, "loss"), w1.tolist()), rel=1e-10)
    # no weights: every replicate counts
    m2, s2 = self_normalised_mean(_col(ds, "loss"), replicate=rep)
    assert (m2, s2) == pytest.approx(_sn_replicates(_col(ds, "loss"), [1.0] * N, rep), rel=1e-10)


def test_self_normalised_mean_of_columns_and_its_shape_checks():
    ds = _dataset()
    x = ds["loss"].values
    w = ds["weight"].values
    mean, se = self_normalised_mean(x, weights=w)
    for t in range(T):
        want = _sn(x[:, t].tolist(), w.tolist())
        assert (mean[t], se[t]) == pytest.approx(want, rel=1e-10)
    plain = self_normalised_mean(x[:, 0])
    assert plain == pytest.approx(_sn(x[:, 0].tolist(), [1.0] * N), rel=1e-10)
    assert isinstance(plain[0], float) and isinstance(plain[1], float)
    with pytest.raises(ValueError, match=r"\(paths,\) or \(paths, K\)"):
        self_normalised_mean(np.ones((2, 2, 2)))


@pytest.mark.parametrize("stderr", [True, False])
def test_expectations_block_by_period_segment_and_state(stderr):
    ds = _dataset()
    got = expectations_section(ds, period_stderr=stderr)
    w = ds["weight"].values.tolist()
    assert got["method"] == "exact" and got["mc_estimator"] == "self-normalised"
    assert set(got["description"]) == {"method", "expected_mc"}
    for name in PER_PERIOD:
        entry = got["by_period"][name]
        cols = ds[name].transpose("path", "period").values
        want = [_sn(cols[:, t].tolist(), w) for t in range(T)]
        assert entry["exact"] == ds[f"exact_{name}"].values.tolist()
        assert entry["mc"] == pytest.approx([m for m, _ in want], rel=1e-12)
        if stderr:
            assert entry["stderr_mc"] == pytest.approx([s for _, s in want], rel=1e-10)
        else:
            assert set(entry) == {"exact", "mc"}
    seg = got["by_segment"]
    cols = ds["loss_by_segment"].values
    for j, s in enumerate(SEGMENTS):
        m, e = _sn(cols[:, j].tolist(), w)
        assert seg["loss"]["mc"][s] == pytest.approx(m, rel=1e-12)
        assert seg["loss"]["stderr_mc"][s] == pytest.approx(e, rel=1e-10)
    assert seg["loss"]["exact"] == {"a": 30.0, "b": 70.0}
    assert seg["defaults"] == {"exact": {"a": 3.0, "b": 7.0}}
    assert seg["value"] == {"exact": {"a": 40.0, "b": 60.0}}
    assert "churn" not in seg  # no exact churn by segment in this file
    state = got["by_state"]
    assert state["customers"] == {"s1": 100.0, "s2": 50.0, "s3": 0.0}
    for name in ("loss", "defaults"):
        table = ds[f"exact_{name}_by_state"].transpose("start_state", "period").values
        want = {s: math.fsum(row) for s, row in zip(STATES, table.tolist(), strict=True)}
        assert state[name]["exact"] == pytest.approx(want, rel=1e-12)
    assert state["value"] == {"exact": {"s1": 11.0, "s2": 22.0, "s3": 0.0}}
    assert "churn" not in state


def test_expectations_block_of_a_totals_run_and_of_a_run_without_exact_values():
    ds = _dataset(exact=False)
    w = ds["weight"].values
    means = {k: (w[:, None] * ds[k].values).sum(axis=0) / N for k in PER_PERIOD}
    totals = ds.assign(
        {k: ("path", ds[k].values.sum(axis=1)) for k in PER_PERIOD}
        | {f"mc_mean_{k}": ("period", v) for k, v in means.items()}
    )
    got = expectations_section(totals)
    assert got["method"] == "monte_carlo" and "by_state" not in got
    for name in PER_PERIOD:
        cols = ds[name].values
        want = [_sn(cols[:, t].tolist(), w.tolist())[0] for t in range(T)]
        assert got["by_period"][name]["mc"] == pytest.approx(want, rel=1e-12)
        assert all(math.isnan(v) for v in got["by_period"][name]["stderr_mc"])
        assert "exact" not in got["by_period"][name]
    assert set(got["by_segment"]) == {"loss"} and "exact" not in got["by_segment"]["loss"]


def test_exact_summary_reads_the_window_of_the_run():
    ds = _dataset()
    exact = exact_dataset(ds)
    assert set(exact.data_vars) >= {"loss", "margin", "value_lost_to_churn", "discount_factor"}
    got = exact_summary(exact)
    df = ds["discount_factor"].values
    ecl = (ds["exact_loss"].values * df).tolist()
    assert got["ecl"]["by_period"] == pytest.approx(ecl, rel=1e-12)
    assert got["ecl"]["lifetime"] == pytest.approx(math.fsum(ecl), rel=1e-12)
    window = ecl[0] + ecl[1] + 0.5 * ecl[2]  # ecl_12_month_periods = 2.5
    assert got["ecl"]["12_month"] == pytest.approx(window, rel=1e-12)
    assert got["ecl"]["12_period"] == got["ecl"]["12_month"]
    for name in EXPECTATIONS:
        assert got[name]["expected"] == pytest.approx(_exact_total(ds, name), rel=1e-12)
    exact.attrs = {}  # no window recorded: 12 periods, here the whole horizon
    assert exact_summary(exact)["ecl"]["12_month"] == pytest.approx(math.fsum(ecl), rel=1e-12)


class _Paths(WeightedPaths):
    def __init__(self, data: xr.Dataset) -> None:
        self.data = data


def test_weighted_path_statistics_against_loops():
    ds = _dataset()
    paths = _Paths(ds)
    w = ds["weight"].values
    np.testing.assert_allclose(paths.probabilities.values, w / math.fsum(w.tolist()), rtol=1e-12)
    assert paths.probabilities.name == "probability"
    mean = paths.weighted_mean("loss")
    for t in range(T):
        want = _sn(ds["loss"].values[:, t].tolist(), w.tolist())[0]
        assert float(mean.isel(period=t)) == pytest.approx(want, rel=1e-12)
    x = ds["churn_value_lost"]
    for q in (0.1, 0.5, 0.9):  # min{x_i : Σ_{x_j > x_i} w_j / Σ w ≤ 1 − q}
        order = np.unique(x.values)
        want = next(v for v in order if w[x.values > v].sum() / w.sum() <= 1 - q)
        got = paths.weighted_quantile(x, q)
        assert float(got) == want and got.dims == ()
    both = paths.weighted_quantile("churn_value_lost", [0.1, 0.9])
    assert both.dims == ("quantile",) and both["quantile"].values.tolist() == [0.1, 0.9]
    with pytest.raises(ValueError, match="`dim` must be 'path'"):
        paths.weighted_mean("loss", dim="period")
    with pytest.raises(ValueError, match="per-path variable"):
        paths.weighted_mean("discount_factor")


def test_weighting_note_says_whether_the_weights_matter():
    ds = _dataset()
    noted = with_weighting_note(ds)
    assert noted.attrs["weighting"] == WEIGHTING_NOTE
    assert noted["weight"].attrs["weighting"] == WEIGHTING_NOTE
    assert "weighting" not in ds.attrs  # a copy
    plain = with_weighting_note(ds.assign(weight=("path", np.ones(N))))
    assert plain.attrs["weighting"].startswith("plain Monte Carlo")
    assert plain["weight"].attrs["weighting"] == plain.attrs["weighting"]
    bare = ds.drop_vars("weight")
    assert with_weighting_note(bare) is bare


def test_defaults_of_the_weighted_accessors_and_the_listing_in_their_error():
    ds = _dataset()
    paths = _Paths(ds)
    xr.testing.assert_identical(paths.weighted_mean(), paths.weighted_mean("loss"))
    median = paths.weighted_quantile()  # loss, q = 0.5: one median per period
    assert median.dims == ("period",) and float(median["quantile"]) == 0.5
    xr.testing.assert_identical(median, paths.weighted_quantile("loss", 0.5))
    per_path = ["loss", "defaults", "churn", "margin", "loss_by_segment", "churn_value_lost"]
    listing = str(sorted([*per_path, "weight"]))
    with pytest.raises(ValueError) as err:
        paths.weighted_mean("exact_loss")
    assert f"Per-path variables: {listing};" in str(err.value)


def test_per_period_errors_of_a_replicated_run_are_the_replicate_spread():
    rep = np.repeat(np.arange(6), N // 6)
    ds = _dataset(replicate=rep)
    got = expectations_section(ds)["by_period"]
    w = ds["weight"].values.tolist()
    for name in PER_PERIOD:
        cols = ds[name].values
        want = [_sn_replicates(cols[:, t].tolist(), w, rep.tolist())[1] for t in range(T)]
        assert got[name]["stderr_mc"] == pytest.approx(want, rel=1e-9)
    seg = expectations_section(ds)["by_segment"]["loss"]["stderr_mc"]
    cols = ds["loss_by_segment"].values
    want = {
        s: _sn_replicates(cols[:, j].tolist(), w, rep.tolist())[1] for j, s in enumerate(SEGMENTS)
    }
    assert seg == pytest.approx(want, rel=1e-9)


def test_exact_summary_defaults_to_a_twelve_period_window():
    n = 15  # longer than the window: 12 periods, not 13, not the horizon
    per = {k: ("period", np.arange(1.0, n + 1.0)) for k in ("loss", "defaults", "churn", "margin")}
    exact = xr.Dataset(
        per | {"discount_factor": ("period", np.full(n, 0.5)), "value_lost_to_churn": ((), 1.0)}
    )
    assert exact_summary(exact)["ecl"]["12_month"] == 0.5 * math.fsum(range(1, 13))


def test_value_errors_carry_the_monte_carlo_mean_unless_the_mean_is_exact():
    from riskmodel.metrics.value import value_measures

    rng = np.random.default_rng(8)
    x = rng.normal(100.0, 15.0, 400).tolist()
    w = rng.lognormal(0.0, 1.0, 400).tolist()
    n, q, a = len(x), 0.9, 0.1
    wt = [wi * n / math.fsum(w) for wi in w]

    def infl(g: list[float]) -> list[float]:
        m = math.fsum(g) / n
        return [gi - m * (wi - 1.0) for gi, wi in zip(g, wt, strict=True)]

    def se(psi: list[float]) -> float:
        m = math.fsum(psi) / n
        return math.sqrt(math.fsum((p - m) ** 2 for p in psi) / (n - 1) / n)

    psi_mean = infl([wi * xi for wi, xi in zip(wt, x, strict=True)])
    for expected in (None, 100.0):
        vm = value_measures(x, weights=w, levels=[q], expected=expected, min_tail_paths=0)
        v = vm.quantiles[round(a, 12)]
        short = infl([wi * max(v - xi, 0.0) for wi, xi in zip(wt, x, strict=True)])
        psi_e = psi_mean if expected is None else [0.0] * n
        want = se([e + s / a for e, s in zip(psi_e, short, strict=True)])
        assert vm.stderr_es[q] == pytest.approx(want, rel=1e-9), expected
    with pytest.raises(ValueError, match=r"^`value` must be finite"):
        value_measures([1.0, math.nan], levels=[0.9])


def test_value_std_var_error_and_path_count_against_loops():
    from riskmodel.metrics.value import value_measures
    from riskmodel.metrics.weighted import sort_paths, sparsity

    rng = np.random.default_rng(12)
    x = rng.normal(0.5, 0.1, 300)  # sd 0.1 < 1: no floor at 1 in the variance
    w = rng.lognormal(0.0, 1.0, 300)
    n, q, a = x.size, 0.95, 0.05
    wt = (w * n / w.sum()).tolist()
    xs = x.tolist()
    mean = math.fsum(wi * xi for wi, xi in zip(wt, xs, strict=True)) / n
    vm = value_measures(x, weights=w, levels=[q], min_tail_paths=0)
    var = math.fsum(wi * (xi - mean) ** 2 for wi, xi in zip(wt, xs, strict=True)) / n
    assert vm.std == pytest.approx(math.sqrt(var), rel=1e-12) and vm.n_paths == n
    v = vm.quantiles[0.05]
    s = float(sparsity(*sort_paths(x, w * n / w.sum()), np.array([a]))[0])

    def infl(g: list[float]) -> list[float]:
        m = math.fsum(g) / n
        return [gi - m * (wi - 1.0) for gi, wi in zip(g, wt, strict=True)]

    psi_mean = infl([wi * xi for wi, xi in zip(wt, xs, strict=True)])
    above = infl([wi * (xi > v) for wi, xi in zip(wt, xs, strict=True)])
    psi = [e - s * b for e, b in zip(psi_mean, above, strict=True)]
    m = math.fsum(psi) / n
    want = math.sqrt(math.fsum((p - m) ** 2 for p in psi) / (n - 1) / n)
    assert vm.stderr_var[q] == pytest.approx(want, rel=1e-9)


def test_two_replicates_and_a_light_one_count_in_the_spread():
    rng = np.random.default_rng(4)
    x = rng.gamma(2.0, 1.0, 60).tolist()
    w = rng.lognormal(0.0, 1.0, 60)
    rep = np.repeat(np.arange(3), 20)
    w[rep == 2] *= 0.4 / w[rep == 2].sum()  # a replicate with total weight 0.4 < 1 still counts
    for r in (rep, np.minimum(rep, 1)):  # three replicates; exactly two
        got = self_normalised_mean(x, weights=w, replicate=r)
        assert got == pytest.approx(_sn_replicates(x, w.tolist(), r.tolist()), rel=1e-10)
