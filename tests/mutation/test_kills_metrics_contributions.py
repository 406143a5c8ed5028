"""Kill tests for `riskmodel.metrics.contributions` (see docs/mutation.md): the default kernel
bandwidth against Silverman's rule computed by another route, and the labelled wrapper and the
``summary.json`` block against the plain estimator, on synthetic paths with heavy weights.

Every check here is deterministic (fixed data, no Monte Carlo error): the bandwidth is a
closed-form function of the paths, so it is compared to 1e-12 relative; the wrapper and the
JSON block must reproduce `euler_contributions` exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import xarray as xr

from riskmodel.metrics.contributions import (
    contributions_to_dict,
    euler_contributions,
    risk_contributions,
)
from riskmodel.metrics.risk import DEFAULT_LEVELS

PER_SEGMENT = ("expected", "stderr_expected")
PER_LEVEL_SEGMENT = ("var", "stderr_var", "es", "stderr_es")
PER_LEVEL = ("total_var", "total_es", "bandwidth", "kernel_ess", "kernel_total")


def _quantile_by_scan(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """``min{x_i : Σ_{x_j > x_i} w_j / Σ w ≤ 1 − q}`` by a scan over the distinct values."""
    for v in np.unique(x):
        if math.fsum(w[x > v]) / math.fsum(w) <= 1.0 - q:
            return float(v)
    raise AssertionError("no quantile")  # pragma: no cover


def _silverman(total: np.ndarray, w: np.ndarray) -> float:
    """``0.9 min(sd, IQR/1.349) n_eff^(-1/5)`` with weighted sd, IQR and Kish n_eff."""
    n_eff = math.fsum(w) ** 2 / math.fsum(w * w)
    mean = np.average(total, weights=w)
    sd = math.sqrt(np.average((total - mean) ** 2, weights=w))
    iqr = _quantile_by_scan(total, w, 0.75) - _quantile_by_scan(total, w, 0.25)
    spread = min(sd, iqr / 1.349) or sd
    return 0.9 * spread * n_eff ** (-0.2)


def _heavy_weights(rng: np.random.Generator, n: int) -> np.ndarray:
    # log-normal likelihood ratios with sigma 1: Kish n_eff about N / e, far from N
    return rng.lognormal(0.0, 1.0, n)


@pytest.mark.parametrize(
    "case",
    [
        "uniform",  # sd < IQR/1.349: the sd branch, sd < 1
        "student",  # heavy tails: IQR/1.349 < sd, the IQR branch
        "atom",  # 90% of the paths at 0: IQR = 0, the fallback to sd
    ],
)
def test_default_bandwidth_is_silvermans_rule_on_the_weighted_total(case):
    rng = np.random.default_rng(20261202)
    n = 400
    if case == "uniform":
        total = rng.uniform(0.0, 0.4, n)  # sd 0.115 < IQR/1.349 = 0.148
    elif case == "student":
        total = 3.0 + rng.standard_t(2.0, n)
    else:
        total = np.where(rng.uniform(size=n) < 0.9, 0.0, rng.uniform(1.0, 2.0, n))
    share = rng.uniform(0.2, 0.8, n)
    x = np.column_stack([share * total, (1.0 - share) * total])
    w = _heavy_weights(rng, n)
    want = _silverman(x.sum(axis=1), w)
    sd = math.sqrt(np.average((total - np.average(total, weights=w)) ** 2, weights=w))
    iqr = _quantile_by_scan(total, w, 0.75) - _quantile_by_scan(total, w, 0.25)
    branch = {"uniform": sd < iqr / 1.349, "student": iqr / 1.349 < sd, "atom": iqr == 0.0}
    assert branch[case], (sd, iqr)
    got = euler_contributions(x, weights=w, levels=[0.9])["bandwidth"]
    np.testing.assert_allclose(got, [want], rtol=1e-12)
    # unweighted: n_eff = N, the plain sd and IQR
    got_plain = euler_contributions(x, levels=[0.9])["bandwidth"]
    np.testing.assert_allclose(got_plain, [_silverman(x.sum(axis=1), np.ones(n))], rtol=1e-12)


def _paths_dataset(by: str = "segment", levels: list[float] | None = None) -> xr.Dataset:
    rng = np.random.default_rng(7)
    n = 3000
    x = rng.gamma(2.0, 1.0, (n, 3)) * np.array([1.0, 2.0, 0.5])
    ds = xr.Dataset(
        {
            f"loss_by_{by}": (("path", by), x),
            "weight": ("path", _heavy_weights(rng, n)),
        },
        coords={by: ["a", "b", "c"]},
    )
    if levels is not None:
        ds.attrs["levels"] = levels
    return ds


def _same_as_plain(contrib: xr.Dataset, res: dict, by: str) -> None:
    np.testing.assert_array_equal(contrib["level"].values, res["level"])
    for name in PER_SEGMENT:
        assert contrib[name].dims == (by,)
        np.testing.assert_array_equal(contrib[name].values, res[name])
    for name in PER_LEVEL_SEGMENT:
        assert contrib[name].dims == (by, "level")
        np.testing.assert_array_equal(contrib[name].values, res[name].T)
    for name in PER_LEVEL:
        assert contrib[name].dims == ("level",)
        np.testing.assert_array_equal(contrib[name].values, res[name])
    assert float(contrib["total_expected"]) == float(res["total_expected"])


@pytest.mark.parametrize("by", ["segment", "cohort"])
def test_labelled_contributions_are_the_plain_estimator_on_the_run_levels(by):
    ds = _paths_dataset(by, levels=[0.9, 0.97])
    contrib = risk_contributions(ds, by=by)
    res = euler_contributions(
        ds[f"loss_by_{by}"].values, weights=ds["weight"].values, levels=[0.9, 0.97]
    )
    _same_as_plain(contrib, res, by)
    assert list(contrib[by].values) == ["a", "b", "c"]
    assert contrib.attrs["n_paths"] == 3000


def test_labelled_contributions_default_to_the_default_levels_and_pass_the_bandwidth():
    ds = _paths_dataset()  # no `levels` attribute: DEFAULT_LEVELS
    contrib = risk_contributions(ds)
    assert contrib["level"].values.tolist() == list(DEFAULT_LEVELS)
    h = 0.37  # not Silverman's value on these paths
    fixed = risk_contributions(ds, levels=[0.95], bandwidth=h)
    res = euler_contributions(
        ds["loss_by_segment"].values, weights=ds["weight"].values, levels=[0.95], bandwidth=h
    )
    assert fixed["bandwidth"].values.tolist() == [h]
    assert float(contrib["bandwidth"].sel(level=0.95)) != h
    _same_as_plain(fixed, res, "segment")


@pytest.mark.parametrize("by", ["segment", "cohort"])
def test_summary_block_holds_every_figure_of_the_dataset(by):
    contrib = risk_contributions(_paths_dataset(by), levels=[0.9, 0.99], by=by)
    block = contributions_to_dict(contrib)
    labels, levels = ["a", "b", "c"], ["0.9", "0.99"]

    def seg(name: str) -> dict:
        return {s: float(contrib[name].sel({by: s})) for s in labels}

    def seg_level(name: str) -> dict:
        return {
            lv: {s: float(contrib[name].sel({by: s, "level": q})) for s in labels}
            for lv, q in zip(levels, (0.9, 0.99), strict=True)
        }

    def level(name: str) -> dict:
        return {
            lv: float(contrib[name].sel(level=q)) for lv, q in zip(levels, (0.9, 0.99), strict=True)
        }

    want = {
        "by": by,
        "expected": seg("expected"),
        "var": seg_level("var"),
        "es": seg_level("es"),
        "stderr": {
            "expected": seg("stderr_expected"),
            "var": seg_level("stderr_var"),
            "es": seg_level("stderr_es"),
        },
        "total": {
            "expected": float(contrib["total_expected"]),
            "var": level("total_var"),
            "es": level("total_es"),
        },
        "bandwidth": level("bandwidth"),
        "method": contrib.attrs["method"],
    }
    assert block == want
    assert block["method"].startswith("Euler allocation")
    bare = contrib.copy()
    bare.attrs = {}
    assert contributions_to_dict(bare)["method"] == ""  # no method recorded: empty, not "None"


# --------------------------------------------------------------------------- the estimator
def _documented(x: np.ndarray, w: np.ndarray, q: float, h: float) -> dict[str, list]:
    """`euler_contributions` at one level by its docstring, in scalar loops (``math.fsum``)."""
    from riskmodel.metrics.risk import risk_measures

    n, s = x.shape
    wt = [wi * n / math.fsum(w.tolist()) for wi in w.tolist()]  # self-normalised
    tot = [math.fsum(row) for row in x.tolist()]
    risk = risk_measures(np.array(tot), weights=w, levels=[q], min_tail_paths=0)
    v, se_v = risk.var[q], risk.stderr_var[q]

    def se(a: list[float]) -> float:  # delta-method error of the self-normalised mean
        m = math.fsum(a) / n
        psi = [ai - m * (wi - 1.0) for ai, wi in zip(a, wt, strict=True)]
        mp = math.fsum(psi) / n
        return math.sqrt(math.fsum((p - mp) ** 2 for p in psi) / (n - 1) / n)

    if h > 0:
        k = [
            wi * math.exp(-0.5 * min(abs(li - v) / h, 40.0) ** 2)
            for wi, li in zip(wt, tot, strict=True)
        ]
    else:
        k = [0.0] * n
    if not math.fsum(k) > 0:  # every kernel weight underflows: the paths at VaR
        k = [(wi if wi > 0 else 1.0) if li == v else 0.0 for wi, li in zip(wt, tot, strict=True)]
    ks = math.fsum(k)
    c = [
        math.fsum(ki * row[j] for ki, row in zip(k, x.tolist(), strict=True)) / ks for j in range(s)
    ]
    se_c = [
        math.sqrt(
            math.fsum(ki**2 * (row[j] - c[j]) ** 2 for ki, row in zip(k, x.tolist(), strict=True))
        )
        / ks
        for j in range(s)
    ]
    big_c = math.fsum(c)
    t = [max(-40.0, min(40.0, (li - v) / h)) if h > 0 else 0.0 for li in tot]
    dc = [
        math.fsum(
            ki / ks * ti * (row[j] - c[j]) for ki, ti, row in zip(k, t, x.tolist(), strict=True)
        )
        / h
        if h > 0
        else 0.0
        for j in range(s)
    ]
    share = [cj / big_c for cj in c]
    scale = v / big_c
    slope = [sh + scale * (dj - sh * math.fsum(dc)) for sh, dj in zip(share, dc, strict=True)]
    var = [cj * scale for cj in c]
    se_var = [math.hypot(sl * se_v, sc * scale) for sl, sc in zip(slope, se_c, strict=True)]
    a = [wi * (li > v) / (n * (1.0 - q)) for wi, li in zip(wt, tot, strict=True)]
    beta = 1.0 - math.fsum(a)
    at = [i for i in range(n) if tot[i] == v]
    atom = [math.fsum(wt[i] * x[i, j] for i in at) / math.fsum(wt[i] for i in at) for j in range(s)]
    es = [
        math.fsum(ai * row[j] for ai, row in zip(a, x.tolist(), strict=True)) + beta * atom[j]
        for j in range(s)
    ]
    tail = [
        [wi * (li > v) * (row[j] - var[j]) for wi, li, row in zip(wt, tot, x.tolist(), strict=True)]
        for j in range(s)
    ]
    wx = [[wi * row[j] for wi, row in zip(wt, x.tolist(), strict=True)] for j in range(s)]
    return {
        "expected": [math.fsum(col) / n for col in wx],
        "stderr_expected": [se(col) for col in wx],
        "var": var,
        "stderr_var": se_var,
        "es": es,
        "stderr_es": [se(col) / (1.0 - q) for col in tail],
        "total_es": [math.fsum(ai * li for ai, li in zip(a, tot, strict=True)) + beta * v],
        "kernel_ess": [ks**2 / math.fsum(ki**2 for ki in k)],
        "kernel_total": [big_c],
    }


@pytest.mark.parametrize("bandwidth", [None, 0.8, 1e-9])
@pytest.mark.parametrize("q", [0.75, 0.9])
def test_contributions_follow_their_documented_definitions_under_heavy_weights(q, bandwidth):
    # integer losses (ties: an atom of several paths at VaR, with different compositions and
    # weights), log-normal weights; 1e-9 makes every kernel weight but the atom's underflow
    rng = np.random.default_rng(11)
    n = 60
    x = rng.integers(0, 5, (n, 3)).astype(float)  # integer parts: totals exact, many ties
    x[0] = 0.5  # one path off the integer grid
    tot = x.sum(axis=1)
    w = rng.lognormal(0.0, 1.0, n)
    got = euler_contributions(x, weights=w, levels=[q], bandwidth=bandwidth)
    h = float(got["bandwidth"][0])
    if bandwidth is None:
        assert h == pytest.approx(_silverman(tot, w), rel=1e-12)
    want = _documented(x, w, q, h)
    assert int(np.sum(x.sum(axis=1) == got["total_var"][0])) >= 2  # an atom at VaR
    for name, value in want.items():
        np.testing.assert_allclose(np.ravel(got[name]), value, rtol=1e-9, atol=1e-12, err_msg=name)
    assert float(got["total_expected"]) == pytest.approx(math.fsum(want["expected"]), rel=1e-12)


def test_all_totals_equal_fall_back_to_the_paths_at_var():
    # zero spread: Silverman's bandwidth is 0, every kernel weight is the VaR atom's
    rng = np.random.default_rng(3)
    a = rng.integers(0, 9, 40) / 8.0  # eighths: 5 a + 5 (1 − a) is exactly 5
    x = np.column_stack([5.0 * a, 5.0 - 5.0 * a])
    w = rng.lognormal(0.0, 1.0, 40)
    got = euler_contributions(x, weights=w, levels=[0.9])
    assert got["bandwidth"].tolist() == [0.0]
    want = _documented(x, w, 0.9, 0.0)
    for name, value in want.items():
        np.testing.assert_allclose(np.ravel(got[name]), value, rtol=1e-9, atol=1e-12, err_msg=name)


def test_two_paths_have_an_error_and_one_path_has_none():
    # N = 2 is the smallest sample with a variance estimate: std(a, ddof=1)/√2 of w̃ X
    x = np.array([[1.0, 3.0], [2.0, 7.0]])
    w = np.array([1.0, 3.0])
    got = euler_contributions(x, weights=w, levels=[0.5])
    want = _documented(x, w, 0.5, float(got["bandwidth"][0]))
    np.testing.assert_allclose(got["stderr_expected"], want["stderr_expected"], rtol=1e-12)
    assert np.all(np.isfinite(got["stderr_expected"]))
    one = euler_contributions(x[:1], levels=[0.5])
    assert one["stderr_expected"].shape == (2,) and one["stderr_es"].shape == (1, 2)
    assert np.all(np.isnan(one["stderr_expected"])) and np.all(np.isnan(one["stderr_es"]))


def test_a_tiny_bandwidth_raises_no_floating_point_warning():
    # |L − v| / h overflows to inf for h = 1e-310 (losses ~10): capped (u ≤ 40, |t| ≤ 40),
    # silently; every kernel weight but VaR's own is then 0, as for any h ≪ the path spacing
    rng = np.random.default_rng(5)
    x = rng.gamma(2.0, 10.0, (50, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = euler_contributions(x, levels=[0.9], bandwidth=1e-310)
    want = _documented(x, np.ones(50), 0.9, 1e-9)
    for name in ("var", "stderr_var", "kernel_ess"):
        np.testing.assert_allclose(np.ravel(got[name]), want[name], rtol=1e-9, err_msg=name)


def _light_atom() -> tuple[np.ndarray, np.ndarray, float]:
    """21 paths with totals 1 … 20, 10 twice; the two at 10 carry weights 0.02 and 0.03.

    ``Σ w = 19.05``: ``G(9) = 10.05/19.05 = 0.5276`` and ``G(10) = 10/19.05 = 0.5249``, so
    at ``q = 0.474`` (``1 − q = 0.526``) VaR is the light atom at 10 (self-normalised weight
    0.055 in all), and with ``h = 0.4`` the kernel weights sum to about 0.15 < 1.
    """
    totals = np.array([*range(1, 11), 10, *range(11, 21)], dtype=float)
    share = np.random.default_rng(9).uniform(0.1, 0.9, totals.size)
    share[9], share[10] = 0.2, 0.8  # the atom's two compositions differ
    w = np.ones(totals.size)
    w[9], w[10] = 0.02, 0.03
    return np.column_stack([share * totals, (1 - share) * totals]), w, 0.474


def test_a_light_atom_and_a_light_kernel_keep_their_weights():
    x, w, q = _light_atom()
    got = euler_contributions(x, weights=w, levels=[q], bandwidth=0.4)
    assert got["total_var"][0] == x[9].sum()  # VaR is the light atom
    want = _documented(x, w, q, 0.4)
    for name, value in want.items():
        np.testing.assert_allclose(np.ravel(got[name]), value, rtol=1e-9, atol=1e-12, err_msg=name)


def test_a_var_of_zero_allocates_zero():
    # VaR 0 reached by paths whose components cancel: Σ_s c_s = 0, nothing to rescale
    x = np.array([[1.0, -1.0], [2.0, -2.0], [0.5, -0.5], [3.0, 4.0], [5.0, 1.0]])
    w = np.array([1.0, 2.0, 0.5, 1.0, 1.0])
    got = euler_contributions(x, weights=w, levels=[0.5], bandwidth=1e-3)
    assert got["total_var"][0] == 0.0 and got["kernel_total"][0] == 0.0
    assert got["var"][0].tolist() == [0.0, 0.0] and got["stderr_var"][0].tolist() == [0.0, 0.0]
    wt = w * 5 / w.sum()
    k = wt[:3]  # the three paths at 0; the others are 7 and 6 away (weight exp(−0.5·40²) = 0)
    assert got["kernel_ess"][0] == pytest.approx(k.sum() ** 2 / (k**2).sum(), rel=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.1])
def test_levels_outside_the_open_unit_interval_are_refused(level):
    with pytest.raises(ValueError, match=r"`levels` must be in \(0, 1\)"):
        euler_contributions(np.ones((4, 2)), levels=[0.5, level])


@pytest.mark.parametrize(
    ("components", "weights", "match"),
    [
        (np.ones((0, 2)), None, "one row per path"),
        (np.ones((3, 0)), None, "one row per path"),
        (np.ones((3, 2)), [1.0, -0.5, 1.0], ">= 0"),  # a negative weight, positive sum
        (np.ones((3, 2)), [1.0, np.inf, 1.0], "finite"),  # an infinite weight, infinite sum
        (np.ones((3, 2)), [0.0, 0.0, 0.0], "not all zero"),
    ],
)
def test_paths_and_weights_are_checked(components, weights, match):
    with pytest.raises(ValueError, match=match):
        euler_contributions(components, weights=weights, levels=[0.5])


def test_a_zero_weight_is_a_valid_likelihood_ratio():
    x = np.arange(12.0).reshape(6, 2)
    w = np.array([1.0, 0.0, 2.0, 1.0, 0.5, 1.0])
    got = euler_contributions(x, weights=w, levels=[0.5], bandwidth=1.0)
    want = _documented(x, w, 0.5, 1.0)
    np.testing.assert_allclose(got["expected"], want["expected"], rtol=1e-12)


def test_a_zero_weight_path_at_var_has_no_say_when_the_kernel_vanishes():
    """A zero-weight path at VaR does not move the VaR contributions when the kernel vanishes.

    All positive-weight totals equal (bandwidth 0: the kernel falls back to the paths at VaR),
    so the contributions are the weighted mean composition of the positive-weight paths; a
    zero-weight path with the same total but another composition must not count (before, the
    fallback gave it the weight 1).
    """
    x = np.array([[3.0, 1.0], [1.0, 3.0], [2.0, 2.0], [4.0, 0.0]])
    w = np.array([1.0, 3.0, 2.0, 0.0])  # the last path, total 4 like the others, weighs 0
    c = euler_contributions(x, weights=w, levels=[0.5])
    expected = (w[:3, None] * x[:3]).sum(axis=0) / w[:3].sum()  # (11/6, 13/6)
    np.testing.assert_allclose(c["var"][0], expected, rtol=1e-12)
    same = euler_contributions(x[:3], weights=w[:3], levels=[0.5])
    np.testing.assert_allclose(c["var"][0], same["var"][0], rtol=1e-12)
