"""The numpy CSV formatter reads back (with pandas) as the numbers it was given."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.ecl.fastcsv import Column, csv_bytes, header_bytes

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(finite, st.just(float("nan"))), min_size=1, max_size=40),
    st.integers(min_value=0, max_value=9),
)
def test_floats_read_back_rounded_to_their_decimals(values, decimals):
    x = np.array(values)
    n = np.arange(len(x))  # a row of NaN alone would be a blank line, which readers skip
    text = header_bytes(["n", "x"]) + csv_bytes(
        [Column(n, "int"), Column(x, "float", decimals=decimals)]
    )
    back = pd.read_csv(io.BytesIO(text))["x"].to_numpy(dtype=float)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(x))
    ok = ~np.isnan(x)
    # |x| · 10^d rounded: the read value is within half a unit of the last decimal (plus the
    # float rounding of a 13-digit number, ~1e-16 relative)
    tol = 0.5 * 10.0**-decimals + 4e-16 * np.abs(x[ok])
    assert np.all(np.abs(back[ok] - x[ok]) <= tol)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20))
def test_text_round_trips_with_quoting(texts):
    texts = [t for t in texts if "\x00" not in t and "\r" not in t and t.strip()]
    if not texts:
        return
    ids = np.array(texts, dtype=object)
    n = np.arange(len(ids))
    data = header_bytes(["id", "n"]) + csv_bytes([Column(ids, "text"), Column(n, "int")])
    back = pd.read_csv(io.BytesIO(data), dtype={"id": str}, keep_default_na=False)
    assert back["id"].tolist() == texts
    assert back["n"].tolist() == n.tolist()


def test_layout_of_a_small_table():
    cols = [
        Column(np.array(["a", "b,c", "é"], dtype=object), "text"),
        Column(np.array([0, 1, -1]), "category", categories=["s1", "s2"]),
        Column(np.array([1.5, -0.000_004, 1e30]), "float", decimals=6),
        Column(np.array([3, -12, 0]), "int"),
    ]
    # 1e30 is too large for fixed point at 6 decimals: that column falls back to repr
    assert csv_bytes(cols).decode("utf-8") == 'a,s1,1.5,3\n"b,c",s2,-4e-06,-12\né,,1e+30,0\n'
    cols[2] = Column(np.array([1.5, -0.000_004, 120.0]), "float", decimals=6)
    assert csv_bytes(cols).decode("utf-8") == 'a,s1,1.5,3\n"b,c",s2,-0.000004,-12\né,,120,0\n'
