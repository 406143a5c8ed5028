"""Every weighted estimator under heavy weights, against self-normalised references.

The references are written here from scratch (sorting and cumulative normalised weights,
`numpy.average`), not with riskmodel's helpers. "Heavy" weights: lognormal with a log-scale sd
of 1.5 (Kish ESS ≈ N/9.5, Σ w far from N on a given sample), and likelihood ratios of a strong
mean shift of a normal. An estimator that divides by N instead of Σ w, or forgets a weight,
fails these tests by far more than their tolerances. The reference checks are exact
identities, valid however thin the tail, so they pass ``min_tail_paths=0``; the tail warning
has tests of its own.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from riskmodel.errors import TailResolutionWarning
from riskmodel.metrics import (
    euler_contributions,
    exceedance_probability,
    expected_value,
    risk_measures,
    weighted_quantile,
)
from riskmodel.metrics.value import value_measures

pytestmark = pytest.mark.filterwarnings("error::riskmodel.errors.TailResolutionWarning")

LEVELS = (0.9, 0.95, 0.99)
LOWER = (0.01, 0.05, 0.25, 0.5)


# --------------------------------------------------------------------------- references
def _distribution(x: np.ndarray, w: np.ndarray):
    """Distinct values, their probabilities and the CDF of the weighted paths."""
    values, inverse = np.unique(x, return_inverse=True)
    prob = np.bincount(inverse, weights=w) / w.sum()
    return values, prob, np.cumsum(prob)


def ref_quantile(x, w, q):
    """Smallest value whose CDF reaches q: min{v : P(X ≤ v) ≥ q} = min{v : P(X > v) ≤ 1 − q}."""
    values, _, cdf = _distribution(x, w)
    return values[np.argmax(cdf >= q - 1e-12)]


def ref_upper_tail_mean(x, w, q):
    """Mean of the worst 1 − q of probability: the values above VaR plus a share of the atom."""
    values, prob, cdf = _distribution(x, w)
    k = np.argmax(cdf >= q - 1e-12)
    above = values[k + 1 :] @ prob[k + 1 :]
    return (above + (cdf[k] - q) * values[k]) / (1 - q)


def ref_lower_tail_mean(x, w, a):
    """Mean of the lowest `a` of probability: the values below the a-quantile plus its atom."""
    values, prob, cdf = _distribution(x, w)
    k = np.argmax(cdf >= a - 1e-12)
    below = values[:k] @ prob[:k]
    return (below + (a - (cdf[k] - prob[k])) * values[k]) / a


def ref_std(x, w):
    mean = np.average(x, weights=w)
    return math.sqrt(np.average((x - mean) ** 2, weights=w))


def ref_ratio_se(g, w):
    """Delta-method error of Σ w g / Σ w: sqrt(N/(N − 1) Σ w² (g − ĝ)²) / Σ w."""
    n = g.size
    mean = np.average(g, weights=w)
    return math.sqrt(n / (n - 1) * np.sum(w**2 * (g - mean) ** 2)) / w.sum()


def kish(w):
    return w.sum() ** 2 / np.sum(w**2)


@pytest.fixture(scope="module")
def heavy():
    """Gamma losses (scale 1e6) with independent lognormal(0, 1.5) weights: Σ w ≠ N."""
    rng = np.random.default_rng(20261201)
    n = 20_000
    x = rng.gamma(2.0, 1e6, n)
    w = rng.lognormal(0.0, 1.5, n)
    assert abs(w.sum() / n - 1) > 0.2  # the raw weights do not sum to N
    return x, w


# --------------------------------------------------------------------------- risk measures
def test_risk_measures_match_self_normalised_references(heavy):
    x, w = heavy
    rm = risk_measures(x, weights=w, levels=LEVELS, min_tail_paths=0)  # exact identities
    assert rm.expected == pytest.approx(np.average(x, weights=w), rel=1e-12)
    assert rm.std == pytest.approx(ref_std(x, w), rel=1e-9)
    assert rm.stderr_expected == pytest.approx(ref_ratio_se(x, w), rel=1e-9)
    assert rm.ess == pytest.approx(kish(w), rel=1e-12)
    for q in LEVELS:
        var = ref_quantile(x, w, q)
        assert rm.var[q] == var
        assert rm.es[q] == pytest.approx(ref_upper_tail_mean(x, w, q), rel=1e-9)
        assert rm.tail_paths[q] == pytest.approx(kish(w[x >= var]), rel=1e-12)
        # ES error: delta method on the excess over VaR (VaR's own error drops out)
        se_es = ref_ratio_se(np.maximum(x - var, 0.0), w) / (1 - q)
        assert rm.stderr_es[q] == pytest.approx(se_es, rel=1e-9)
    # the mean a plain (1/N) Σ w x would report is off by the factor Σ w / N
    assert abs(np.mean(w * x) / rm.expected - 1) > 0.2


def test_quantiles_in_both_tails_match_the_sorted_cumulative_weights(heavy):
    x, w = heavy
    levels = np.array([*LOWER, *LEVELS, 0.999])
    got = weighted_quantile(x, levels, weights=w)
    np.testing.assert_array_equal(got, [ref_quantile(x, w, q) for q in levels])
    # the lowest level is not the smallest path (the bug: lower levels fell on the worst path)
    assert got[0] > x.min()


def test_tail_probability_and_mean(heavy):
    x, w = heavy
    t = float(np.median(x))
    p, se = exceedance_probability(x, t, weights=w)
    hit = (x > t).astype(float)
    assert p == pytest.approx(np.average(hit, weights=w), rel=1e-12)
    assert se == pytest.approx(ref_ratio_se(hit, w), rel=1e-9)
    m, se_m = expected_value(x, weights=w)
    assert m == pytest.approx(np.average(x, weights=w), rel=1e-12)
    assert se_m == pytest.approx(ref_ratio_se(x, w), rel=1e-9)


@pytest.mark.parametrize("c", [1e-3, 0.7, 50.0])
def test_only_the_relative_weights_matter(heavy, c):
    x, w = heavy
    base = risk_measures(x, weights=w, levels=LEVELS, min_tail_paths=0).to_dict()
    scaled = risk_measures(x, weights=c * w, levels=LEVELS, min_tail_paths=0).to_dict()
    assert scaled["var"] == base["var"]
    for key in ("expected", "std"):
        assert scaled[key] == pytest.approx(base[key], rel=1e-9)
    for q in base["es"]:
        assert scaled["es"][q] == pytest.approx(base["es"][q], rel=1e-9)
        assert scaled["stderr"]["es"][q] == pytest.approx(base["stderr"]["es"][q], rel=1e-9)
    v_base = value_measures(x, weights=w, levels=LEVELS, min_tail_paths=0)
    v_scaled = value_measures(x, weights=c * w, levels=LEVELS, min_tail_paths=0)
    assert v_scaled.quantiles == v_base.quantiles
    assert v_scaled.std == pytest.approx(v_base.std, rel=1e-9)


def test_std_of_a_large_value_is_not_swamped_by_the_weight_sum():
    # value-like: mean 1e8, sd 1.7e6; with Σ w = 0.99 N the unnormalised second moment adds
    # EL² (1 − mean w) = 1e14 to a variance of 3e12 (the reported 16.6M instead of 1.06M)
    rng = np.random.default_rng(4)
    x = 1e8 + 1.7e6 * rng.standard_normal(4_000)
    w = rng.uniform(0.5, 1.5, x.size)
    w *= 0.99 * x.size / w.sum()
    assert risk_measures(x, weights=w, levels=[0.9]).std == pytest.approx(ref_std(x, w), rel=1e-9)
    assert value_measures(x, weights=w, levels=[0.9]).std == pytest.approx(ref_std(x, w), rel=1e-9)


# --------------------------------------------------------------------------- value (lower tail)
def test_value_measures_match_self_normalised_references(heavy):
    x, w = heavy
    exact = 2e6  # the mean of a gamma(2, 1e6): the run's exact expected value
    vm = value_measures(x, weights=w, levels=LEVELS, expected=exact, min_tail_paths=0)
    assert vm.exact and vm.expected == exact
    assert vm.expected_mc == pytest.approx(np.average(x, weights=w), rel=1e-12)
    assert vm.stderr_mc == pytest.approx(ref_ratio_se(x, w), rel=1e-9)
    assert vm.std == pytest.approx(ref_std(x, w), rel=1e-9)
    assert vm.quantiles[0.5] == ref_quantile(x, w, 0.5)
    for q in LEVELS:
        a = round(1 - q, 12)
        low = ref_quantile(x, w, a)
        assert vm.quantiles[a] == low
        assert vm.var[q] == pytest.approx(exact - low, rel=1e-12)
        assert vm.es[q] == pytest.approx(exact - ref_lower_tail_mean(x, w, a), rel=1e-9)
        assert vm.es[q] >= vm.var[q]
        assert vm.tail_paths[q] == pytest.approx(kish(w[x <= low]), rel=1e-12)
        # with an exact mean the ES error is the lower tail mean's: ψ((Q − V)^+)/a
        se = ref_ratio_se(np.maximum(low - x, 0.0), w) / a
        assert vm.stderr_es[q] == pytest.approx(se, rel=1e-9)
    # without an exact mean, var and es are measured from the Monte Carlo mean
    mc = value_measures(x, weights=w, levels=LEVELS, min_tail_paths=0)
    assert not mc.exact and mc.expected == vm.expected_mc
    assert mc.var[0.99] == pytest.approx(vm.expected_mc - vm.quantiles[0.01], rel=1e-12)


def test_value_measures_with_unit_weights_are_order_statistics():
    x = np.arange(1.0, 201.0)
    vm = value_measures(x, levels=[0.9, 0.95], min_tail_paths=0)
    assert vm.quantiles == {0.05: 10.0, 0.1: 20.0, 0.5: 100.0}
    assert vm.var[0.95] == 100.5 - 10.0
    assert vm.es[0.95] == pytest.approx(100.5 - 5.5)  # mean of 1..10
    assert vm.tail_paths == {0.9: 20.0, 0.95: 10.0}


# --------------------------------------------------------------------------- standard errors
def _tilted_normal(rng, n, shift):
    """X ~ N(0, 1) sampled as N(shift, 1): weights exp(−shift y + shift²/2)."""
    y = rng.standard_normal(n) + shift
    return y, np.exp(-shift * y + shift**2 / 2)


def _z_scores(estimates, truth, ses):
    return (np.asarray(estimates) - truth) / np.asarray(ses)


def _check_calibrated(est: dict, ses: dict, truth: dict, reps: int) -> None:
    """z = (estimate − truth)/s.e. over replicates: centred, unit spread, 95% coverage.

    The mean of R z-scores has sd 1/√R (band ± 4/√R = ± 0.23 for R = 300); their sd must be
    within ± 0.25 of 1; the 95% intervals must cover at a rate within 4 binomial sd
    (± 4 √(0.95 · 0.05 / R) = ± 0.05) of 0.95.
    """
    for key in truth:
        z = _z_scores(est[key], truth[key], ses[key])
        assert abs(z.mean()) <= 4 / math.sqrt(reps), (key, z.mean())
        assert abs(z.std(ddof=1) - 1) <= 0.25, (key, z.std(ddof=1))
        assert abs(np.mean(np.abs(z) <= 1.96) - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / reps), key


@pytest.mark.parametrize(
    ("shift", "q", "figures"),
    [
        (1.5, 0.99, ("var", "es", "p")),  # a strong tilt to the 99% tail (Kish ESS ≈ N/9.5)
        (2.0, 0.999, ("var", "es", "p")),  # the 99.9% tail: VaR's sparsity in a steep tail
        (0.75, 0.99, ("mean",)),  # the mean: its errors are only trustworthy under a mild tilt
    ],
)
def test_importance_sampling_standard_errors_cover_the_truth(shift, q, figures):
    # 300 replicates of 4,000 tilted normal paths, scaled by a random factor so that Σ w ≠ N
    rng = np.random.default_rng(77)
    reps, n = 300, 4_000
    z_q = stats.norm.ppf(q)
    truth = {"mean": 0.0, "var": z_q, "es": stats.norm.pdf(z_q) / (1 - q), "p": 1 - q}
    truth = {k: truth[k] for k in figures}
    est: dict[str, list[float]] = {k: [] for k in truth}
    ses: dict[str, list[float]] = {k: [] for k in truth}
    for _ in range(reps):
        y, w = _tilted_normal(rng, n, shift)
        w *= rng.uniform(0.8, 1.25)  # only relative weights may matter
        rm = risk_measures(y, weights=w, levels=[q], min_tail_paths=0)
        p, se_p = exceedance_probability(y, z_q, weights=w)
        found = {
            "mean": (rm.expected, rm.stderr_expected),
            "var": (rm.var[q], rm.stderr_var[q]),
            "es": (rm.es[q], rm.stderr_es[q]),
            "p": (p, se_p),
        }
        for key in truth:
            est[key].append(found[key][0])
            ses[key].append(found[key][1])
    _check_calibrated(est, ses, truth, reps)


def test_lower_tail_standard_errors_cover_the_truth():
    # value-like: the lower tail, sampled with a downward tilt (shift −1.5); bands as above
    rng = np.random.default_rng(78)
    reps, n, shift, q = 300, 4_000, -1.5, 0.99
    a = 1 - q
    z_a = stats.norm.ppf(a)
    truth = {"var": -z_a, "es": stats.norm.pdf(z_a) / a}  # from the exact mean 0
    est: dict[str, list[float]] = {k: [] for k in truth}
    ses: dict[str, list[float]] = {k: [] for k in truth}
    for _ in range(reps):
        y, w = _tilted_normal(rng, n, shift)
        w *= rng.uniform(0.8, 1.25)
        vm = value_measures(y, weights=w, levels=[q], expected=0.0, min_tail_paths=0)
        for key in truth:
            est[key].append(getattr(vm, key)[q])
            ses[key].append(getattr(vm, f"stderr_{key}")[q])
    _check_calibrated(est, ses, truth, reps)


# --------------------------------------------------------------------------- tail resolution
def test_plain_monte_carlo_at_999_with_8192_paths_warns_with_level_count_and_fix():
    x = np.random.default_rng(1).standard_normal(8_192)
    with pytest.warns(TailResolutionWarning) as record:
        rm = risk_measures(x, levels=(0.99, 0.999), name="loss")
    assert rm.tail_paths == {0.99: 82.0, 0.999: 9.0}  # N(1 − q) + 1 paths at or beyond VaR
    (message,) = [str(r.message) for r in record]
    assert "`loss`" in message and "99.9%: 9" in message and "99%:" not in message
    assert "about 45,512 paths" in message and "importance_sampling" in message


def test_importance_sampling_resolves_the_same_tail_without_a_warning():
    rng = np.random.default_rng(1)
    y, w = _tilted_normal(rng, 8_192, stats.norm.ppf(0.999))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TailResolutionWarning)
        rm = risk_measures(y, weights=w, levels=(0.999,))
    assert rm.tail_paths[0.999] > 1_000


def test_value_lower_tail_warns_too():
    x = np.random.default_rng(2).standard_normal(2_000)
    with pytest.warns(TailResolutionWarning, match=r"`value`.*99\.9%: 2\b"):
        value_measures(x, levels=[0.999])


def test_min_tail_paths_zero_never_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TailResolutionWarning)
        risk_measures([1.0, 2.0, 3.0], levels=[0.99], min_tail_paths=0)
        value_measures([1.0, 2.0, 3.0], levels=[0.99], min_tail_paths=0)


# --------------------------------------------------------------------------- contributions
def test_euler_contributions_under_heavy_weights_match_references(heavy):
    x, w = heavy
    rng = np.random.default_rng(9)
    share = rng.uniform(0.1, 0.9, x.size)
    comp = np.column_stack([x * share, x * (1 - share) + rng.gamma(1.0, 2e5, x.size)])
    total = comp.sum(axis=1)
    h = 2e5
    c = euler_contributions(comp, weights=w, levels=LEVELS, bandwidth=h)
    for s in range(2):
        assert c["expected"][s] == pytest.approx(np.average(comp[:, s], weights=w), rel=1e-12)
        se = ref_ratio_se(comp[:, s], w)
        assert c["stderr_expected"][s] == pytest.approx(se, rel=1e-9)
    for k, q in enumerate(LEVELS):
        var = ref_quantile(total, w, q)
        assert c["total_var"][k] == var
        # ES: mean composition of the worst 1 − q of probability (continuous: one path at VaR)
        p = w / w.sum()
        beyond = total > var
        at = np.flatnonzero(total == var)
        share_at = (1 - q) - p[beyond].sum()
        es_s = (p[beyond] @ comp[beyond] + share_at * comp[at].mean(axis=0)) / (1 - q)
        np.testing.assert_allclose(c["es"][k], es_s, rtol=1e-9)
        # VaR: Gaussian-kernel conditional mean with the path weights, rescaled to add up
        kern = w * np.exp(-0.5 * ((total - var) / h) ** 2)
        cond = kern @ comp / kern.sum()
        np.testing.assert_allclose(c["var"][k], cond * var / cond.sum(), rtol=1e-9)


def test_contributions_do_not_depend_on_the_scale_of_the_weights(heavy):
    x, w = heavy
    comp = np.column_stack([0.3 * x, 0.7 * x])
    a = euler_contributions(comp, weights=w, levels=LEVELS)
    b = euler_contributions(comp, weights=3.3 * w, levels=LEVELS)
    for key in ("expected", "stderr_expected", "var", "es", "stderr_es", "total_es"):
        np.testing.assert_allclose(b[key], a[key], rtol=1e-9, err_msg=key)


# --------------------------------------------------------------------------- properties
@settings(max_examples=100, deadline=None)
@given(
    x=arrays(np.float64, st.integers(1, 80), elements=st.floats(0, 1e6, allow_subnormal=False)),
    seed=st.integers(0, 2**32 - 1),
    levels=st.lists(st.floats(0.5, 0.999), min_size=1, max_size=4, unique=True),
)
def test_value_measure_invariants(x, seed, levels):
    w = np.random.default_rng(seed).lognormal(0.0, 1.5, x.size)
    vm = value_measures(x, weights=w, levels=levels, min_tail_paths=0)
    qs = sorted(levels)
    scale = 1.0 + float(x.max())
    for q in qs:
        a = round(1 - q, 12)
        assert vm.quantiles[a] in x
        assert vm.es[q] >= vm.var[q] - 1e-9 * scale  # the tail mean is below the quantile
        assert vm.tail_paths[q] >= 1.0
    for lo, hi in itertools.pairwise(qs):
        assert vm.var[hi] >= vm.var[lo]  # deeper levels: further below the mean
    tol = 1e-9 * scale  # rounding only: the mean never leaves the range of the paths
    assert x.min() - tol <= vm.expected_mc <= x.max() + tol
