"""Checks of a loan tape's columns and values, chunk by chunk (see `riskmodel.ecl.tape`).

Each check raises a `PortfolioError` naming the source, the column, the first bad rows (file
line or DataFrame row, with the ``loan_id``) and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.data.files import excerpt
from riskmodel.errors import PortfolioError

__all__ = [
    "OPTIONAL",
    "REQUIRED",
    "TAPE_COLUMNS",
    "TapeChunk",
    "Where",
    "build_chunk",
    "check_header",
    "check_maturity",
    "check_unique",
]

REQUIRED = ("loan_id", "segment", "state", "exposure")
OPTIONAL = ("maturity", "amortisation", "instalment", "rate", "lgd", "origination_pd")
TAPE_COLUMNS = REQUIRED + OPTIONAL
_SHOW = 3  # bad rows quoted in a message


@dataclass(frozen=True)
class TapeChunk:
    """Consecutive, checked rows of a loan tape.

    Attributes
    ----------
    start : int
        Position of the first row in the tape (0-based).
    loan_id : ndarray of object
        Identifiers (str).
    segment, state : ndarray of int
        Positions in the scenario's segments and states.
    exposure : ndarray of float
    maturity, amortisation, instalment, rate, lgd, origination_pd : ndarray of float
        NaN where the loan does not give the value (or the column is absent).
    """

    start: int
    loan_id: np.ndarray
    segment: np.ndarray
    state: np.ndarray
    exposure: np.ndarray
    maturity: np.ndarray
    amortisation: np.ndarray
    instalment: np.ndarray
    rate: np.ndarray
    lgd: np.ndarray
    origination_pd: np.ndarray

    def __len__(self) -> int:
        return len(self.exposure)


@dataclass(frozen=True)
class Where:
    """Names rows for messages: file lines for a CSV, row numbers for a DataFrame."""

    source: str
    csv: bool

    def row(self, position: int) -> str:
        """Name the row at `position` (0-based in the tape)."""
        return f"line {position + 2}" if self.csv else f"row {position + 1}"


def check_header(columns: pd.Index, where: Where) -> None:
    """Refuse unknown columns (with a did-you-mean) and missing required ones."""
    names = [str(c) for c in columns]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [c for c in names if c not in TAPE_COLUMNS]
    if unknown:
        hints = []
        for c in unknown[:3]:
            close = difflib.get_close_matches(c, TAPE_COLUMNS, n=1, cutoff=0.6)
            if close:
                hints.append(f"{excerpt(c, 30)!s} → {close[0]}?")
        hint = f" Did you mean: {'; '.join(hints)}" if hints else ""
        raise PortfolioError(
            f"unknown column(s) {excerpt(','.join(unknown))}; a loan tape has columns "
            f"{list(REQUIRED)} and optionally {list(OPTIONAL)}.{hint} Rename or drop them.",
            source=where.source,
        )
    if missing:
        raise PortfolioError(
            f"missing column(s) {missing}; a loan tape needs {list(REQUIRED)} (and optionally "
            f"{list(OPTIONAL)}). Got header {excerpt(','.join(names))}.",
            source=where.source,
        )


def _fail(
    where: Where, df: pd.DataFrame, start: int, column: str, bad: np.ndarray, problem: str
) -> PortfolioError:
    """Return an error quoting the first bad rows of `column` (`bad`: a mask of the chunk)."""
    rows = np.flatnonzero(bad)
    ids = df["loan_id"].to_numpy() if "loan_id" in df.columns else None
    shown = []
    for r in rows[:_SHOW]:
        loan = "" if ids is None else f"loan {excerpt(ids[r], 30)}, "
        shown.append(
            f"{where.row(start + int(r))} ({loan}{column} = {excerpt(df[column].iloc[r], 30)})"
        )
    more = (
        f" and {len(rows) - _SHOW} more rows in this part of the tape" if len(rows) > _SHOW else ""
    )
    return PortfolioError(
        f"{problem} Bad rows: {'; '.join(shown)}{more}.", source=where.source, column=column
    )


def _names(
    df: pd.DataFrame,
    column: str,
    start: int,
    where: Where,
    known: Sequence[str],
    allowed: Sequence[str],
) -> np.ndarray:
    """Positions of the names in `known` (a category column); errors for unknown names."""
    raw = df[column]
    cat = raw if isinstance(raw.dtype, pd.CategoricalDtype) else raw.astype("category")
    labels = [str(c).strip() for c in cat.cat.categories]
    pos = {name: i for i, name in enumerate(known)}
    table = np.array([pos.get(lab, -1) if lab in allowed else -1 for lab in labels] + [-1])
    codes = table[cat.cat.codes.to_numpy()]  # code -1 (missing) → the last entry, -1
    bad = codes < 0
    if bad.any():
        first = raw.iloc[int(np.flatnonzero(bad)[0])]
        name = "" if pd.isna(first) else str(first).strip()
        if not name:
            problem = f"empty {column}; every loan needs one."
        elif name in known:
            problem = (
                f"a loan cannot be in the absorbing state {name!r}: it has no credit "
                f"risk left. Remove those rows (loans may be in {list(allowed)})."
            )
        else:
            close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            problem = (
                f"unknown {column} {excerpt(name, 30)}; the scenario has {list(allowed)}.{hint}"
            )
        raise _fail(where, df, start, column, bad, problem)
    out: np.ndarray = codes.astype(np.intp)
    return out


def _number(
    df: pd.DataFrame, column: str, start: int, where: Where, *, required: bool
) -> np.ndarray:
    """Return a numeric column as float (NaN where empty); refuse text, booleans, infinities."""
    if column not in df.columns:
        return np.full(len(df), np.nan)
    raw = df[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise _fail(
            where,
            df,
            start,
            column,
            np.ones(len(df), bool),
            "must be a number; got True/False. Write a plain number.",
        )
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        text = raw.astype("string").str.strip()
        bad = np.isnan(values) & (text.fillna("") != "").to_numpy(dtype=bool)
        if bad.any():
            raise _fail(
                where,
                df,
                start,
                column,
                bad,
                "must be a number. Write a plain number (no units, thousands separators or text).",
            )
    if np.isinf(values).any():
        raise _fail(where, df, start, column, np.isinf(values), "must be finite.")
    if required and np.isnan(values).any():
        raise _fail(where, df, start, column, np.isnan(values), "is empty; every loan needs it.")
    out: np.ndarray = values
    return out


def _check_range(
    df: pd.DataFrame, column: str, start: int, where: Where, bad: np.ndarray, rule: str
) -> None:
    if bad.any():
        raise _fail(where, df, start, column, bad, f"must be {rule}.")


def build_chunk(
    df: pd.DataFrame,
    start: int,
    where: Where,
    segments: Sequence[str],
    states: Sequence[str],
    allowed_states: Sequence[str],
) -> TapeChunk:
    """Check every column of the rows `df` (from position `start`) and return them as arrays."""
    ids = df["loan_id"].to_numpy(dtype=object, na_value=None)
    empty = pd.isna(ids) | (ids == "")
    if not isinstance(df["loan_id"].dtype, pd.StringDtype) and not empty.all():
        ids = np.array([v if isinstance(v, str) else str(v) for v in ids], dtype=object)
    if empty.any():
        raise _fail(where, df, start, "loan_id", empty, "is empty; give every loan an id.")
    seg = _names(df, "segment", start, where, segments, list(segments))
    state = _names(df, "state", start, where, states, list(allowed_states))
    num = {c: _number(df, c, start, where, required=c == "exposure") for c in TAPE_COLUMNS[3:]}
    with np.errstate(invalid="ignore"):
        checks = (
            ("exposure", num["exposure"] < 0, ">= 0"),
            (
                "maturity",
                (num["maturity"] < 0) | (num["maturity"] % 1 != 0) & ~np.isnan(num["maturity"]),
                "a whole number of periods >= 0 (or empty: to the horizon)",
            ),
            (
                "amortisation",
                num["amortisation"] > 1,
                "<= 1 (a share of the balance per period; negative for a drawdown)",
            ),
            ("instalment", num["instalment"] < 0, ">= 0 (a payment per period)"),
            ("rate", num["rate"] <= -1, "> -1 (a rate per period, e.g. 0.004)"),
            ("lgd", (num["lgd"] < 0) | (num["lgd"] > 1), "in [0, 1]"),
            (
                "origination_pd",
                (num["origination_pd"] <= 0) | (num["origination_pd"] > 1),
                "in (0, 1] (the PD at initial recognition; leave it empty to stage by state only)",
            ),
        )
    for column, bad, rule in checks:
        _check_range(df, column, start, where, bad, rule)
    both = ~np.isnan(num["amortisation"]) & ~np.isnan(num["instalment"])
    if both.any():
        raise _fail(
            where,
            df,
            start,
            "instalment",
            both,
            "a loan has either `amortisation` or `instalment`, not both; leave one of them empty.",
        )
    return TapeChunk(
        start=start,
        loan_id=ids,
        segment=seg,
        state=state,
        **num,
    )


def check_maturity(chunk: TapeChunk, where: Where, horizon: int, truncate: bool) -> None:
    """Refuse a maturity beyond the horizon, unless the ECL may stop there (`truncate`)."""
    long = chunk.maturity > horizon
    if truncate or not long.any():
        return
    r = int(np.flatnonzero(long)[0])
    raise PortfolioError(
        f"{where.row(chunk.start + r)} (loan {excerpt(chunk.loan_id[r], 30)}): maturity "
        f"{chunk.maturity[r]:g} periods is beyond the scenario horizon of {horizon}; "
        f"{int(long.sum())} loans in this part of the tape are. Raise the scenario's `horizon` "
        "to the longest maturity, or truncate their ECL at the horizon (--truncate-maturity, "
        "truncate_maturity=True).",
        source=where.source,
        column="maturity",
    )


def check_unique(chunk: TapeChunk, seen: np.ndarray, where: Where) -> np.ndarray:
    """Refuse a loan_id met before (in this chunk or an earlier one); return the hashes so far.

    The ids' 64-bit hashes are kept sorted (8 bytes a loan); a repeat is looked up in the
    chunk's sorted hashes and in those of the earlier chunks.
    """
    h = np.fromiter(map(hash, chunk.loan_id), dtype=np.int64, count=len(chunk)).view(np.uint64)
    hs = np.sort(h)
    repeat = bool((hs[1:] == hs[:-1]).any())
    if not repeat and len(seen):
        pos = np.minimum(np.searchsorted(seen, hs), len(seen) - 1)
        repeat = bool((seen[pos] == hs).any())
    if repeat:
        _refuse_repeat(chunk, h, seen, where)
    merged = np.concatenate([seen, hs])
    merged.sort(kind="stable")  # two sorted runs: a linear merge
    return merged


def _refuse_repeat(chunk: TapeChunk, h: np.ndarray, seen: np.ndarray, where: Where) -> None:
    """Raise the error naming the first row whose loan_id came before."""
    _, first = np.unique(h, return_index=True)
    again = np.ones(len(h), bool)
    again[first] = False  # rows repeating an id of this chunk
    if len(seen):
        pos = np.minimum(np.searchsorted(seen, h), len(seen) - 1)
        again |= seen[pos] == h
    r = int(np.flatnonzero(again)[0])
    raise PortfolioError(
        f"{where.row(chunk.start + r)}: loan_id {excerpt(chunk.loan_id[r], 30)} appears more "
        "than once; each loan needs its own id (a repeated id would count the loan twice).",
        source=where.source,
        column="loan_id",
    )
