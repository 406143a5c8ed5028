"""The validation error of config files, and turning pydantic errors into readable ones.

Shared by every config schema (scenario, sensitivity, fit): `format_validation_error` turns a
pydantic error into (field path, message) pairs with a fix and a did-you-mean suggestion, and
`problem_lines` lays a `ScenarioError` out for the command line.
"""

from __future__ import annotations

import difflib
import math
import reprlib
import types
import typing
from collections.abc import Iterator, Sequence
from typing import Any

import pydantic

from riskmodel.errors import ScenarioError

__all__ = [
    "MAX_PROBLEMS",
    "UNION_TAGS",
    "ScenarioError",
    "format_validation_error",
    "problem_lines",
    "short_repr",
]

UNION_TAGS = frozenset({"__number__", "__list__", "__text__"})
"""Tags of the schema's discriminated unions; they appear in pydantic locations, not in files."""

_MAX_REPR = 60
MAX_PROBLEMS = 20
"""Most problems listed in one message; the rest are counted."""


def _digits(value: int) -> str:
    """Say ``"a 401-digit number"`` without converting the number to text (no 4300-digit limit)."""
    n = len(str(abs(value))) if abs(value) < 10**4000 else int(value.bit_length() * math.log10(2))
    return f"a {n}-digit number" if abs(value) < 10**4000 else f"a number of about {n:,} digits"


class _BoundedRepr(reprlib.Repr):
    """`reprlib.Repr` that never builds more than a few hundred characters, whatever the input.

    Containers show their first few items and levels; huge integers are described, not
    converted; bytes and strings are cut before `repr`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxtuple = self.maxlist = self.maxarray = 6
        self.maxset = self.maxfrozenset = self.maxdeque = 6
        self.maxdict = 4
        self.maxstring = self.maxother = _MAX_REPR
        self.maxlong = 40

    def repr_int(self, x: int, level: int) -> str:
        if abs(x) > 10**15:
            return _digits(x)
        return super().repr_int(x, level)

    def repr_bytes(self, x: bytes, level: int) -> str:
        text = repr(x[: self.maxstring])
        return text if len(x) <= self.maxstring else text + "..."

    repr_bytearray = repr_bytes


_BOUNDED = _BoundedRepr()


def short_repr(value: object, limit: int = _MAX_REPR) -> str:
    """``repr(value)`` cut to `limit` characters, in bounded time and memory.

    Huge numbers are described (``a 401-digit number``), long strings and nested containers are
    cut before any repr is built (`reprlib`), so a value that stands for billions of items (a
    YAML alias bomb given as a dict) costs no more than a short one.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
        return _digits(value)
    text = _BOUNDED.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unwrap(annotation: Any) -> Iterator[type[pydantic.BaseModel]]:
    """Yield the pydantic model classes reachable from an annotation (Optional, list, dict)."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        yield annotation
    elif origin in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            yield from _unwrap(arg)


def _model_at(
    root: type[pydantic.BaseModel], loc: Sequence[str | int]
) -> type[pydantic.BaseModel] | None:
    """Return the model class that owns the last element of `loc` (walking from `root`)."""
    model: type[pydantic.BaseModel] | None = root
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(part, int) or part not in model.model_fields:
            continue  # list index or dict key: stay on the element model
        models = list(_unwrap(model.model_fields[part].annotation))
        model = models[0] if models else None
    return model


def _field_path(loc: Sequence[str | int]) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p == "[key]":
            parts.append("(a key)")
        else:
            parts.append(str(p))
    text = " -> ".join(parts)
    return text.replace(" -> [", "[")


def _clean_loc(loc: Sequence[str | int]) -> list[str | int]:
    # drop the schema's union tags and function-validator tags: they are not keys of the file
    return [
        p
        for p in loc
        if not (isinstance(p, str) and (p in UNION_TAGS or p.startswith("function-")))
    ]


def _type_message(etype: str, got: str, ctx: dict[str, Any]) -> str | None:
    """Return a message with a fix for common pydantic error types (None: pydantic's text)."""
    bound = {k: ctx.get(k) for k in ("ge", "gt", "le", "lt")}
    messages = {
        "finite_number": f"must be a finite number; got {got}. Replace it with an ordinary "
        "number (.nan, .inf and values beyond ±1.8e308 are not allowed).",
        "int_type": f"must be a whole number; got {got}. Write an integer such as 12, "
        "without quotes or a decimal point.",
        "int_parsing": f"must be a whole number; got {got}. Write an integer such as 12.",
        "int_from_float": f"must be a whole number; got {got}. Drop the fractional part.",
        "float_type": f"must be a number; got {got}. Write a plain number such as 0.5 or 3.6e7.",
        "float_parsing": f"must be a number; got {got}. Write a plain number such as 0.5, "
        "without quotes or units.",
        "bool_type": f"must be true or false; got {got}.",
        "bool_parsing": f"must be true or false; got {got}.",
        "string_type": f"must be text; got {got}. Write a string (quote it if it looks like "
        "a number or a date).",
        "list_type": f"must be a list; got {got}. Write a YAML list such as [a, b] or one "
        "'- item' per line.",
        "dict_type": f"must be a mapping of keys; got {got}. Write `key: value` entries "
        "indented under it.",
        "model_type": f"must be a mapping of keys; got {got}. Write `key: value` entries "
        "indented under it.",
        "model_attributes_type": f"must be a mapping of keys; got {got}.",
        "greater_than_equal": f"must be >= {bound['ge']}; got {got}. Use a value of at least "
        f"{bound['ge']}.",
        "greater_than": f"must be > {bound['gt']}; got {got}. Use a value above {bound['gt']}.",
        "less_than_equal": f"must be <= {bound['le']}; got {got}. Use a value of at most "
        f"{bound['le']}.",
        "less_than": f"must be < {bound['lt']}; got {got}. Use a value below {bound['lt']}.",
        "too_short": f"needs at least {ctx.get('min_length')} item(s); got "
        f"{ctx.get('actual_length')}. Add the missing entries.",
        "string_too_short": "must not be empty; write a name.",
    }
    return messages.get(etype)


def format_validation_error(
    exc: pydantic.ValidationError, root: type[pydantic.BaseModel]
) -> list[tuple[str, str]]:
    """Turn a pydantic ValidationError into (field path, message) pairs with fixes.

    Unknown keys get the closest allowed key as a suggestion; a misspelt required key is reported
    once (as the unknown key), not a second time as missing.
    """
    errors = exc.errors(include_url=False)
    missing = {tuple(_clean_loc(e["loc"])) for e in errors if e["type"] == "missing"}
    covered: set[tuple[str | int, ...]] = set()
    problems: list[tuple[tuple[str | int, ...], str, str]] = []
    for err in errors:
        msg: str | None
        loc = _clean_loc(err["loc"])
        etype = err["type"]
        got = short_repr(err.get("input"))
        if etype == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            owner = _model_at(root, loc)
            allowed = sorted(owner.model_fields) if owner else []
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            if close and (*loc[:-1], close[0]) in missing:
                covered.add((*loc[:-1], close[0]))
                hint += f" ({close[0]!r} is required.)"
            msg = f"unknown key {key!r}.{hint} Allowed keys here: {', '.join(allowed)}."
        elif etype == "missing":
            msg = "this required key is missing; add it."
        elif etype == "invalid_key":
            loc = loc[:-1]
            msg = f"key {got} is not a name; keys are words such as `horizon`. Quote or rename it."
        elif etype == "literal_error":
            expected = str((err.get("ctx") or {}).get("expected", ""))
            options = [o.strip(" '\"") for o in expected.replace(" or ", ",").split(",")]
            close = difflib.get_close_matches(str(err.get("input")), options, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = f"must be one of {expected}; got {got}.{hint}"
        else:
            msg = _type_message(etype, got, err.get("ctx") or {})
            if msg is None:
                text = err["msg"]
                if text.startswith("Value error, "):
                    text = text[len("Value error, ") :]
                if etype != "value_error":
                    text = f"{text.rstrip('.')}; got {got}"
                msg = text if text.endswith(("?", "!")) else text.rstrip(".") + "."
        problems.append((tuple(loc), etype, msg))
    out: dict[tuple[str, str], None] = {}  # ordered and O(1) to test
    for where, etype, text in problems:
        item = (_field_path(where), text)
        if not (etype == "missing" and where in covered):
            out.setdefault(item)
    found = list(out)
    if len(found) > MAX_PROBLEMS:
        more = len(found) - MAX_PROBLEMS
        found = [*found[:MAX_PROBLEMS], ("", f"and {more:,} more problem(s) like these.")]
    return found


def problem_lines(error: ScenarioError) -> list[str]:
    """Return the message of a `ScenarioError` as lines: the file once, then one problem per line.

    ``str(error)`` stays one paragraph (for logs and Python callers); the command line prints
    these lines instead when there is more than one problem, so each can be read on its own.

    Parameters
    ----------
    error : ScenarioError
        The error, with its ``file`` and ``problems`` (field path, message).

    Returns
    -------
    list of str
        ``["FILE: N problems:", "(1) field: message", ...]``; a single problem gives one line,
        ``"FILE: field: message"``. Whitespace inside each message is collapsed to single spaces.

    Examples
    --------
    >>> err = ScenarioError("a.yaml", [("horizon", "must be >= 1."), ("seed", "must be a number.")])
    >>> problem_lines(err)
    ['a.yaml: 2 problems:', '(1) horizon: must be >= 1.', '(2) seed: must be a number.']
    """
    parts = [
        " ".join(f"{field}: {message}".split() if field else str(message).split())
        for field, message in error.problems
    ]
    if len(parts) == 1:
        return [f"{error.file}: {parts[0]}"]
    return [
        f"{error.file}: {len(parts)} problems:",
        *(f"({i}) {p}" for i, p in enumerate(parts, 1)),
    ]
