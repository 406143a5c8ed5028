"""Counts handed in as arrays (`riskmodel.data.counts.validate_counts`): the checks by part."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from riskmodel.data import counts as counts_module
from riskmodel.data import panel
from riskmodel.data.counts import SINGLE_SEGMENT, validate_counts
from riskmodel.errors import PanelError
from riskmodel.states import StateSpace

SS = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")


def _counts(values, **coords) -> xr.DataArray:
    values = np.asarray(values)
    dims = ("period", "segment", "from_state", "to_state")[-values.ndim :]
    states = {"from_state": list(SS.names), "to_state": list(SS.names)}
    return xr.DataArray(values, dims=dims, coords={**states, **coords})


def test_the_panel_module_still_exports_the_counts_check():
    # the split kept every name importable where it was
    assert panel.validate_counts is counts_module.validate_counts
    assert panel.SINGLE_SEGMENT == SINGLE_SEGMENT == "all"


def test_a_period_dim_leads_and_states_take_the_state_space_order():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 5, size=(2, 1, 3, 3))
    values[0, 0, 0, 1] = 3  # some transient move in any case
    ordered = _counts(values, period=[4, 5], segment=["s"])
    # state coords permuted and the dims out of order: the result is the canonical array
    shuffled = ordered.isel(from_state=[1, 2, 0], to_state=[2, 0, 1]).transpose(
        "to_state", "segment", "period", "from_state"
    )
    out = validate_counts(shuffled, SS)
    assert out.dims == ("period", "segment", "from_state", "to_state")
    assert out.period.values.tolist() == [4, 5]
    expected = values.copy()
    expected[..., SS.absorbing_idx, :] = 0  # absorbing rows are never estimated
    np.testing.assert_array_equal(out.values, expected)
    assert out.dtype == np.int64


def test_segment_names_without_a_coord_are_numbered_and_duplicates_refused():
    values = np.zeros((2, 3, 3), dtype=int)
    values[:, 0, 1] = 1
    unnamed = _counts(values)
    assert validate_counts(unnamed, SS).segment.values.tolist() == ["segment0", "segment1"]
    with pytest.raises(PanelError, match="duplicate segment names"):
        validate_counts(_counts(values, segment=["a", "a"]), SS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.drop_vars("to_state"), "need a 'to_state' coordinate"),
        (lambda c: c.astype(float) + 0.5, "whole numbers"),
        (lambda c: c.where(c > 0), "whole numbers"),  # NaN
        (lambda c: c * 0, "all zero"),
        (lambda c: c.expand_dims(draw=[0]), "dims"),
    ],
)
def test_each_check_names_what_is_wrong(change, message):
    values = np.zeros((1, 3, 3), dtype=int)
    values[0, 0, 1] = 2
    with pytest.raises(PanelError, match=message):
        validate_counts(change(_counts(values, segment=["s"])), SS)


def test_counts_of_absorbing_rows_alone_are_all_zero():
    # moves out of an absorbing state are zeroed first, so they do not count as data
    values = np.zeros((1, 3, 3), dtype=int)
    values[0, SS.absorbing_idx[0], 0] = 7
    with pytest.raises(PanelError, match="all zero"):
        validate_counts(_counts(values, segment=["s"]), SS)


def test_a_plain_array_is_a_type_error_that_names_the_fix():
    with pytest.raises(TypeError, match="panel_to_counts"):
        validate_counts(np.zeros((1, 3, 3)), SS)  # type: ignore[arg-type]
