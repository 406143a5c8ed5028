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

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.data.files import open_regular
from riskmodel.ecl.tape_checks import (
    OPTIONAL,
    REQUIRED,
    TAPE_COLUMNS,
    TapeChunk,
    Where,
    build_chunk,
    check_header,
    check_maturity,
    check_unique,
)
from riskmodel.errors import PortfolioError, UnsafeFileError

__all__ = ["CHUNK_ROWS", "OPTIONAL", "REQUIRED", "TAPE_COLUMNS", "TapeChunk", "iter_tape"]

CHUNK_ROWS = 100_000
"""Rows read and computed at a time."""


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
        where = Where("loan tape (DataFrame)", csv=False)
        frames: Iterator[pd.DataFrame] = (
            loans.iloc[i : i + chunk_rows] for i in range(0, max(len(loans), 1), chunk_rows)
        )
        yield from _checked(
            frames, where, segments, states, allowed_states, horizon, truncate_maturity
        )
        return
    path = Path(loans)
    where = Where(str(path), csv=True)
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


def _read(reader: Iterator[pd.DataFrame], where: Where) -> Iterator[pd.DataFrame]:
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
    where: Where,
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
            check_header(df.columns, where)
            if len(df) == 0:
                raise PortfolioError(
                    "the loan tape has no loans; add one row per loan.", source=where.source
                )
        chunk = build_chunk(df, start, where, segments, states, allowed_states)
        check_maturity(chunk, where, horizon, truncate_maturity)
        seen = check_unique(chunk, seen, where)
        yield chunk
        start += len(df)
