"""Prior against posterior of a conjugate transition row."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import riskmodel as rm
from riskmodel.data.synthetic import simulate_panel
from riskmodel.plotting import plot_prior_posterior

STATES = {"names": ["a", "b", "out", "dflt"], "absorbing": ["out", "dflt"], "default": "dflt"}
MATRIX = np.array([[0.90, 0.06, 0.02, 0.02], [0.10, 0.80, 0.03, 0.07], [0, 0, 1, 0], [0, 0, 0, 1]])


@pytest.fixture(scope="module")
def model():
    ss = rm.StateSpace(**STATES)
    panel = simulate_panel({"s": MATRIX}, ss, n_customers=80, n_periods=6, seed=2)
    return rm.TransitionModel(ss, pooling="none").fit(panel, draws=200, chains=1, seed=1)


def test_prior_matrix_is_the_dirichlet_prior_marginal(model):
    prior_mean = model.prior_matrix("mean").sel(segment="s", from_state="a").values
    np.testing.assert_allclose(prior_mean, 0.25)  # four allowed destinations, equal alphas
    lo = model.prior_matrix(0.03).sel(segment="s", from_state="a", to_state="b").item()
    hi = model.prior_matrix(0.97).sel(segment="s", from_state="a", to_state="b").item()
    # Beta(c, 3c) quantiles for the configured concentration c
    from riskmodel.models.transition import DEFAULT_PRIOR

    conc = DEFAULT_PRIOR["concentration"]
    np.testing.assert_allclose([lo, hi], stats.beta(conc, 3 * conc).ppf([0.03, 0.97]), rtol=1e-9)
    # absorbing rows are identity, like transition_matrix
    assert model.prior_matrix().sel(segment="s", from_state="dflt", to_state="dflt") == 1


def test_prior_matrix_before_fit_says_call_fit_first():
    tm = rm.TransitionModel(rm.StateSpace(**STATES), pooling="none")
    with pytest.raises(Exception, match=r"\.fit\(\)"):
        tm.prior_matrix()


def test_plot_draws_prior_and_posterior_intervals(model):
    ax = plot_prior_posterior(model, segment="s", from_state="a")
    assert len(ax.containers) == 2  # one errorbar container each for prior and posterior
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("prior" in t for t in labels) and any("posterior" in t for t in labels)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "out", "dflt"]
    assert ax.get_xlabel() == "transition probability per period"
