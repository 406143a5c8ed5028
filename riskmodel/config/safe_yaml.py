"""The one YAML reader of riskmodel: scenario files, sensitivity configs and fit configs.

`read_yaml` parses with `SafeYAMLLoader`, a `yaml.SafeLoader` (no Python tags) that also refuses
what a safe loader lets through:

- **Alias bombs** ("billion laughs"): anchors and aliases (``&a`` / ``*a``) let a few hundred
  bytes stand for billions of values, which then hang anything that walks them (validation,
  error messages). The loader counts the values the document stands for with every alias
  expanded, on the parsed node graph and before building any Python object, and refuses when
  aliases add more than `MAX_YAML_NODES` values to those written out; it refuses more than
  `MAX_YAML_ALIASES` alias uses and an anchor used inside itself. Memory stays proportional to
  the file's size, which is capped at `MAX_YAML_BYTES`.
- **Duplicate keys** in one mapping (YAML silently keeps the last): refused, naming the key and
  both lines. Keys brought in by a merge (``<<: *base``) may be overridden, as YAML intends.

Limits are refused with `ResourceLimitError`, everything else with `ScenarioError`; both name the
file (and the line).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import yaml

from riskmodel.config.errors import short_repr
from riskmodel.data.files import file_kind, open_regular
from riskmodel.errors import ResourceLimitError, ScenarioError, UnsafeFileError

__all__ = [
    "MAX_YAML_ALIASES",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "SafeYAMLLoader",
    "YAMLDuplicateKeyError",
    "YAMLLimitError",
    "read_yaml",
]

MAX_YAML_BYTES = 2**20
"""Largest config file read (1 MiB; the pure-Python parser takes about 30 s on a worst-case file
of that size). Scenario files are a few kB; thousands of cohorts belong in a portfolio CSV."""
MAX_YAML_NODES = 1_000_000
"""Most values (scalars, lists, mappings) aliases may add to those written out in a document."""
MAX_YAML_ALIASES = 10_000
"""Most alias uses (``*name``) in one file."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YAMLLimitError(yaml.YAMLError):
    """A document exceeds one of the loader's limits (the message says which)."""

    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class YAMLDuplicateKeyError(yaml.YAMLError):
    """A mapping holds the same key twice."""

    def __init__(self, key: object, first: yaml.Mark, second: yaml.Mark) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        self.first_line = first.line + 1
        self.second_line = second.line + 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node, limit: int = MAX_YAML_NODES, *, written: int = 0) -> int:
    """Count the nodes the graph under `root` stands for with every alias expanded.

    Linear in the number of distinct nodes (sizes of shared nodes are memoised); stops with
    `YAMLLimitError` as soon as the count passes ``written + limit`` (`written`: the nodes
    written out in the text) or a node turns out to contain itself.
    """
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            total = 1 + sum(size[id(c)] for c in _children(node))
            active.discard(key)
            if total > written + limit:
                raise YAMLLimitError(
                    f"anchors and aliases (&name / *name) add more than {limit:,} values to the "
                    f"{written:,} written out (a billion-laughs pattern?); a config needs far "
                    "fewer. Write the values out, or use fewer aliases of large anchors",
                    node.start_mark,
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in active:
            raise YAMLLimitError(
                "an anchor is used inside itself (a recursive alias); write the value out",
                node.start_mark,
            )
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in active:
                raise YAMLLimitError(
                    "an anchor is used inside itself (a recursive alias); write the value out",
                    child.start_mark,
                )
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)]


def _peek(loader: yaml.SafeLoader) -> yaml.Event:
    """Return the next event of the parser (PyYAML stubs leave `peek_event` untyped)."""
    peek = cast(Callable[[], yaml.Event], loader.peek_event)
    return peek()


class SafeYAMLLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` with limits on alias expansion and no duplicate keys (module docstring)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._alias_uses = 0
        self._written = 0  # nodes written out (not aliases)
        self._checked: set[yaml.Node] = set()

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose a node, counting alias uses (refused past MAX_YAML_ALIASES) and nodes."""
        if self.check_event(yaml.AliasEvent):
            self._alias_uses += 1
            if self._alias_uses > MAX_YAML_ALIASES:
                raise YAMLLimitError(
                    f"more than {MAX_YAML_ALIASES:,} alias uses (*name); a config needs a few. "
                    "Write the values out",
                    _peek(self).start_mark,
                )
        else:
            self._written += 1
        return super().compose_node(parent, index)

    def compose_document(self) -> yaml.Node | None:
        """Compose a document, refused if its aliases expand past MAX_YAML_NODES nodes."""
        node = super().compose_document()
        if node is not None:
            expanded_size(node, MAX_YAML_NODES, written=self._written)
        return node

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Flatten merge keys of a mapping, refusing duplicate keys first."""
        # every mapping passes here before its keys are built, merged ones included
        if node not in self._checked:
            self._checked.add(node)
            seen: dict[object, yaml.Mark] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:  # unhashable: the constructor reports it
                    continue
                if first is not key_node.start_mark:
                    raise YAMLDuplicateKeyError(key, first, key_node.start_mark)
        super().flatten_mapping(node)


def _yaml_problem(exc: Exception, text: str) -> str:
    """Describe a YAML error with its line and column."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = getattr(exc, "position", None)  # yaml.reader.ReaderError
    if mark is not None:
        where = f" at line {mark.line + 1}, column {mark.column + 1}"
    elif isinstance(position, int):
        line = text.count("\n", 0, position) + 1
        where = f" at line {line}, column {position - (text.rfind(chr(10), 0, position) + 1) + 1}"
    else:
        where = ""
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None)
    if not problem:
        lines = str(exc).strip().splitlines()
        problem = lines[0] if lines else type(exc).__name__
    fix = "Check the indentation, quoting and brackets there."
    if "\\t" in problem or "\t" in problem:
        fix = "YAML does not allow tabs for indentation; indent with spaces."
    elif isinstance(exc, yaml.constructor.ConstructorError):
        fix = "Tags such as !!python/... are not allowed; remove the tag or quote the value."
    return f"YAML syntax error{where}: {problem}. {fix}"


def _fail(path: Path, message: str) -> ScenarioError:
    return ScenarioError(path, [("", message)])


def _read_text(path: Path) -> str:
    """Return the file's text: a regular file of at most MAX_YAML_BYTES, UTF-8."""
    kind = file_kind(path)
    if kind == "missing":
        raise _fail(path, "file not found; check the path.")
    if kind == "a folder":
        raise UnsafeFileError(
            path, [("", "it is a folder, not a regular file; name the YAML file inside it.")]
        )
    try:
        with open_regular(path, what="YAML") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise _fail(path, "file not found; check the path.") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _fail(path, f"cannot read the file ({reason}); check its permissions.") from None
    if len(raw) > MAX_YAML_BYTES:
        raise ResourceLimitError(
            f"{path}: the file is larger than {MAX_YAML_BYTES / 2**20:g} MiB, the limit for a "
            "config file (scenario files are a few kB); check that this is the right file, and "
            "put a large portfolio in a CSV file (`portfolio: {file: portfolio.csv}`)."
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "not a UTF-8 text file; save it as UTF-8 YAML.") from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with `SafeYAMLLoader`, with file/line in every error.

    Raises
    ------
    ScenarioError
        If the file is missing, unreadable, not UTF-8, not valid YAML, holds a duplicate key,
        is empty, or is not a mapping.
    UnsafeFileError
        If `path` is a folder, a FIFO, a device or a socket (a `ScenarioError` too).
    ResourceLimitError
        If the file is larger than `MAX_YAML_BYTES` or its aliases expand past
        `MAX_YAML_NODES` values / `MAX_YAML_ALIASES` uses.
    """
    path = Path(path)
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=SafeYAMLLoader)  # a SafeLoader subclass
    except YAMLLimitError as exc:
        line = "" if exc.mark is None else f" (at line {exc.mark.line + 1})"
        raise ResourceLimitError(f"{path}: {exc.message}{line}.") from None
    except YAMLDuplicateKeyError as exc:
        raise _fail(
            path,
            f"duplicate key {short_repr(exc.key)} at lines {exc.first_line} and "
            f"{exc.second_line}: YAML would silently keep only the second. Remove or rename "
            "one of them.",
        ) from None
    except yaml.YAMLError as exc:
        raise _fail(path, _yaml_problem(exc, text)) from None
    except (ValueError, OverflowError) as exc:  # e.g. an impossible date such as 2024-13-45
        raise _fail(
            path,
            f"YAML value error: {short_repr(str(exc), 120)}. A value looks like a date or a "
            "number but is not one; quote it if it is text.",
        ) from None
    except RecursionError:
        raise _fail(path, "the YAML is nested too deeply; a config is a few levels deep.") from None
    if data is None:
        raise _fail(
            path,
            "the file is empty (or only comments); a scenario needs at least name, horizon, "
            "states, portfolio, parameters and lgd. Copy scenarios/baseline.yaml to start.",
        )
    if not isinstance(data, dict):
        raise _fail(
            path,
            "the top level must be a mapping of keys (name:, horizon:, ...); "
            f"got a {type(data).__name__}. Write one `key: value` per line.",
        )
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise _fail(
            path, f"top-level keys must be names; got {short_repr(bad_keys)}. Quote or rename them."
        )
    return data
