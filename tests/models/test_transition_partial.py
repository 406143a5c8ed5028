"""Partial pooling: thin segments borrow strength; structural zeros; diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from models_testdata import MU, SEGMENTS, ZEROS

from riskmodel.states import LIFECYCLE

TR = LIFECYCLE.transient_idx


def l1_error(model, truth, segment):
    est = model.transition_matrix().sel(segment=segment).values[TR]
    return np.abs(est - truth[SEGMENTS.index(segment)]).sum()


def test_thin_segment_error_is_lower_with_partial_pooling(pooling_runs):
    partial = np.mean([l1_error(p, truth, "thin") for truth, p, _ in pooling_runs])
    none = np.mean([l1_error(n, truth, "thin") for truth, _, n in pooling_runs])
    assert partial < 0.6 * none, (partial, none)
    # data-rich segments are essentially unaffected by pooling
    big_p = np.mean([l1_error(p, truth, "a") for truth, p, _ in pooling_runs])
    big_n = np.mean([l1_error(n, truth, "a") for truth, _, n in pooling_runs])
    assert big_p < 1.25 * big_n


def test_population_row_is_recovered_and_rows_are_stochastic(pooling_runs):
    # the population row is inside its posterior, in every seed: posterior z-scores
    # (mean − truth) / sd below 4.5 (a calibrated posterior exceeds that with probability
    # ~1e-5 per entry; the Monte Carlo error of the mean, sd/√ESS, is below 0.1 sd)
    allowed = MU > 0
    for _, fitted, _ in pooling_runs:
        post = fitted.posterior["mu"]
        mean = post.mean(("chain", "draw")).values
        sd = post.std(("chain", "draw")).values
        z = (mean - MU)[allowed] / sd[allowed]
        assert np.all(np.abs(z) < 4.5), z
    _, model, _ = pooling_runs[0]
    draws = model.parameter_draws()
    assert draws.transitions.shape == (800, len(SEGMENTS), 6, 6)
    np.testing.assert_allclose(draws.transitions.sum(-1), 1.0)
    for f, t in ZEROS:
        assert np.all(draws.transitions[:, :, LIFECYCLE.index(f), LIFECYCLE.index(t)] == 0.0)
        assert np.all(model.posterior["mu"].sel(origin=f, to_state=t).values == 0.0)


def test_diagnostics_and_summary(pooling_runs):
    for _, model, _ in pooling_runs:
        diag = model.diagnostics
        assert diag["divergences"] == 0
        assert diag["max_rhat"] < 1.05
        assert diag["min_ess_bulk"] > 150
    table = pooling_runs[0][1].summary()
    assert "kappa[new]" in table.index
    assert "mu[declining->defaulted]" in table.index
    assert "mu[new->mature]" not in table.index  # structural zero: not a parameter
    assert {"r_hat", "ess_bulk"} <= set(table.columns)


def test_convergence_problems_warn_with_a_remedy():
    from riskmodel.models import ConvergenceWarning
    from riskmodel.models._common import warn_on_diagnostics

    diag = {
        "divergences": 3,
        "max_rhat": 1.05,
        "max_rhat_var": "kappa",
        "min_ess_bulk": 50.0,
        "min_ess_bulk_var": "mu",
        "chains": 4,
        "draws": 1000,
    }
    with pytest.warns(ConvergenceWarning) as record:
        warn_on_diagnostics(diag)
    msg = str(record[0].message)
    assert "target_accept" in msg and "R-hat 1.050 for 'kappa'" in msg and "draws=" in msg
