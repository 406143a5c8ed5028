"""SectorDefaultModel: recovery of p_s, ρ_s and the factor correlation; the ρ → 0 limit;
the scenario block; save/load; data checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from models_testdata import quiet_fit
from scipy import special, stats

from riskmodel.config.sections import SystematicConfig
from riskmodel.data.sector_synthetic import simulate_sector_default_history
from riskmodel.errors import ArgumentError
from riskmodel.models import DefaultDataError, DefaultModel, ModelFileError, NotFittedError
from riskmodel.models.sector import SectorDefaultModel

SF = {"cards": "retail", "mortgages": "retail", "sme_loans": "sme", "corporate": "sme"}
TRUTH = {
    "pd": {"cards": 0.03, "mortgages": 0.01, "sme_loans": 0.02, "corporate": 0.015},
    "rho": {"cards": 0.06, "mortgages": 0.15, "sme_loans": 0.12, "corporate": 0.25},
    "r": 0.5,
}
N_PERIODS, CUSTOMERS = 80, 3000
SAMPLING = {"draws": 300, "chains": 2, "tune": 300, "cores": 1}
"""2 chains × 300 draws: enough for 90% intervals (their end points move by about 0.1 posterior
sd between seeds at this ESS), small enough for a shared 2-core machine."""


@pytest.fixture(scope="session")
def sector_run():
    hist = simulate_sector_default_history(
        TRUTH["pd"],
        TRUTH["rho"],
        SF,
        customers=CUSTOMERS,
        n_periods=N_PERIODS,
        factor_correlation=[[1.0, TRUTH["r"]], [TRUTH["r"], 1.0]],
        seed=11,
    )
    return quiet_fit(SectorDefaultModel(SF), hist, seed=1, **SAMPLING), hist


def _interval(x: np.ndarray, level: float = 0.90) -> tuple[float, float]:
    tail = (1 - level) / 2
    return float(np.quantile(x, tail)), float(np.quantile(x, 1 - tail))


def test_truth_is_recovered_inside_the_90pct_intervals(sector_run):
    """Acceptance: of the 9 parameters (4 PDs, 4 ρ_s, the factor correlation), at least 7 have
    the truth inside their central 90% posterior interval and all 9 within 3.29 posterior sd of
    the mean. For a calibrated posterior, P(fewer than 7 of 9 | Bin(9, 0.9)) = 5.3% and a
    3.29-sd miss has probability 0.1% per parameter: the seed is fixed, so the verdict is
    reproducible, and a biased or over-confident posterior fails it. The intervals must also be
    informative: sd of ρ_s and of the factor correlation below half their prior sd (0.080 for
    Beta(2, 14), 0.447 for LKJ(2) with two factors)."""
    model, _ = sector_run
    checks = []
    pd_draws, rho_draws = model.pd_draws(), model.correlation_draws()
    for seg in SF:
        checks.append((f"pd[{seg}]", pd_draws.sel(segment=seg).values, TRUTH["pd"][seg]))
        checks.append((f"rho[{seg}]", rho_draws.sel(segment=seg).values, TRUTH["rho"][seg]))
    r = model.factor_correlation_draws().sel(factor_i="sme", factor_j="retail").values
    checks.append(("r", r, TRUTH["r"]))
    inside = 0
    for name, draws, truth in checks:
        lo, hi = _interval(draws)
        inside += lo <= truth <= hi
        assert abs(truth - draws.mean()) < 3.29 * draws.std(), (name, truth, lo, hi)
    assert inside >= 7, inside
    assert float(rho_draws.std("draw").max()) < 0.5 * 0.080
    assert float(r.std()) < 0.5 * 0.447


def test_latent_factors_track_the_simulated_ones_and_diagnostics_are_reported(sector_run):
    model, hist = sector_run
    z_hat = model.posterior["z"].mean(("chain", "draw")).values
    z = np.asarray(hist.attrs["factor"])
    for f in range(2):
        assert np.corrcoef(z_hat[:, f], z[:, f])[0, 1] > 0.9
    diag = model.diagnostics
    assert diag["divergences"] == 0 and diag["max_rhat"] < 1.05, diag
    assert {"min_ess_bulk", "min_ess_tail", "chains", "draws"} <= set(diag)
    assert model._fit is not None
    assert model._fit.config["parameterization_used"] == "centered"  # strong data: auto picks it


def test_summary_and_scenario_block_are_the_posterior_means(sector_run):
    model, _ = sector_run
    table = model.summary(hdi_prob=0.9)
    assert {"pd[cards]", "rho[corporate]", "factor_correlation[retail~sme]"} <= set(table.index)
    assert {"hdi_5%", "hdi_95%", "r_hat", "ess_bulk"} <= set(table.columns)
    block = model.to_systematic(shift={"sme": [-1.0, 0.0]})
    assert block["factors"] == ["retail", "sme"]
    assert block["shift"] == {"sme": [-1.0, 0.0]}
    rho_mean = model.correlation_draws().mean("draw")
    for seg, fac in SF.items():
        assert block["segments"][seg]["factor"] == fac
        assert block["segments"][seg]["correlation"] == pytest.approx(
            float(rho_mean.sel(segment=seg)), rel=1e-12
        )
    c = np.asarray(block["factor_correlation"])
    r_mean = float(model.factor_correlation_draws().mean("draw").values[0, 1])
    np.testing.assert_allclose(c, [[1.0, r_mean], [r_mean, 1.0]], atol=1e-12)
    np.testing.assert_allclose(
        table.loc["factor_correlation[retail~sme]", "mean"], r_mean, atol=1e-3
    )
    # the scenario schema accepts the block as it is (valid correlation matrix, declared factors)
    config = SystematicConfig.model_validate(block)
    assert config.factors == ["retail", "sme"] and config.segments is not None
    assert config.segments["corporate"].correlation == block["segments"]["corporate"]["correlation"]
    with pytest.raises(ArgumentError, match="not factors"):
        model.to_systematic(shift={"retial": 0.0})


def test_save_load_round_trip_and_refusals(sector_run, tmp_path):
    model, _ = sector_run
    path = tmp_path / "sector.nc"
    model.save(path)
    loaded = SectorDefaultModel.load(path, segment_factors=SF)
    np.testing.assert_array_equal(
        loaded.factor_correlation_draws().values, model.factor_correlation_draws().values
    )
    assert loaded.segments == tuple(SF) and loaded.factors == ("retail", "sme")
    assert loaded.to_systematic() == model.to_systematic()
    assert loaded.diagnostics == model.diagnostics
    with pytest.raises(ModelFileError, match="segment_factors"):
        SectorDefaultModel.load(path, segment_factors={**SF, "cards": "sme"})
    with pytest.raises(ModelFileError, match="not a saved DefaultModel"):
        DefaultModel.load(path)


def _exact_posterior_moments(defaults: int, customers: int, mu: float, sd: float):
    """Mean and sd of p under probit(p) ~ N(mu, sd) and Binomial(customers, p) pooled counts:
    the ρ → 0 limit, by quadrature on the probit scale (the Beta(D + 1, N − D + 1) kernel times
    the model's prior)."""
    c = np.linspace(mu - 12 * sd, mu + 12 * sd, 200_001)
    p = special.ndtr(c)
    log_w = stats.norm.logpdf(c, mu, sd) + stats.binom.logpmf(defaults, customers, p)
    w = np.exp(log_w - log_w.max())
    mean = np.sum(w * p) / np.sum(w)
    return mean, np.sqrt(np.sum(w * (p - mean) ** 2) / np.sum(w))


def test_vanishing_correlation_gives_the_pooled_binomial_posterior():
    """With ρ_s pinned near 0 by its prior (Beta(1, 1e6): mean 1e-6, so √ρ Z moves the probit
    PD by ~1e-3, against a posterior sd of ~0.02 on that scale) the periods are exchangeable and
    the posterior of p_s is the conjugate Beta kernel of the pooled counts times the probit-
    normal prior. Tolerance on the mean: 4 Monte Carlo standard errors (sd / √ESS) — a 4-sigma
    bound, false alarm rate 6e-5 per segment; on the sd: 15% (the sd of a sample sd with
    ESS ≥ 100 is below sd / √(2 · 100) = 7%, so about 2 of those)."""
    import arviz as az

    sf = {"a": "all", "b": "all"}
    hist = simulate_sector_default_history(
        {"a": 0.02, "b": 0.05}, {"a": 0.0, "b": 0.0}, sf, customers=1000, n_periods=12, seed=3
    )
    prior = {"rho_alpha": 1.0, "rho_beta": 1e6}
    model = quiet_fit(SectorDefaultModel(sf, prior=prior), hist, seed=4, **SAMPLING)
    assert model._fit is not None
    assert model._fit.config["parameterization_used"] == "noncentered"
    assert model.to_systematic()["factor_correlation"] == [[1.0]]
    prior_used = model._fit.config["prior"]
    mu, sd = prior_used["probit_pd_mu"], prior_used["probit_pd_sigma"]
    ess = az.ess(model.posterior[["pd"]])["pd"]
    for seg in sf:
        rows = hist[hist["segment"] == seg]
        mean, sd_exact = _exact_posterior_moments(
            int(rows["defaults"].sum()), int(rows["customers"].sum()), mu, sd
        )
        draws = model.pd_draws().sel(segment=seg).values
        mcse = sd_exact / np.sqrt(float(ess.sel(segment=seg)))
        assert abs(draws.mean() - mean) < 4 * mcse, (seg, draws.mean(), mean, mcse)
        assert draws.std() == pytest.approx(sd_exact, rel=0.15)


# ----------------------------------------------------------------------- input checks
def _history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": [0, 1, 0, 1],
            "segment": ["cards", "cards", "sme_loans", "sme_loans"],
            "customers": [100, 100, 50, 50],
            "defaults": [2, 3, 1, 0],
        }
    )


TWO = {"cards": "retail", "sme_loans": "sme"}


@pytest.mark.parametrize(
    ("frame", "factors", "pattern"),
    [
        (_history().drop(columns="segment"), TWO, "missing column 'segment'"),
        (_history().drop(columns="defaults"), TWO, r"missing column\(s\) \['defaults'\]"),
        (_history().assign(defaults=[2, 300, 1, 0]), TWO, "defaults exceed customers"),
        (_history().assign(customers=[100, -1, 50, 50]), TWO, "column 'customers'"),
        (_history(), {"cards": "retail"}, r"segment\(s\) \['sme_loans'\] that segment_factors"),
        (_history(), {**TWO, "mortgages": "retail"}, r"\['mortgages'\] that have no rows"),
    ],
)
def test_bad_history_is_refused_naming_the_column(frame, factors, pattern):
    with pytest.raises(DefaultDataError, match=pattern):
        SectorDefaultModel(factors).fit(frame, draws=10, chains=1, seed=0)


def test_bad_arguments_and_use_before_fit():
    with pytest.raises(ArgumentError, match="non-empty mapping"):
        SectorDefaultModel({}).fit(_history(), seed=0)
    with pytest.raises(ValueError, match="lkj_eta"):
        SectorDefaultModel(TWO, prior={"lkj_eta": 0.0}).fit(_history(), seed=0)
    with pytest.raises(ValueError, match="Did you mean 'lkj_eta'"):
        SectorDefaultModel(TWO, prior={"lkj_etta": 2.0}).fit(_history(), seed=0)
    with pytest.raises(ArgumentError, match="parameterization"):
        SectorDefaultModel(TWO, parameterization="centred").fit(_history(), seed=0)
    with pytest.raises(NotFittedError, match=r"call \.fit\(\) first"):
        SectorDefaultModel(TWO).to_systematic()


def test_centred_factor_prior_is_the_multivariate_normal_for_three_factors():
    """The centred form's prior on v_t (Normal × the Potential that turns it into
    MVN(c_r/k_r, D R D)) and the LKJ prior through the CPCs, against scipy, with three factors
    (every CPC level): with zero customers the likelihood is constant, so two points that differ
    in v and in the CPCs differ in log density by exactly the difference of
    Σ_t log MVN(v_t) + Σ_j [log Beta(u_j; β_j, β_j) + log u_j(1 − u_j)] (the last term: the
    Jacobian of the log-odds transform PyMC samples u on), to rounding."""
    import pymc as pm
    from scipy.special import logit

    from riskmodel.models.correlation import cholesky_from_cpc, lkj_cpc_shapes
    from riskmodel.models.sector import _prepare_sector
    from riskmodel.models.sector_sampler import _build_model, _layout

    sf = {"a": "f1", "b": "f2", "c": "f3", "d": "f1"}
    hist = pd.DataFrame(
        [(t, s, 0, 0) for s in sf for t in range(5)],
        columns=["period", "segment", "customers", "defaults"],
    )
    model = SectorDefaultModel(sf, parameterization="centered")
    cfg = model._config()
    lay = _layout(_prepare_sector(hist, cfg["segments"]), cfg)
    with pm.Model(coords=lay["coords"]) as m:
        _build_model(lay, cfg["prior"], "centered")
    # Two evaluations only: PyTensor's Python implementations (FAST_COMPILE) give the same log
    # density to rounding without the C compilation of the graph (tens of seconds in a fresh
    # compile cache); the fits above sample the same graph compiled to C.
    logp = m.compile_logp(mode="FAST_COMPILE")
    rng = np.random.default_rng(6)
    c, rho = rng.normal(-2, 0.3, 4), rng.uniform(0.05, 0.3, 4)
    ref = lay["ref"]
    k = np.sqrt(1 - rho[ref])
    mean, d = c[ref] / k, np.sqrt(rho[ref]) / k
    shapes = lkj_cpc_shapes(3, cfg["prior"]["lkj_eta"])

    def reference(unit: np.ndarray, v: np.ndarray) -> float:
        lower = d[:, None] * cholesky_from_cpc(2 * unit - 1, 3)
        mvn = stats.multivariate_normal(mean, lower @ lower.T)
        lkj = stats.beta.logpdf(unit, shapes, shapes) + np.log(unit * (1 - unit))
        return float(mvn.logpdf(v).sum() + lkj.sum())

    def model_logp(unit: np.ndarray, v: np.ndarray) -> float:
        point = {"probit_pd": c, "rho_logodds__": logit(rho), "v": v}
        return float(logp({**point, "factor_cpc_unit_logodds__": logit(unit)}))

    u1, u2 = rng.uniform(0.2, 0.8, 3), rng.uniform(0.2, 0.8, 3)
    v1, v2 = rng.normal(mean, d, (5, 3)), rng.normal(mean, d, (5, 3))
    got = model_logp(u1, v1) - model_logp(u2, v2)
    assert got == pytest.approx(reference(u1, v1) - reference(u2, v2), rel=1e-9, abs=1e-9)
