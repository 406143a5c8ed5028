"""Calendar units shared by scenarios (period lengths) and models (intensity time units).

1 year = 12 months = 4 quarters = 365.25 days (the Julian year): a day is 12 / 365.25 months.
"""

from __future__ import annotations

__all__ = ["MONTHS_PER_UNIT", "UNITS", "convert_length"]

UNITS: tuple[str, ...] = ("day", "month", "quarter", "year")
MONTHS_PER_UNIT: dict[str, float] = {
    "day": 12.0 / 365.25,
    "month": 1.0,
    "quarter": 3.0,
    "year": 12.0,
}
"""Length of one unit in months."""


def convert_length(length: float, unit: str, to: str) -> float:
    """`length` `unit` expressed in `to` units (exactly `length` when the units agree).

    Examples
    --------
    >>> convert_length(3, "month", "year")
    0.25
    """
    for u in (unit, to):
        if u not in MONTHS_PER_UNIT:
            raise ValueError(f"unit must be one of {list(UNITS)}; got {u!r}.")
    if unit == to:
        return float(length)
    return float(length) * MONTHS_PER_UNIT[unit] / MONTHS_PER_UNIT[to]
