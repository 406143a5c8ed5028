# ruff: noqa: E501  (the table of cases reads best one case per line)
"""Malformed scenarios and portfolios: one ScenarioError naming the file, the field and a fix.

Each case is checked three ways: `load_scenario` raises `ScenarioError`; `riskmodel validate`
and `riskmodel run` exit with 2 and a one-paragraph message on stderr, without a traceback (and
`run` leaves no output folder behind).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import main

PORTFOLIO_CSV = "segment,state,customers,exposure,margin\nretail,new,500,1500000,1000\n"


@dataclass
class Case:
    """A malformed input: how to build it and what the message must contain."""

    id: str
    change: Callable[[dict], None] | None = None  # edit the tiny scenario dict in place
    text: str | bytes | None = None  # or: the raw scenario file
    csv: str | bytes | None = None  # portfolio.csv next to the scenario (switches to `file:`)
    expect: tuple[str, ...] = ()  # substrings: field path and the fix
    extra_files: dict[str, str] = field(default_factory=dict)


def _set(path: str, value) -> Callable[[dict], None]:
    """Set a nested key given as 'a.b.0.c' (numbers index lists)."""

    def change(d: dict) -> None:
        *parents, last = path.split(".")
        node = d
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[int(last) if last.isdigit() else last] = value

    return change


def _rename(path: str, new: str) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        *parents, last = path.split(".")
        node = d
        for p in parents:
            node = node[p]
        node[new] = node.pop(last)

    return change


def _drop(path: str) -> Callable[[dict], None]:
    def change(d: dict) -> None:
        *parents, last = path.split(".")
        node = d
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        del node[int(last) if last.isdigit() else last]

    return change


def _row(i: int, values) -> Callable[[dict], None]:
    return _set(f"parameters.transitions.retail.{i}", values)


CASES = [
    # --- YAML syntax and file-level problems
    Case("yaml-syntax", text="name: x\nhorizon: [1, 2\nstates: {}\n", expect=("line 3", "YAML")),
    Case("yaml-tab", text="name: x\nlgd:\n\tmean: 0.4\n", expect=("line 3", "spaces")),
    Case("yaml-bad-date", text="name: x\nstart: 2024-13-45\n", expect=("quote it",)),
    Case("yaml-empty", text="", expect=("empty", "baseline.yaml")),
    Case("yaml-only-comments", text="# nothing here\n", expect=("empty",)),
    Case("yaml-top-list", text="- name: x\n", expect=("mapping", "key: value")),
    Case("yaml-not-utf8", text=b"name: \xff\xfe\n", expect=("UTF-8",)),
    Case("yaml-python-tag", text="name: !!python/object:os.system x\n", expect=("YAML",)),
    # --- unknown keys, missing keys, wrong types
    Case("unknown-top", _rename("horizon", "horizn"), expect=("horizn", "Did you mean 'horizon'")),
    Case(
        "unknown-nested",
        _rename("systematic.correlation", "corelation"),
        expect=("systematic -> corelation", "Did you mean 'correlation'"),
    ),
    Case("unknown-lgd", _set("lgd.maen", 0.4), expect=("lgd -> maen", "Did you mean 'mean'")),
    Case("missing-lgd", _drop("lgd"), expect=("lgd", "missing; add it")),
    Case("type-horizon", _set("horizon", "twelve"), expect=("horizon", "whole number")),
    Case("type-horizon-float", _set("horizon", 6.5), expect=("horizon", "whole number")),
    Case("type-lgd", _set("lgd.mean", "high"), expect=("lgd -> mean", "number")),
    Case("type-states", _set("states", ["a", "b"]), expect=("states", "mapping")),
    Case("type-shift", _set("systematic.shift", {"a": 1}), expect=("systematic -> shift",)),
    Case(
        "type-customers", _set("portfolio.cohorts.0.customers", 2.5), expect=("customers", "whole")
    ),
    Case("type-name", _set("name", None), expect=("name", "text")),
    # --- ranges
    Case("horizon-0", _set("horizon", 0), expect=("horizon", "at least 1")),
    Case("paths-0", _set("paths", 0), expect=("paths", "at least 1")),
    Case("paths-negative", _set("paths", -5), expect=("paths", "at least 1")),
    Case("seed-negative", _set("seed", -1), expect=("seed", "at least 0")),
    Case("correlation-1", _set("systematic.correlation", 1.0), expect=("correlation", "below 1")),
    Case("correlation-neg", _set("systematic.correlation", -0.1), expect=("correlation",)),
    Case("lgd-mean", _set("lgd.mean", 1.4), expect=("lgd -> mean", "at most 1")),
    Case("lgd-sd", _set("lgd.sd", 0.6), expect=("lgd", "sd", "Lower sd")),
    Case("levels", _set("outputs.levels", [0.99, 1.5]), expect=("outputs -> levels", "0.99")),
    Case("discount", _set("discount_rate", 1.5), expect=("discount_rate", "0.004")),
    Case("shift-range", _set("systematic.shift", [-50]), expect=("shift", "[-10, 10]")),
    Case("name-slash", _set("name", "a/b"), expect=("name", "path separators")),
    Case("batch-0", _set("simulation.batch", 0), expect=("simulation -> batch", "at least 1")),
    Case("backend", _set("simulation.backend", "dsak"), expect=("backend", "Did you mean 'dask'")),
    # --- non-finite numbers (YAML .nan/.inf)
    Case("nan-correlation", _set("systematic.correlation", math.nan), expect=("correlation", "finite")),
    Case("inf-lgd", _set("lgd.mean", math.inf), expect=("lgd -> mean", "finite")),
    Case("ninf-shift", _set("systematic.shift", -math.inf), expect=("shift", "finite")),
    Case("nan-row", _set("parameters.transitions.retail.0.0", math.nan), expect=("retail[0][0]", "finite")),
    Case("nan-exposure", _set("portfolio.cohorts.0.exposure", math.nan), expect=("exposure", "finite")),
    Case("huge-exposure", _set("portfolio.cohorts", [{"segment": "retail", "state": "new", "customers": 1, "exposure": 1e308}] * 2), expect=("exposure", "sums to infinity")),
    # --- transition matrices
    Case("prob-above-1", _row(0, [1.2, 0, 0, 0, 0, -0.2]), expect=("retail[0] (new)", "[0, 1]")),
    Case("prob-negative", _row(1, [0, 1.05, -0.05, 0, 0, 0]), expect=("retail[1] (growing)", "[0, 1]")),
    Case("row-sum", _row(0, [0.5, 0.07, 0, 0.01, 0.01, 0.01]), expect=("retail[0] (new)", "sum to 1", "Adjust")),
    Case("row-length", _row(2, [0.5, 0.5]), expect=("retail[2] (mature)", "needs 6 entries")),
    Case("row-count", _drop("parameters.transitions.retail.3"), expect=("transitions -> retail", "needs 4 rows")),
    Case("matrix-not-list", _set("parameters.transitions.retail", "identity"), expect=("retail", "list")),
    Case("unknown-segment", _set("portfolio.cohorts.0.segment", "retial"), expect=("transitions", "Did you mean 'retail'")),
    Case("both-params", _set("parameters.posterior", "post.nc"), expect=("parameters", "exactly one")),
    Case("posterior-missing", _set("parameters", {"posterior": "fitted.nc"}), expect=("parameters -> posterior", "not found")),
    # --- states and portfolio
    Case("states-dup", _set("states.names", ["new", "new", "churned", "defaulted"]), expect=("states", "unique")),
    Case("states-default", _set("states.default", "new"), expect=("states", "absorbing")),
    Case("cohort-state", _set("portfolio.cohorts.0.state", "neww"), expect=("cohorts[0] -> state", "Did you mean 'new'")),
    Case("cohort-absorbing", _set("portfolio.cohorts.1.state", "defaulted"), expect=("cohorts[1] -> state", "absorbing")),
    Case("cohort-empty-exposure", _set("portfolio.cohorts.0.customers", 0), expect=("cohorts[0]", "customers > 0")),
    Case("cohorts-empty", _set("portfolio.cohorts", []), expect=("portfolio -> cohorts", "at least 1")),
    Case("portfolio-both", _set("portfolio.file", "p.csv"), expect=("portfolio", "exactly one")),
    Case("portfolio-neither", _set("portfolio", {}), expect=("portfolio", "exactly one")),
    Case("portfolio-file-missing", _set("portfolio", {"file": "missing.csv"}), expect=("portfolio -> file", "not found")),
    # --- portfolio CSV files
    Case("csv-empty", csv="", expect=("portfolio -> file", "portfolio.csv", "empty")),
    Case("csv-header-only", csv="segment,state,customers,exposure\n", expect=("no cohorts", "add")),
    Case("csv-nan", csv="segment,state,customers,exposure\nretail,new,10,nan\n", expect=("row 1", "'exposure'", "finite")),
    Case("csv-inf", csv="segment,state,customers,exposure\nretail,new,10,inf\n", expect=("'exposure'", "finite")),
    Case("csv-negative", csv="segment,state,customers,exposure\nretail,new,-1,5\n", expect=("'customers'", ">= 0")),
    Case("csv-text", csv="segment,state,customers,exposure\nretail,new,ten,5\n", expect=("'customers'", "finite number")),
    Case("csv-missing-col", csv="segment,state,customers\nretail,new,10\n", expect=("missing column", "exposure")),
    Case("csv-unknown-col", csv="segment,state,customers,exposure,pd\nretail,new,1,5,0.1\n", expect=("unknown column", "pd")),
    Case("csv-state", csv="segment,state,customers,exposure\nretail,new,1,5\nretail,matrue,1,5\n", expect=("row 2", "Did you mean 'mature'")),
    Case("csv-segment", csv="segment,state,customers,exposure\nretial,new,1,5\n", expect=("transitions", "portfolio.csv", "Did you mean 'retail'")),
    Case("csv-binary", csv=b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", expect=("portfolio -> file",)),
]  # fmt: skip


def _materialise(case: Case, tiny: dict, folder: Path) -> Path:
    """Write the case's scenario (and portfolio) files; return the scenario path."""
    path = folder / "case.yaml"
    if case.text is not None:
        data = case.text if isinstance(case.text, bytes) else case.text.encode()
        path.write_bytes(data)
        return path
    cfg = copy.deepcopy(tiny)
    if case.csv is not None:
        cfg["portfolio"] = {"file": "portfolio.csv"}
        csv = case.csv if isinstance(case.csv, bytes) else case.csv.encode()
        (folder / "portfolio.csv").write_bytes(csv)
    if case.change is not None:
        case.change(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def _one_paragraph(text: str) -> bool:
    return "\n" not in text.strip() and "Traceback" not in text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_load_raises_scenario_error_naming_file_field_and_fix(case, tiny_config, tmp_path):
    path = _materialise(case, tiny_config, tmp_path)
    with pytest.raises(rm.ScenarioError) as info:
        rm.load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for part in case.expect:
        assert part in message, f"{part!r} not in: {message}"
    assert "\n" not in message
    assert info.value.problems  # structured (field, message) pairs


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_validate_and_run_exit_2_without_traceback(case, tiny_config, tmp_path, capsys):
    path = _materialise(case, tiny_config, tmp_path)
    out = tmp_path / "out"

    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(path) in captured.err and _one_paragraph(captured.err), captured.err

    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("riskmodel: error: "), captured.err
    assert str(path) in captured.err and _one_paragraph(captured.err), captured.err
    for part in case.expect:
        assert part in captured.err
    assert not out.exists()


def test_every_problem_is_listed_once(tiny_config, tmp_path, write_scenario):
    tiny_config["horizon"] = 0
    tiny_config["lgd"]["mean"] = 2.0
    tiny_config["systematic"]["corelation"] = 0.1
    path = write_scenario(tiny_config)
    with pytest.raises(rm.ScenarioError) as info:
        rm.load_scenario(path)
    fields = [f for f, _ in info.value.problems]
    assert fields == sorted(set(fields), key=fields.index)
    assert {"horizon", "lgd -> mean", "systematic -> corelation"} <= set(fields)
    assert "3 problems: (1)" in str(info.value)


def test_misspelt_required_key_is_reported_once(tiny_config):
    tiny_config["horizn"] = tiny_config.pop("horizon")
    with pytest.raises(rm.ScenarioError) as info:
        rm.scenario_from_dict(tiny_config)
    assert [f for f, _ in info.value.problems] == ["horizn"]
    assert "'horizon' is required" in str(info.value)


def test_in_memory_config_names_the_scenario_placeholder(tiny_config):
    tiny_config["horizon"] = 0
    with pytest.raises(rm.ScenarioError, match=r"^<scenario>: horizon: must be >= 1"):
        rm.scenario_from_dict(tiny_config)


def test_scenario_from_dict_rejects_non_mappings():
    with pytest.raises(rm.ScenarioError, match="mapping"):
        rm.scenario_from_dict([("name", "x")])  # type: ignore[arg-type]


def test_missing_scenario_file_and_folder(tmp_path):
    with pytest.raises(rm.ScenarioError, match="file not found; check the path"):
        rm.load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(rm.ScenarioError, match="it is a folder"):
        rm.load_scenario(tmp_path)
    with pytest.raises(rm.ScenarioError, match="not found"):
        rm.load_scenario(tmp_path / ("x" * 300 + ".yaml"))  # name too long for the OS


def test_yaml_syntax_error_reports_line_and_column(write_scenario):
    path = write_scenario("name: x\nhorizon: 3\nlgd: {mean: 0.4\n  sd: 0.1\n")
    with pytest.raises(rm.ScenarioError, match=r"line \d+, column \d+"):
        rm.load_scenario(path)


def test_portfolio_error_is_structured():
    with pytest.raises(rm.PortfolioError) as info:
        rm.Portfolio.from_records(
            [{"segment": "a", "state": "new", "customers": 1, "exposure": -1.0}], source="src"
        )
    err = info.value
    assert (err.source, err.row, err.column) == ("src", 0, "exposure")
    assert str(err) == f"src: row 1, column 'exposure': {err.problem}"


def test_portfolio_rejects_counts_beyond_int64_range():
    with pytest.raises(rm.PortfolioError, match="at most"):
        rm.Portfolio.from_records(
            [{"segment": "a", "state": "new", "customers": 10**30, "exposure": 1.0}]
        )


def test_bundled_scenarios_validate():
    for path in sorted(Path(rm.__file__).resolve().parents[1].joinpath("scenarios").glob("*.yaml")):
        sc = rm.load_scenario(path)
        assert sc.name == path.stem
        # the YAML, its portfolio CSV and (names.yaml) its names CSV, each with its SHA-256
        files = {Path(f).resolve() for f in sc.inputs}
        assert path.resolve() in files and all(f.is_file() for f in files)
        assert len(files) == (3 if path.stem == "names" else 2)
        assert all(len(h) == 64 for h in sc.inputs.values())
