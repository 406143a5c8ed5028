"""Every published number has an oracle test, and docs/oracles.md says which.

The fields are read from actual outputs by ``scripts/oracle_table.py`` (small runs of the bundled
scenarios with alerts, ``keep: totals``, a posterior and actions; a comparison; a sensitivity
analysis), so a new key of ``summary.json``, ``comparison.json``, ``sensitivity.json`` or a new
variable of ``results.nc`` fails here until an entry of ``tests/oracles/oracle_index.py`` names
its oracle test. Fix: write the oracle test, add the entry, ``python scripts/oracle_table.py
--write``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location(
        "oracle_table", REPO / "scripts" / "oracle_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table():
    script = _script()
    registry = script._registry()
    return script, registry, script.match(script.published_fields(), registry)


def test_every_published_field_has_an_oracle(table):
    _, _, matched = table
    missing = [f"{file} {field}" for file, field in matched["orphans"]]
    assert not missing, (
        "published numbers without an oracle test: write one, then add an entry to "
        "tests/oracles/oracle_index.py and run `python scripts/oracle_table.py --write`:\n"
        + "\n".join(missing)
    )


def test_every_registry_entry_matches_a_published_field(table):
    _, _, matched = table
    stale = [e["fields"] for e in matched["unused"]]
    assert not stale, f"registry entries that match no published field (renamed?): {stale}"


def test_patterns_name_every_final_key():
    """Wildcards stand for labels and metric names only, never for the last key, so that a new
    key of a section cannot slip under an existing entry."""
    registry = _script()._registry()
    for entry in registry:
        for pattern in entry["fields"]:
            last = pattern.rsplit("/", 1)[-1]
            assert "*" not in last and "?" not in last, (entry["file"], pattern)


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out.add(node.name)
        elif isinstance(node, ast.ClassDef):
            out |= {f"{node.name}::{f.name}" for f in node.body if isinstance(f, ast.FunctionDef)}
    return out


def test_every_named_oracle_test_exists():
    registry = _script()._registry()
    cache: dict[str, set[str]] = {}
    for entry in registry:
        assert entry["tests"] and entry["oracle"], entry["fields"]
        for test in entry["tests"]:
            path, name = test.split("::", 1)
            if path not in cache:
                assert (REPO / path).is_file(), test
                cache[path] = _functions(REPO / path)
            assert name.startswith("test_") or "::test_" in name, test
            assert name in cache[path], f"{test} does not exist"


def test_docs_oracles_page_is_current(table):
    script, _, matched = table
    text = script.render(matched)
    assert script.DOC.read_text(encoding="utf-8") == text, (
        "docs/oracles.md is stale: python scripts/oracle_table.py --write"
    )
