"""The loan tape: one row per loan, read and checked in chunks.

Columns (``docs/loan_ecl.md`` has the full description):

==================  ========  ==============================================================
column              required  meaning
==================  ========  ==============================================================
``loan_id``         yes       unique identifier (text)
``segment``         yes       a segment of the scenario (its transition matrices)
``state``           yes       the loan's state today: a transient state or the default state
``exposure``        yes       balance today (currency, >= 0)
``maturity``        no        periods left (whole number >= 0); empty: to the horizon
``amortisation``    no        share of the balance repaid each period (<= 1; negative: drawn)
``instalment``      no        fixed payment per period (currency >= 0, interest included)
``rate``            no        effective interest rate per period (> -1), for discounting
``lgd``             no        the loan's loss given default, in [0, 1]
``origination_pd``  no        PD at initial recognition, in (0, 1], for staging
==================  ========  ==============================================================

An empty optional cell means "not given" for that loan (the scenario's value is used). Every
column is checked; an error names the file, the column, the first bad rows (file line and
``loan_id``) and the fix, as a `PortfolioError` (an `InputError`: exit code 2 on the command line).

The tape is read `CHUNK_ROWS` rows at a time, so memory does not grow with it; only an 8-byte hash
per loan is kept, to find repeated ``loan_id`` values across chunks.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.data.files import excerpt, open_regular
from riskmodel.errors import PortfolioError, UnsafeFileError

__all__ = ["CHUNK_ROWS", "OPTIONAL", "REQUIRED", "TAPE_COLUMNS", "TapeChunk", "iter_tape"]

REQUIRED = ("loan_id", "segment", "state", "exposure")
OPTIONAL = ("maturity", "amortisation", "instalment", "rate", "lgd", "origination_pd")
TAPE_COLUMNS = REQUIRED + OPTIONAL
CHUNK_ROWS = 100_000
"""Rows read and computed at a time."""
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
class _Where:
    """Names rows for messages: file lines for a CSV, row numbers for a DataFrame."""

    source: str
    csv: bool

    def row(self, position: int) -> str:
        return f"line {position + 2}" if self.csv else f"row {position + 1}"


def iter_tape(
    loans: pd.DataFrame | str | Path,
    *,
    segments: Sequence[str],
    states: Sequence[str],
    allowed_states: Sequence[str],
    horizon: int,
    truncate_maturity: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[TapeChunk]:
    """Read a loan tape in checked chunks.

    Parameters
    ----------
    loans : DataFrame, str or Path
        The tape, or a CSV file holding it.
    segments : sequence of str
        Segments the scenario(s) give matrices for; `TapeChunk.segment` indexes them.
    states : sequence of str
        All states of the scenario; `TapeChunk.state` indexes them.
    allowed_states : sequence of str
        States a loan may be in today (transient states and the default state).
    horizon : int
        Longest ``maturity`` allowed (the shortest horizon of the scenarios).
    truncate_maturity : bool, default False
        Allow a longer ``maturity`` (the ECL then stops at the horizon).
    chunk_rows : int
        Rows per chunk.

    Yields
    ------
    TapeChunk

    Raises
    ------
    PortfolioError
        For a missing or unreadable file, a missing or unknown column, or a bad value; the
        message names the file, the column, the first bad rows and the fix.
    UnsafeFileError
        If `loans` names a folder, FIFO, device or socket.
    """
    if isinstance(loans, pd.DataFrame):
        where = _Where("loan tape (DataFrame)", csv=False)
        frames: Iterator[pd.DataFrame] = (
            loans.iloc[i : i + chunk_rows] for i in range(0, max(len(loans), 1), chunk_rows)
        )
        yield from _checked(
            frames, where, segments, states, allowed_states, horizon, truncate_maturity
        )
        return
    path = Path(loans)
    where = _Where(str(path), csv=True)
    try:
        with open_regular(path, what="loan tape CSV") as fh:
            reader = pd.read_csv(
                fh,
                chunksize=chunk_rows,
                skipinitialspace=True,
                encoding="utf-8-sig",  # a byte-order mark (spreadsheet exports) is not a name
                dtype={"loan_id": str},  # categories cost more here than in `_names`
            )
            yield from _checked(
                _read(reader, where),
                where,
                segments,
                states,
                allowed_states,
                horizon,
                truncate_maturity,
            )
    except FileNotFoundError:
        raise PortfolioError("loan tape not found; check the path.", source=str(path)) from None
    except UnsafeFileError:
        raise
    except pd.errors.EmptyDataError:
        raise PortfolioError(
            f"the loan tape is empty; it needs a header row {','.join(REQUIRED)}[,...] and one "
            "row per loan.",
            source=str(path),
        ) from None
    except OSError as exc:
        raise PortfolioError(
            f"cannot read the file ({exc.strerror or exc}); check its permissions.",
            source=str(path),
        ) from None


def _read(reader: Iterator[pd.DataFrame], where: _Where) -> Iterator[pd.DataFrame]:
    """Yield the reader's chunks, its parse errors as `PortfolioError`."""
    while True:
        try:
            chunk = next(reader)
        except StopIteration:
            return
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PortfolioError(
                f"not a readable CSV file ({first[:100]}); save it as comma-separated UTF-8 "
                f"text with a header row {','.join(REQUIRED)}[,...].",
                source=where.source,
            ) from None
        yield chunk


def _checked(
    frames: Iterator[pd.DataFrame],
    where: _Where,
    segments: Sequence[str],
    states: Sequence[str],
    allowed_states: Sequence[str],
    horizon: int,
    truncate_maturity: bool,
) -> Iterator[TapeChunk]:
    seen = np.empty(0, dtype=np.uint64)  # sorted hashes of the loan_ids so far
    start = 0
    for df in frames:
        df = df.rename(columns=lambda c: str(c).strip())  # "exposure " is "exposure"
        if start == 0:
            _check_header(df.columns, where)
            if len(df) == 0:
                raise PortfolioError(
                    "the loan tape has no loans; add one row per loan.", source=where.source
                )
        chunk = _chunk(df, start, where, segments, states, allowed_states)
        _check_maturity(chunk, where, horizon, truncate_maturity)
        seen = _check_unique(chunk, seen, where)
        yield chunk
        start += len(df)


def _check_header(columns: pd.Index, where: _Where) -> None:
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
    where: _Where, df: pd.DataFrame, start: int, column: str, bad: np.ndarray, problem: str
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
    where: _Where,
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
    df: pd.DataFrame, column: str, start: int, where: _Where, *, required: bool
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
    df: pd.DataFrame, column: str, start: int, where: _Where, bad: np.ndarray, rule: str
) -> None:
    if bad.any():
        raise _fail(where, df, start, column, bad, f"must be {rule}.")


def _chunk(
    df: pd.DataFrame,
    start: int,
    where: _Where,
    segments: Sequence[str],
    states: Sequence[str],
    allowed_states: Sequence[str],
) -> TapeChunk:
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


def _check_maturity(chunk: TapeChunk, where: _Where, horizon: int, truncate: bool) -> None:
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


def _check_unique(chunk: TapeChunk, seen: np.ndarray, where: _Where) -> np.ndarray:
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


def _refuse_repeat(chunk: TapeChunk, h: np.ndarray, seen: np.ndarray, where: _Where) -> None:
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
