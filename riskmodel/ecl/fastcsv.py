"""Fast CSV text for large numeric tables, formatted with numpy (no per-value Python call).

pandas' ``to_csv`` formats every float through Python (about 1 µs each), which would make
writing a million loans' results take longer than computing them. Here every column becomes a
byte matrix (one row per table row, padded with NUL bytes), the matrices are joined with the
separators, and the NUL padding is dropped in one pass.

Numbers are written in fixed point with a column's number of decimals, trailing zeros removed
(``0.25``, ``1234.5``, ``3``); NaN is an empty field. A column whose values are too large for
fixed point at its precision (``|x| · 10^decimals ≥ 2^63``) falls back to Python's shortest
round-trip representation. Text is written as it is unless a value holds a comma, quote, line
break or NUL, in which case the column is quoted as the CSV standard says (RFC 4180).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Column", "csv_bytes", "header_bytes"]

_PAD = 0
_LIMIT = float(2**63 - 1024)


@dataclass(frozen=True)
class Column:
    """One output column.

    Attributes
    ----------
    values : ndarray
        Floats (``kind="float"``), integers (``"int"``), str objects (``"text"``) or integer
        codes into `categories` (``"category"``).
    kind : {"float", "int", "text", "category"}
    decimals : int
        Decimals of a float column.
    categories : sequence of str
        Names of a category column.
    """

    values: np.ndarray
    kind: str
    decimals: int = 6
    categories: Sequence[str] = ()


def _quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r\x00') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _text_matrix(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """Byte matrix of text values, one column per value, NUL-padded; shape (width, n)."""
    arr = np.asarray(values, dtype=object)
    if len(arr) == 0:
        return np.zeros((1, 0), np.uint8)
    try:
        data = arr.astype("S")  # ASCII only; NUL-padded to the longest
    except UnicodeEncodeError:
        data = None
    if data is not None:
        raw = data.view(np.uint8).reshape(len(arr), -1)
        special = np.isin(raw, np.frombuffer(b',"\n\r', np.uint8)).any()
        last = np.maximum((raw != _PAD).sum(axis=1) - 1, 0)
        edge = (raw[:, 0] == 32).any() or (raw[np.arange(len(raw)), last] == 32).any()
        if not (special or edge):
            return np.ascontiguousarray(raw.T)
    encoded = np.array([_quote(str(v)).encode("utf-8") for v in arr], dtype="S")
    return np.ascontiguousarray(encoded.view(np.uint8).reshape(len(arr), -1).T)


# the two ASCII digits of 0 … 99, as one 16-bit value each (two digits per division)
_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], np.uint8).view(np.uint16)[:, 0]


def _n_digits(v: np.ndarray, width: int) -> np.ndarray:
    """Count the decimal digits of non-negative integers (1 for 0)."""
    nd = np.ones(len(v), np.uint8)
    for k in range(1, width):
        nd += (v >= 10**k).view(np.uint8)
    return nd.astype(np.int64)


def _digits(v: np.ndarray, width: int, *, pad_leading: bool = True) -> np.ndarray:
    """Decimal digits of non-negative integers, right-aligned; shape (width, n).

    Leading zeros become padding (except the last digit) when `pad_leading`.
    """
    n, n2 = len(v), (width + 1) // 2
    pairs = np.empty((n2, n), np.uint16)
    x = v.copy()
    for k in range(n2 - 1, -1, -1):
        q = x // 100
        pairs[k] = _PAIRS[x - q * 100]
        x = q
    out = pairs.view(np.uint8).reshape(n2, n, 2).transpose(0, 2, 1).reshape(2 * n2, n)
    out = out[2 * n2 - width :]
    if pad_leading and width > 1:
        keep = np.arange(width)[:, None] >= (width - _n_digits(v, width))[None, :]
        out *= keep.view(np.uint8)  # uint8 × uint8: a bool operand would take a slow cast
    return out


def _int_matrix(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    a = np.abs(v)
    width = len(str(int(a.max()))) if len(a) else 1
    sign = np.where(v < 0, ord("-"), _PAD).astype(np.uint8)[None, :]
    return np.concatenate([sign, _digits(a, width)], axis=0)


def _float_matrix(values: np.ndarray, decimals: int) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    nan = np.isnan(x)
    scale = 10.0**decimals
    with np.errstate(invalid="ignore"):
        scaled = np.rint(np.abs(np.where(nan, 0.0, x)) * scale)
    if len(x) and not (scaled.max() < _LIMIT):
        texts = ["" if np.isnan(v) else repr(float(v)) for v in x]
        return _text_matrix(texts)
    s = scaled.astype(np.int64)
    unit = 10**decimals
    whole = s // unit
    frac = s - whole * unit
    width = len(str(int(whole.max()))) if len(whole) else 1
    parts = [
        np.where((x < 0) & (s > 0), ord("-"), _PAD).astype(np.uint8)[None, :],
        _digits(whole, width),
    ]
    if decimals > 0:
        fd = _digits(frac, decimals, pad_leading=False)
        zeros = np.zeros(len(x), np.uint8)  # trailing zeros of the fraction
        for k in range(1, decimals):
            zeros += (frac % 10**k == 0).view(np.uint8)
        zeros[frac == 0] = decimals
        zeros = zeros.astype(np.int64)
        fd *= (np.arange(decimals)[:, None] < (decimals - zeros)[None, :]).view(np.uint8)
        dot = np.where(zeros == decimals, _PAD, ord(".")).astype(np.uint8)[None, :]
        parts += [dot, fd]
    out = np.concatenate(parts, axis=0)
    out *= (~nan).view(np.uint8)
    return out


def _matrix(col: Column) -> np.ndarray:
    if col.kind == "float":
        return _float_matrix(col.values, col.decimals)
    if col.kind == "int":
        return _int_matrix(col.values)
    if col.kind == "text":
        return _text_matrix(col.values)
    if col.kind == "category":
        table = _text_matrix([*col.categories, ""])  # (width, n_categories + 1)
        codes = np.asarray(col.values, dtype=np.intp)
        return table[:, np.where(codes < 0, len(col.categories), codes)]
    raise ValueError(f"unknown column kind {col.kind!r}")


def csv_bytes(columns: Sequence[Column]) -> bytes:
    r"""Return the CSV rows (no header) of equally long columns, as UTF-8 bytes.

    Examples
    --------
    >>> import numpy as np
    >>> csv_bytes([Column(np.array(["a", "b"], dtype=object), "text"),
    ...            Column(np.array([1.5, np.nan]), "float", decimals=3),
    ...            Column(np.array([2, 10]), "int")]).decode()
    'a,1.5,2\nb,,10\n'
    """
    n = len(columns[0].values)
    comma = np.full((1, n), ord(","), np.uint8)
    parts: list[np.ndarray] = []
    for k, col in enumerate(columns):
        if k:
            parts.append(comma)
        parts.append(_matrix(col))
    parts.append(np.full((1, n), ord("\n"), np.uint8))
    rows = np.ascontiguousarray(np.concatenate(parts, axis=0).T).ravel()
    text: bytes = rows[rows != _PAD].tobytes()
    return text


def header_bytes(names: Sequence[str]) -> bytes:
    """Return the header line of the CSV."""
    return (",".join(_quote(n) for n in names) + "\n").encode("utf-8")
