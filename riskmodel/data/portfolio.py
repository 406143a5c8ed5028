"""Portfolio of cohorts: the customers of one segment in one state today.

A portfolio is a table with columns ``segment, state, customers, exposure`` and optionally
``margin``. ``exposure`` is the cohort's total exposure at default (EAD) and ``margin`` its total
margin per period; the engine works with per-customer values (total / customers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.states import StateSpace

__all__ = ["PORTFOLIO_COLUMNS", "Portfolio", "PortfolioError"]

PORTFOLIO_COLUMNS = ("segment", "state", "customers", "exposure", "margin")
_REQUIRED = ("segment", "state", "customers", "exposure")


class PortfolioError(ValueError):
    """A portfolio table is malformed. The message names the row and column."""


def _check_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise PortfolioError(
            f"{source}: missing column(s) {missing}; a portfolio needs columns "
            f"{list(_REQUIRED)} and optionally 'margin'. Got columns {list(df.columns)}."
        )
    extra = [c for c in df.columns if c not in PORTFOLIO_COLUMNS]
    if extra:
        raise PortfolioError(
            f"{source}: unknown column(s) {extra}; allowed columns are {list(PORTFOLIO_COLUMNS)}."
        )
    if len(df) == 0:
        raise PortfolioError(f"{source}: the portfolio has no cohorts; add at least one row.")
    df = df.copy()
    if "margin" not in df.columns:
        df["margin"] = 0.0
    for col in ("segment", "state"):
        bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise PortfolioError(f"{source}: row {row + 1}: column '{col}' is empty; name a {col}.")
        df[col] = df[col].astype(str).str.strip()
    for col in ("customers", "exposure", "margin"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise PortfolioError(
                f"{source}: row {row + 1}: column '{col}' must be a finite number; "
                f"got {df[col].iloc[row]!r}."
            )
        if col != "margin" and (values < 0).any():
            row = int(np.flatnonzero((values < 0).to_numpy())[0])
            raise PortfolioError(
                f"{source}: row {row + 1}: column '{col}' must be >= 0; got {values.iloc[row]}."
            )
        df[col] = values.astype(float)
    frac = df["customers"] % 1 != 0
    if frac.any():
        row = int(np.flatnonzero(frac.to_numpy())[0])
        raise PortfolioError(
            f"{source}: row {row + 1}: 'customers' must be a whole number; "
            f"got {df['customers'].iloc[row]}."
        )
    df["customers"] = df["customers"].astype(np.int64)
    empty_with_exposure = (df["customers"] == 0) & (df["exposure"] > 0)
    if empty_with_exposure.any():
        row = int(np.flatnonzero(empty_with_exposure.to_numpy())[0])
        raise PortfolioError(
            f"{source}: row {row + 1}: a cohort with 0 customers cannot carry exposure "
            f"{df['exposure'].iloc[row]}; set customers > 0 or exposure to 0."
        )
    return df[list(PORTFOLIO_COLUMNS)].reset_index(drop=True)


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
            If the file is missing, empty, or a row is malformed; the message names the file.
        """
        path = Path(path)
        if not path.is_file():
            raise PortfolioError(f"{path}: portfolio file not found; check the path.")
        try:
            df = pd.read_csv(path, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise PortfolioError(
                f"{path}: the portfolio file is empty; it needs a header row "
                f"{','.join(_REQUIRED)} and one row per cohort."
            ) from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise PortfolioError(f"{path}: not a readable CSV file ({exc}).") from None
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
            raise PortfolioError(f"{source}: missing column(s) {missing}.")
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
                raise PortfolioError(
                    f"{source}: cohort {row + 1}: unknown state {name!r}; "
                    f"use one of the transient states {list(states.transient)}."
                )
            if states.is_absorbing(name):
                raise PortfolioError(
                    f"{source}: cohort {row + 1}: state {name!r} is absorbing, so the cohort can "
                    f"never move or lose; use one of {list(states.transient)} or drop the row."
                )

    def per_customer(self) -> pd.DataFrame:
        """The table with ``ead`` and ``margin_per_customer`` (0 for empty cohorts)."""
        t = self.table.copy()
        n = t["customers"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t["ead"] = np.where(n > 0, t["exposure"] / np.maximum(n, 1), 0.0)
            t["margin_per_customer"] = np.where(n > 0, t["margin"] / np.maximum(n, 1), 0.0)
        return t
