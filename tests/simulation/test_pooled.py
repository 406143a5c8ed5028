"""Large-pool cohorts pooled into units (`riskmodel.simulation.pooled`).

- With a fixed LGD the pooled block equals the per-cohort kernel to rounding, output by output
  (also a book mixing binomial and large-pool cohorts, posterior draws and sector factors): the
  pooled outputs are the same sums in another order, and the binomial cohorts draw the same
  numbers (no LGD Beta is drawn).
- With a Beta LGD on one fixed factor value the segment's loss has the conditional mean
  ``m A`` and variance ``s² B`` of the module docstring, as the per-cohort draws do; tolerance
  5 Monte Carlo standard errors of the mean and of the variance (from the sample's own moments).
- Blocks evolved in sub-blocks of paths (`riskmodel.simulation.sub_blocks`): deterministic
  large-pool cohorts give each path the same numbers; binomial cohorts with a Beta LGD keep
  their law (two independent runs, 5 standard errors of the difference of their means).
- The memory estimate counts pooled cohorts and sub-blocks; results record both streams.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

import riskmodel as rm
from riskmodel.simulation import pooled, resources, sub_blocks
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.kernel import KernelInputs
from riskmodel.simulation.pooled import simulate_block

SEGMENTS = ("cards", "loans", "sme")
STATES = ["new", "mature", "watch", "churned", "defaulted"]
ROWS = [
    [0.90, 0.06, 0.02, 0.012, 0.008],
    [0.00, 0.95, 0.03, 0.012, 0.008],
    [0.00, 0.10, 0.82, 0.03, 0.05],
]
OUTPUTS = (
    "loss",
    "defaults",
    "churn",
    "margin",
    "loss_by_segment",
    "loss_by_cohort",
    "occupancy",
    "churn_value_lost",
    "weight",
    "draw",
)


def _book(n_cohorts, *, lgd, horizon=6, min_customers=1, sectors=False, seed=4):
    rng = np.random.default_rng(seed)
    cohorts = [
        {
            "segment": SEGMENTS[s],
            "state": STATES[k],
            "customers": int(n),
            "exposure": float(n * e),
            "margin": float(n * e * 0.002),
        }
        for s, k, n, e in zip(
            rng.integers(0, 3, n_cohorts),
            rng.integers(0, 3, n_cohorts),
            rng.integers(200, 5000, n_cohorts),
            rng.lognormal(8.0, 1.0, n_cohorts),
            strict=True,
        )
    ]
    systematic = {"correlation": 0.12, "shift": [-0.5, 0.3]}
    if sectors:
        systematic = {
            "factors": ["retail", "sme"],
            "factor_correlation": [[1.0, 0.4], [0.4, 1.0]],
            "segments": {
                "cards": {"factor": "retail", "correlation": 0.08},
                "loans": {"factor": "retail", "correlation": 0.12},
                "sme": {"factor": "sme", "correlation": 0.2},
            },
        }
    return rm.scenario_from_dict(
        {
            "name": "pooled",
            "horizon": horizon,
            "paths": 64,
            "seed": 1,
            "states": {
                "names": STATES,
                "absorbing": ["churned", "defaulted"],
                "default": "defaulted",
                "churn": "churned",
            },
            "portfolio": {"cohorts": cohorts},
            "parameters": {"transitions": {s: ROWS for s in SEGMENTS}},
            "systematic": systematic,
            "lgd": lgd,
            "exposure": {"amortisation": 0.01},
            "discount_rate": 0.004,
            "simulation": {
                "importance_sampling": False,
                "approximation": "large_pool",
                "large_pool_min_customers": min_customers,
            },
        }
    )


def _with_draws(sc):
    base = np.asarray(sc.transitions[0])
    mats = []
    for bump in (0.6, 1.0, 1.7):
        m = base.copy()
        m[:, :3, 4] *= bump
        m[:, :3, 0] = 0.0
        m[:, :3, 0] = 1.0 - m[:, :3].sum(axis=-1)
        mats.append(m)
    return dataclasses.replace(
        sc, transitions=np.stack(mats), correlation=np.array([0.05, 0.1, 0.3])
    )


def _block(inp, n=40, seed=3):
    return simulate_block(inp, np.random.default_rng(seed), n)


@pytest.mark.parametrize(
    ("case", "min_customers"),
    [("downturn", 1), ("mixed", 2000), ("draws", 1), ("sectors", 1), ("fixed", 1)],
)
def test_pooled_units_equal_the_per_cohort_large_pool(monkeypatch, case, min_customers):
    lgd = {"mean": 0.4, "sd": 0.0}
    if case != "fixed":
        lgd["downturn"] = {"sensitivity": 0.3}
    sc = _book(60, lgd=lgd, min_customers=min_customers, sectors=case == "sectors")
    if case == "draws":
        sc = _with_draws(sc)
    inp = build_kernel_inputs(sc)
    assert 10 <= inp.large_pool.sum() < len(inp.large_pool) or min_customers == 1
    monkeypatch.setattr(pooled, "POOL_MIN_COHORTS", 10)
    assert pooled.pools(inp)
    got = _block(inp)
    monkeypatch.setattr(pooled, "POOL_MIN_COHORTS", 10**9)
    want = _block(inp)
    for name in OUTPUTS:
        np.testing.assert_allclose(
            getattr(got, name), getattr(want, name), rtol=1e-12, atol=0, err_msg=name
        )
    assert np.ptp(got.loss_by_cohort) > 0 and np.ptp(got.loss) > 0


def test_below_the_threshold_the_kernel_is_untouched(monkeypatch):
    inp = build_kernel_inputs(_book(30, lgd={"mean": 0.4, "sd": 0.2}))
    assert not pooled.pools(inp)  # 30 < POOL_MIN_COHORTS
    calls = []
    monkeypatch.setattr(pooled, "simulate_pooled", lambda *a: calls.append(a))
    _block(inp)
    assert calls == []


@pytest.mark.parametrize("downturn", [0.0, 0.3])
def test_pooled_beta_lgd_has_the_moments_of_the_per_cohort_draws(monkeypatch, downturn):
    # horizon 1, one factor value z0 on every path: D_c = n_c p_{s,k}(z0) (no noise); the
    # segment's loss A·L has mean m A and variance s² B with A = f Σ D_c ead_c and
    # B = f² Σ D_c ead_c² (every D_c ≥ 1 here, so the per-cohort draws agree)
    m, s, z0, n = 0.4, 0.2, -1.0, 20_000
    lgd = {"mean": m, "sd": s}
    if downturn:
        lgd["downturn"] = {"sensitivity": downturn}
    sc = _book(40, lgd=lgd, horizon=1)
    inp = build_kernel_inputs(sc)
    eps = np.full((n, 1), z0 - inp.shift[0])
    rho = inp.correlation[0]
    p = ndtr((inp.probit_pd[0, 0] - np.sqrt(rho) * z0) / np.sqrt(1 - rho))  # (S, Kt)
    d_c = inp.customers * p[inp.cohort_segment, inp.cohort_state]
    assert d_c.min() >= 1.0
    f = inp.ead_factor[0]
    seg = np.eye(len(SEGMENTS))[inp.cohort_segment]
    a = f * (d_c * inp.ead) @ seg
    b = f**2 * (d_c * inp.ead**2) @ seg
    mean_lgd = float(ndtr(ndtri(m) - downturn * z0))  # m itself without a downturn
    sd = min(s, 0.99 * np.sqrt(mean_lgd * (1 - mean_lgd))) if downturn else s
    for threshold in (10, 10**9):  # pooled, then per cohort
        monkeypatch.setattr(pooled, "POOL_MIN_COHORTS", threshold)
        x = simulate_block(inp, np.random.default_rng(11), n, eps=eps).loss_by_segment
        mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)
        se_mean = np.sqrt(var / n)
        se_var = np.sqrt((((x - mean) ** 4).mean(axis=0) - var**2) / n)
        assert np.all(np.abs(mean - mean_lgd * a) < 5 * se_mean), (threshold, mean, a)
        assert np.all(np.abs(var - sd**2 * b) < 5 * se_var), (threshold, var, sd**2 * b)


def test_every_per_cohort_kernel_input_is_pooled_by_cohort():
    # a new per-cohort input (e.g. a PD multiplier) must be listed in COHORT_FIELDS, and the
    # units must then say how they pool it: this test fails until it is classified
    sc = _book(1003, lgd={"mean": 0.4, "sd": 0.0}, horizon=2)
    inp = build_kernel_inputs(sc)
    per_cohort = {
        f.name
        for f in dataclasses.fields(KernelInputs)
        if isinstance(getattr(inp, f.name), np.ndarray)
        and getattr(inp, f.name).shape[:1] == (1003,)
    }
    assert per_cohort == set(pooled.COHORT_FIELDS)


def test_memory_estimate_counts_pooled_cohorts_and_sub_blocks(monkeypatch):
    sc = _book(40, lgd={"mean": 0.4, "sd": 0.0}, horizon=2, min_customers=2000)
    n_pool = int(build_kernel_inputs(sc).large_pool.sum())
    per_cohort = resources.KERNEL_BYTES_PER_PATH_COHORT
    assert resources.kernel_bytes(sc, 2048) == per_cohort * 40 * 2048  # 40 < POOL_MIN_COHORTS
    monkeypatch.setattr(resources, "POOL_MIN_COHORTS", 10)
    pooled_bytes = resources.POOLED_BYTES_PER_PATH_COHORT * n_pool * 2048
    exact_bytes = per_cohort * (40 - n_pool) * 2048
    assert resources.kernel_bytes(sc, 2048) == pooled_bytes + exact_bytes
    monkeypatch.setattr(sub_blocks, "SUB_BLOCK_CELLS", 100 * (40 - n_pool))  # 100-path steps
    exact_bytes = per_cohort * (40 - n_pool) * 100 * 2  # one sub-block in each of two blocks
    want = pooled_bytes + exact_bytes + 8 * 40 * 2048  # and each block's loss per cohort
    assert resources.kernel_bytes(sc, 2048) == want
    results = resources.run_bytes(5000, 2, 3, 40, "paths")
    need = resources.check_scenarios_memory([sc, sc], 5000, limit=2**40, in_flight_paths=2048)
    assert need == 2 * results + want  # the runs' results, one scenario's kernel


def test_results_record_the_pooled_stream(monkeypatch):
    sc = _book(30, lgd={"mean": 0.4, "sd": 0.2}, horizon=2)
    assert rm.simulate(sc, paths=16, progress=False).data.attrs["large_pool_units"] == 0
    monkeypatch.setattr(pooled, "POOL_MIN_COHORTS", 10)
    assert rm.simulate(sc, paths=16, progress=False).data.attrs["large_pool_units"] == 1


def test_results_record_the_sub_block(monkeypatch):
    sc = _book(30, lgd={"mean": 0.4, "sd": 0.2}, horizon=2)
    assert rm.simulate(sc, paths=16, progress=False).data.attrs["kernel_sub_block"] == 0
    monkeypatch.setattr(sub_blocks, "SUB_BLOCK_CELLS", 30 * 100)
    assert rm.simulate(sc, paths=16, progress=False).data.attrs["kernel_sub_block"] == 100


def test_large_pool_cohorts_in_sub_blocks_equal_the_whole_block(monkeypatch):
    # per-cohort large-pool cohorts with a fixed LGD: no random number after the factor paths,
    # so sub-blocks give each path what the whole block gives it
    inp = build_kernel_inputs(
        _book(30, lgd={"mean": 0.4, "sd": 0.0, "downturn": {"sensitivity": 0.3}})
    )
    want = _block(inp, n=50)
    monkeypatch.setattr(sub_blocks, "SUB_BLOCK_CELLS", 30 * 7)  # 7-path sub-blocks
    assert sub_blocks.sub_block_paths(30, 50) == 7
    got = _block(inp, n=50)
    for name in OUTPUTS:
        np.testing.assert_allclose(
            getattr(got, name), getattr(want, name), rtol=1e-12, atol=0, err_msg=name
        )


def test_exact_cohorts_in_sub_blocks_keep_their_law(monkeypatch):
    # binomial cohorts and a Beta LGD: sub-blocks draw another stream of the same law; the mean
    # per-path totals of two independent runs (whole, cut) agree within 5 standard errors of
    # their difference
    lgd = {"mean": 0.4, "sd": 0.25, "downturn": {"sensitivity": 0.3}}
    inp = build_kernel_inputs(_book(12, lgd=lgd, min_customers=10**6))
    assert not inp.large_pool.any()
    whole = _block(inp, n=4000, seed=21)
    monkeypatch.setattr(sub_blocks, "SUB_BLOCK_CELLS", 12 * 300)
    cut = _block(inp, n=4000, seed=22)
    assert sub_blocks.sub_block_paths(12, 4000) == 300
    for name in ("loss", "defaults", "churn", "margin"):
        a, b = getattr(whole, name).sum(axis=1), getattr(cut, name).sum(axis=1)
        se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(a.mean() - b.mean()) < 5 * se, name
    a, b = whole.loss_by_cohort, cut.loss_by_cohort
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 5 * se)
