"""Period length and calendar: what one engine period is, in months, and what follows from it.

A scenario's ``period: {length: 1, unit: month}`` (default: one month) fixes the calendar length
of one period. Everything the engine does is per period, so the length enters as data derived
once, when the scenario is loaded:

- the **12-month ECL window** in periods, ``w = 12 / months`` (12 for months, 4 for quarters,
  1 for years); when ``w`` is not a whole number (e.g. 5-month periods, or days) the 12-month
  ECL is interpolated linearly inside the period that straddles month 12 (losses taken as
  spread evenly over a period): ``Σ_{t ≤ ⌊w⌋} ECL_t + (w − ⌊w⌋) ECL_{⌊w⌋+1}``, and a
  `PeriodConversionWarning` says so (`ecl_window_sum`);
- **discounting**: ``annual_discount_rate`` r (per year) becomes ``(1 + r)^(months/12) − 1`` per
  period; ``discount_rate`` stays a rate per period, as it always was;
- **conversions** of parameters given at another period length (a matrix of one period length,
  an intensity model's generator): ``P(L) = expm(Q · L)``.

Calendar: 1 year = 12 months = 4 quarters = 365.25 days (the Julian year: a day is 12 / 365.25
months, so 365.25 daily periods make the 12-month window).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from riskmodel.data.calendar import MONTHS_PER_UNIT, UNITS, convert_length
from riskmodel.errors import PeriodConversionWarning

if TYPE_CHECKING:
    from riskmodel.config.base import PeriodConfig

__all__ = [
    "MONTHS_PER_UNIT",
    "UNITS",
    "Period",
    "ecl_window_sum",
]

Unit = Literal["day", "month", "quarter", "year"]
_WHOLE = 1e-9  # a window within this of a whole number of periods counts as whole


@dataclass(frozen=True)
class Period:
    """A period length: `length` units of `unit` (``day``, ``month``, ``quarter``, ``year``).

    Examples
    --------
    >>> Period(1, "quarter").ecl_window
    4.0
    >>> Period(1, "year").in_units("month")
    12.0
    """

    length: float = 1.0
    unit: Unit = "month"

    def __post_init__(self) -> None:
        if self.unit not in MONTHS_PER_UNIT:
            raise ValueError(f"unit must be one of {list(UNITS)}; got {self.unit!r}.")
        if not (math.isfinite(self.length) and self.length > 0):
            raise ValueError(f"length must be a positive number; got {self.length!r}.")

    @classmethod
    def of(cls, config: PeriodConfig) -> Period:
        """Return the period a ``period:`` section (`PeriodConfig`) describes."""
        return cls(float(config.length), config.unit)

    @property
    def months(self) -> float:
        """The period's length in months."""
        return float(self.length) * MONTHS_PER_UNIT[self.unit]

    def in_units(self, unit: str) -> float:
        """Return the period's length in `unit` (e.g. ``1/12`` years for a month)."""
        return convert_length(self.length, self.unit, unit)

    @property
    def ecl_window(self) -> float:
        """Periods in 12 months: ``12 / months``, a whole number when within 1e-9 of one."""
        w = 12.0 / self.months
        return float(round(w)) if abs(w - round(w)) < _WHOLE and round(w) >= 1 else w

    @property
    def whole_window(self) -> bool:
        """Whether 12 months are a whole number of periods (no interpolation)."""
        return float(self.ecl_window).is_integer()

    def same_length(self, other: Period) -> bool:
        """Whether two periods have the same length (e.g. 3 months and 1 quarter)."""
        return abs(self.months - other.months) <= 1e-12 * max(self.months, other.months)

    def rate_per_period(self, annual: np.ndarray) -> np.ndarray:
        """Annual rates as rates per period: ``(1 + r)^(months/12) − 1``."""
        return np.power(1.0 + np.asarray(annual, dtype=float), self.months / 12.0) - 1.0

    def describe(self) -> str:
        """``"1 month"``, ``"3 months"``, ``"0.5 years"``."""
        n = int(self.length) if float(self.length).is_integer() else self.length
        return f"{n:g} {self.unit}" + ("" if n == 1 else "s")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``length``, ``unit``, ``months`` and ``ecl_12_month_periods``."""
        n = self.length
        return {
            "length": int(n) if float(n).is_integer() else float(n),
            "unit": self.unit,
            "months": self.months,
            "ecl_12_month_periods": self.ecl_window,
        }

    def warn_if_interpolated(self, *, stacklevel: int = 2) -> None:
        """Warn (`PeriodConversionWarning`) when the 12-month window is interpolated."""
        if self.whole_window:
            return
        w = self.ecl_window
        warnings.warn(
            f"12 months are {w:.6g} periods of {self.describe()}, not a whole number: the 12-month "
            f"ECL sums the first {math.floor(w)} period(s) and {w - math.floor(w):.4g} of the "
            "next (losses spread evenly within a period). Choose a period that divides 12 "
            "months (1, 2, 3, 4, 6 or 12 months) for an exact 12-month window.",
            PeriodConversionWarning,
            stacklevel=stacklevel + 1,
        )


def ecl_window_sum(values: np.ndarray, window: float) -> float:
    """Sum of per-period `values` over the first `window` periods (a fraction of the last one).

    A whole `window` is exactly ``values[:window].sum()`` (so monthly runs are bit-identical to
    the sum of the first 12 periods); a fractional one adds ``(window − ⌊window⌋)`` times the
    next period's value. A horizon shorter than the window sums the whole horizon.

    Examples
    --------
    >>> ecl_window_sum(np.array([1.0, 2.0, 4.0]), 2.0)
    3.0
    >>> ecl_window_sum(np.array([1.0, 2.0, 4.0]), 1.5)
    2.0
    """
    values = np.asarray(values, dtype=float)
    whole = math.floor(window)
    total = values[:whole].sum()
    frac = window - whole
    if frac > 0 and whole < values.shape[0]:
        total = total + frac * values[whole]
    return float(total)
