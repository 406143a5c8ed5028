"""Models kept per structure (`riskmodel.models.model_cache`): reuse never changes a fit.

That a fit's draws do not depend on the fits before it in the process (the kept model against a
freshly built one, bit for bit) is checked on `DefaultModel` by
``test_default_coverage.py::test_fits_on_the_kept_model_are_fits_on_a_new_one``, whose twelve
fits of one structure share a kept model. Here: the data and labels a kept model is given, its
log density on data of another length, memoised compilation, busy models and the bound.
"""

from __future__ import annotations

import numpy as np
import pytest

from riskmodel.models import model_cache


@pytest.fixture(autouse=True)
def _empty_cache():
    model_cache.clear()
    yield
    model_cache.clear()


def _period_model(counts: np.ndarray, periods: list[int]):
    """A small model with a dimension and data of any length (a stand-in for the real ones)."""
    import pymc as pm

    def build():
        with pm.Model(coords={"period": periods}) as model:
            n = pm.Data("counts", counts)
            level = pm.Normal("level", 0.0, 1.0, dims="period")
            pm.Poisson("y", pm.math.exp(level.mean()), observed=n)
        return model

    return build


def test_a_kept_model_takes_the_new_data_labels_and_length():
    first, second = np.array([3, 1, 4, 1]), np.array([5, 9, 2, 6, 5, 3])  # another row count
    data = {"counts": first}
    with model_cache.reusable_model("k", _period_model(first, [0, 1]), data, {"period": [0, 1]}):
        pass
    build = _period_model(second, [7, 8])
    with model_cache.reusable_model("k", build, {"counts": second}, {"period": [7, 8]}) as kept:
        assert np.array_equal(kept["counts"].get_value(), second)
        assert kept.coords["period"] == (7, 8)
        point = {"level": np.array([0.3, -0.1])}
        on_kept = kept.compile_logp()(point)
    fresh = build()
    assert kept is not fresh and len(model_cache.kept_models()) == 1
    assert on_kept == fresh.compile_logp()(point)


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
