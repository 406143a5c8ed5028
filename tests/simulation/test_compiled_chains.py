"""The compiled chain kernel (`riskmodel.simulation._chains_c`) against the numpy code.

The compiled kernel must draw the same variates in the same order as the numpy code, from the
same bit generator: every count equal, and the generator left in the same state. The numpy code
is the reference (its own order is pinned by a scalar re-implementation in
tests/mutation/test_kills_kernel_chain.py, which runs under both kernels).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskmodel as rm
from riskmodel.simulation import compiled
from riskmodel.simulation import kernel as kernel_module
from riskmodel.simulation.chains import ExactColumns, _draw_numpy, prepare_transitions
from riskmodel.simulation.compiled import draw_compiled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kernel():
    """The compiled module; the suite needs it built (``pip install -e .`` with a C compiler)."""
    module, problem = compiled._load()
    assert module is not None, f"the compiled chain kernel is not usable: {problem}"
    return module


def test_the_compiled_kernel_is_built_and_passes_its_check(kernel):
    assert compiled.compiled_status() == "compiled"
    assert compiled._check(kernel) == ""


def _columns(seed: int, n_cohorts: int, n_origins: int, n_states: int, n_segments: int):
    """ExactColumns of random transition matrices, built as the engine builds them.

    `prepare_transitions` and `ExactColumns.build` on random matrices (2 parameter draws) with
    structural zeros: origins that never default, moves that never happen, rows of different
    chain lengths, and a row whose every other destination is zero. States past the transient
    ones are absorbing; the last is the default state.
    """
    g = np.random.default_rng(seed)
    m = (
        g.random((2, 1, n_segments, n_states, n_states))
        * (g.random((n_segments, n_states)) < 0.7)[..., None]
    )
    m *= g.random((n_segments, n_states, n_states)) < 0.6  # structural zeros
    idx = np.arange(n_states)
    m[..., idx, idx] += 1.0  # every row can stay
    m /= m.sum(axis=-1, keepdims=True)
    m[..., n_origins:, :] = 0.0
    m[..., idx[n_origins:], idx[n_origins:]] = 1.0  # absorbing
    probit, seq, dest, _surv = prepare_transitions(m, idx[:n_origins], n_states - 1)
    inp = SimpleNamespace(
        transient_idx=idx[:n_origins],
        n_states=n_states,
        large_pool=np.zeros(n_cohorts, bool),
        cohort_segment=g.integers(0, n_segments, n_cohorts),
        probit_pd=probit,
        seq_prob=seq,
        n_segments=n_segments,
        dest=dest,
    )
    return ExactColumns.build(inp), seq


def _period_inputs(g, cols, seq, n: int, per_path: bool, big: bool):
    n_cols, n_sr = len(cols.sr), seq.shape[2] * seq.shape[3]
    high = 5000 if big else 40  # big counts: numpy's BTPE branch; small: inversion
    cnt = g.integers(0, high, size=(n, n_cols))
    cnt[:, g.random(n_cols) < 0.3] = 0  # inactive columns
    cnt[g.random((n, n_cols)) < 0.2] = 0
    rows = n if per_path else 1
    pd = g.random((rows, n_sr)) ** 2
    pd[:, ::5] = 1.0 - pd[:, ::5]  # p above 1/2
    pd[:, ::7] = 0.0
    pd[:, 3::11] = 1.0
    steps = np.repeat(seq[:1, 0].reshape(1, n_sr, -1), rows, axis=0).copy()
    if per_path:
        steps *= g.random(steps.shape)
    return cnt.astype(np.int64), pd, steps


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_cohorts=st.integers(1, 4),
    n_origins=st.integers(1, 4),
    extra_states=st.integers(1, 3),
    n_segments=st.integers(1, 3),
    n=st.integers(1, 40),
    per_path=st.booleans(),
    big=st.booleans(),
)
def test_compiled_period_equals_numpy_draw_for_draw(
    seed, n_cohorts, n_origins, extra_states, n_segments, n, per_path, big
):
    module, problem = compiled._load()
    assert module is not None, problem
    cols, seq = _columns(seed, n_cohorts, n_origins, n_origins + extra_states, n_segments)
    g = np.random.default_rng(seed)
    cnt, pd, steps = _period_inputs(g, cols, seq, n, per_path, big)
    rng_c, rng_n = np.random.default_rng(seed + 1), np.random.default_rng(seed + 1)
    for _ in range(3):  # three periods, each period's moves feeding the next
        d_c, into_c = draw_compiled(module, cols, rng_c, cnt, pd, steps)
        d_n, into_n = _draw_numpy(cols, rng_n, cnt, pd, steps)
        np.testing.assert_array_equal(d_c, d_n)
        np.testing.assert_array_equal(into_c, into_n)
        assert rng_c.bit_generator.state == rng_n.bit_generator.state
        assert into_c.sum() == cnt.sum() - d_c.sum()  # every survivor lands somewhere
        k = into_c.shape[1] // len(cols.exact)
        cnt = into_c.reshape(n, -1, k)[:, :, :n_origins].reshape(n, -1).copy()


def test_compiled_and_numpy_refuse_an_invalid_probability(kernel):
    cols, seq = _columns(5, 2, 2, 4, 1)
    g = np.random.default_rng(5)
    cnt, pd, steps = _period_inputs(g, cols, seq, 4, True, False)
    cnt[:] = 3
    pd[:] = np.nan
    cols.default_drawn[:] = True
    cols._flat = None
    with pytest.raises(ValueError, match="p < 0, p > 1 or p contains NaNs"):
        draw_compiled(kernel, cols, np.random.default_rng(1), cnt, pd, steps)
    with pytest.raises(ValueError, match="p < 0, p > 1 or p contains NaNs"):
        _draw_numpy(cols, np.random.default_rng(1), cnt, pd, steps)


def test_binomials_match_numpy_over_both_algorithms(kernel):
    g = np.random.default_rng(11)
    size = 200_000
    n = np.concatenate([g.integers(0, 30, size // 2), g.integers(0, 100_000, size // 2)])
    p = g.random(size) ** 3
    p[::2] = 1.0 - p[::2]
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    out = np.empty(size, np.int64)
    kernel.binomials(ours, n.astype(np.int64), p, out)
    np.testing.assert_array_equal(out, theirs.binomial(n, p))
    assert ours.random() == theirs.random()


def test_runs_are_bit_identical_under_either_kernel(monkeypatch):
    sc = rm.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    runs = {}
    for name in ("numpy", "compiled"):
        monkeypatch.setenv(compiled.KERNEL_ENV, name)
        runs[name] = rm.simulate(sc, paths=600, seed=3, progress=False).data
    for var in runs["numpy"].data_vars:
        np.testing.assert_array_equal(runs["compiled"][var], runs["numpy"][var], err_msg=var)


def test_the_environment_chooses_the_kernel(monkeypatch, kernel):
    monkeypatch.setenv(compiled.KERNEL_ENV, "numpy")
    assert compiled.chains_kernel() is None
    monkeypatch.setenv(compiled.KERNEL_ENV, "Compiled")
    assert compiled.chains_kernel() is kernel
    monkeypatch.delenv(compiled.KERNEL_ENV)
    assert compiled.chains_kernel() is kernel  # auto
    monkeypatch.setenv(compiled.KERNEL_ENV, "fast")
    with pytest.raises(ValueError, match=r"RISKMODEL_KERNEL='fast' is not one of auto, numpy"):
        compiled.chains_kernel()


def test_a_missing_extension_falls_back_to_numpy_unless_compiled_is_required(monkeypatch):
    monkeypatch.setattr(compiled, "_load", lambda: (None, "the extension is not built (test)"))
    monkeypatch.setenv(compiled.KERNEL_ENV, "auto")
    assert compiled.chains_kernel() is None
    assert compiled.compiled_status() == "numpy (the extension is not built (test))"
    monkeypatch.setenv(compiled.KERNEL_ENV, "compiled")
    with pytest.raises(RuntimeError, match=r"cannot be used: the extension is not built \(test\)"):
        compiled.chains_kernel()


class _OffByOne:
    """A kernel built against a numpy whose binomial differs: one draw in the check is off."""

    def __init__(self, real):
        self.real = real

    def binomials(self, gen, n, p, out):
        self.real.binomials(gen, n, p, out)
        out[100] += 1


class _ExtraDraw(_OffByOne):
    """Same values, but one more random number consumed."""

    def binomials(self, gen, n, p, out):
        self.real.binomials(gen, n, p, out)
        gen.random()


def test_the_check_catches_other_draws_or_another_stream_position(kernel):
    assert compiled._check(_OffByOne(kernel)) == "drew 1 of 4096 check binomials unlike numpy"
    assert "left the generator in another state" in compiled._check(_ExtraDraw(kernel))


def test_a_kernel_that_fails_its_check_is_not_used_and_says_why(monkeypatch, kernel):
    import importlib

    compiled._load.cache_clear()
    monkeypatch.setattr(importlib, "import_module", lambda name: _OffByOne(kernel))
    try:
        with pytest.warns(RuntimeWarning, match="built against another numpy"):
            module, problem = compiled._load()
        assert module is None and "unlike numpy" in problem
    finally:
        monkeypatch.undo()
        compiled._load.cache_clear()
    assert compiled._load()[0] is kernel


def test_a_build_older_than_its_source_is_refused(monkeypatch, kernel, tmp_path):
    import importlib

    (tmp_path / "_chains_c.pyx").write_text("# edited since the build\n")
    stale = SimpleNamespace(
        __file__=str(tmp_path / "_chains_c.so"),
        SOURCE_SHA256=kernel.SOURCE_SHA256,
        binomials=kernel.binomials,
    )
    assert compiled._stale(kernel) == ""  # this checkout's build is current
    assert compiled._stale(stale) == "was built from another version of _chains_c.pyx"
    compiled._load.cache_clear()
    monkeypatch.setattr(importlib, "import_module", lambda name: stale)
    try:
        with pytest.warns(RuntimeWarning, match="its source was edited since it was built"):
            assert compiled._load()[0] is None
    finally:
        monkeypatch.undo()
        compiled._load.cache_clear()


def _lgd_both(monkeypatch, inp, d, z_or_mean, fn):
    """`fn` under the numpy code and the compiled kernel, each from a generator of one seed."""
    out = {}
    for name in ("numpy", "compiled"):
        monkeypatch.setenv(compiled.KERNEL_ENV, name)
        rng = np.random.default_rng(17)
        out[name] = (fn(inp, rng, d, z_or_mean), rng.bit_generator.state)
    return out["numpy"], out["compiled"]


def _defaults(g, n, c):
    d = g.poisson(g.choice([0.2, 3.0, 400.0], size=c), size=(n, c)).astype(float)
    d[g.random((n, c)) < 0.1] = g.random() * 0.9  # fractional defaults of a large pool
    return d


@pytest.mark.parametrize("sd", [0.2, 0.0])
def test_fixed_beta_lgd_is_the_same_under_either_kernel(monkeypatch, kernel, sd):
    inp = SimpleNamespace(lgd_mean=0.45, lgd_sd=sd, lgd_sensitivity=0.0)
    d = _defaults(np.random.default_rng(2), 300, 7)
    (want, want_state), (got, got_state) = _lgd_both(monkeypatch, inp, d, None, kernel_module._lgd)
    np.testing.assert_array_equal(got, want)
    assert got_state == want_state


@pytest.mark.parametrize("per_cohort", [False, True])
@pytest.mark.parametrize("sd", [0.2, 0.45, 0.0])  # 0.45: clipped to 0.99 √(m (1 − m))
def test_downturn_beta_lgd_is_the_same_under_either_kernel(monkeypatch, kernel, per_cohort, sd):
    g = np.random.default_rng(3)
    n, c = 300, 7
    inp = SimpleNamespace(lgd_mean=0.45, lgd_sd=sd, lgd_sensitivity=0.3)
    d = _defaults(g, n, c)
    mean = g.uniform(0.05, 0.95, size=(n, c) if per_cohort else n)
    mean[:3] = 0.0  # m (1 − m) = 0: the mean, no Beta drawn
    mean[3:6] = 1.0
    fn = kernel_module._downturn_lgd
    (want, want_state), (got, got_state) = _lgd_both(monkeypatch, inp, d, mean, fn)
    np.testing.assert_array_equal(got, want)
    assert got_state == want_state
    assert (got[:3] == 0.0).all() and (got[3:6] == 1.0).all()


def test_compiled_lgd_refuses_an_lgd_whose_beta_does_not_exist(kernel):
    out = np.empty((1, 1))
    with pytest.raises(ValueError, match="a <= 0 or b <= 0"):  # κ + 1 = 0.5: κ_D < 0
        kernel.lgd_betas(
            np.random.default_rng(1), np.ones((1, 1)), np.full((1, 1), 0.4), 0.5, 0.5, False, out
        )


def test_certain_draws_consume_no_random_number(kernel):
    # every probability 0 or 1: the period is certain, so neither kernel may touch the stream
    # (reproducibility version 2: numpy itself consumes a uniform for p = 1)
    cols, seq = _columns(9, 3, 3, 5, 2)
    g = np.random.default_rng(9)
    cnt, pd, steps = _period_inputs(g, cols, seq, 16, True, True)
    pd = np.where(g.random(pd.shape) < 0.5, 0.0, 1.0)
    steps = np.where(g.random(steps.shape) < 0.5, 0.0, 1.0)
    results = []
    for draw in (_draw_numpy, lambda *a: draw_compiled(kernel, *a)):
        rng = np.random.default_rng(1)
        before = rng.bit_generator.state
        results.append(draw(cols, rng, cnt, pd, steps))
        assert rng.bit_generator.state == before
    (d_n, into_n), (d_c, into_c) = results
    np.testing.assert_array_equal(d_c, d_n)
    np.testing.assert_array_equal(into_c, into_n)
    drawn = cols.default_drawn.astype(bool)
    sure = (pd[:, cols.sr] == 1.0) & drawn[None]
    want = np.where(sure, cnt, 0).reshape(16, len(cols.exact), -1).sum(axis=2)
    np.testing.assert_array_equal(d_n, want)  # a PD of 1 takes every customer


def test_results_record_the_reproducibility_version():
    from riskmodel.simulation.plan import REPRODUCIBILITY_VERSION

    sc = rm.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    ds = rm.simulate(sc, paths=200, seed=1, progress=False).data
    assert ds.attrs["reproducibility_version"] == REPRODUCIBILITY_VERSION == 2
    assert ds.attrs["merged_cohorts"] == 0
