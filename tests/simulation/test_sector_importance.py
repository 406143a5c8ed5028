"""Importance sampling by mean shifts (``shift``, ``mixture``) with sector factors.

The designs shift the factor innovations ``ε ∈ R^{H×F}`` (``Z_t = shift_t + L ε_t``); their
likelihood ratios are checked against the densities directly, and the estimates against the
quadrature references of `test_sector_factors` (a two-factor large-pool book, one period, LGD 1,
so the loss is deterministic given the factors). ES reference: ``ES_q = E[L; L > x_q] / (1 − q)``
with ``E[L; L > x] = ∫ φ(z₁) (x₁(z₁) P(L > x | z₁) + E₂ E[p₂(Z₂); Z₂ < z*(z₁)] ) dz₁``, the inner
expectation a trapezoid rule on ``(−10, z*]`` (no indicator inside the rule).

Tolerances: `K_SE` Monte Carlo standard errors as the run reports them (the weighted
estimators' delta-method errors), and for the mean weight its sample standard error.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import ndtr, ndtri
from scipy.stats import multivariate_normal
from test_sector_factors import (
    EXPOSURE,
    LEVELS,
    RHO,
    P,
    book,
    one_factor_as_sector,
    reference_quantile,
)

import riskmodel as rm
from riskmodel.simulation.factors import shifted_innovations
from riskmodel.simulation.importance import design_point, tail_mixture
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.large_pool import large_pool_loss

K_SE = 4.0
C = 0.4  # factor correlation of the book
EXACT_EL = sum(e * p for e, p in zip(EXPOSURE, P, strict=True))


def reference_es(q: float, c: float) -> float:
    """ES at `q` of E₁ p₁(Z₁) + E₂ p₂(Z₂), factor correlation c in [0, 1), by quadrature."""
    x = reference_quantile(q, c)
    s = math.sqrt(1.0 - c * c)
    z = np.linspace(-10.0, 10.0, 8001)
    dens = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    x1 = EXPOSURE[0] * ndtr((ndtri(P[0]) - math.sqrt(RHO[0]) * z) / math.sqrt(1.0 - RHO[0]))
    y = np.clip((x - x1) / EXPOSURE[1], 0.0, 1.0)  # L > x  ⟺  p₂(Z₂) > y  ⟺  Z₂ < z*
    with np.errstate(divide="ignore"):
        z_star = (ndtri(P[1]) - math.sqrt(1.0 - RHO[1]) * ndtri(y)) / math.sqrt(RHO[1])
    t_star = np.clip((z_star - c * z) / s, -10.0, 10.0)  # in units of Z₂ | z₁ ~ N(c z₁, s²)
    t = -10.0 + (t_star + 10.0)[:, None] * np.linspace(0.0, 1.0, 2001)[None]
    p2 = ndtr((ndtri(P[1]) - math.sqrt(RHO[1]) * (c * z[:, None] + s * t)) / math.sqrt(1 - RHO[1]))
    inner = np.trapezoid(np.exp(-0.5 * t**2) / math.sqrt(2 * math.pi) * p2, t, axis=1)
    tail = x1 * ndtr(t_star) + EXPOSURE[1] * inner
    return float(np.trapezoid(tail * dens, z)) / (1.0 - q)


def _run(sc: rm.Scenario, paths: int, seed: int) -> rm.SimulationResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return rm.simulate(sc, paths=paths, seed=seed, progress=False)


def _assert_agrees(
    res: rm.SimulationResult, es_refs: dict[float, float], *, weight_check: bool = True
) -> None:
    w = res.data["weight"].values
    if weight_check:
        assert abs(w.mean() - 1.0) <= K_SE * w.std(ddof=1) / math.sqrt(w.size), w.mean()
    m = res.risk(levels=LEVELS)
    assert abs(m.expected - EXACT_EL) <= K_SE * m.stderr_expected, (m.expected, EXACT_EL)
    for q in LEVELS:
        var_ref = reference_quantile(q, C)
        assert abs(m.var[q] - var_ref) <= K_SE * m.stderr_var[q], (q, m.var[q], var_ref)
        assert abs(m.es[q] - es_refs[q]) <= K_SE * m.stderr_es[q], (q, m.es[q], es_refs[q])


@pytest.fixture(scope="module")
def es_refs() -> dict[float, float]:
    return {q: reference_es(q, C) for q in LEVELS}


def test_es_reference_is_the_tail_mean_of_the_quadrature_law():
    """The ES reference against plain Monte Carlo of the two factors (1e6 samples, no engine)."""
    rng = np.random.default_rng(0)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, C], [C, 1.0]], size=1_000_000)
    loss = sum(
        e * ndtr((ndtri(p) - math.sqrt(r) * z[:, i]) / math.sqrt(1.0 - r))
        for i, (e, p, r) in enumerate(zip(EXPOSURE, P, RHO, strict=True))
    )
    q = 0.99
    tail = loss[loss > reference_quantile(q, C)]
    se = tail.std(ddof=1) / math.sqrt(tail.size)
    assert tail.size == pytest.approx(10_000, abs=4 * math.sqrt(10_000))
    assert abs(tail.mean() - reference_es(q, C)) <= K_SE * se


@pytest.mark.parametrize("method", ["shift", "mixture"])
def test_shift_designs_agree_with_the_quadrature_references(method, es_refs):
    res = _run(book(C, importance_method=method), paths=16_384, seed=5)
    assert res.data.attrs["importance_method"] == method
    assert res.data.attrs["importance_sampling"] == 1
    w = res.data["weight"].values
    assert w.max() > 2.0 * w.min()  # the design is on: weights differ
    _assert_agrees(res, es_refs)


def test_a_strong_shift_with_heavy_weights_keeps_every_estimate_unbiased(es_refs):
    """Heavy weights: the shift at 0.75 of the design point, |μ| ≈ 2.3, weights up to ~10³.

    A single mean shift has ``E_q[w²] = exp(|μ|²)``, so the mean weight's standard error is
    known exactly, ``√((exp(|μ|²) − 1) / n)`` (the sample one misjudges heavy weights).
    """
    sc = book(C, importance_method="shift", importance_damping=0.75)
    res = _run(sc, paths=32_768, seed=8)
    w = res.data["weight"].values
    mu = 0.75 * np.linalg.norm(design_point(build_kernel_inputs(sc), max(LEVELS)))
    assert w.max() > 100.0  # far beyond the tilt's and the mixture's bound of 10
    assert abs(w.mean() - 1.0) <= K_SE * math.sqrt(math.expm1(mu**2) / w.size)
    _assert_agrees(res, es_refs, weight_check=False)


def test_plain_monte_carlo_agrees_with_the_same_references(es_refs):
    """The comparison the designs are held to, without importance sampling."""
    res = _run(book(C, importance_sampling=False), paths=65_536, seed=6)
    assert np.all(res.data["weight"].values == 1.0)
    _assert_agrees(res, es_refs)


@pytest.mark.parametrize("mixture", [False, True])
def test_weights_are_the_likelihood_ratio_of_the_densities(mixture):
    """``w(y) = φ(y) / q(y)`` on R^{H·F}, q the shifted normal or the mixture of them."""
    rng = np.random.default_rng(1)
    n, h, f = 200, 2, 3
    eps = rng.standard_normal((n, h, f))
    if mixture:
        means, probs = rng.normal(size=(3, h, f)), np.array([0.2, 0.5, 0.3])
    else:
        means, probs = rng.normal(size=(h, f)), None
    y, w = shifted_innovations(eps, np.random.default_rng(2), means, probs)
    flat = y.reshape(n, -1)
    log_phi = multivariate_normal(np.zeros(h * f)).logpdf(flat)
    comps = means.reshape(-1, h * f)
    weights = np.ones(1) if probs is None else probs
    q = sum(p * multivariate_normal(mu).pdf(flat) for p, mu in zip(weights, comps, strict=True))
    np.testing.assert_allclose(w, np.exp(log_phi) / q, rtol=1e-10)
    if not mixture:
        np.testing.assert_array_equal(y, eps + means)


def test_design_point_is_on_the_sphere_and_maximises_the_loss():
    inp = build_kernel_inputs(book(C))
    x = design_point(inp, 0.999)
    assert x.shape == (1, 2)
    assert np.linalg.norm(x) == pytest.approx(ndtri(0.999), rel=1e-12)
    # no point of the sphere nearby (rotations by ±0.05 rad) has a larger large-pool loss
    root = inp.factor_root
    loss = large_pool_loss(inp, inp.shift + x @ root.T)[0]
    for a in (-0.05, 0.05):
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        moved = (x @ rot.T) @ root.T
        assert large_pool_loss(inp, inp.shift + moved)[0] < loss


def test_one_factor_written_as_a_sector_gives_the_one_factor_designs():
    """``factors: [m]`` runs the sector code path; its designs and numbers are the one-factor's."""
    one, sector = one_factor_as_sector(4)
    a_means, a_probs = tail_mixture(build_kernel_inputs(one), 0.999)
    b_means, b_probs = tail_mixture(build_kernel_inputs(sector), 0.999)
    np.testing.assert_allclose(b_means[..., 0], a_means, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(a_probs, b_probs)
    for method in ("shift", "mixture"):
        opts = {"simulation": {"importance_method": method}}
        a = rm.simulate(one.with_options(**opts), paths=2048, seed=4, progress=False)
        b = rm.simulate(sector.with_options(**opts), paths=2048, seed=4, progress=False)
        for v in ("loss", "weight", "is_shift"):
            np.testing.assert_allclose(a.data[v], b.data[v], rtol=1e-9)


def test_qmc_with_a_shift_design_is_unbiased():
    res = _run(book(C, importance_method="mixture", qmc=True, qmc_replicates=8), 8192, 11)
    m = res.risk(levels=LEVELS)
    assert abs(m.expected - EXACT_EL) <= K_SE * m.stderr_expected
    ref = reference_quantile(0.99, C)
    assert abs(m.var[0.99] - ref) <= K_SE * m.stderr_var[0.99]


def test_a_given_z_mean_shifts_the_innovations_and_a_wrong_shape_is_refused():
    from riskmodel.simulation.engine import simulate_dataset

    sc = book(C)
    with pytest.raises(rm.ArgumentError, match=r"shape \(1, 2\)"):
        simulate_dataset(sc, paths=100, seed=1, progress=False, z_mean=np.zeros(1))
    mu = np.array([[-1.0, -0.5]])
    ds = simulate_dataset(sc, paths=4096, seed=2, progress=False, z_mean=mu)
    assert ds.attrs["importance_method"] == "shift"
    w = ds["weight"].values  # a single shift: E_q[w²] = exp(|μ|²)
    assert abs(w.mean() - 1.0) <= K_SE * math.sqrt(math.expm1(float(np.sum(mu**2))) / w.size)
