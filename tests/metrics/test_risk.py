"""Tests for riskmodel.metrics.risk: closed forms, SE calibration, properties, validation."""

import itertools
import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from riskmodel.metrics import (
    RiskMeasures,
    exceedance_probability,
    expected_value,
    format_level,
    risk_measures,
    risk_measures_da,
    weighted_quantile,
)

N_SE = 4.0  # closed-form checks: |estimate − truth| ≤ 4 reported standard errors

# a thin tail must be asked for (min_tail_paths=0) or expected (pytest.warns), never slip by
pytestmark = pytest.mark.filterwarnings("error::riskmodel.errors.TailResolutionWarning")


def _normal_var_es(q):
    z = stats.norm.ppf(q)
    return z, stats.norm.pdf(z) / (1 - q)


def _robust_ceil(x):
    """⌈x⌉ that treats x within 1e-9 of an integer as that integer (float noise in N·q)."""
    return math.ceil(round(x, 9))


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("q", [0.95, 0.99])
def test_normal_var_es_match_closed_form(q):
    rng = np.random.default_rng(20240601)
    rm = risk_measures(rng.standard_normal(200_000), levels=(q,))
    var_true, es_true = _normal_var_es(q)
    assert abs(rm.var[q] - var_true) <= N_SE * rm.stderr_var[q]
    assert abs(rm.es[q] - es_true) <= N_SE * rm.stderr_es[q]
    assert abs(rm.expected) <= N_SE * rm.stderr_expected
    # sd of the sample sd of a normal is ≈ 1/sqrt(2N)
    assert abs(rm.std - 1.0) <= N_SE / math.sqrt(2 * rm.n_paths)
    # plain MC: the VaR SE reduces to sqrt(q(1 − q)/N)/f(VaR_q); the sparsity estimate is
    # accurate to a few percent at this N
    classic = math.sqrt(q * (1 - q) / rm.n_paths) / stats.norm.pdf(var_true)
    assert rm.stderr_var[q] == pytest.approx(classic, rel=0.1)
    assert rm.ess == rm.n_paths


@pytest.mark.parametrize("q", [0.95, 0.99])
def test_lognormal_var_es_match_closed_form(q):
    sigma = 0.5
    rng = np.random.default_rng(7)
    rm = risk_measures(rng.lognormal(0.0, sigma, 200_000), levels=(q,))
    z = stats.norm.ppf(q)
    var_true = math.exp(sigma * z)
    es_true = math.exp(sigma**2 / 2) * stats.norm.cdf(sigma - z) / (1 - q)
    assert abs(rm.var[q] - var_true) <= N_SE * rm.stderr_var[q]
    assert abs(rm.es[q] - es_true) <= N_SE * rm.stderr_es[q]


def test_importance_sampling_exponential_tail():
    q, lam, n = 0.999, 0.3, 100_000
    rng = np.random.default_rng(31)
    x = rng.exponential(1 / lam, n)  # sampling density λ e^{−λx}, heavier tail than Exp(1)
    w = np.exp(-(1 - lam) * x) / lam  # likelihood ratio e^{−x} / (λ e^{−λx})
    rm = risk_measures(x, weights=w, levels=(q,))
    var_true = -math.log(1 - q)
    assert abs(rm.var[q] - var_true) <= N_SE * rm.stderr_var[q]
    assert abs(rm.es[q] - (var_true + 1.0)) <= N_SE * rm.stderr_es[q]
    assert 0 < rm.ess < n

    plain = risk_measures(rng.exponential(1.0, n), levels=(q,))
    # theory: SE ratios ≈ 8 (VaR) and ≈ 14 (ES) for λ = 0.3
    assert plain.stderr_var[q] / rm.stderr_var[q] > 4
    assert plain.stderr_es[q] / rm.stderr_es[q] > 8

    p, se = exceedance_probability(x, var_true, weights=w)
    assert abs(p - (1 - q)) <= N_SE * se
    el, se_el = expected_value(x, weights=w)
    assert abs(el - 1.0) <= N_SE * se_el


# --------------------------------------------------------------------------- SE calibration


def test_standard_errors_are_calibrated():
    reps, n, levels = 300, 2_000, (0.9, 0.95)
    rng = np.random.default_rng(99)
    samples = rng.standard_normal((reps, n))
    covered: dict[str, list[bool]] = {}
    for row in samples:
        rm = risk_measures(row, levels=levels)
        covered.setdefault("expected", []).append(abs(rm.expected) <= 1.96 * rm.stderr_expected)
        for q in levels:
            var_true, es_true = _normal_var_es(q)
            covered.setdefault(f"var{q}", []).append(
                abs(rm.var[q] - var_true) <= 1.96 * rm.stderr_var[q]
            )
            covered.setdefault(f"es{q}", []).append(
                abs(rm.es[q] - es_true) <= 1.96 * rm.stderr_es[q]
            )
    tol = 4 * math.sqrt(0.95 * 0.05 / reps)
    for name, hits in covered.items():
        assert abs(np.mean(hits) - 0.95) <= tol, name


# --------------------------------------------------------------------------- properties

losses = arrays(
    np.float64,
    st.integers(1, 120),
    elements=st.one_of(st.floats(0, 1e6, allow_subnormal=False), st.sampled_from([0.0, 1.0, 2.5])),
)
level_sets = st.lists(st.floats(0.001, 0.999), min_size=1, max_size=5, unique=True)


@st.composite
def losses_and_weights(draw):
    x = draw(losses)
    if draw(st.booleans()):
        return x, None
    w = draw(arrays(np.float64, x.shape, elements=st.floats(1e-3, 1e3)))
    return x, w


@settings(max_examples=150, deadline=None)
@given(data=losses_and_weights(), levels=level_sets)
def test_risk_measure_invariants(data, levels):
    x, w = data
    rm = risk_measures(x, weights=w, levels=levels, min_tail_paths=0)
    qs = sorted(levels)
    assert list(rm.var) == qs
    scale = 1.0 + float(x.max())
    for q in qs:
        assert rm.es[q] >= rm.var[q]
        assert rm.var[q] in x
        assert rm.var[q] >= 0 and rm.es[q] >= 0
    for lo, hi in itertools.pairwise(qs):
        assert rm.var[hi] >= rm.var[lo]
        assert rm.es[hi] >= rm.es[lo] - 1e-9 * scale
    assert rm.expected >= 0 and rm.std >= 0 and rm.ess > 0
    if x.size >= 2:
        ses = [rm.stderr_expected, *rm.stderr_var.values(), *rm.stderr_es.values()]
        assert all(se >= 0 for se in ses)
    else:
        assert math.isnan(rm.stderr_expected)


@settings(max_examples=150, deadline=None)
@given(data=losses_and_weights(), q=st.floats(0.001, 0.999))
def test_weighted_quantile_matches_definition(data, q):
    x, w = data
    n = x.size
    w_arr = np.ones(n) if w is None else w
    tail = np.array([w_arr[x > xi].sum() / w_arr.sum() for xi in x])  # G(L_i), self-normalised
    assume(np.all(np.abs(tail - (1 - q)) > 1e-6))  # no level on a float-rounding boundary
    assert weighted_quantile(x, q, weights=w) == x[tail <= 1 - q].min()


@settings(max_examples=150, deadline=None)
@given(x=losses, q=st.floats(0.001, 0.999))
def test_unit_weight_var_is_order_statistic(x, q):
    n = x.size
    frac = abs(n * q - round(n * q))
    assume(frac < 1e-12 or frac > 1e-6)  # skip levels within float noise of k/N
    expected = np.sort(x)[_robust_ceil(n * q) - 1]
    assert risk_measures(x, levels=(q,), min_tail_paths=0).var[q] == expected
    ones = np.ones(n)
    assert risk_measures(x, weights=ones, levels=(q,), min_tail_paths=0).var[q] == expected


@settings(max_examples=150, deadline=None)
@given(x=losses, data=st.data())
def test_unit_weight_es_is_mean_of_worst_when_nq_integer(x, data):
    n = x.size
    assume(n >= 2)
    k = data.draw(st.integers(1, n - 1))
    q = k / n
    rm = risk_measures(x, levels=(q,), min_tail_paths=0)
    assert rm.var[q] == np.sort(x)[k - 1]
    assert rm.es[q] == pytest.approx(np.sort(x)[k:].mean(), rel=1e-9, abs=1e-9)


def test_vectorised_quantile_matches_scalar_calls():
    rng = np.random.default_rng(3)
    x, w = rng.gamma(2.0, size=500), rng.uniform(0.2, 2.0, size=500)
    q = np.array([[0.1, 0.5], [0.9, 0.99]])
    got = weighted_quantile(x, q, weights=w)
    assert got.shape == q.shape
    for idx in np.ndindex(q.shape):
        assert got[idx] == weighted_quantile(x, q[idx], weights=w)


# --------------------------------------------------------------------------- invariance


@pytest.mark.parametrize("c", [0.01, 3.7, 1e4])
def test_scaling_losses_scales_every_measure(c):
    rng = np.random.default_rng(11)
    x, w = rng.lognormal(size=5_000), rng.uniform(0.5, 1.5, size=5_000)
    base = risk_measures(x, weights=w, min_tail_paths=0).to_dict()
    scaled = risk_measures(c * x, weights=w, min_tail_paths=0).to_dict()
    for key in ("expected", "std"):
        assert scaled[key] == pytest.approx(c * base[key], rel=1e-9)
    assert scaled["stderr"]["expected"] == pytest.approx(c * base["stderr"]["expected"], rel=1e-9)
    for key in ("var", "es"):
        for level in base[key]:
            assert scaled[key][level] == pytest.approx(c * base[key][level], rel=1e-9)
            se_scaled, se_base = scaled["stderr"][key][level], base["stderr"][key][level]
            assert se_scaled == pytest.approx(c * se_base, rel=1e-9)
    assert scaled["ess"] == base["ess"]


def test_constant_loss_has_no_spread():
    c = 123.4
    rm = risk_measures(np.full(1_000, c))
    assert rm.expected == pytest.approx(c, rel=1e-12)
    assert rm.std == pytest.approx(0.0, abs=1e-9 * c)
    assert rm.stderr_expected == pytest.approx(0.0, abs=1e-9 * c)
    for q in rm.var:
        assert rm.var[q] == c and rm.es[q] == c
        assert rm.stderr_var[q] == 0.0 and rm.stderr_es[q] == 0.0


def test_single_path_gives_nan_standard_errors():
    rm = risk_measures([5.0], levels=(0.5, 0.99), min_tail_paths=0)
    assert rm.expected == rm.var[0.99] == rm.es[0.99] == 5.0
    assert math.isnan(rm.stderr_expected) and math.isnan(rm.stderr_es[0.99])


# --------------------------------------------------------------------------- API shape


def test_format_level_and_to_dict():
    assert [format_level(q) for q in (0.99, 0.999, 0.95, 1 - 0.05, 0.1 + 0.2)] == [
        "0.99",
        "0.999",
        "0.95",
        "0.95",
        "0.3",
    ]
    d = risk_measures(np.arange(1.0, 1001.0), levels=(0.99, 0.95, 0.999), min_tail_paths=0)
    d = d.to_dict()
    assert set(d) == {"expected", "std", "var", "es", "stderr", "paths", "ess", "tail_paths"}
    assert d["tail_paths"] == {"0.95": 51.0, "0.99": 11.0, "0.999": 2.0}  # N(1 − q) + 1
    assert list(d["var"]) == ["0.95", "0.99", "0.999"]
    assert set(d["stderr"]) == {"expected", "var", "es"}
    assert d["var"]["0.99"] == 990.0 and d["es"]["0.99"] == 995.5
    assert d["paths"] == 1000 and d["ess"] == 1000.0


def test_risk_measures_da_reduces_by_name_and_keeps_other_dims():
    rng = np.random.default_rng(5)
    loss = xr.DataArray(
        rng.gamma(2.0, size=(400, 2, 3)),
        dims=("path", "scenario", "segment"),
        coords={"scenario": ["base", "adverse"], "segment": ["a", "b", "c"]},
    )
    weights = xr.DataArray(rng.uniform(0.5, 1.5, size=400), dims="path")
    ds = risk_measures_da(loss, weights=weights, levels=(0.99, 0.9), min_tail_paths=0)
    assert ds["var"].dims == ("scenario", "segment", "level")
    assert ds["expected"].dims == ("scenario", "segment")
    assert ds["level"].values.tolist() == [0.9, 0.99]
    assert ds.attrs["n_paths"] == 400
    ref = risk_measures(
        loss.sel(scenario="adverse", segment="b").values,
        weights=weights.values,
        levels=(0.9, 0.99),
        min_tail_paths=0,
    )
    cell = ds.sel(scenario="adverse", segment="b")
    assert cell["expected"].item() == ref.expected
    assert cell["stderr_es"].sel(level=0.99).item() == ref.stderr_es[0.99]
    assert cell["var"].values.tolist() == list(ref.var.values())
    assert cell["tail_paths"].values.tolist() == list(ref.tail_paths.values())
    with pytest.raises(ValueError, match="`dim` must be a dimension"):
        risk_measures_da(loss, dim="draw")
    with pytest.raises(ValueError, match="`weights` must have dimension 'path'"):
        risk_measures_da(loss, weights=xr.DataArray(np.ones(2), dims="scenario"))


def test_result_is_frozen():
    rm = risk_measures([1.0, 2.0], min_tail_paths=0)
    assert isinstance(rm, RiskMeasures)
    with pytest.raises(AttributeError):
        rm.expected = 0.0  # type: ignore[misc]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": [1.0, np.nan]}, r"`loss` must be finite"),
        ({"loss": [1.0, np.inf]}, r"`loss` must be finite"),
        ({"loss": np.ones((2, 2))}, r"`loss` must be 1-D"),
        ({"loss": []}, r"at least one path"),
        ({"loss": [1.0, 2.0], "weights": [1.0]}, r"`weights` must have the same shape"),
        ({"loss": [1.0, 2.0], "weights": [1.0, -0.5]}, r"`weights` must be >= 0"),
        ({"loss": [1.0, 2.0], "weights": [1.0, np.nan]}, r"`weights` must be finite"),
        ({"loss": [1.0, 2.0], "weights": [0.0, 0.0]}, r"positive sum"),
        ({"loss": [1.0, 2.0], "levels": (0.9, 1.5)}, r"`levels` must be in \(0, 1\); got 1.5\."),
        ({"loss": [1.0, 2.0], "levels": 0.0}, r"`levels` must be in \(0, 1\); got 0.0\."),
        ({"loss": [1.0, 2.0], "levels": (np.nan,)}, r"`levels` must be in \(0, 1\)"),
    ],
)
def test_risk_measures_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        risk_measures(**kwargs)


def test_helpers_reject_bad_input():
    with pytest.raises(ValueError, match=r"`q` must be in \(0, 1\); got 1.0"):
        weighted_quantile([1.0, 2.0], [0.5, 1.0])
    with pytest.raises(ValueError, match="`values` must be finite"):
        expected_value([np.nan])
    with pytest.raises(ValueError, match="`threshold` must be finite"):
        exceedance_probability([1.0], np.nan)
    with pytest.raises(ValueError, match="`weights` must be >= 0"):
        exceedance_probability([1.0, 2.0], 1.5, weights=[-1.0, 1.0])
