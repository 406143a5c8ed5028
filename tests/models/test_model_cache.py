"""Models kept per structure (`riskmodel.models.model_cache`): reuse never changes a fit.

The property that matters is that a fit's draws do not depend on what was fitted before it in
the process: a history fitted on a kept model (after another history of the same structure, with
other values and even another number of rows) must give exactly the draws of the same history
fitted on a freshly built model.
"""

from __future__ import annotations

import numpy as np
import pytest
from models_testdata import DEFAULT_TRUTH, quiet_fit

from riskmodel.data.synthetic import simulate_default_history
from riskmodel.models import DefaultModel, model_cache

TINY = {"draws": 30, "chains": 2, "tune": 40, "cores": 1}


def _history(seed: int):
    return simulate_default_history(
        DEFAULT_TRUTH["pd"],
        DEFAULT_TRUTH["rho"],
        customers={"cards": 2_000, "loans": 3_000},
        n_periods=12,
        seed=seed,
    )


def _fit(history, seed):
    fitted = quiet_fit(DefaultModel(parameterization="centered"), history, seed=seed, **TINY)
    return fitted.posterior


@pytest.fixture(autouse=True)
def _empty_cache():
    model_cache.clear()
    yield
    model_cache.clear()


def test_a_fit_on_a_kept_model_is_the_fit_on_a_new_one():
    first, second = _history(1), _history(2)
    # the second history with one row fewer: the row count is data, not structure
    second = second.drop(index=second.index[3]).reset_index(drop=True)
    second["period"] += 100  # and other period labels
    _fit(first, seed=5)
    assert len(model_cache.kept_models()) == 1
    reused = _fit(second, seed=6)
    assert len(model_cache.kept_models()) == 1  # same structure: the kept model served it
    model_cache.clear()
    fresh = _fit(second, seed=6)
    for name in ("pd", "rho", "factor"):
        np.testing.assert_array_equal(reused[name].values, fresh[name].values)
    # the labels are this fit's own: the period coordinate follows the history
    assert list(reused["factor"].period.values) == sorted(second["period"].unique())
    # one period fewer is another structure: another kept model
    _fit(first[first["period"] < first["period"].max()], seed=5)
    assert len(model_cache.kept_models()) == 2


def test_data_of_another_dtype_or_rank_gets_another_model():
    import pymc as pm

    def build(values):
        def new_model():
            with pm.Model() as model:
                pm.Normal("y", pm.Data("x", values).sum(), 1.0)
            return model

        return new_model

    for values in (np.arange(3), np.arange(3.0), np.arange(5.0), np.ones((2, 2))):
        with model_cache.reusable_model("k", build(values), {"x": values}, {}) as model:
            assert np.array_equal(model["x"].get_value(), values)
    assert len(model_cache.kept_models()) == 3  # int, float vector (any length), float matrix


class _Model:
    """Stands in for a ``pm.Model``: counts compilations."""

    def __init__(self) -> None:
        self.compiled = 0

    def logp_dlogp_function(self, **kwargs):
        self.compiled += 1
        return ("compiled", self.compiled, tuple(sorted(kwargs.items())))


def test_compilation_is_memoised_per_set_of_arguments():
    model, lock = model_cache._checkout("k", _Model)
    lock.release()
    a = model.logp_dlogp_function(ravel_inputs=True)
    assert model.logp_dlogp_function(ravel_inputs=True) is a
    b = model.logp_dlogp_function(ravel_inputs=True, mode="NUMBA")
    assert b is not a
    again, lock = model_cache._checkout("k", _Model)
    lock.release()
    assert again is model and again.logp_dlogp_function(ravel_inputs=True) is a


def test_a_busy_model_is_not_shared_and_the_oldest_is_dropped():
    kept, lock = model_cache._checkout("k", _Model)
    private, private_lock = model_cache._checkout("k", _Model)  # "k" is busy
    assert private is not kept
    private_lock.release()
    lock.release()
    assert model_cache._checkout("k", _Model)[0] is kept
    for i in range(model_cache.MAX_MODELS):
        model_cache._checkout(i, _Model)[1].release()
    assert model_cache.kept_models() == list(range(model_cache.MAX_MODELS))
