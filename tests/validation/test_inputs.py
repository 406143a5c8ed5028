"""The inputs every validation function accepts (`riskmodel.validation.inputs`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from riskmodel.errors import ArgumentError, PanelError
from riskmodel.models.draws import ParameterDraws
from riskmodel.states import StateSpace
from riskmodel.validation import ppc
from riskmodel.validation.inputs import as_counts, as_draws, macro_values
from riskmodel.validation.ppc_result import PredictiveCheck

SS = StateSpace(["a", "b", "d"], absorbing=["d"], default="d")
P = np.array([[[0.8, 0.15, 0.05], [0.3, 0.6, 0.1], [0.0, 0.0, 1.0]]])


def _draws(segments=("retail",)) -> ParameterDraws:
    return ParameterDraws(SS, tuple(segments), np.repeat(P[None], len(segments), axis=1))


def _panel(segment=None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"customer_id": [1, 1, 1, 2, 2], "period": [0, 1, 2, 0, 1],
         "state": ["a", "b", "d", "b", "b"]}
    )  # fmt: skip
    if segment is not None:
        frame["segment"] = segment
    return frame


def test_the_names_stay_where_they_were():
    # PredictiveCheck moved to ppc_result; ppc re-exports it
    assert ppc.PredictiveCheck is PredictiveCheck


def test_a_posterior_of_the_wrong_kind_is_refused_by_name():
    with pytest.raises(ArgumentError, match="got dict"):
        as_draws({}, 1.0)
    draws = _draws()
    assert as_draws(draws, 1.0) is draws


def test_a_panel_without_segments_is_the_one_segment_of_the_posterior():
    counts = as_counts(_panel(), _draws(), "segment")
    assert counts.dims == ("period", "segment", "from_state", "to_state")
    assert counts.segment.values.tolist() == ["retail"]
    # customer 1: a->b (period 0), b->d (period 1); customer 2: b->b (period 0)
    assert int(counts.sel(period=0, from_state="a", to_state="b").sum()) == 1
    assert int(counts.sel(period=0, from_state="b", to_state="b").sum()) == 1
    assert int(counts.sel(period=1, from_state="b", to_state="d").sum()) == 1
    assert int(counts.sum()) == 3


def test_segments_the_posterior_lacks_are_refused():
    with pytest.raises(PanelError, match=r"segment\(s\) \['smb'\] are not in the posterior"):
        as_counts(_panel("smb"), _draws(("retail", "cards")), "segment")


def test_counts_need_the_period_dim_and_a_transition():
    counts = as_counts(_panel(), _draws(), "segment")
    with pytest.raises(ArgumentError, match="must have dims"):
        as_counts(counts.sum("period"), _draws(), "segment")
    with pytest.raises(PanelError, match="no transitions to backtest"):
        as_counts(xr.zeros_like(counts), _draws(), "segment")


def test_macro_values_are_needed_only_for_a_covariate_posterior():
    assert macro_values(None, np.array([0, 1]), _draws()) is None
    draws = _draws()
    a = np.zeros((1, 1, 2, 3))
    cov = ParameterDraws(SS, draws.segments, draws.transitions, covariates=("u",),
                         intercepts=a, coefficients=np.zeros((*a.shape, 1)))  # fmt: skip
    with pytest.raises(ArgumentError, match=r"pass macro="):
        macro_values(None, np.array([0, 1]), cov)
    macro = pd.DataFrame({"period": [1, 0, 2], "u": [5.1, 5.0, 5.2]})
    np.testing.assert_allclose(macro_values(macro, np.array([0, 1]), cov)[:, 0], [5.0, 5.1])
