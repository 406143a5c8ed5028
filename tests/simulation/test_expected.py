"""Exact expectations against matrix powers, quadrature and the Monte Carlo engine."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scenario_builders import full_matrix, lifecycle_dict, one_cohort_dict
from scipy import integrate, stats

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary
from riskmodel.simulation.expected import expected_term_structure

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

Z4 = 4.0  # tolerance in Monte Carlo standard errors
VARIABLES = ("loss", "defaults", "churn", "margin")


def matrix_power_expectations(cfg: dict, sc: rm.Scenario) -> dict[str, np.ndarray]:
    """Expected amounts per period from ``x0 @ P^t`` per cohort (valid for shift 0)."""
    states = sc.states
    h, d, c = cfg["horizon"], states.default_idx, states.churn_idx
    transient = states.transient_idx
    mats = {s: full_matrix(rows) for s, rows in cfg["parameters"]["transitions"].items()}
    out = {v: np.zeros(h) for v in VARIABLES}
    out["occupancy"] = np.zeros((h, states.n))
    for co in cfg["portfolio"]["cohorts"]:
        x0 = np.zeros(states.n)
        x0[states.index(co["state"])] = co["customers"]
        occ = np.array([x0 @ np.linalg.matrix_power(mats[co["segment"]], t) for t in range(h + 1)])
        new_defaults = np.diff(occ[:, d])
        out["defaults"] += new_defaults
        out["churn"] += np.diff(occ[:, c])
        out["loss"] += new_defaults * co["exposure"] / co["customers"] * cfg["lgd"]["mean"]
        out["margin"] += occ[1:, transient].sum(axis=1) * co["margin"] / co["customers"]
        out["occupancy"] += occ[1:]
    return out


def mc_agrees(res: rm.SimulationResult, ds) -> None:
    """Monte Carlo totals agree with the exact ones within Z4 standard errors."""
    for v in VARIABLES:
        r, exact = res.risk(v), float(ds[v].sum("period"))
        assert abs(r.expected - exact) < Z4 * r.stderr_expected, (v, r.expected, exact)
    value = res.risk("margin", discounted=True)
    exact = exact_summary(ds)["value"]["expected"]
    assert abs(value.expected - exact) < Z4 * value.stderr_expected, (value.expected, exact)


def perturbed_draws(sc: rm.Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Three parameter draws: default and churn probabilities scaled, stay absorbs the change."""
    states = sc.states
    base = np.asarray(sc.transitions[0])  # (S, K, K)
    draws = []
    for scale in (0.6, 1.0, 1.7):
        m = base.copy()
        for i in states.transient_idx:
            m[:, i, [states.default_idx, states.churn_idx]] *= scale
            m[:, i, i] += 1.0 - m[:, i].sum(axis=-1)
        draws.append(m)
    return np.stack(draws), np.array([0.05, 0.15, 0.3])


class TestExactAgainstClosedForms:
    def test_matrix_powers_with_shift_zero(self):
        cfg = lifecycle_dict(horizon=18, rho=0.15)
        sc = rm.scenario_from_dict(cfg)
        ds = expected_term_structure(sc)
        truth = matrix_power_expectations(cfg, sc)
        for v in VARIABLES:
            np.testing.assert_allclose(ds[v].to_numpy(), truth[v], rtol=1e-12, err_msg=v)
        np.testing.assert_allclose(ds["occupancy"].to_numpy(), truth["occupancy"], rtol=1e-12)
        np.testing.assert_allclose(
            ds["occupancy"].sum("state"), sc.portfolio.total_customers, rtol=1e-13
        )
        np.testing.assert_allclose(float(ds["loss_by_segment"].sum()), truth["loss"].sum())
        s = exact_summary(ds)
        assert s["loss"]["expected"] == pytest.approx(truth["loss"].sum(), rel=1e-12)
        df = np.cumprod(np.full(18, 1 / 1.004))
        assert s["ecl"]["lifetime"] == pytest.approx((truth["loss"] * df).sum(), rel=1e-12)
        assert s["ecl"]["12_period"] == pytest.approx((truth["loss"] * df)[:12].sum(), rel=1e-12)
        assert s["value"]["expected"] == pytest.approx((truth["margin"] * df).sum(), rel=1e-12)
        assert len(s["ecl"]["by_period"]) == 18

    @pytest.mark.parametrize("shift", [-1.5, 0.8])
    def test_one_period_defaults_equal_quadrature(self, shift):
        p, rho, n_cust = 0.03, 0.2, 5000
        sc = rm.scenario_from_dict(one_cohort_dict(customers=n_cust, pd=p, rho=rho, shift=shift))
        exact = float(expected_term_structure(sc)["defaults"].sum())

        def integrand(z):
            pz = stats.norm.cdf((stats.norm.ppf(p) - np.sqrt(rho) * z) / np.sqrt(1 - rho))
            return n_cust * pz * stats.norm.pdf(z - shift)

        quad, _ = integrate.quad(integrand, shift - 12, shift + 12, epsabs=1e-13, limit=200)
        assert exact == pytest.approx(quad, rel=1e-10)

    def test_multi_period_survival_is_product_of_mean_pds(self):
        # stay-or-default: E[performing after t] = N Π (1 − Φ(Φ⁻¹(p) − √ρ s_u))
        p, rho, n_cust, shift = 0.02, 0.25, 1000, [-2.0, -1.0, 0.5]
        sc = rm.scenario_from_dict(
            one_cohort_dict(customers=n_cust, pd=p, rho=rho, horizon=4, shift=shift)
        )
        s = np.array([-2.0, -1.0, 0.5, 0.5])
        alive = n_cust * np.cumprod(1 - stats.norm.cdf(stats.norm.ppf(p) - np.sqrt(rho) * s))
        occ = expected_term_structure(sc)["occupancy"].to_numpy()
        np.testing.assert_allclose(occ[:, 0], alive, rtol=1e-12)
        np.testing.assert_allclose(occ[:, 1], n_cust - alive, rtol=1e-12)

    def test_time_varying_matrices(self):
        sc = rm.scenario_from_dict(lifecycle_dict(horizon=6, rho=0.1))
        # constant in time: same as the (D, S, K, K) form
        tiled = np.repeat(np.asarray(sc.transitions)[:, None], 6, axis=1)
        a = expected_term_structure(sc)
        b = expected_term_structure(dataclasses.replace(sc, transitions=tiled))
        for v in (*VARIABLES, "occupancy", "loss_by_segment"):
            np.testing.assert_allclose(a[v], b[v], rtol=1e-13)
        # a shock in period 3 only changes periods 3 on
        draws, _ = perturbed_draws(sc)
        shocked = tiled.copy()
        shocked[:, 2] = draws[2]
        c = expected_term_structure(dataclasses.replace(sc, transitions=shocked))
        np.testing.assert_allclose(c["defaults"][:2], a["defaults"][:2], rtol=1e-13)
        assert float(c["defaults"][2]) > 1.3 * float(a["defaults"][2])

    def test_bad_time_axis_is_rejected(self):
        sc = rm.scenario_from_dict(lifecycle_dict(horizon=6))
        bad = np.repeat(np.asarray(sc.transitions)[:, None], 4, axis=1)
        with pytest.raises(ValueError, match="horizon 6"):
            expected_term_structure(dataclasses.replace(sc, transitions=bad))


class TestMonteCarloCrossCheck:
    def test_shifted_factor(self):
        cfg = lifecycle_dict(horizon=12, paths=20_000, seed=17, rho=0.15)
        cfg["systematic"]["shift"] = [-1.0, -0.5, 0.0]
        sc = rm.scenario_from_dict(cfg)
        ds = expected_term_structure(sc)
        res = rm.simulate(sc, progress=False)
        mc_agrees(res, ds)
        # a downturn raises expected defaults above the unshifted chain's
        flat = expected_term_structure(rm.scenario_from_dict(lifecycle_dict(horizon=12, rho=0.15)))
        assert float(ds["defaults"][0]) > 1.2 * float(flat["defaults"][0])
        bound = Z4 * sc.portfolio.total_customers / (2 * np.sqrt(res.paths))
        got = res.data["occupancy"].to_numpy()
        assert np.all(np.abs(got - ds["occupancy"].to_numpy()) < bound)

    def test_several_parameter_draws(self):
        cfg = lifecycle_dict(horizon=12, paths=20_000, seed=23)
        cfg["systematic"]["shift"] = [-1.0, -0.5, 0.0]
        sc1 = rm.scenario_from_dict(cfg)
        transitions, rho = perturbed_draws(sc1)
        sc = dataclasses.replace(sc1, transitions=transitions, correlation=rho)
        assert sc.n_draws == 3
        ds = expected_term_structure(sc)
        singles = [
            expected_term_structure(
                dataclasses.replace(
                    sc1, transitions=transitions[i : i + 1], correlation=rho[i : i + 1]
                )
            )
            for i in range(3)
        ]
        for v in (*VARIABLES, "occupancy", "loss_by_segment"):
            mean = sum(s[v] for s in singles) / 3
            np.testing.assert_allclose(ds[v], mean, rtol=1e-12, err_msg=v)
        assert ds.attrs["parameter_draws"] == 3
        res = rm.simulate(sc, progress=False)
        assert set(np.unique(res.data["draw"])) == {0, 1, 2}
        mc_agrees(res, ds)

    def test_time_varying_matrices(self):
        cfg = lifecycle_dict(horizon=8, paths=20_000, seed=29, rho=0.15)
        cfg["systematic"]["shift"] = [0.0, -1.0, -0.5, 0.0]
        sc = rm.scenario_from_dict(cfg)
        draws, _ = perturbed_draws(sc)
        path = np.repeat(draws[1][None, None], 8, axis=1)  # (1, T, S, K, K)
        path[0, 2:5] = draws[2]  # a three-period shock to default and churn
        shocked = dataclasses.replace(sc, transitions=path)
        ds = expected_term_structure(shocked)
        mc_agrees(rm.simulate(shocked, progress=False), ds)
