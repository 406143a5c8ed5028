"""The exact kernel draws only what is uncertain, and that leaves its numbers as they were.

A binomial with ``n = 0`` or ``p = 0`` is 0 and numpy's generator consumes no random number for
it, so the kernel leaves such draws out (empty (cohort, origin) columns, origins with PD 0, steps
of probability 0). These tests check the kernel against a reference that draws every (path,
cohort, origin, step), as the kernel did before: same generator, same outputs, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scenario_builders import lifecycle_dict, one_cohort_dict

import riskmodel as rm
from riskmodel.dynamics import conditional_pd_scaled
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.kernel import KernelInputs, simulate_block
from riskmodel.simulation.qmc import sample_factor
from riskmodel.simulation.seeding import block_rng


def reference_block(inp: KernelInputs, rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Every binomial drawn, all cohorts exact, a Beta LGD without downturn; plain sampling."""
    factor = sample_factor(inp.shift, inp.n_draws, rng, n)
    n_c, n_t, k = len(inp.customers), len(inp.transient_idx), inp.n_states
    seg = inp.cohort_segment
    rho = inp.correlation[:1]
    counts = np.zeros((n, n_c, n_t), dtype=np.int64)
    counts[:, np.arange(n_c), inp.cohort_state] = inp.customers
    rows = np.arange(n_t)
    kappa = inp.lgd_mean * (1 - inp.lgd_mean) / inp.lgd_sd**2 - 1.0
    out: dict[str, list[np.ndarray]] = {"defaults": [], "churn": [], "loss": []}
    for t in range(inp.horizon):
        a = inp.probit_pd[0, 0][seg][None]
        pd_z = conditional_pd_scaled(
            a, np.sqrt(rho)[:, None, None], (1 / np.sqrt(1 - rho))[:, None, None],
            factor.z[:, t, None, None],
        )  # fmt: skip
        d = rng.binomial(counts, pd_z)
        rem = counts - d
        into = np.zeros((n, n_c, k), dtype=np.int64)
        seq = inp.seq_prob[0, 0][seg][None]
        for step in range(inp.dest.shape[1] - 1):
            moved = rng.binomial(rem, seq[..., step])
            rem -= moved
            np.add.at(into, (slice(None), slice(None), inp.dest[:, step]), moved)
        into[:, :, inp.dest[rows, -1]] += rem
        counts = into[:, :, inp.transient_idx]
        d_c = d.sum(axis=2).astype(float)
        lgd = np.full(d_c.shape, inp.lgd_mean)
        hit = d_c > 0
        if hit.any():
            kd = np.maximum(d_c[hit], 1.0) * (kappa + 1.0) - 1.0
            lgd[hit] = rng.beta(inp.lgd_mean * kd, (1.0 - inp.lgd_mean) * kd)
        out["defaults"].append(d_c.sum(axis=1))
        out["churn"].append(into[:, :, inp.churn_idx].sum(axis=1).astype(float))
        out["loss"].append((d_c * (inp.ead * inp.ead_factor[t]) * lgd).sum(axis=1))
    return {key: np.stack(v, axis=1) for key, v in out.items()}


def _with_zero_moves() -> dict[str, Any]:
    """Lifecycle scenario whose cards rows have PD 0, a single destination, or no stay."""
    d = lifecycle_dict(horizon=6)
    m = [list(r) for r in d["parameters"]["transitions"]["cards"]]
    m[1] = [0.0, 0.97, 0.02, 0.0, 0.01, 0.0]  # growing: PD 0
    m[2] = [0.0, 0.0, 0.95, 0.0, 0.04, 0.01]  # mature: churn is the only other move
    m[3] = [0.0, 0.5, 0.3, 0.0, 0.15, 0.05]  # declining: nobody stays
    d["parameters"]["transitions"]["cards"] = m
    d["lgd"] = {"mean": 0.4, "sd": 0.2}
    return d


def _empty_cohort() -> dict[str, Any]:
    d = _with_zero_moves()
    d["portfolio"]["cohorts"][0].update(customers=0, exposure=0.0)
    return d


@pytest.mark.parametrize("build", [_with_zero_moves, _empty_cohort])
def test_kernel_equals_reference_that_draws_everything(build):
    inp = build_kernel_inputs(rm.scenario_from_dict(build()))
    ref = reference_block(inp, block_rng(11, 2), 300)
    out = simulate_block(inp, block_rng(11, 2), 300)
    for key in ("defaults", "churn", "loss"):
        np.testing.assert_array_equal(getattr(out, key), ref[key], err_msg=key)


class _Counting:
    """Generator stand-in that counts the binomial variates drawn (and any with n·p = 0)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.binomials, self.certain = rng, 0, 0

    def binomial(self, n: np.ndarray, p: np.ndarray) -> np.ndarray:
        n_b, p_b = np.broadcast_arrays(n, p)
        self.binomials += n_b.size
        self.certain += int(((n_b == 0) | (p_b == 0)).sum())
        return self.rng.binomial(n, p)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rng, name)


def test_certain_draws_are_skipped():
    # one cohort per state of a lifecycle whose rows never move back to `new`: the cohorts
    # outside `new` never hold anyone there, so their `new` column is never drawn
    inp = build_kernel_inputs(rm.scenario_from_dict(_with_zero_moves()))
    rng = _Counting(block_rng(5, 0))
    simulate_block(inp, rng, 64)  # type: ignore[arg-type]
    n_c, n_t, steps = len(inp.customers), len(inp.transient_idx), inp.dest.shape[1] - 1
    every = 64 * n_c * n_t * (1 + steps) * inp.horizon
    assert 0 < rng.binomials < every
    # with every column full, only zero counts of chance remain (a declining row emptied)
    assert rng.certain < 0.05 * rng.binomials


def test_default_probability_one_defaults_everybody():
    d = one_cohort_dict(customers=50, pd=1.0, rho=0.2, horizon=3)
    out = simulate_block(build_kernel_inputs(rm.scenario_from_dict(d)), block_rng(1, 0), 8)
    np.testing.assert_array_equal(out.defaults[:, 0], 50.0)
    np.testing.assert_array_equal(out.defaults[:, 1:], 0.0)


def test_default_probability_zero_never_defaults_and_draws_nothing():
    d = one_cohort_dict(customers=500, pd=0.0, rho=0.2, horizon=3)
    rng = _Counting(block_rng(1, 0))
    out = simulate_block(build_kernel_inputs(rm.scenario_from_dict(d)), rng, 8)  # type: ignore[arg-type]
    assert rng.binomials == 0
    np.testing.assert_array_equal(out.defaults, 0.0)
