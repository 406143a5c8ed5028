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


def _text_matrix(values: Sequence[str]) -> np.ndarray:
    """Byte matrix of text values, NUL-padded."""
    arr = np.asarray(values, dtype=object)
    if len(arr) == 0:
        return np.zeros((0, 1), np.uint8)
    try:
        data = arr.astype("S")  # ASCII only; NUL-padded to the longest
        needs_quotes = False
    except UnicodeEncodeError:
        data, needs_quotes = None, True
    if data is not None:
        raw = data.view(np.uint8).reshape(len(arr), -1)
        special = np.isin(raw, np.frombuffer(b',"\n\r', np.uint8)).any()
        last = np.maximum((raw != _PAD).sum(axis=1) - 1, 0)
        edge = (raw[:, 0] == 32).any() or (raw[np.arange(len(raw)), last] == 32).any()
        needs_quotes = bool(special or edge)
        if not needs_quotes:
            return raw
    encoded = np.array([_quote(str(v)).encode("utf-8") for v in arr], dtype="S")
    return encoded.view(np.uint8).reshape(len(arr), -1)


def _n_digits(v: np.ndarray, width: int) -> np.ndarray:
    """Count the decimal digits of non-negative integers (1 for 0)."""
    nd = np.ones(len(v), np.int64)
    for k in range(1, width):
        nd += v >= 10**k
    return nd


def _digits(v: np.ndarray, width: int, *, pad_leading: bool = True) -> np.ndarray:
    """Right-aligned decimal digits of non-negative integers, leading zeros as padding."""
    out = np.empty((len(v), width), np.uint8)
    x = v.copy()
    for k in range(width - 1, -1, -1):
        q = x // 10
        out[:, k] = x - q * 10 + 48
        x = q
    if pad_leading and width > 1:
        lead = np.arange(width)[None, :] < (width - _n_digits(v, width))[:, None]
        out[lead] = _PAD
    return out


def _int_matrix(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    a = np.abs(v)
    width = len(str(int(a.max()))) if len(a) else 1
    out = np.empty((len(v), width + 1), np.uint8)
    out[:, 0] = np.where(v < 0, ord("-"), _PAD)
    out[:, 1:] = _digits(a, width)
    return out


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
    out = np.empty((len(x), 1 + width + (decimals + 1 if decimals else 0)), np.uint8)
    out[:, 0] = np.where((x < 0) & (s > 0), ord("-"), _PAD)
    out[:, 1 : 1 + width] = _digits(whole, width)
    if decimals > 0:
        fd = _digits(frac, decimals, pad_leading=False)
        zeros = np.full(len(x), decimals, np.int64)  # trailing zeros of the fraction
        nonzero = frac > 0
        zeros[nonzero] = 0
        for k in range(1, decimals):
            zeros += nonzero & (frac % 10**k == 0)
        fd[np.arange(decimals)[None, :] >= (decimals - zeros)[:, None]] = _PAD
        out[:, 1 + width] = np.where(zeros == decimals, _PAD, ord("."))
        out[:, 2 + width :] = fd
    out[nan] = _PAD
    return out


def _matrix(col: Column) -> np.ndarray:
    if col.kind == "float":
        return _float_matrix(col.values, col.decimals)
    if col.kind == "int":
        return _int_matrix(col.values)
    if col.kind == "text":
        return _text_matrix(col.values)
    if col.kind == "category":
        table = _text_matrix([*col.categories, ""])
        codes = np.asarray(col.values, dtype=np.intp)
        return table[np.where(codes < 0, len(col.categories), codes)]
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
    comma = np.full((n, 1), ord(","), np.uint8)
    newline = np.full((n, 1), ord("\n"), np.uint8)
    parts: list[np.ndarray] = []
    for k, col in enumerate(columns):
        if k:
            parts.append(comma)
        parts.append(_matrix(col))
    parts.append(newline)
    flat = np.concatenate(parts, axis=1).ravel()
    return flat[flat != _PAD].tobytes()


def header_bytes(names: Sequence[str]) -> bytes:
    """Return the header line of the CSV."""
    return (",".join(_quote(n) for n in names) + "\n").encode("utf-8")
