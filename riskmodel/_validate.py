"""Argument checks shared by the public entry points (the lowest layer: imports only errors).

Every public function checks its arguments here before doing any work, so a wrong call fails
at once with an `ArgumentError` that names the argument, what was got and how to fix it, instead
of running with a silently converted value (``paths=1.5`` running one path) or failing deep
inside numpy or a worker.

The checks are strict on types: ``True`` is not a count, ``1.5`` and ``"100"`` are not integers.
NumPy integers and booleans are accepted where Python ones are.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, overload

import numpy as np

from riskmodel.errors import ArgumentError

__all__ = [
    "check_choice",
    "check_count",
    "check_flag",
    "check_levels",
    "check_memory_limit",
    "check_scheduler",
    "check_seed",
    "describe",
]


def describe(value: Any, limit: int = 60) -> str:
    """Return a short, bounded description of a value for an error message: repr and type."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = "<unprintable>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


@overload
def check_count(
    name: str, value: int, *, minimum: int = ..., maximum: int | None = ..., fix: str = ...
) -> int: ...
@overload
def check_count(
    name: str, value: Any, *, minimum: int = ..., maximum: int | None = ..., fix: str = ...
) -> int | None: ...
def check_count(
    name: str,
    value: Any,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    fix: str = "",
) -> int | None:
    """Check an optional whole number such as ``paths``, ``batch`` or ``workers``.

    Parameters
    ----------
    name : str
        The argument's name, as the caller wrote it.
    value : int or None
        None passes through (the caller then uses its default).
    minimum, maximum : int
        Inclusive bounds.
    fix : str
        A sentence appended to the message, e.g. how to get a larger run.

    Returns
    -------
    int or None

    Raises
    ------
    ArgumentError
        For a bool, a float (even ``1000.0``), a string, or a number out of bounds.

    Examples
    --------
    >>> check_count("paths", 1000)
    1000
    """
    if value is None:
        return None
    if not _is_int(value):
        hint = ""
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            hint = f" Write {int(value)} (e.g. `int(1e6)` rather than `1e6`)."
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            hint = f" Convert it first: {name}=int({value!r})."
        raise ArgumentError(
            f"`{name}` must be a whole number >= {minimum}; got {describe(value)}.{hint}"
        )
    value = int(value)
    if value < minimum:
        raise ArgumentError(f"`{name}` must be >= {minimum}; got {value}. {fix}".rstrip())
    if maximum is not None and value > maximum:
        raise ArgumentError(f"`{name}` must be <= {maximum:,}; got {value:,}. {fix}".rstrip())
    return value


def check_seed(value: Any, name: str = "seed") -> int | None:
    """Check an optional seed: None (fresh entropy) or a whole number >= 0.

    ``seed=0`` is a seed like any other.
    """
    if value is None:
        return None
    if not _is_int(value) or int(value) < 0:
        raise ArgumentError(
            f"`{name}` must be a whole number >= 0 (or None for fresh entropy); got "
            f"{describe(value)}. Pass e.g. {name}=7 to make the run reproducible."
        )
    return int(value)


def check_flag(name: str, value: Any) -> bool | None:
    """Check an optional on/off switch: None, True or False (not ``"yes"`` or 1)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ArgumentError(f"`{name}` must be True or False (or None); got {describe(value)}.")


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str | None:
    """Check an optional choice among a few names, e.g. ``backend`` in ``("local", "dask")``."""
    if value is None:
        return None
    if isinstance(value, str) and value in choices:
        return value
    options = ", ".join(repr(c) for c in choices)
    raise ArgumentError(f"`{name}` must be one of {options} (or None); got {describe(value)}.")


def check_levels(value: Any, name: str = "levels") -> tuple[float, ...] | None:
    """Check optional risk levels: one number or a non-empty sequence of numbers in (0, 1).

    Returns
    -------
    tuple of float or None
        The levels as given (order kept), or None.
    """
    if value is None:
        return None
    items = [value] if _is_number(value) else _as_list(name, value)
    if not items:
        raise ArgumentError(f"`{name}` is empty; give at least one level, e.g. [0.99].")
    out = []
    for q in items:
        if not _is_number(q) or not 0.0 < float(q) < 1.0:
            raise ArgumentError(
                f"`{name}` must be numbers in (0, 1), e.g. 0.99 for the 99% level; got "
                f"{describe(q)}."
            )
        out.append(float(q))
    return tuple(out)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _as_list(name: str, value: Any) -> list:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ArgumentError(
            f"`{name}` must be a number or a sequence of numbers in (0, 1); got {describe(value)}."
        )
    items = []
    for q in value:
        items.append(q)
        if len(items) > 10_000:
            raise ArgumentError(f"`{name}` has more than 10,000 levels; give a few levels.")
    return items


def check_scheduler(value: Any) -> str | None:
    """Check an optional Dask scheduler address, e.g. ``"tcp://10.0.0.5:8786"``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise ArgumentError(
            f"`scheduler` must be a Dask scheduler address such as 'tcp://10.0.0.5:8786' (or "
            f"None for a local cluster); got {describe(value)}."
        )
    return value.strip()


def check_memory_limit(value: Any) -> int | None:
    """Check an optional memory limit in bytes (a whole number >= 1)."""
    return check_count(
        "memory_limit", value, fix="Give the limit in bytes, e.g. memory_limit=8 * 2**30."
    )
