"""Portfolio of cohorts: the customers of one segment in one state today.

A portfolio is a table with columns ``segment, state, customers, exposure`` and optionally
``margin``. ``exposure`` is the cohort's total exposure at default (EAD) and ``margin`` its total
margin per period; the engine works with per-customer values (total / customers).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.data.files import excerpt, open_regular
from riskmodel.errors import PortfolioError, UnsafeFileError
from riskmodel.states import StateSpace

__all__ = ["PORTFOLIO_COLUMNS", "Portfolio", "PortfolioError"]

PORTFOLIO_COLUMNS = ("segment", "state", "customers", "exposure", "margin")
_REQUIRED = ("segment", "state", "customers", "exposure")


MAX_CUSTOMERS = 10**15
"""Largest cohort size: counts are drawn as 64-bit integers."""


def _short(value: object, limit: int = 40) -> str:
    """Return a value for a message: numbers as they are, text as a short sanitised `excerpt`."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, bool | int | float) or value is None:
        text = repr(value)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    return excerpt(value, limit)


def _columns(names) -> str:
    """Column names for a message: one short sanitised excerpt of the header (file contents)."""
    return "header " + excerpt(",".join(str(c) for c in names))


def _check_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    _check_columns(df, source)
    df = df.copy()
    if "margin" not in df.columns:
        df["margin"] = 0.0
    for col in ("segment", "state"):
        bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise PortfolioError(f"empty; name a {col}.", source=source, row=row, column=col)
        df[col] = df[col].astype(str).str.strip()
    for col in ("customers", "exposure", "margin"):
        df[col] = _numbers(df[col], col, source)
    _check_customers(df, source)
    df["customers"] = df["customers"].astype(np.int64)
    for col in ("exposure", "margin"):
        with np.errstate(over="ignore"):
            total = float(df[col].abs().sum())
        if not np.isfinite(total):
            raise PortfolioError(
                "the column sums to infinity; its values are too large. Express "
                "amounts in a larger currency unit (e.g. thousands).",
                source=source,
                column=col,
            )
    empty_with_exposure = (df["customers"] == 0) & (df["exposure"] > 0)
    if empty_with_exposure.any():
        row = int(np.flatnonzero(empty_with_exposure.to_numpy())[0])
        raise PortfolioError(
            f"a cohort with 0 customers cannot carry exposure {df['exposure'].iloc[row]}; "
            "set customers > 0 or exposure to 0.",
            source=source,
            row=row,
            column="customers",
        )
    return df[list(PORTFOLIO_COLUMNS)].reset_index(drop=True)


def _check_columns(df: pd.DataFrame, source: str) -> None:
    """Refuse a header without the portfolio columns, with unknown ones, or no rows."""
    missing = [c for c in _REQUIRED if c not in df.columns]
    if len(missing) == len(_REQUIRED) and "margin" not in df.columns:
        # nothing like a portfolio: quote as little as possible of what may be any file
        raise PortfolioError(
            f"none of the portfolio columns {list(PORTFOLIO_COLUMNS)} is in the header row, "
            f"which starts {excerpt(','.join(str(c) for c in df.columns), 12)}; is this a "
            f"portfolio CSV? Its first line must read {','.join(_REQUIRED)}[,margin].",
            source=source,
        )
    if missing:
        raise PortfolioError(
            f"missing column(s) {missing}; a portfolio needs columns "
            f"{list(_REQUIRED)} and optionally 'margin'. Got {_columns(df.columns)}.",
            source=source,
        )
    extra = [c for c in df.columns if c not in PORTFOLIO_COLUMNS]
    if extra:
        raise PortfolioError(
            f"unknown column(s) {_columns(extra)}; allowed columns are "
            f"{list(PORTFOLIO_COLUMNS)}. Rename or drop them.",
            source=source,
        )
    if len(df) == 0:
        raise PortfolioError("the portfolio has no cohorts; add at least one row.", source=source)


def _numbers(column: pd.Series, col: str, source: str) -> pd.Series:
    """Return the column as finite floats (>= 0 unless it is the margin), or refuse it."""
    _refuse_booleans(column, col, source)
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise PortfolioError(
            f"must be a finite number; got {_short(column.iloc[row])}. "
            "Write a plain number (no NaN, inf, units or thousands separators).",
            source=source,
            row=row,
            column=col,
        )
    if col != "margin" and (values < 0).any():
        row = int(np.flatnonzero((values < 0).to_numpy())[0])
        raise PortfolioError(
            f"must be >= 0; got {_short(values.iloc[row])}. Use a non-negative value.",
            source=source,
            row=row,
            column=col,
        )
    return values.astype(float)


def _check_customers(df: pd.DataFrame, source: str) -> None:
    """Refuse customer counts that are not whole numbers of at most `MAX_CUSTOMERS`."""
    frac = df["customers"] % 1 != 0
    if frac.any():
        row = int(np.flatnonzero(frac.to_numpy())[0])
        raise PortfolioError(
            f"must be a whole number; got {df['customers'].iloc[row]}. "
            "Count customers, not fractions.",
            source=source,
            row=row,
            column="customers",
        )
    huge = df["customers"] > MAX_CUSTOMERS
    if huge.any():
        row = int(np.flatnonzero(huge.to_numpy())[0])
        raise PortfolioError(
            f"must be at most {MAX_CUSTOMERS:.0e}; got "
            f"{df['customers'].iloc[row]:.6g}. Check the units of the column.",
            source=source,
            row=row,
            column="customers",
        )


def _refuse_booleans(column: pd.Series, col: str, source: str) -> None:
    """True/False is not a number: a CSV column of them would otherwise count as 1 and 0."""
    if pd.api.types.is_bool_dtype(column.dtype):
        row = 0
    else:
        flags = column.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
        if not flags.any():
            return
        row = int(np.flatnonzero(flags)[0])
    raise PortfolioError(
        f"must be a number; got {column.iloc[row]!r}. True/False is not a count or an amount; "
        "write a plain number.",
        source=source,
        row=row,
        column=col,
    )


@dataclass(frozen=True)
class Portfolio:
    """Cohorts of customers, one row per (segment, state).

    Use `from_records`, `from_csv` or `from_customers` to build one; they validate the table.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``segment, state, customers, exposure, margin``; one row per cohort.
    """

    table: pd.DataFrame

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_records(cls, records: list[dict], *, source: str = "portfolio") -> Portfolio:
        """Build from a list of dicts with the portfolio columns."""
        return cls(_check_table(pd.DataFrame.from_records(records), source))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, source: str = "portfolio") -> Portfolio:
        """Build from a DataFrame with the portfolio columns."""
        return cls(_check_table(df, source))

    @classmethod
    def from_csv(cls, path: str | Path) -> Portfolio:
        """Read a portfolio CSV (``segment, state, customers, exposure`` [, ``margin``]).

        Raises
        ------
        PortfolioError
            If the file is missing, empty, or a row is malformed; the message names the file
            and quotes its contents only as a short sanitised excerpt.
        UnsafeFileError
            If `path` is a folder, FIFO, device or socket (it is not opened for reading).
        """
        path = Path(path)
        try:
            with open_regular(path, what="portfolio CSV") as fh:
                df = pd.read_csv(fh, skipinitialspace=True)
        except FileNotFoundError:
            raise PortfolioError(
                "portfolio file not found; check the path.", source=str(path)
            ) from None
        except UnsafeFileError:  # a folder, FIFO or device: refused as such, never read
            raise
        except pd.errors.EmptyDataError:
            raise PortfolioError(
                "the portfolio file is empty; it needs a header row "
                f"{','.join(_REQUIRED)} and one row per cohort.",
                source=str(path),
            ) from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            first = first if len(first) <= 100 else first[:99] + "…"
            raise PortfolioError(
                f"not a readable CSV file ({first}); save it as comma-separated UTF-8 text with "
                f"a header row {','.join(_REQUIRED)}.",
                source=str(path),
            ) from None
        except OSError as exc:
            raise PortfolioError(
                f"cannot read the file ({exc.strerror or exc}); check its permissions.",
                source=str(path),
            ) from None
        return cls(_check_table(df, str(path)))

    @classmethod
    def from_customers(
        cls,
        customers: pd.DataFrame,
        *,
        exposure: str = "exposure",
        margin: str | None = "margin",
        source: str = "customer table",
    ) -> Portfolio:
        """Aggregate a customer-level table into cohorts.

        Parameters
        ----------
        customers : DataFrame
            One row per customer, with columns ``segment``, ``state``, the exposure column and
            optionally the margin column.
        exposure, margin : str
            Column names of the per-customer exposure and margin per period.

        Returns
        -------
        Portfolio
            One cohort per (segment, state) with the customer count and summed exposure/margin.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"segment": ["a", "a", "b"], "state": ["new", "new", "new"],
        ...                    "exposure": [1.0, 2.0, 5.0]})
        >>> Portfolio.from_customers(df).table["exposure"].tolist()
        [3.0, 5.0]
        """
        missing = [c for c in ("segment", "state", exposure) if c not in customers.columns]
        if missing:
            raise PortfolioError(
                f"missing column(s) {missing}; the customer table needs 'segment', 'state' and "
                f"{exposure!r}.",
                source=source,
            )
        df = customers.copy()
        df["_margin"] = df[margin] if margin and margin in df.columns else 0.0
        grouped = (
            df.groupby(["segment", "state"], sort=False)
            .agg(
                customers=(exposure, "size"),
                exposure=(exposure, "sum"),
                margin=("_margin", "sum"),
            )
            .reset_index()
        )
        return cls(_check_table(grouped, source))

    # ------------------------------------------------------------------ views
    @property
    def segments(self) -> tuple[str, ...]:
        """Segment names in order of first appearance."""
        return tuple(dict.fromkeys(self.table["segment"]))

    @property
    def n_cohorts(self) -> int:
        """Number of cohorts (rows)."""
        return len(self.table)

    @property
    def total_customers(self) -> int:
        """Total number of customers."""
        return int(self.table["customers"].sum())

    @property
    def total_exposure(self) -> float:
        """Total exposure at default."""
        return float(self.table["exposure"].sum())

    def check_states(self, states: StateSpace, *, source: str = "portfolio") -> None:
        """Check that every cohort is in a transient state of `states`.

        Raises
        ------
        PortfolioError
            On an unknown state, or a cohort that sits in an absorbing state.
        """
        for row, name in enumerate(self.table["state"]):
            if name not in states.names:
                close = difflib.get_close_matches(name, states.transient, n=1, cutoff=0.5)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise PortfolioError(
                    f"unknown state {excerpt(name)}.{hint} Use one of the transient "
                    f"states {list(states.transient)}.",
                    source=source,
                    row=row,
                    column="state",
                )
            if states.is_absorbing(name):
                raise PortfolioError(
                    f"state {name!r} is absorbing, so the cohort can never move "
                    f"or lose; use one of {list(states.transient)} or drop the row.",
                    source=source,
                    row=row,
                    column="state",
                )

    def per_customer(self) -> pd.DataFrame:
        """Return the table with ``ead`` and ``margin_per_customer`` (0 for empty cohorts)."""
        t = self.table.copy()
        n = t["customers"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t["ead"] = np.where(n > 0, t["exposure"] / np.maximum(n, 1), 0.0)
            t["margin_per_customer"] = np.where(n > 0, t["margin"] / np.maximum(n, 1), 0.0)
        return t
