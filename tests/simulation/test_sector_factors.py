"""Sector factors in the engine: closed forms and quadrature references for two factors.

The books here are large-pool (``approximation: large_pool`` on every cohort), one period, shift
0, LGD 1: segment ``s``'s loss is ``E_s · p_s(Z_s)`` with ``p_s(Z) = Φ((Φ⁻¹p_s − √ρ_s Z) /
√(1 − ρ_s))``, a Vasicek variable, and the two factors are standard normal with correlation
``c``. References:

- ``c = 1`` (comonotone): both losses fall with the same ``Z``, so VaR adds up across segments
  and equals ``Σ_s E_s V_s(q)`` with the Vasicek quantile ``V(q) = Φ((Φ⁻¹p + √ρ Φ⁻¹q) /
  √(1 − ρ))``.
- ``0 ≤ c < 1``: ``P(L ≤ x) = ∫ φ(z₁) P(E₂ p₂(Z₂) ≤ x − E₁ p₁(z₁) | Z₁ = z₁) dz₁`` with
  ``Z₂ | Z₁ = z₁ ~ N(c z₁, 1 − c²)``: the inner probability of the 2-D integral is closed form,
  the outer one is a trapezoid rule on 40,001 points over [-10, 10] (error far below the Monte
  Carlo tolerance). ``c = 0`` is the convolution of the two Vasicek laws.

Importance sampling is on (the default tilt, weights up to 10). Tolerances: 4 Monte Carlo
standard errors of the estimate as the run reports them (the self-normalised weighted quantile's
delta-method error), a two-sided 6e-5 false-alarm rate per comparison under normality.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary
from riskmodel.metrics.risk import risk_measures
from riskmodel.simulation.expected import expected_term_structure

REPO = Path(__file__).resolve().parents[2]
P = (0.02, 0.05)  # unconditional default probabilities of segments a, b
RHO = (0.08, 0.20)  # their asset correlations
EXPOSURE = (6.0e8, 4.0e8)  # total exposure of each segment
LEVELS = (0.99, 0.999)
K_SE = 4.0


def book(factor_correlation: float, **simulation: object) -> rm.Scenario:
    """Two large-pool segments on two factors with correlation `factor_correlation`."""
    c = factor_correlation
    cfg = {
        "name": "sectors",
        "horizon": 1,
        "paths": 1000,
        "seed": 1,
        "states": {
            "names": ["ok", "defaulted"],
            "absorbing": ["defaulted"],
            "default": "defaulted",
        },
        "portfolio": {
            "cohorts": [
                {"segment": s, "state": "ok", "customers": 10**6, "exposure": e}
                for s, e in zip(("a", "b"), EXPOSURE, strict=True)
            ]
        },
        "parameters": {"transitions": {s: [[1 - p, p]] for s, p in zip("ab", P, strict=True)}},
        "systematic": {
            "factors": ["fa", "fb"],
            "factor_correlation": [[1.0, c], [c, 1.0]],
            "segments": {
                s: {"factor": f, "correlation": r}
                for s, f, r in zip("ab", ("fa", "fb"), RHO, strict=True)
            },
        },
        "lgd": {"mean": 1.0},
        "simulation": {"approximation": "large_pool", "large_pool_min_customers": 1, **simulation},
        "outputs": {"levels": list(LEVELS)},
    }
    return rm.scenario_from_dict(cfg)


def vasicek_quantile(q: float, p: float, rho: float) -> float:
    return float(ndtr((ndtri(p) + math.sqrt(rho) * ndtri(q)) / math.sqrt(1.0 - rho)))


def reference_quantile(q: float, c: float) -> float:
    """The `q`-quantile of E₁ p₁(Z₁) + E₂ p₂(Z₂) for factor correlation c in [0, 1)."""
    z = np.linspace(-10.0, 10.0, 40_001)
    x1 = EXPOSURE[0] * ndtr((ndtri(P[0]) - math.sqrt(RHO[0]) * z) / math.sqrt(1.0 - RHO[0]))
    dens = np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)

    def cdf(x: float) -> float:
        y = np.clip((x - x1) / EXPOSURE[1], 0.0, 1.0)  # p₂(Z₂) ≤ y  ⟺  Z₂ ≥ z*(y)
        with np.errstate(divide="ignore"):
            z_star = (ndtri(P[1]) - math.sqrt(1.0 - RHO[1]) * ndtri(y)) / math.sqrt(RHO[1])
        inner = ndtr((c * z - z_star) / math.sqrt(1.0 - c * c))
        return float(np.trapezoid(inner * dens, z))

    return brentq(lambda x: cdf(x) - q, 0.0, sum(EXPOSURE), xtol=1.0)


def _run(sc: rm.Scenario, paths: int, seed: int) -> rm.SimulationResult:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return rm.simulate(sc, paths=paths, seed=seed, progress=False)


def test_comonotone_factors_add_vasicek_quantiles():
    res = _run(book(1.0), paths=16_384, seed=3)
    assert res.data.attrs["importance_sampling"] == 1
    weight = res.data["weight"].values
    assert weight.max() > 2.0 * weight.min()  # the tilt is on: weights differ
    m = res.risk(levels=LEVELS)
    by_segment = res.data["loss_by_segment"].values
    for q in LEVELS:
        ref = sum(e * vasicek_quantile(q, p, r) for e, p, r in zip(EXPOSURE, P, RHO, strict=True))
        assert abs(m.var[q] - ref) <= K_SE * m.stderr_var[q], (q, m.var[q], ref)
        # comonotone paths: the segments' VaRs (same weights) add up to the total's
        parts = [
            risk_measures(by_segment[:, s], weights=weight, levels=[q], min_tail_paths=0).var[q]
            for s in range(2)
        ]
        assert sum(parts) == pytest.approx(m.var[q], rel=1e-6)


@pytest.mark.parametrize("c", [0.0, 0.4])
def test_var_matches_the_quadrature_reference(c):
    res = _run(book(c), paths=16_384, seed=5)
    m = res.risk(levels=LEVELS)
    for q in LEVELS:
        ref = reference_quantile(q, c)
        assert abs(m.var[q] - ref) <= K_SE * m.stderr_var[q], (c, q, m.var[q], ref)


def test_diversification_orders_the_tail():
    """VaR 99.9% rises with the factor correlation (references, no simulation)."""
    refs = [reference_quantile(0.999, c) for c in (0.0, 0.4, 0.8)]
    comonotone = sum(
        e * vasicek_quantile(0.999, p, r) for e, p, r in zip(EXPOSURE, P, RHO, strict=True)
    )
    assert refs[0] < refs[1] < refs[2] < comonotone


def test_weighted_mean_is_the_exact_expected_loss():
    """Heavy importance weights keep the mean unbiased: E[L] = Σ E_s p_s (shift 0)."""
    res = _run(book(0.4), paths=8192, seed=7)
    m = res.risk(levels=LEVELS)
    exact = sum(e * p for e, p in zip(EXPOSURE, P, strict=True))
    assert abs(m.expected - exact) <= K_SE * m.stderr_expected
    assert float(res.data["exact_loss"].sum()) == pytest.approx(exact, rel=1e-12)


def test_block_split_and_workers_do_not_change_numbers():
    sc = book(0.4)
    runs = [
        rm.simulate(sc, paths=3000, seed=9, batch=b, workers=w, progress=False)
        for b, w in ((1024, 1), (4096, 2), (1, 2))
    ]
    for r in runs[1:]:
        for v in ("loss", "loss_by_segment", "weight", "draw"):
            np.testing.assert_array_equal(runs[0].data[v], r.data[v])


def test_qmc_with_two_factors_is_unbiased():
    sc = book(0.4, qmc=True, qmc_replicates=8)
    res = _run(sc, paths=8192, seed=11)
    m = res.risk(levels=LEVELS)
    exact = sum(e * p for e, p in zip(EXPOSURE, P, strict=True))
    assert abs(m.expected - exact) <= K_SE * m.stderr_expected
    ref = reference_quantile(0.99, 0.4)
    assert abs(m.var[0.99] - ref) <= K_SE * m.stderr_var[0.99]


def one_factor_as_sector(horizon: int) -> tuple[rm.Scenario, rm.Scenario]:
    """adverse.yaml, and the same written with ``factors: [m]`` (every segment at its ρ 0.10)."""
    one = rm.load_scenario(REPO / "scenarios" / "adverse.yaml").with_options(horizon=horizon)
    cfg = one.config.model_dump(exclude_none=True)
    cfg["portfolio"] = {"file": str(REPO / "scenarios" / "portfolio.csv")}
    cfg["systematic"] = {
        "factors": ["m"],
        "segments": {s: {"factor": "m", "correlation": 0.10} for s in one.segments},
        "shift": cfg["systematic"]["shift"],
    }
    return one, rm.scenario_from_dict(cfg)


def test_one_factor_written_as_a_sector_gives_the_same_numbers():
    """``factors: [m]`` with every segment at the same ρ is the one-factor model."""
    one, sector = one_factor_as_sector(6)
    a = rm.simulate(one, paths=2048, seed=4, progress=False)
    b = rm.simulate(sector, paths=2048, seed=4, progress=False)
    for v in ("loss", "weight", "exact_loss"):
        np.testing.assert_allclose(a.data[v], b.data[v], rtol=1e-12)


def test_bundled_example_matches_its_exact_expectations_by_segment():
    """Monte Carlo loss by segment within 4 SE of the exact one (downturn LGD by factor)."""
    sc = rm.load_scenario(REPO / "scenarios" / "sectors.yaml").with_options(horizon=12)
    res = rm.simulate(sc, paths=4096, seed=2, progress=False)
    exact = expected_term_structure(sc)["loss_by_segment"].values
    per_path = res.data["loss_by_segment"].values
    w = res.data["weight"].values[:, None]
    mean = (w * per_path).mean(axis=0)
    se = (w * per_path).std(axis=0, ddof=1) / math.sqrt(len(w))
    assert np.all(np.abs(mean - exact) <= K_SE * se), (mean, exact, se)


def test_loan_level_ecl_of_a_two_factor_scenario_sums_to_the_exact_ecl():
    sc = rm.load_scenario(REPO / "scenarios" / "sectors.yaml")
    pc = sc.portfolio.per_customer()
    tape = pd.DataFrame(
        {
            "loan_id": [f"c{i}" for i in range(len(pc))],
            "segment": pc["segment"],
            "state": pc["state"],
            "exposure": np.asarray(sc.cohort_ead) * pc["customers"].to_numpy(),
        }
    )
    res = rm.loan_ecl(sc, tape)
    exact = exact_summary(expected_term_structure(sc))["ecl"]
    # exact on both sides: floating-point agreement (sums over 8 loans)
    assert math.fsum(res.loans["ecl_lifetime"]) == pytest.approx(exact["lifetime"], rel=1e-10)
    assert math.fsum(res.loans["ecl_12m"]) == pytest.approx(exact["12_month"], rel=1e-10)


def test_dask_backend_gives_the_local_numbers_bit_for_bit():
    from riskmodel.simulation.cluster import local_cluster

    sc = book(0.4)
    local = rm.simulate(sc, paths=3000, seed=9, batch=1024, progress=False)
    with local_cluster(1) as cluster:
        on_dask = rm.simulate(
            sc, paths=3000, seed=9, batch=1024, scheduler=cluster.scheduler_address, progress=False
        )
    for v in ("loss", "loss_by_segment", "weight", "draw"):
        np.testing.assert_array_equal(on_dask.data[v], local.data[v])


def test_posterior_draws_with_sector_factors_match_the_exact_expectation(tmp_path):
    """Transition draws per path, per-segment correlations from the file (D × S).

    The bundled posterior scenario with a small seeded posterior file in its place (the bundled
    ``fitted.nc`` is made by ``riskmodel fit`` and not in the repository).
    """
    import shutil

    import yaml

    path = REPO / "scenarios" / "posterior" / "baseline.yaml"
    cfg = yaml.safe_load(path.read_text())
    states = rm.LIFECYCLE
    p = np.random.default_rng(0).dirichlet(np.ones(states.n), size=(5, 2, states.n))
    p[..., states.absorbing_idx, :] = np.eye(states.n)[states.absorbing_idx]
    rm.ParameterDraws(states, ("cards", "loans"), p, correlation=np.full(5, 0.1)).to_netcdf(
        tmp_path / "fitted.nc"
    )
    shutil.copy(REPO / "scenarios" / "portfolio.csv", tmp_path / "portfolio.csv")
    cfg["portfolio"] = {"file": "portfolio.csv"}
    cfg["parameters"] = {"posterior": "fitted.nc"}
    cfg["horizon"] = 6
    cfg["systematic"] = {
        "factors": ["r", "s"],
        "factor_correlation": [[1.0, 0.3], [0.3, 1.0]],
        "segments": {
            "cards": {"factor": "r", "correlation": 0.1},
            "loans": {"factor": "s", "correlation": 0.2},
        },
        "shift": {"s": -1.0},
    }
    sc = rm.scenario_from_dict(cfg, base_dir=tmp_path)
    assert sc.n_draws > 1 and sc.correlation.shape == (sc.n_draws, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rm.TailResolutionWarning)
        loss = rm.simulate(sc, paths=4096, seed=1, progress=False).summary()["loss"]
    assert abs(loss["expected_mc"] - loss["expected"]) <= K_SE * loss["stderr_mc"]
