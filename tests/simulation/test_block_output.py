"""The accumulators' sums of whole counts: the product path equals the slice-by-slice sums.

`Accumulators.record` sums whole-number counts by a product with the 0/1 transient indicator and
an einsum when its arrivals are C-contiguous, and slice by slice (`_sum`) otherwise. Whole
numbers sum exactly in any order and each sum keeps `_sum`'s memory layout, so the two must give
the same bits in every output, including the importance-weighted occupancy, also of absorbing
states other than default and churn (no bundled scenario has one, so the test marks some).
"""

from __future__ import annotations

from dataclasses import fields
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


def _record(inp, periods, *, contiguous: bool, others=()) -> Accumulators:
    n = periods[0][1].shape[0]
    acc = Accumulators.zeros(inp, n)
    acc.other[list(others)] = True  # states summed as "other" absorbing states (none bundled)
    for t, (d_c, into, lgd, weight) in enumerate(periods):
        arrivals = into if contiguous else np.asfortranarray(into)
        acc.record(inp, t, d_c, lgd, arrivals, weight, whole=True)
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
    by_product = _record(inputs, periods, contiguous=True, others=other)
    by_slices = _record(inputs, periods, contiguous=False, others=other)
    for f in fields(Accumulators):
        a, b = getattr(by_product, f.name), getattr(by_slices, f.name)
        assert np.array_equal(a, b), f.name
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
