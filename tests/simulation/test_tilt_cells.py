"""The tilt's cell lookup (`riskmodel.simulation.edges.edge_index`) is numpy's binary search.

The weights of importance sampling read each path's cell per period; `edge_index` finds it by
arithmetic on the even grid of edges and must return exactly ``np.searchsorted(edges, y,
side="right") - 1``, including values on an edge, next to one, beyond the grid, ±∞ and NaN.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.simulation.edges import edge_index
from riskmodel.simulation.tilt import TILT_CELL_WIDTH, TILT_RANGE


def _edges(start: float, stop: float, width: float) -> np.ndarray:
    inner = np.arange(start, stop + 1e-9, width)  # as factor_tilt makes them, rounding included
    inner[np.abs(inner) < 1e-12] = 0.0
    return np.concatenate([[-np.inf], inner, [np.inf]])


def _awkward_values(edges: np.ndarray, g: np.random.Generator) -> np.ndarray:
    inner = edges[1:-1]
    span = inner[-1] - inner[0]
    return np.concatenate(
        [
            g.uniform(inner[0] - span, inner[-1] + span, 5000),
            inner,
            np.nextafter(inner, -np.inf),
            np.nextafter(inner, np.inf),
            [np.inf, -np.inf, np.nan, 1e308, -1e308, 0.0, -0.0],
        ]
    )


def test_the_tilts_own_edges_match_the_binary_search():
    edges = _edges(TILT_RANGE[0], TILT_RANGE[1], TILT_CELL_WIDTH)
    y = _awkward_values(edges, np.random.default_rng(4))
    np.testing.assert_array_equal(edge_index(edges, y), np.searchsorted(edges, y, side="right") - 1)
    y2 = np.random.default_rng(5).normal(0.0, 2.0, size=(64, 36))  # paths × periods
    np.testing.assert_array_equal(edge_index(edges, y2), np.searchsorted(edges, y2, "right") - 1)


@settings(max_examples=200, deadline=None)
@given(
    start=st.floats(-50, 10),
    length=st.floats(1e-3, 60),
    cells=st.integers(1, 3000),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_even_grid_matches_the_binary_search(start, length, cells, seed):
    edges = _edges(start, start + length, length / cells)
    y = _awkward_values(edges, np.random.default_rng(seed))
    np.testing.assert_array_equal(edge_index(edges, y), np.searchsorted(edges, y, side="right") - 1)


def test_uneven_or_short_grids_still_match_the_search():
    for edges in (np.array([-np.inf, 0.5, np.inf]), np.array([-np.inf, 0.0, 0.1, 5.0, np.inf])):
        y = _awkward_values(edges, np.random.default_rng(6))
        np.testing.assert_array_equal(edge_index(edges, y), np.searchsorted(edges, y, "right") - 1)
