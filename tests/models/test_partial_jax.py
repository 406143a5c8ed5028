"""The compiled partial-pooling sampler: PyMC's density, compiled once per structure."""

from __future__ import annotations

import numpy as np
import pytest
from models_testdata import MU, ZEROS, pooled_data
from pytensor.compile.mode import Mode

from riskmodel.models import partial_jax as P
from riskmodel.models.hierarchical import build_partial_model
from riskmodel.models.transition import DEFAULT_PRIOR
from riskmodel.states import LIFECYCLE, StateSpace

TR = LIFECYCLE.transient_idx


def _uneven():
    """Origins with 4, 3, 3 and 1 allowed destinations: two groups and a fixed row."""
    ss = StateSpace(["a", "b", "c", "d", "x"], absorbing=["x"], default="x")
    allowed = np.array(
        [
            [True, True, True, False, True],
            [False, True, True, False, True],
            [False, False, True, True, True],
            [False, False, False, True, False],
        ]
    )
    rng = np.random.default_rng(4)
    counts = np.where(allowed, rng.integers(0, 400, (3, *allowed.shape)), 0)
    return ss, allowed, counts


def _pymc_point(z: np.ndarray, layout: P.Layout, model) -> dict:
    """The flat vector as PyMC's value variables (``<name>_simplex__``)."""
    parts = P.unpack(z, layout)
    names = {v.name for v in model.value_vars}
    point = {"log_kappa": parts["log_kappa"]}
    for key, x in parts.items():
        if key != "log_kappa":
            single = "mu_free_simplex__" in names
            point["mu_free_simplex__" if single else f"mu_free_{key[2:]}_simplex__"] = x
    assert set(point) == names
    return point


@pytest.mark.parametrize("case", ["lifecycle", "uneven"])
def test_log_density_is_pymc_models_at_random_points(case):
    """The same target in the same unconstrained coordinates: equal to rounding (1e-9 relative;
    the densities are ~1e4 in magnitude and are sums of a few hundred gammaln terms).

    PyMC's log density is evaluated by PyTensor's Python linker (each op's numpy/scipy
    `perform`, graph rewrites of FAST_COMPILE only): the same graph, hence the same function, as
    the C backend computes, without compiling C modules for five evaluations (~1 s instead of
    ~45 s of CPU per case in a fresh compile directory)."""
    if case == "lifecycle":
        ss, allowed = LIFECYCLE, MU > 0
        counts = pooled_data(1)[1].values[:, TR]
    else:
        ss, allowed, counts = _uneven()
    import jax

    jax.config.update("jax_enable_x64", True)  # as sample_partial does (and PyMC's JAX backend)
    prior = dict(DEFAULT_PRIOR, concentration=1.7, log_kappa_sigma=1.2)
    segments = [f"s{i}" for i in range(counts.shape[0])]
    model = build_partial_model(counts, allowed, ss.transient, segments, prior)
    logp = model.compile_logp(jacobian=True, mode=Mode(linker="py", optimizer="fast_compile"))
    layout = P.layout_of(allowed)
    data, const = P.group_counts(counts, layout)
    prior_arr = np.array([1.7, prior["log_kappa_mu"], 1.2])
    rng = np.random.default_rng(0)
    for _ in range(5):
        z = rng.normal(0.0, 1.5, layout.size)
        z[: layout.n_origin] += 5.0
        ours = float(P.log_density(z, data, prior_arr, layout)) + const
        theirs = float(logp(_pymc_point(z, layout, model)))
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-8)


def test_second_fit_of_a_structure_reuses_the_compiled_program():
    ss, allowed, counts = _uneven()
    kw = {"draws": 20, "chains": 2, "tune": 20, "target_accept": 0.8}
    first = P.sample_partial(counts, allowed, ss.transient, DEFAULT_PRIOR, random_seed=1, **kw)
    key = next(k for k in P._RUNNERS if k[0] == P.layout_of(allowed) and k[2] == 20)
    run = P._RUNNERS[key]
    second = P.sample_partial(
        counts * 3, allowed, ss.transient, dict(DEFAULT_PRIOR, concentration=2.0),
        random_seed=2, **kw,
    )  # fmt: skip
    assert P._RUNNERS[key] is run and run._cache_size() == 1  # no new trace, no new compile
    assert not np.allclose(first["posterior"]["kappa"], second["posterior"]["kappa"])
    again = P.sample_partial(counts, allowed, ss.transient, DEFAULT_PRIOR, random_seed=1, **kw)
    np.testing.assert_array_equal(first["posterior"]["kappa"], again["posterior"]["kappa"])
    post = first["posterior"]
    assert set(post.data_vars) == {"log_kappa", "kappa", "mu_free_4", "mu_free_3"}
    assert post["mu_free_3"].dims == ("chain", "draw", "mu_free_3_dim_0", "mu_free_3_dim_1")
    np.testing.assert_allclose(post["mu_free_3"].sum("mu_free_3_dim_1"), 1.0)
    assert first["sample_stats"]["diverging"].shape == (2, 20)


def test_chain_methods_agree():
    # vectorised and sequential chains run the same per-chain computation from the same keys
    ss, allowed, counts = _uneven()
    kw = {"draws": 20, "chains": 2, "tune": 20, "target_accept": 0.8, "random_seed": 5}
    vec = P.sample_partial(counts, allowed, ss.transient, DEFAULT_PRIOR, **kw)
    seq = P.sample_partial(
        counts, allowed, ss.transient, DEFAULT_PRIOR, chain_method="sequential", **kw
    )
    np.testing.assert_allclose(vec["posterior"]["kappa"], seq["posterior"]["kappa"], rtol=1e-9)
    with pytest.raises(ValueError, match="chain_method"):
        P.sample_partial(counts, allowed, ss.transient, DEFAULT_PRIOR, chain_method="par", **kw)


def test_structural_zeros_layout_matches_pymc_groups():
    from riskmodel.models.hierarchical import _groups

    allowed = MU > 0
    layout = P.layout_of(allowed)
    assert [(k, list(rows)) for k, rows, _ in layout.groups] == [
        (k, rows) for k, rows in _groups(allowed).items() if k > 1
    ]
    assert len(ZEROS) == int((~allowed).sum())
