"""Transition counts handed in as an array: checked against a state space, in canonical order.

`validate_counts` is what every transition model runs on counts it is given (from
`riskmodel.data.panel.panel_to_counts` or built by hand): dims ``(segment, from_state,
to_state)`` with an optional leading ``period``, states in the state space's order, segment
names as text, non-negative whole numbers, absorbing rows zero. `SINGLE_SEGMENT` names the one
segment of counts (or a panel) without a segment dim (column).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from riskmodel.errors import PanelError
from riskmodel.states import StateSpace

__all__ = ["SINGLE_SEGMENT", "validate_counts"]

SINGLE_SEGMENT = "all"
"""Segment name used when a panel has no segment column."""


def validate_counts(counts: xr.DataArray, states: StateSpace) -> xr.DataArray:
    """Check transition counts against a state space and put them in canonical order.

    Parameters
    ----------
    counts : xarray.DataArray
        Dims ``(segment, from_state, to_state)`` with an optional leading ``period`` dim;
        ``from_state``/``to_state`` coords must be exactly the names of `states` (any order).
        Values: non-negative whole numbers. A missing ``segment`` dim means one segment, "all".
    states : StateSpace

    Returns
    -------
    xarray.DataArray
        int64 counts, states in `states` order, segment names as str, absorbing rows set to zero.

    Raises
    ------
    PanelError
        On wrong dims, state coords that differ from `states`, negative / fractional /
        non-finite counts, or counts that are all zero (no data to fit).
    """
    if not isinstance(counts, xr.DataArray):
        raise TypeError(
            "counts must be an xarray.DataArray with dims (segment, from_state, to_state); "
            f"got {type(counts).__name__}. Use riskmodel.data.panel.panel_to_counts on a panel."
        )
    counts, lead = _canonical_dims(counts)
    counts = _states_in_order(counts, states)
    segs = _segment_names(counts)
    values = _whole_counts(counts, states)
    out = xr.DataArray(
        values,
        dims=counts.dims,
        coords={
            **({"period": counts.period.values} if lead else {}),
            "segment": segs,
            "from_state": list(states.names),
            "to_state": list(states.names),
        },
        attrs=dict(counts.attrs),
        name="transition_counts",
    )
    return out


def _canonical_dims(counts: xr.DataArray) -> tuple[xr.DataArray, tuple[str, ...]]:
    """Add a missing segment dim, refuse other dims, and order them ([period,] segment, ...)."""
    if "segment" not in counts.dims:
        counts = counts.expand_dims(segment=[SINGLE_SEGMENT])
    allowed = {
        ("segment", "from_state", "to_state"),
        ("period", "segment", "from_state", "to_state"),
    }
    if set(counts.dims) not in [set(a) for a in allowed]:
        raise PanelError(
            f"counts must have dims (segment, from_state, to_state) [with an optional period]; "
            f"got {counts.dims}."
        )
    lead = ("period",) if "period" in counts.dims else ()
    return counts.transpose(*lead, "segment", "from_state", "to_state"), lead


def _states_in_order(counts: xr.DataArray, states: StateSpace) -> xr.DataArray:
    """Check that both state coords hold exactly the state names, and put them in their order."""
    for dim in ("from_state", "to_state"):
        if dim not in counts.coords:
            raise PanelError(f"counts need a {dim!r} coordinate with the state names.")
        got = [str(v) for v in counts[dim].values]
        if sorted(got) != sorted(states.names):
            raise PanelError(
                f"counts {dim!r} coordinate {got} does not match the state space "
                f"{list(states.names)}; count over exactly the states of the model."
            )
    return counts.assign_coords(
        from_state=[str(v) for v in counts.from_state.values],
        to_state=[str(v) for v in counts.to_state.values],
    ).sel(from_state=list(states.names), to_state=list(states.names))


def _segment_names(counts: xr.DataArray) -> list[str]:
    """Segment names as text (``segment0, …`` without a coord), refusing duplicates."""
    if "segment" in counts.coords:
        segs = [str(v) for v in counts.segment.values]
    else:
        segs = [f"segment{k}" for k in range(counts.sizes["segment"])]
    if len(set(segs)) != len(segs):
        raise PanelError(f"counts have duplicate segment names {segs}; names must be unique.")
    return segs


def _whole_counts(counts: xr.DataArray, states: StateSpace) -> np.ndarray:
    """int64 values with absorbing rows zero, refusing non-counts and all-zero counts."""
    values = np.asarray(counts.values, dtype=float)
    if not np.isfinite(values).all() or (values < 0).any() or (values != np.round(values)).any():
        raise PanelError(
            "counts must be finite non-negative whole numbers; got negative, fractional or "
            "missing values. Count transitions with panel_to_counts."
        )
    values = values.astype(np.int64)
    values[..., states.absorbing_idx, :] = 0
    if not values.any():
        raise PanelError(
            "the counts hold no transition out of a transient state (all zero); a model fitted "
            "to them would be its prior alone. Count a panel with observed moves."
        )
    return values
