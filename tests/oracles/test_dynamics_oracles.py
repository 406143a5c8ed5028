"""Multi-period dynamics against closed forms: amortisation, churn's lost value, occupancy, the
Monte Carlo term structure; and quasi-Monte Carlo replicates and their standard errors.

The book is `oracle_builders.one_period_book` run for `H` periods with amortisation ``a`` per
period and no factor shift, under the large-pool limit and importance sampling (the tilt).
With ``k = 1 − p − c`` the share of a period's performing customers that stay performing:

- performing customers at the end of period t: ``E = N k^t``;
- loss of period t: ``E = N k^(t−1) p (1 − a)^t`` (EAD 1 per customer, LGD 1);
- churners of period t: ``E = N k^(t−1) c``, each forgoing ``m Σ_{u ≥ t} df_u`` of margin.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle_builders import (
    Z45,
    book_constants,
    one_period_book,
    vasicek_quantile,
    weighted_moments_se,
)

import riskmodel as rm
from riskmodel.simulation.engine import BLOCK_SIZE

pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

K = book_constants(discount_rate=0.01)
H = 4
AMORTISATION = 0.1


@pytest.fixture(scope="module")
def multi_period():
    cfg = one_period_book(paths=16_384, seed=17, levels=(0.99,))
    cfg["horizon"] = H
    cfg["exposure"] = {"amortisation": AMORTISATION}
    return rm.simulate(rm.scenario_from_dict(cfg), progress=False)


def _closed_forms():
    n, p, c = K["n"], K["p"], K["c"]
    k = 1.0 - p - c
    t = np.arange(1, H + 1)
    df = 1.0 / (1.0 + 0.01) ** t
    per_customer_margin = K["margin"] / n
    remaining = np.cumsum(df[::-1])[::-1]
    return {
        "performing": n * k**t,
        "loss": n * k ** (t - 1) * p * (1.0 - AMORTISATION) ** t,
        "churn": n * k ** (t - 1) * c,
        "lost_value": float(np.sum(n * k ** (t - 1) * c * per_customer_margin * remaining)),
    }


def test_loss_term_structure_follows_amortisation(multi_period):
    """The Monte Carlo term structure (weighted mean per period) covers the closed form."""
    res, truth = multi_period, _closed_forms()
    w = res.weights
    mc = res.expected_by_period("loss").to_numpy()
    for t in range(H):
        x = res.data["loss"].isel(period=t).to_numpy()
        mean, se, _, _ = weighted_moments_se(x, w)
        assert abs(mc[t] - mean) <= se, (t, mc[t], mean)
        assert abs(mc[t] - truth["loss"][t]) <= Z45 * se, (t, mc[t], truth["loss"][t], se)
    # the exact term structure stored with the run is the closed form
    np.testing.assert_allclose(res.data["exact_loss"], truth["loss"], rtol=1e-9)


def test_value_lost_to_churn_counts_from_the_churn_period(multi_period):
    res, truth = multi_period, _closed_forms()
    mean, se, _, _ = weighted_moments_se(res.data["churn_value_lost"].to_numpy(), res.weights)
    assert abs(mean - truth["lost_value"]) <= Z45 * se, (mean, truth["lost_value"], se)
    summary = res.summary()["value_lost_to_churn"]
    assert summary["expected"] == pytest.approx(truth["lost_value"], rel=1e-9)


def test_occupancy_is_the_weighted_mean_of_the_paths(multi_period):
    """Performing customers at each period end: the engine's weighted occupancy (Σ w x / N)
    against the per-path survivors (margin / margin per customer) and the closed form."""
    res, truth = multi_period, _closed_forms()
    w = res.weights
    survivors = res.data["margin"].to_numpy() / (K["margin"] / K["n"])  # (path, period)
    occ = res.data["occupancy"].sel(state="performing").to_numpy()
    for t in range(H):
        wx = w * survivors[:, t]
        se = wx.std(ddof=1) / np.sqrt(wx.size)  # the plain weighted mean's error
        assert occ[t] == pytest.approx(wx.mean(), rel=1e-9)
        assert abs(occ[t] - truth["performing"][t]) <= Z45 * se, (t, occ[t], se)


def test_churn_term_structure(multi_period):
    res, truth = multi_period, _closed_forms()
    mc = res.expected_by_period("churn").to_numpy()
    for t in range(H):
        _, se, _, _ = weighted_moments_se(res.data["churn"].isel(period=t).to_numpy(), res.weights)
        assert abs(mc[t] - truth["churn"][t]) <= Z45 * se


# --------------------------------------------------------------------------- QMC
R = 8


@pytest.fixture(scope="module")
def qmc_run():
    cfg = one_period_book(paths=R * 2 * BLOCK_SIZE, seed=23, levels=(0.99,))
    cfg["simulation"] |= {"qmc": True, "qmc_replicates": R, "importance_sampling": False}
    return rm.simulate(rm.scenario_from_dict(cfg), progress=False)


def test_qmc_replicates_are_the_blocks_modulo_r(qmc_run):
    rep = qmc_run.data["replicate"].to_numpy()
    np.testing.assert_array_equal(rep, (np.arange(rep.size) // BLOCK_SIZE) % R)
    assert qmc_run.data.attrs["qmc_replicates"] == R


def test_qmc_scramblings_are_independent(qmc_run):
    """Without importance sampling a large-pool path's loss is a function of its factor draw:
    blocks of different scramblings must not repeat each other's points."""
    loss = qmc_run.total("loss").to_numpy().reshape(-1, BLOCK_SIZE)
    firsts = {tuple(np.round(block[:8], 9)) for block in loss}
    assert len(firsts) == loss.shape[0]


def test_qmc_standard_error_is_the_spread_of_the_replicates(qmc_run):
    loss = qmc_run.total("loss").to_numpy()
    rep = qmc_run.data["replicate"].to_numpy()
    per = np.array([loss[rep == r].mean() for r in range(R)])
    se = per.std(ddof=1) / np.sqrt(R)
    risk = qmc_run.risk()
    assert risk.stderr_expected == pytest.approx(se, rel=1e-9)
    assert abs(risk.expected - K["n"] * K["p"]) <= Z45 * se
    v = K["n"] * float(vasicek_quantile(0.99, K["p"], K["rho"]))
    per_var = [np.quantile(loss[rep == r], 0.99) for r in range(R)]
    assert abs(risk.var[0.99] - v) <= Z45 * np.std(per_var, ddof=1) / np.sqrt(R)


def test_a_short_qmc_run_records_the_scramblings_it_used():
    cfg = one_period_book(paths=2 * BLOCK_SIZE, seed=23, levels=(0.99,))
    cfg["simulation"] |= {"qmc": True, "qmc_replicates": 16, "importance_sampling": False}
    res = rm.simulate(rm.scenario_from_dict(cfg), progress=False)
    assert res.data.attrs["qmc_replicates"] == 2
    assert set(res.data["replicate"].to_numpy().tolist()) == {0, 1}
