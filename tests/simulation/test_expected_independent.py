"""Exact expectations against routes that share no code with `riskmodel.simulation.expected`.

- Absorbing Markov chain algebra: without a factor shift (``E[p(Z)] = p``) the expected
  cumulative defaults and churn of a cohort starting in transient state ``i`` after ``H``
  periods are ``n e_i (I − Q^H)(I − Q)⁻¹ R`` (``Q`` transient-to-transient, ``R``
  transient-to-absorbing), because ``Σ_{t<H} Q^t = (I − Q^H)(I − Q)⁻¹``; as ``H → ∞`` they
  tend to the absorption probabilities ``n e_i (I − Q)⁻¹ R``, with the mass still transient
  ``n e_i Q^H 1`` bounding the gap.
- Linearity: the expectation per segment / per starting state equals the total expectation of
  the scenario holding only that segment's / state's cohorts.
- A large plain Monte Carlo run: per-period means within 4 standard errors of the exact values.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scenario_builders import CARDS, LIFECYCLE_STATES, lifecycle_dict

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary, expectations_section
from riskmodel.simulation.expected import expected_term_structure

Z4 = 4.0  # Monte Carlo tolerance in standard errors


def chain_parts(rows) -> tuple[np.ndarray, np.ndarray]:
    """``Q`` (transient → transient) and ``R`` (transient → churned, defaulted) of `rows`."""
    m = np.asarray(rows, dtype=float)
    return m[:, :4], m[:, 4:]


def cards_cohort(state: str, customers: int, horizon: int, rho: float = 0.2) -> dict:
    cfg = lifecycle_dict(horizon=horizon, rho=rho)
    cfg["portfolio"]["cohorts"] = [
        {
            "segment": "cards",
            "state": state,
            "customers": customers,
            "exposure": 2.0 * customers,
            "margin": 1.0 * customers,
        }
    ]
    cfg["parameters"]["transitions"] = {"cards": CARDS}
    cfg["discount_rate"] = 0.0
    return cfg


class TestAbsorbingChain:
    @pytest.mark.parametrize("state", ["new", "mature", "declining"])
    @pytest.mark.parametrize("horizon", [1, 7, 30])
    def test_cumulative_absorption_matches_the_fundamental_matrix(self, state, horizon):
        n = 1000
        sc = rm.scenario_from_dict(cards_cohort(state, n, horizon))
        s = exact_summary(expected_term_structure(sc))
        q, r = chain_parts(CARDS)
        i = LIFECYCLE_STATES["names"].index(state)
        fundamental = np.linalg.inv(np.eye(4) - q)
        absorbed = n * (np.eye(4) - np.linalg.matrix_power(q, horizon))[i] @ fundamental @ r
        churned, defaulted = absorbed
        assert s["defaults"]["expected"] == pytest.approx(defaulted, rel=1e-11)
        assert s["churn"]["expected"] == pytest.approx(churned, rel=1e-11)
        # loss: EAD 2 per customer, LGD mean 0.45; value: margin 1 per customer in a transient
        # state per period, undiscounted: n e_i Σ_{t=1..H} Q^t 1 = n e_i (Q − Q^{H+1})(I − Q)⁻¹ 1
        assert s["loss"]["expected"] == pytest.approx(defaulted * 2.0 * 0.45, rel=1e-11)
        q_h1 = np.linalg.matrix_power(q, horizon + 1)
        alive = n * ((q - q_h1)[i] @ fundamental).sum()
        assert s["value"]["expected"] == pytest.approx(alive, rel=1e-11)

    def test_long_horizon_reaches_the_absorption_probabilities(self):
        n, horizon = 1000, 1200
        sc = rm.scenario_from_dict(cards_cohort("new", n, horizon))
        s = exact_summary(expected_term_structure(sc))
        q, r = chain_parts(CARDS)
        ultimate = n * (np.linalg.inv(np.eye(4) - q) @ r)[0]
        transient_left = n * np.linalg.matrix_power(q, horizon)[0].sum()
        assert transient_left < 1e-3  # the chain is practically absorbed by then
        got = np.array([s["churn"]["expected"], s["defaults"]["expected"]])
        assert np.all(np.abs(got - ultimate) <= transient_left + 1e-9 * n)
        assert got.sum() == pytest.approx(n, abs=transient_left + 1e-9 * n)

    def test_the_factor_without_shift_leaves_expectations_unchanged(self):
        # E[p(Z)] = p when the factor has mean 0, whatever the correlation
        a = expected_term_structure(rm.scenario_from_dict(cards_cohort("new", 1000, 12, 0.0)))
        b = expected_term_structure(rm.scenario_from_dict(cards_cohort("new", 1000, 12, 0.4)))
        for v in ("loss", "defaults", "churn", "margin"):
            np.testing.assert_allclose(a[v], b[v], rtol=1e-12)


class TestLinearity:
    def test_per_segment_and_per_state_equal_sub_portfolio_totals(self):
        cfg = lifecycle_dict(horizon=10, rho=0.15)
        cfg["systematic"]["shift"] = [-1.0, -0.5, 0.0]
        sc = rm.scenario_from_dict(cfg)
        ds = expected_term_structure(sc)
        cohorts = cfg["portfolio"]["cohorts"]

        def totals(keep) -> dict:
            sub = dict(cfg, portfolio={"cohorts": [c for c in cohorts if keep(c)]})
            return exact_summary(expected_term_structure(rm.scenario_from_dict(sub)))

        for seg in ("cards", "loans"):
            t = totals(lambda c, seg=seg: c["segment"] == seg)
            for name in ("loss", "defaults", "churn", "value"):
                got = float(ds[f"{name}_by_segment"].sel(segment=seg))
                assert got == pytest.approx(t[name]["expected"], rel=1e-12), (seg, name)
        for state in ("new", "growing", "mature", "declining"):
            t = totals(lambda c, state=state: c["state"] == state)
            for name in ("loss", "defaults", "churn"):
                got = float(ds[f"{name}_by_state"].sel(start_state=state).sum())
                assert got == pytest.approx(t[name]["expected"], rel=1e-12, abs=1e-12)
            got = float(ds["value_by_state"].sel(start_state=state))
            assert got == pytest.approx(t["value"]["expected"], rel=1e-12, abs=1e-12)


class TestLargePlainMonteCarlo:
    def test_per_period_and_per_segment_means_agree(self):
        cfg = lifecycle_dict(horizon=6, paths=40_000, seed=41, rho=0.15)
        cfg["systematic"]["shift"] = [-1.0, -0.5, 0.0]
        sc = rm.scenario_from_dict(cfg)  # plain Monte Carlo: weights one
        res = rm.simulate(sc, progress=False)
        assert np.all(res.weights == 1.0)
        section = expectations_section(res)
        # 4 s.e. per comparison: 28 comparisons, a false alarm with probability < 0.2%
        for name in ("loss", "defaults", "churn", "margin"):
            per = section["by_period"][name]
            z = (np.array(per["mc"]) - per["exact"]) / np.array(per["stderr_mc"])
            assert np.all(np.abs(z) < Z4), (name, z)
        loss = section["by_segment"]["loss"]
        for seg, exact in loss["exact"].items():
            assert abs(loss["mc"][seg] - exact) < Z4 * loss["stderr_mc"][seg], seg

    def test_time_varying_matrices_agree(self):
        cfg = lifecycle_dict(horizon=5, paths=20_000, seed=43, rho=0.1)
        sc = rm.scenario_from_dict(cfg)
        mats = np.repeat(np.asarray(sc.transitions)[:, None], 5, axis=1)  # (1, T, S, K, K)
        d, c = sc.states.default_idx, sc.states.churn_idx
        for i in sc.states.transient_idx:  # default and churn doubled in periods 2-3
            rows = mats[0, 1:3, :, i]  # (2, S, K), a copy
            rows[..., [d, c]] *= 2.0
            rows[..., i] = 0.0
            rows[..., i] = 1.0 - rows.sum(axis=-1)
            mats[0, 1:3, :, i] = rows
        shocked = dataclasses.replace(sc, transitions=mats)
        section = expectations_section(rm.simulate(shocked, progress=False))
        for name in ("defaults", "churn"):
            per = section["by_period"][name]
            z = (np.array(per["mc"]) - per["exact"]) / np.array(per["stderr_mc"])
            assert np.all(np.abs(z) < Z4), (name, z)
        flat = expected_term_structure(sc)["defaults"].to_numpy()
        shocked_defaults = section["by_period"]["defaults"]["exact"]
        assert shocked_defaults[0] == pytest.approx(flat[0], rel=1e-12)
        assert shocked_defaults[1] > 1.5 * flat[1]
