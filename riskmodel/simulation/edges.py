"""Which cell of a grid of edges each value falls in, by arithmetic instead of a search.

The importance-sampling weights (`riskmodel.simulation.tilt`) look up the cell of every path and
period on the tilt's even grid of edges.
"""

from __future__ import annotations

import numpy as np

__all__ = ["edge_index"]


def edge_index(edges: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return ``np.searchsorted(edges, y, side="right") - 1``, fast for edges on an even grid.

    `edges` (increasing) are ``[−∞, e_1, …, e_m, +∞]`` with ``e_i`` evenly spaced (up to
    rounding, as `np.arange` makes them). Each ``y`` gets a guess from the grid's start and
    width, which is then moved down or up until ``edges[k] ≤ y < edges[k + 1]``: the same
    integers as the binary search (a NaN counts as above every edge, as numpy sorts it), at a
    sixth of its cost for a block's paths × periods. Uneven edges give the same integers too,
    only more slowly.
    """
    inner = edges[1:-1]
    last = len(edges) - 1
    if len(inner) < 2 or not inner[-1] > inner[0]:
        found: np.ndarray = np.searchsorted(edges, y, side="right") - 1
        return found
    width = (inner[-1] - inner[0]) / (len(inner) - 1)
    with np.errstate(invalid="ignore", over="ignore"):
        guess = np.nan_to_num(np.floor((y - inner[0]) / width), nan=last)
    k: np.ndarray = np.clip(guess, -1, len(inner)).astype(np.intp) + 1
    for _ in range(last + 1):  # a guess is off by a step at most, but stay exact regardless
        down = edges[k] > y
        up = (k < last) & (edges[np.minimum(k + 1, last)] <= y)
        if not (down.any() or up.any()):
            break
        k = k - down + up
    return k
