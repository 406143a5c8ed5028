"""Panel tables: schema checks, transition counts and the bundled example data.

A *panel* has one row per customer per period: ``customer_id, period, state`` and optionally a
segment column. Consecutive periods of one customer form a transition ``state_t -> state_{t+1}``.
`panel_to_counts` turns a panel into labelled transition counts with dims
``(segment, from_state, to_state)`` (and optionally a leading ``period`` dim, the period the
transition starts from), which is what every transition model consumes. Counts handed in as an
array are checked by `validate_counts` (in `riskmodel.data.counts`, re-exported here).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.data.counts import SINGLE_SEGMENT, validate_counts
from riskmodel.data.examples import (
    EXAMPLE_STRUCTURAL_ZEROS,
    example_states,
    load_example_macro,
    load_example_panel,
)
from riskmodel.data.files import read_csv
from riskmodel.errors import GapsSkippedWarning, PanelError
from riskmodel.states import StateSpace

__all__ = [
    "EXAMPLE_STRUCTURAL_ZEROS",
    "GapsSkippedWarning",
    "PanelError",
    "example_states",
    "load_example_macro",
    "load_example_panel",
    "panel_to_counts",
    "read_panel_csv",
    "validate_counts",
]

REQUIRED_COLUMNS = ("customer_id", "period", "state")


def _show(items: Iterable, limit: int = 5) -> str:
    items = list(items)
    head = ", ".join(str(i) for i in items[:limit])
    more = len(items) - limit
    return f"[{head}{f', … and {more} more' if more > 0 else ''}]"


# panel -> counts


def panel_to_counts(
    panel: pd.DataFrame,
    states: StateSpace,
    *,
    segment_col: str = "segment",
    skip_gaps: bool = False,
    by_period: bool = False,
) -> xr.DataArray:
    """Count the transitions in a customer panel.

    Parameters
    ----------
    panel : DataFrame
        Columns ``customer_id, period, state`` and optionally `segment_col`. One row per customer
        per period; periods are integers and consecutive within a customer. Without a segment
        column every row belongs to one segment named ``"all"``. A transition is attributed to
        the segment of the row it starts from.
    states : StateSpace
        The state space; every ``state`` value must be one of its names.
    segment_col : str, default "segment"
        Name of the segment column.
    skip_gaps : bool, default False
        If False, a gap in a customer's periods (e.g. 3 then 5) is an error. If True, the pair
        across the gap is skipped, a `GapsSkippedWarning` says how many, and the count is kept in
        ``attrs["skipped_gap_pairs"]``.
    by_period : bool, default False
        If True, add a leading ``period`` dim: counts per period the transition starts from (what
        the macro-covariate model needs).

    Returns
    -------
    xarray.DataArray
        Integer counts with dims ``(segment, from_state, to_state)`` (``(period, segment,
        from_state, to_state)`` with `by_period`), coords from `states` and the sorted segment
        names. Rows of absorbing states are zero: they are never estimated. ``attrs`` hold
        ``skipped_gap_pairs`` and ``n_customers``.

    Raises
    ------
    PanelError
        On missing columns, no rows, missing values, non-integer periods, unknown states,
        duplicate ``(customer_id, period)`` rows, transitions out of an absorbing state, gaps
        (unless `skip_gaps`), or no transition at all (no customer has two consecutive periods
        starting in a transient state: nothing to count, nothing to fit). Messages name the
        offending rows (0-based positions) or customer ids.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskmodel.states import StateSpace
    >>> ss = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")
    >>> panel = pd.DataFrame({"customer_id": [1, 1, 1], "period": [0, 1, 2],
    ...                       "state": ["good", "bad", "gone"]})
    >>> int(panel_to_counts(panel, ss).sel(segment="all", from_state="good", to_state="bad"))
    1
    """
    df, has_segment = _panel_frame(panel, segment_col)
    period, code = _periods_and_codes(df, states)
    cust = df["customer_id"].to_numpy()
    seg = df[segment_col].astype(str).to_numpy() if has_segment else None
    _refuse_duplicates(cust, period)
    pairs = _transition_pairs(cust, period, code, states, skip_gaps=skip_gaps)
    if pairs.from_c.size == 0:
        _refuse_no_transitions(len(df), len(pd.unique(cust)), pairs.n_pairs)
    if seg is not None:
        seg_o = seg[pairs.order][:-1][pairs.pair][pairs.keep]
        segments = sorted(set(seg.tolist()))
    else:
        seg_o = np.full(pairs.from_c.shape, SINGLE_SEGMENT, dtype=object)
        segments = [SINGLE_SEGMENT]
    attrs = {
        "skipped_gap_pairs": pairs.n_gap if skip_gaps else 0,
        "n_customers": len(pd.unique(cust)),
    }
    out = _count_array(pairs, seg_o, segments, states, attrs, by_period=by_period)
    if skip_gaps and pairs.n_gap:
        warnings.warn(
            f"skipped {pairs.n_gap} pair(s) of rows across gaps in customers' periods "
            "(skip_gaps=True); they are not counted as transitions.",
            GapsSkippedWarning,
            stacklevel=2,
        )
    return out


def _panel_frame(panel: pd.DataFrame, segment_col: str) -> tuple[pd.DataFrame, bool]:
    """Return the needed columns (refusing a non-frame, missing columns, no rows, NaN)."""
    if not isinstance(panel, pd.DataFrame):
        raise TypeError(
            f"panel must be a pandas DataFrame with columns {list(REQUIRED_COLUMNS)}; "
            f"got {type(panel).__name__}."
        )
    missing_cols = [c for c in REQUIRED_COLUMNS if c not in panel.columns]
    if missing_cols:
        raise PanelError(
            f"panel is missing column(s) {missing_cols}; got columns {list(panel.columns)}. "
            f"A panel needs {list(REQUIRED_COLUMNS)} and optionally {segment_col!r}."
        )
    if len(panel) == 0:
        raise PanelError(
            "the panel has no rows (only a header?); it needs one row per customer per period, "
            "with at least two consecutive periods for some customers."
        )
    has_segment = segment_col in panel.columns
    cols = [*REQUIRED_COLUMNS, segment_col] if has_segment else list(REQUIRED_COLUMNS)
    df = panel[cols].reset_index(drop=True)
    na = df.isna()
    if na.to_numpy().any():
        bad = np.flatnonzero(na.to_numpy().any(axis=1))
        which = [c for c in cols if na[c].any()]
        raise PanelError(
            f"panel has missing values in column(s) {which} at rows {_show(bad)} (0-based); "
            "drop or fill those rows before counting transitions."
        )
    return df, has_segment


def _periods_and_codes(df: pd.DataFrame, states: StateSpace) -> tuple[np.ndarray, np.ndarray]:
    """Return integer periods and state codes (refusing non-integers, unknown states)."""
    period_num = pd.to_numeric(df["period"], errors="coerce")
    as_float = period_num.to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(as_float) | (as_float != np.round(as_float)))
    if bad.size:
        raise PanelError(
            f"panel column 'period' must hold integers; rows {_show(bad)} (0-based) have "
            f"{_show(df['period'].iloc[bad].tolist(), 3)}. Number periods 0, 1, 2, … "
            "(e.g. months since the start)."
        )
    state_str = df["state"].astype(str).to_numpy()
    code_of = {name: k for k, name in enumerate(states.names)}
    known = np.isin(state_str, list(states.names))
    if not known.all():
        bad = np.flatnonzero(~known)
        unknown = sorted(set(state_str[bad]))
        raise PanelError(
            f"panel has unknown state(s) {unknown} at rows {_show(bad)} (0-based); "
            f"known states are {list(states.names)}. Map them to the state space or extend it."
        )
    code = np.array([code_of[s] for s in state_str], dtype=np.intp)
    return as_float.astype(np.int64), code


def _refuse_duplicates(cust: np.ndarray, period: np.ndarray) -> None:
    dup = pd.DataFrame({"c": cust, "p": period}).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        pairs = sorted({(cust[r], int(period[r])) for r in rows}, key=str)
        raise PanelError(
            f"panel has duplicate (customer_id, period) rows {_show(pairs)} at rows "
            f"{_show(rows)} (0-based); keep one row per customer per period."
        )


@dataclass(frozen=True)
class _Pairs:
    """Consecutive-period pairs of rows of one customer, starting in a transient state."""

    order: np.ndarray  # rows sorted by customer, then period
    pair: np.ndarray  # (rows - 1,) the sorted row and the next are consecutive periods
    keep: np.ndarray  # (pairs,) the pair starts in a transient state
    from_c: np.ndarray
    to_c: np.ndarray
    from_p: np.ndarray
    per_o: np.ndarray  # sorted periods
    n_gap: int
    n_pairs: int


def _transition_pairs(
    cust: np.ndarray, period: np.ndarray, code: np.ndarray, states: StateSpace, *, skip_gaps: bool
) -> _Pairs:
    """Pair each row with the customer's next period (refusing gaps and leaving absorption)."""
    order = np.lexsort((period, pd.factorize(cust)[0]))
    cust_o, per_o, code_o = cust[order], period[order], code[order]
    same = cust_o[1:] == cust_o[:-1]
    step = per_o[1:] - per_o[:-1]
    pair = same & (step == 1)
    gap = same & (step > 1)
    n_gap = int(gap.sum())
    if n_gap and not skip_gaps:
        ids = pd.unique(cust_o[:-1][gap])
        raise PanelError(
            f"panel has {n_gap} gap(s) in consecutive periods for customer(s) {_show(ids)}; "
            "fill the missing periods, or pass skip_gaps=True to skip the pairs across gaps."
        )
    from_c, to_c = code_o[:-1][pair], code_o[1:][pair]
    from_p = per_o[:-1][pair]
    absorbing = np.zeros(states.n, dtype=bool)
    absorbing[states.absorbing_idx] = True
    leaves = absorbing[from_c] & (from_c != to_c)
    if leaves.any():
        ids = pd.unique(cust_o[:-1][pair][leaves])
        ex = np.flatnonzero(leaves)[0]
        raise PanelError(
            f"panel has {int(leaves.sum())} transition(s) out of an absorbing state, for "
            f"customer(s) {_show(ids)} (e.g. {states.names[from_c[ex]]} -> "
            f"{states.names[to_c[ex]]}); absorbing states {list(states.absorbing)} are never "
            "left. Fix the states or declare the state transient."
        )
    keep = ~absorbing[from_c]
    return _Pairs(
        order=order,
        pair=pair,
        keep=keep,
        from_c=from_c[keep],
        to_c=to_c[keep],
        from_p=from_p[keep],
        per_o=per_o,
        n_gap=n_gap,
        n_pairs=int(pair.sum()),
    )


def _count_array(
    pairs: _Pairs,
    seg_o: np.ndarray,
    segments: list[str],
    states: StateSpace,
    attrs: dict[str, int],
    *,
    by_period: bool,
) -> xr.DataArray:
    """Count the pairs by (segment, from, to), or by (period, segment, from, to)."""
    seg_code = pd.Categorical(seg_o, categories=segments).codes.astype(np.intp)
    from_c, to_c, from_p, per_o = pairs.from_c, pairs.to_c, pairs.from_p, pairs.per_o
    n_s, n = len(segments), states.n
    if by_period:
        if from_p.size:
            periods = np.arange(per_o.min(), per_o.max())
        else:
            periods = np.arange(0)
        p_code = from_p - (periods[0] if periods.size else 0)
        flat = ((p_code * n_s + seg_code) * n + from_c) * n + to_c
        counts = np.bincount(flat, minlength=periods.size * n_s * n * n)
        out = xr.DataArray(
            counts.reshape(periods.size, n_s, n, n),
            dims=("period", "segment", "from_state", "to_state"),
            coords={"period": periods, "segment": segments},
            attrs=attrs,
        )
    else:
        flat = (seg_code * n + from_c) * n + to_c
        counts = np.bincount(flat, minlength=n_s * n * n)
        out = xr.DataArray(
            counts.reshape(n_s, n, n),
            dims=("segment", "from_state", "to_state"),
            coords={"segment": segments},
            attrs=attrs,
        )
    out = out.assign_coords(from_state=list(states.names), to_state=list(states.names))
    out.name = "transition_counts"
    return out


def _refuse_no_transitions(rows: int, customers: int, pairs: int) -> None:
    why = (
        "every consecutive pair starts in an absorbing state"
        if pairs
        else "no customer has two consecutive periods"
    )
    raise PanelError(
        f"the panel holds no transitions to count ({rows} row(s), {customers} customer(s)): "
        f"{why}. A model fitted to it would be its prior alone; give each customer one row per "
        "period over at least two consecutive periods, starting in a transient state."
    )


def read_panel_csv(path) -> pd.DataFrame:
    """Read a panel CSV file (``customer_id, period, state`` [, ``segment``]).

    Ids, states and segments are read as text (``007`` stays ``007``). Only a regular file is
    opened (a FIFO or device is refused as such).

    Raises
    ------
    PanelError
        If the file is missing, empty or not CSV (no contents quoted).
    UnsafeFileError
        If `path` is a folder, FIFO, device or socket.
    """
    return read_csv(
        path,
        what="panel CSV",
        error=PanelError,
        dtype={"customer_id": str, "state": str, "segment": str},
    )
