"""The exact cohort engine against closed forms, with tolerances from Monte Carlo errors."""

from __future__ import annotations

import numpy as np
import pytest
from scenario_builders import (
    finite_n_pmf,
    full_matrix,
    lifecycle_dict,
    one_cohort_dict,
)
from scipy import integrate, stats

import riskmodel as rm

Z4 = 4.0  # tolerance in standard errors for single comparisons


def vasicek_quantile(p: float, rho: float, q: float) -> float:
    return stats.norm.cdf((stats.norm.ppf(p) + np.sqrt(rho) * stats.norm.ppf(q)) / np.sqrt(1 - rho))


def vasicek_pdf(x: float, p: float, rho: float) -> float:
    a = stats.norm.ppf(x)
    u = (np.sqrt(1 - rho) * a - stats.norm.ppf(p)) / np.sqrt(rho)
    return np.sqrt((1 - rho) / rho) * stats.norm.pdf(u) / stats.norm.pdf(a)


class TestOnePeriodOneCohort:
    """Loss of one cohort over one period with LGD 1 and EAD 1: the number of defaults."""

    def test_large_pool_matches_vasicek_quantiles(self):
        p, rho, n_cust, n = 0.02, 0.15, 10**9, 100_000
        sc = rm.scenario_from_dict(
            one_cohort_dict(customers=n_cust, pd=p, rho=rho, paths=n, seed=11)
        )
        res = rm.simulate(sc, progress=False)
        frac = res.total("loss").to_numpy() / n_cust
        levels = (0.5, 0.9, 0.99, 0.999)
        measured = rm.risk_measures(frac, levels=levels)
        for q in levels:
            truth = vasicek_quantile(p, rho, q)
            # standard error of a sample quantile from the true (Vasicek) density
            se = np.sqrt(q * (1 - q) / n) / vasicek_pdf(truth, p, rho)
            assert abs(measured.var[q] - truth) < Z4 * se, (q, measured.var[q], truth, se)
            # the reported error is near the true one at every level (a sanity band: the
            # sparsity is a difference quotient; calibration proper is the coverage study of
            # tests/oracles/test_coverage.py; measured 0.97-1.15 here)
            assert 0.6 < measured.stderr_var[q] / se < 1.6, (q, measured.stderr_var[q], se)

    def test_large_pool_mean_is_pd(self):
        p, rho, n_cust, n = 0.03, 0.2, 10**9, 50_000
        sc = rm.scenario_from_dict(
            one_cohort_dict(customers=n_cust, pd=p, rho=rho, paths=n, seed=5)
        )
        frac = rm.simulate(sc, progress=False).total("loss").to_numpy() / n_cust
        # Var of the Vasicek fraction: Φ2(a, a; ρ) − p²
        a = stats.norm.ppf(p)
        phi2 = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([a, a])
        sd = np.sqrt(phi2 - p**2)
        assert abs(frac.mean() - p) < Z4 * sd / np.sqrt(n)
        assert abs(frac.std() / sd - 1) < Z4 * np.sqrt(2 / n) * 2  # kurtosis margin for sd

    def test_small_cohort_matches_exact_finite_n_distribution(self):
        p, rho, n_cust, n = 0.05, 0.2, 40, 200_000
        sc = rm.scenario_from_dict(
            one_cohort_dict(customers=n_cust, pd=p, rho=rho, paths=n, seed=21)
        )
        d = rm.simulate(sc, progress=False).total("defaults").to_numpy().astype(int)
        # exact pmf: quadrature over the factor of the conditional binomial
        pmf = finite_n_pmf(p, rho, n_cust)
        assert abs(pmf.sum() - 1) < 1e-9
        cdf = np.cumsum(pmf)
        emp = np.array([(d <= k).mean() for k in range(n_cust + 1)])
        inner = (cdf > 1e-4) & (cdf < 1 - 1e-4)
        se = np.sqrt(np.clip(cdf * (1 - cdf), 0, None) / n)
        # 4.5 SE: ~20 correlated comparisons
        assert np.all(np.abs(emp - cdf)[inner] < 4.5 * se[inner])
        # chi-square goodness of fit over bins with enough expected counts
        counts = np.bincount(d, minlength=n_cust + 1)
        expected = pmf * n
        keep = expected >= 20
        obs = np.append(counts[keep], counts[~keep].sum())
        exp = np.append(expected[keep], expected[~keep].sum())
        chi2 = ((obs - exp) ** 2 / exp).sum()
        assert stats.chi2.sf(chi2, len(obs) - 1) > 1e-3
        # quantiles, at every level: the empirical VaR is min{k : F̂(k) ≥ q}; with
        # |F̂ − F| ≤ 4.5 se it is a k with F(k) ≥ q − 4.5 se and F(k − 1) < q + 4.5 se: one
        # value where the level is well determined, a few where q is near a step of F or deep in
        # the tail (at 99.9% the band spans three steps)
        measured = rm.risk_measures(d.astype(float), levels=(0.9, 0.99, 0.999))
        before = np.concatenate([[0.0], cdf[:-1]])
        for q in (0.9, 0.99, 0.999):
            band = 4.5 * np.sqrt(q * (1 - q) / n)
            possible = np.flatnonzero((cdf >= q - band) & (before < q + band))
            assert 1 <= possible.size <= 3, (q, possible)
            assert measured.var[q] in possible, (q, measured.var[q], possible)

    def test_beta_lgd_keeps_mean_and_variance_of_the_sum(self):
        # rho = 0: D ~ Binomial(N, p); loss = sum of D Beta LGDs (moment-matched, one draw)
        p, n_cust, n, m, s = 0.05, 200, 200_000, 0.4, 0.25
        sc = rm.scenario_from_dict(
            one_cohort_dict(
                customers=n_cust, pd=p, rho=0.0, paths=n, seed=4, lgd={"mean": m, "sd": s}
            )
        )
        loss = rm.simulate(sc, progress=False).total("loss").to_numpy()
        mean = n_cust * p * m
        var = n_cust * p * s**2 + m**2 * n_cust * p * (1 - p)
        assert abs(loss.mean() - mean) < Z4 * np.sqrt(var / n)
        m4 = np.mean((loss - loss.mean()) ** 4)
        se_var = np.sqrt((m4 - var**2) / n)
        assert abs(loss.var() - var) < Z4 * se_var
        assert loss.min() >= 0 and loss.max() <= n_cust

    def test_fixed_lgd_loss_is_defaults_times_ead_times_lgd(self):
        sc = rm.scenario_from_dict(
            one_cohort_dict(
                customers=1000, pd=0.02, rho=0.1, paths=3000, lgd={"mean": 0.35, "sd": 0}
            )
        )
        res = rm.simulate(sc, progress=False)
        np.testing.assert_allclose(res.data["loss"], res.data["defaults"] * 0.35, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # means only
class TestMultiPeriodAbsorption:
    """With shift 0, expected flows equal the Markov chain's matrix powers (E[M(Z)] = P)."""

    @pytest.fixture(scope="class")
    @staticmethod
    def run():
        cfg = lifecycle_dict(horizon=18, paths=20_000, seed=8, rho=0.15)
        sc = rm.scenario_from_dict(cfg)
        return cfg, sc, rm.simulate(sc, progress=False)

    @staticmethod
    def occupancy_paths(cfg, sc):
        """Expected customers per (cohort, period end, state) by matrix powers."""
        states = sc.states
        h = cfg["horizon"]
        mats = {
            "cards": full_matrix(cfg["parameters"]["transitions"]["cards"]),
            "loans": full_matrix(cfg["parameters"]["transitions"]["loans"]),
        }
        out = []
        for c in cfg["portfolio"]["cohorts"]:
            v = np.zeros(states.n)
            v[states.index(c["state"])] = c["customers"]
            rows = [v]
            for _ in range(h):
                rows.append(rows[-1] @ mats[c["segment"]])
            out.append(np.array(rows))  # (h + 1, K), row 0 = today
        return out

    def test_expected_defaults_and_churn_equal_absorption_probabilities(self, run):
        cfg, sc, res = run
        occ = self.occupancy_paths(cfg, sc)
        d_idx, c_idx = sc.states.default_idx, sc.states.churn_idx
        exp_defaults = sum(o[-1, d_idx] for o in occ)
        exp_churn = sum(o[-1, c_idx] for o in occ)
        rd, rc = res.risk("defaults"), res.risk("churn")
        assert abs(rd.expected - exp_defaults) < Z4 * rd.stderr_expected
        assert abs(rc.expected - exp_churn) < Z4 * rc.stderr_expected

    def test_expected_loss_and_margin_by_matrix_powers(self, run):
        cfg, sc, res = run
        occ = self.occupancy_paths(cfg, sc)
        d_idx = sc.states.default_idx
        transient = sc.states.transient_idx
        el, margin = 0.0, 0.0
        for o, c in zip(occ, cfg["portfolio"]["cohorts"], strict=True):
            ead = c["exposure"] / c["customers"]
            el += (o[-1, d_idx] - o[0, d_idx]) * ead * cfg["lgd"]["mean"]
            margin += o[1:, transient].sum() * c["margin"] / c["customers"]
        rl, rm_ = res.risk("loss"), res.risk("margin")
        assert abs(rl.expected - el) < Z4 * rl.stderr_expected
        assert abs(rm_.expected - margin) < Z4 * rm_.stderr_expected

    def test_occupancy_matches_matrix_powers(self, run):
        cfg, sc, res = run
        occ = sum(self.occupancy_paths(cfg, sc))[1:]  # (h, K)
        got = res.data["occupancy"].to_numpy()
        # occupancy is a mean over paths of counts bounded by the book size; its MC error is
        # below sd/sqrt(n) <= total customers / (2 sqrt(n)) per state
        bound = Z4 * sc.portfolio.total_customers / (2 * np.sqrt(res.paths))
        assert np.all(np.abs(got - occ) < bound)
        np.testing.assert_allclose(got.sum(axis=1), sc.portfolio.total_customers)

    def test_per_path_conservation_and_non_negative(self, run):
        _cfg, sc, res = run
        d = res.total("defaults").to_numpy()
        ch = res.total("churn").to_numpy()
        assert np.all(res.data["loss"].to_numpy() >= 0)
        assert np.all(d + ch <= sc.portfolio.total_customers)
        assert np.all(d == np.round(d))
        np.testing.assert_allclose(
            res.data["loss_by_segment"].sum("segment"), res.total("loss"), rtol=1e-12
        )


class TestReproducibility:
    def test_same_seed_same_numbers_different_seed_different(self, lifecycle_scenario):
        a = rm.simulate(lifecycle_scenario, paths=3000, seed=5, progress=False)
        b = rm.simulate(lifecycle_scenario, paths=3000, seed=5, progress=False)
        c = rm.simulate(lifecycle_scenario, paths=3000, seed=6, progress=False)
        np.testing.assert_array_equal(a.data["loss"], b.data["loss"])
        assert not np.array_equal(a.data["loss"], c.data["loss"])

    @pytest.mark.parametrize("importance_sampling", [False, True])
    def test_batch_size_and_workers_do_not_change_numbers(
        self, lifecycle_scenario, importance_sampling
    ):
        sc = lifecycle_scenario.with_options(
            simulation={"importance_sampling": importance_sampling}
        )
        runs = [
            rm.simulate(sc, paths=5000, seed=9, batch=b, workers=w, progress=False)
            for b, w in ((1000, 1), (4096, 2), (7000, 2), (1, 2))
        ]
        assert runs[0].data.attrs["importance_sampling"] == int(importance_sampling)
        for r in runs[1:]:
            for v in ("loss", "defaults", "churn", "margin", "loss_by_segment", "draw", "weight"):
                np.testing.assert_array_equal(runs[0].data[v], r.data[v])

    def test_seed_zero_is_a_seed(self, lifecycle_scenario):
        a = rm.simulate(lifecycle_scenario, paths=500, seed=0, progress=False)
        b = rm.simulate(lifecycle_scenario, paths=500, seed=0, progress=False)
        np.testing.assert_array_equal(a.data["loss"], b.data["loss"])
        assert a.seed == 0

    def test_no_seed_records_entropy(self, lifecycle_scenario):
        sc = lifecycle_scenario.with_options(seed=None)
        res = rm.simulate(sc, paths=200, progress=False)
        assert res.seed is None and int(res.data.attrs["entropy"]) > 0


def test_cost_does_not_depend_on_customers():
    # the same draws per cohort-period: results for 10^3 and 10^9 customers use the same number
    # of random variates, so the streams stay aligned and the default counts scale
    small = rm.scenario_from_dict(one_cohort_dict(customers=10**3, pd=0.01, rho=0.1, paths=2000))
    large = rm.scenario_from_dict(one_cohort_dict(customers=10**9, pd=0.01, rho=0.1, paths=2000))
    a = rm.simulate(small, progress=False).total("defaults").to_numpy()
    b = rm.simulate(large, progress=False).total("defaults").to_numpy()
    assert a.shape == b.shape and b.mean() > 1e5 * a.mean()


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 300 paths
def test_result_netcdf_round_trip(tmp_path, lifecycle_scenario):
    res = rm.simulate(lifecycle_scenario, paths=300, seed=2, progress=False)
    path = res.to_netcdf(tmp_path / "r.nc")
    back = rm.SimulationResult.from_netcdf(path)
    np.testing.assert_array_equal(back.data["loss"], res.data["loss"])
    assert back.summary() == res.summary()


class TestImportanceSampling:
    @pytest.mark.parametrize("method", ["tilt", "mixture", "shift"])
    def test_weighted_tail_matches_vasicek_and_beats_plain_mc(self, method):
        p, rho, n_cust, n = 0.02, 0.15, 10**9, 20_000
        cfg = one_cohort_dict(customers=n_cust, pd=p, rho=rho, paths=n, seed=13)
        plain = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
        cfg["simulation"] = {"importance_sampling": True, "importance_method": method}
        res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
        assert res.data.attrs["importance_sampling"] == 1
        assert float(res.data["is_shift"][0]) < 0  # toward the downturn
        levels = (0.99, 0.999)
        m_is = rm.risk_measures(
            res.total("loss").to_numpy() / n_cust, weights=res.weights, levels=levels
        )
        m_mc = rm.risk_measures(plain.total("loss").to_numpy() / n_cust, levels=levels)
        for q in levels:
            truth = vasicek_quantile(p, rho, q)
            assert abs(m_is.var[q] - truth) < Z4 * m_is.stderr_var[q]
            # ES of the Vasicek distribution by quadrature over the factor
            es = integrate.quad(lambda u: vasicek_quantile(p, rho, u), q, 1, epsabs=1e-12)[0]
            es /= 1 - q
            assert abs(m_is.es[q] - es) < Z4 * m_is.stderr_es[q]
            assert m_is.stderr_es[q] < 0.5 * m_mc.stderr_es[q]
        # weights are likelihood ratios: their mean is 1 within its standard error
        w = res.weights
        assert abs(w.mean() - 1) < Z4 * w.std() / np.sqrt(n)
        # the defensive component bounds every weight by 1 / p_plain
        if method == "mixture":
            assert w.max() <= 1 / float(res.data["is_probs"][0]) * (1 + 1e-12)
        if method == "tilt":
            assert w.max() <= 1 / res.data.attrs["importance_p_plain"] * (1 + 1e-12)
