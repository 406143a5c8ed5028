"""The accumulators' sums of whole counts: the same bits as adding slice by slice.

`Accumulators.record` sums whole-number counts by a product with the 0/1 transient indicator and
an einsum (`riskmodel.simulation.block_output._count_sums`). Until then they were added slice by
slice along the summed axis. Whole numbers sum exactly in any order, and each sum keeps the
memory layout the slices' sum had, so every output must have the same bits as the slice sums
give, including the importance-weighted occupancy, whose products with the weights round by
layout. That includes absorbing states other than default and churn (no bundled scenario has
one, so the test marks some).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.simulation.block_output import Accumulators
from riskmodel.simulation.inputs import build_kernel_inputs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs():
    return build_kernel_inputs(rm.load_scenario(ROOT / "scenarios" / "baseline.yaml"))


def _slice_sum(a: np.ndarray, axis: int) -> np.ndarray:
    """The slices of `a` along `axis` added one by one (the result keeps `a`'s memory order)."""
    parts = np.moveaxis(a, axis, 0)
    out = np.add(parts[0], parts[1])
    for part in parts[2:]:
        out += part
    return out


def _by_slices(inp, periods, other: np.ndarray) -> dict[str, np.ndarray]:
    """Defaults, churn, margin and occupancy of `periods` from slice-by-slice sums."""
    n, h = periods[0][1].shape[0], inp.horizon
    out = {f: np.zeros((n, h)) for f in ("defaults", "churn", "margin")}
    out["occupancy"] = np.zeros((h, inp.n_states))
    for t, (d_c, into, _, weight) in enumerate(periods):
        counts = into[:, :, inp.transient_idx]
        out["defaults"][:, t] = _slice_sum(d_c, 1)
        out["churn"][:, t] = _slice_sum(into[:, :, inp.churn_idx], 1)
        out["margin"][:, t] = _slice_sum(counts, 2) @ inp.margin
        occ = out["occupancy"][t]
        occ[inp.transient_idx] = weight @ _slice_sum(counts, 1)
        occ[inp.default_idx] = weight @ out["defaults"][:, t]
        occ[inp.churn_idx] = weight @ out["churn"][:, t]
        if other.any():
            occ[other] = weight @ _slice_sum(into[:, :, other], 1)
    return out


def _record(inp, periods, others) -> Accumulators:
    n = periods[0][1].shape[0]
    acc = Accumulators.zeros(inp, n)
    acc.other[list(others)] = True  # states summed as "other" absorbing states (none bundled)
    for t, (d_c, into, lgd, weight) in enumerate(periods):
        acc.record(inp, t, d_c, lgd, into, weight, whole=True)
    return acc


@pytest.mark.parametrize("others", [(), ("default",), ("default", "churn")])
def test_whole_counts_sum_to_the_same_bits_by_product_and_by_slices(inputs, others):
    rng = np.random.default_rng(20261203)
    n, n_c, k = 1000, len(inputs.customers), inputs.n_states
    periods = []
    for _ in range(6):
        into = rng.integers(0, 10**6, (n, n_c, k)).astype(np.float64)
        d_c = rng.integers(0, 10**4, (n, n_c)).astype(np.float64)
        lgd = rng.beta(2.0, 3.0, (n, n_c))
        weight = np.exp(rng.normal(0.0, 3.0, n))  # heavy importance weights: rounding shows
        periods.append((d_c, into, lgd, weight))
    other = [getattr(inputs, f"{name}_idx") for name in others]
    by_product = _record(inputs, periods, other)
    by_slices = _by_slices(inputs, periods, by_product.other)
    for name, expected in by_slices.items():
        assert np.array_equal(getattr(by_product, name), expected), name
    if others:
        return
    # and the sums are the counts' own totals
    last = periods[-1][1]
    transient = inputs.transient_idx
    w = periods[-1][3]
    alive = last[:, :, transient].sum(axis=2)
    assert np.array_equal(by_product.margin[:, 5], alive @ inputs.margin)
    np.testing.assert_allclose(
        by_product.occupancy[5, transient], w @ last[:, :, transient].sum(axis=1), rtol=1e-13
    )
    assert np.array_equal(by_product.churn[:, 5], last[:, :, inputs.churn_idx].sum(axis=1))
