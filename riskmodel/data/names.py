"""Named exposures: single large names simulated one by one beside the cohorts.

A names table has columns ``id, segment, state, exposure`` and optionally ``pd_multiplier``
(default 1) and ``lgd`` (empty: the scenario's LGD). Each row is one customer with its own
exposure at default; the engine simulates it as a cohort of one customer with its own
idiosyncratic draws (never by the large-pool approximation). In every transient row of its
segment's transition matrix the name's default probability is ``min(m · p, 1)`` and its
survivors move with the segment's survivor shares (see ``docs/scenario_format.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.data.files import excerpt, open_regular
from riskmodel.data.portfolio import PORTFOLIO_COLUMNS, Portfolio
from riskmodel.errors import PortfolioError, UnsafeFileError
from riskmodel.states import StateSpace

__all__ = ["NAME_COLUMNS", "Names"]

NAME_COLUMNS = ("id", "segment", "state", "exposure", "pd_multiplier", "lgd")
_REQUIRED = ("id", "segment", "state", "exposure")


def _fail(message: str, source: str, row: int | None = None, column: str | None = None) -> None:
    raise PortfolioError(message, source=source, row=row, column=column)


def _first(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _text(df: pd.DataFrame, col: str, source: str) -> None:
    bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
    if bad.any():
        _fail(f"empty; give each name a {col}.", source, _first(bad), col)
    df[col] = df[col].astype(str).str.strip()


def _number(df: pd.DataFrame, col: str, source: str, *, default: float) -> None:
    """Make `col` finite floats (`default` where empty; NaN stays for an empty ``lgd``)."""
    raw = df[col] if col in df.columns else pd.Series(default, index=df.index)
    is_bool = raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    if is_bool.any():
        row = _first(is_bool)
        _fail(f"must be a number; got {raw.iloc[row]!r}.", source, row, col)
    values = pd.to_numeric(raw, errors="coerce")
    empty = raw.isna() | (raw.astype(str).str.strip() == "")
    bad = (values.isna() & ~empty) | np.isinf(values.to_numpy(dtype=float, na_value=0.0))
    if bad.any():
        row = _first(bad)
        _fail(
            f"must be a finite number; got {excerpt(raw.iloc[row])}. Write a plain number.",
            source,
            row,
            col,
        )
    df[col] = values.where(~empty, default).astype(float)


def _check_values(df: pd.DataFrame, source: str) -> None:
    rules = (
        ("exposure", ~(df["exposure"] > 0), "must be > 0 (a name's exposure at default)"),
        ("pd_multiplier", df["pd_multiplier"] < 0, "must be >= 0 (1 = the segment's PD)"),
        (
            "lgd",
            (df["lgd"] < 0) | (df["lgd"] > 1),
            "must be in [0, 1] (leave it empty for the scenario's LGD)",
        ),
    )
    for col, bad, rule in rules:
        if bad.any():
            row = _first(bad)
            _fail(f"{rule}; got {df[col].iloc[row]:g}.", source, row, col)
    dup = df["id"].duplicated()
    if dup.any():
        row = _first(dup)
        other = _first(df["id"] == df["id"].iloc[row]) + 1
        _fail(
            f"duplicate id {excerpt(df['id'].iloc[row])} (also in row {other}); "
            "give every name its own id.",
            source,
            row,
            "id",
        )


def _check_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        _fail(
            f"missing column(s) {missing}; a names table needs columns {list(_REQUIRED)} and "
            f"optionally 'pd_multiplier' and 'lgd'. Got header "
            f"{excerpt(','.join(map(str, df.columns)))}.",
            source,
        )
    extra = [str(c) for c in df.columns if c not in NAME_COLUMNS]
    if extra:
        _fail(
            f"unknown column(s) {excerpt(','.join(extra))}; allowed columns are "
            f"{list(NAME_COLUMNS)}. Rename or drop them.",
            source,
        )
    if len(df) == 0:
        _fail("the names table has no rows; add one row per name or drop `names`.", source)
    df = df.copy()
    for col in ("id", "segment", "state"):
        _text(df, col, source)
    _number(df, "exposure", source, default=np.nan)
    if df["exposure"].isna().any():
        _fail("empty; give each name its exposure.", source, _first(df["exposure"].isna()))
    _number(df, "pd_multiplier", source, default=1.0)
    _number(df, "lgd", source, default=np.nan)
    _check_values(df, source)
    return df[list(NAME_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class Names:
    """Named exposures, one row per name (`from_records` or `from_csv` validate the table).

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``id, segment, state, exposure, pd_multiplier, lgd`` (``lgd`` NaN: the
        scenario's LGD).
    source : str
        Where the table came from (a file or ``portfolio -> names``), for messages.
    """

    table: pd.DataFrame
    source: str = "portfolio -> names"

    @classmethod
    def from_records(
        cls, records: list[dict[str, Any]], *, source: str = "portfolio -> names"
    ) -> Names:
        """Build from a list of dicts with the names columns."""
        return cls(_check_table(pd.DataFrame.from_records(records), source), source)

    @classmethod
    def from_csv(cls, path: str | Path) -> Names:
        """Read a names CSV (``id, segment, state, exposure`` [, ``pd_multiplier``, ``lgd``]).

        Raises
        ------
        PortfolioError
            If the file is missing, not a CSV, or a row is malformed (file, row and column named).
        UnsafeFileError
            If `path` is a folder, FIFO, device or socket.
        """
        source = str(path)
        try:
            with open_regular(Path(path), what="names CSV") as fh:
                df = pd.read_csv(fh, skipinitialspace=True, dtype={"id": str})
        except FileNotFoundError:
            raise PortfolioError("names file not found; check the path.", source=source) from None
        except UnsafeFileError:
            raise
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise PortfolioError(
                f"not a readable CSV file ({type(exc).__name__}); save it as comma-separated "
                f"UTF-8 text with a header row {','.join(_REQUIRED)}[,pd_multiplier,lgd].",
                source=source,
            ) from None
        return cls(_check_table(df, source), source)

    @property
    def n(self) -> int:
        """Number of names."""
        return len(self.table)

    @property
    def ids(self) -> tuple[str, ...]:
        """The names' ids in table order."""
        return tuple(self.table["id"])

    def check(self, states: StateSpace, segments: tuple[str, ...], cohort_labels: set[str]) -> None:
        """Refuse an unknown or absorbing state, a segment without parameters, or a clashing id.

        An id clashes when it is also a cohort's label (``segment/state``) in the results'
        ``cohort`` coordinate.
        """
        for row, (name, seg, state) in enumerate(
            zip(self.table["id"], self.table["segment"], self.table["state"], strict=True)
        ):
            if seg not in segments:
                _fail(
                    f"unknown segment {excerpt(seg)}; the scenario's parameters have segments "
                    f"{list(segments)}. Use one of them or add its matrix.",
                    self.source,
                    row,
                    "segment",
                )
            if state not in states.transient:
                why = "is absorbing" if state in states.names else "is not a state"
                _fail(
                    f"state {excerpt(state)} {why}; use one of the transient states "
                    f"{list(states.transient)}.",
                    self.source,
                    row,
                    "state",
                )
            if name in cohort_labels:
                _fail(
                    f"id {excerpt(name)} is also a cohort's label (segment/state) in the "
                    "results' `cohort` coordinate; rename the name.",
                    self.source,
                    row,
                    "id",
                )

    def with_cohorts(self, cohorts: Portfolio | None) -> Portfolio:
        """Return the cohorts followed by one single-customer cohort per name (margin 0)."""
        rows = self.table.assign(customers=1, margin=0.0)[list(PORTFOLIO_COLUMNS)]
        table = rows if cohorts is None else pd.concat([cohorts.table, rows], ignore_index=True)
        return Portfolio(table.reset_index(drop=True))

    def scaled(self, factor: float) -> Names:
        """Return the names with every exposure times `factor` (a sensitivity edit)."""
        return Names(self.table.assign(exposure=self.table["exposure"] * factor), self.source)
