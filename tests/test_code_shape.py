"""The shape rules of issue 12 as tests: no module over ~400 lines, no function over ~60.

A module or function over the limit must be listed below with its current size, and may not
grow; the lists only shrink (split the module or function, then lower or delete its line).
Function length counts the lines of the body after the docstring (signature and docstring
are documentation, not logic).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "riskmodel"

MODULE_LINES = 400
FUNCTION_LINES = 60

# Modules over MODULE_LINES today, with their line counts (may shrink, never grow).
MODULES_PENDING: dict[str, int] = {}

# Functions over FUNCTION_LINES today (module:qualified name -> body lines).
FUNCTIONS_PENDING: dict[str, int] = {}


def module_sizes() -> dict[str, int]:
    """Lines per module of the package, by path relative to the repository."""
    return {
        p.relative_to(REPO).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in sorted(PACKAGE.rglob("*.py"))
    }


def _body_start(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    is_doc = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    if is_doc:
        return node.body[1].lineno if len(node.body) > 1 else int(node.end_lineno or node.lineno)
    return first.lineno


def _visit(node: ast.AST, rel: str, prefix: str, sizes: dict[str, int]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{child.name}"
            sizes[f"{rel}:{name}"] = int(child.end_lineno or 0) - _body_start(child) + 1
            _visit(child, rel, f"{name}.", sizes)
        elif isinstance(child, ast.ClassDef):
            _visit(child, rel, f"{prefix}{child.name}.", sizes)


def function_sizes() -> dict[str, int]:
    """Body lines (after the docstring) of every function and method, by module:qualname."""
    sizes: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _visit(tree, path.relative_to(REPO).as_posix(), "", sizes)
    return sizes


def _over(sizes: dict[str, int], limit: int, pending: dict[str, int]) -> list[str]:
    return [
        f"{name}: {size} lines (limit {limit}"
        + (f", listed at {pending[name]})" if name in pending else ")")
        for name, size in sorted(sizes.items())
        if size > max(limit, pending.get(name, 0))
    ]


def test_no_module_grows_past_its_limit():
    over = _over(module_sizes(), MODULE_LINES, MODULES_PENDING)
    assert not over, "modules too long; split them (issue 12):\n  " + "\n  ".join(over)


def test_no_function_grows_past_its_limit():
    over = _over(function_sizes(), FUNCTION_LINES, FUNCTIONS_PENDING)
    assert not over, "functions too long; split them (issue 12):\n  " + "\n  ".join(over)


@pytest.mark.parametrize(
    ("pending", "sizes", "limit"),
    [
        (MODULES_PENDING, module_sizes, MODULE_LINES),
        (FUNCTIONS_PENDING, function_sizes, FUNCTION_LINES),
    ],
    ids=["modules", "functions"],
)
def test_pending_lists_only_shrink(pending, sizes, limit):
    # a listed entry that is gone or back under the limit must leave the list (so it stays true)
    now = sizes()
    stale = [name for name in pending if now.get(name, 0) <= limit]
    assert not stale, f"delete these lines from the pending list, they now pass: {stale}"


def test_function_sizes_count_bodies_after_the_docstring(tmp_path):
    # the measure itself: a known function of 3 body lines under a 2-line docstring
    source = 'def f(x):\n    """Doc.\n\n    More."""\n    y = x\n    y += 1\n    return y\n'
    tree = ast.parse(source)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    assert int(node.end_lineno or 0) - _body_start(node) + 1 == 3
