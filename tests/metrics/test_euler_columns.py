"""Euler contributions over chunks of columns (issue 15): the same numbers, bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from riskmodel.metrics import euler_columns
from riskmodel.metrics.contributions import euler_contributions
from riskmodel.metrics.euler_columns import column_chunks

LEVELS = (0.9, 0.99, 0.999)


def _book(seed: int, n: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Sparse lognormal component losses (atoms at 0) and heavy likelihood ratios (sigma 2)."""
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0.0, 1.5, (n, s)) * (rng.random((n, s)) < 0.4)
    x[:, 3] = 0.0  # a component that never loses
    return x, rng.lognormal(0.0, 2.0, n)


def test_column_chunks_cover_the_columns_within_the_budget(monkeypatch):
    assert column_chunks(1000, 8000) == [slice(0, 8000)]  # 64 MB: one chunk, as before
    monkeypatch.setattr(euler_columns, "WHOLE_BYTES", 8 * 100 * 29)
    monkeypatch.setattr(euler_columns, "CHUNK_BYTES", 8 * 100 * 7)
    assert column_chunks(100, 29) == [slice(0, 29)]
    chunks = column_chunks(100, 30)
    assert [(c.start, c.stop) for c in chunks] == [(0, 7), (7, 14), (14, 21), (21, 28), (28, 30)]
    assert column_chunks(10**6, 3) == [slice(0, 1), slice(1, 2), slice(2, 3)]  # at least one


@pytest.mark.parametrize("width", [1, 4])
@pytest.mark.parametrize("bandwidth", [None, 1e-9])  # Silverman's rule; all kernels underflow
def test_chunked_contributions_equal_the_whole_matrix(monkeypatch, width, bandwidth):
    """Splitting the columns changes the numbers by rounding only: each entry stays within
    1e-12 of the largest entry of its row (an entry cancelled to near 0, e.g. an ES error of a
    component whose losses equal its VaR contribution, is compared at that row's scale)."""
    x, w = _book(15, 1500, 23)
    whole = euler_contributions(x, weights=w, levels=LEVELS, bandwidth=bandwidth)
    monkeypatch.setattr(euler_columns, "WHOLE_BYTES", 0)
    monkeypatch.setattr(euler_columns, "CHUNK_BYTES", 8 * x.shape[0] * width)
    assert len(column_chunks(*x.shape)) == -(-x.shape[1] // width)
    chunked = euler_contributions(x, weights=w, levels=LEVELS, bandwidth=bandwidth)
    assert chunked.keys() == whole.keys()
    for name, value in whole.items():
        scale = np.max(np.abs(value), axis=-1, keepdims=True) if value.ndim else np.abs(value)
        err = np.abs(chunked[name] - value)
        assert np.all(err <= 1e-12 * scale), (name, float(np.max(err / np.maximum(scale, 1e-300))))
    # the contributions still add up to the totals
    for per_level in ("var", "es"):
        total = whole[f"total_{per_level}"]
        np.testing.assert_allclose(chunked[per_level].sum(axis=1), total, rtol=1e-12)


def test_chunks_bound_the_temporaries(monkeypatch):
    """With 1 MiB chunks the peak of new allocations stays a few chunks, far below one copy of
    the 32 MB (paths × columns) matrix; on the whole matrix it is several copies."""
    x, w = _book(16, 1000, 4000)

    def peak() -> int:
        tracemalloc.start()
        try:
            euler_contributions(x, weights=w, levels=LEVELS)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    whole = peak()  # 32 MB <= WHOLE_BYTES: one chunk
    monkeypatch.setattr(euler_columns, "WHOLE_BYTES", 0)
    monkeypatch.setattr(euler_columns, "CHUNK_BYTES", 2**20)
    chunked = peak()
    assert whole > 2 * x.nbytes
    assert chunked < 6 * 2**20 < x.nbytes / 5
