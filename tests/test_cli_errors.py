"""Error output of the command line: a file with several problems names the file once, then one
problem per line (issue 16); one problem stays one paragraph."""

from __future__ import annotations

import pytest

from riskmodel.cli import main
from riskmodel.errors import ScenarioError
from riskmodel.scenarios.errors import problem_lines


@pytest.fixture
def three_problems(tiny_config, write_scenario):
    tiny_config["horizon"] = 0
    tiny_config["lgd"]["mean"] = 2.0
    tiny_config["systematic"]["corelation"] = 0.1  # misspelt
    return write_scenario(tiny_config, "bad.yaml")


@pytest.mark.parametrize(
    ("command", "prefix"),
    [(["validate"], "riskmodel: invalid: "), (["run", "--no-progress"], "riskmodel: error: ")],
)
def test_several_problems_print_one_per_line(command, prefix, three_problems, tmp_path, capsys):
    argv = [command[0], str(three_problems), *command[1:]]
    if command[0] == "run":
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == 2
    lines = capsys.readouterr().err.rstrip("\n").split("\n")
    assert lines[0] == f"{prefix}{three_problems}: 3 problems:"
    assert [line[:6] for line in lines[1:]] == ["  (1) ", "  (2) ", "  (3) "]
    fields = ("horizon: ", "lgd -> mean: ", "systematic -> corelation: ")
    assert all(any(line[6:].startswith(f) for line in lines[1:]) for f in fields), lines
    assert sum(str(three_problems) in line for line in lines) == 1  # the file is named once
    assert not (tmp_path / "out").exists()


def test_one_problem_stays_one_line(tiny_config, write_scenario, capsys):
    tiny_config["horizon"] = 0
    path = write_scenario(tiny_config)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"riskmodel: invalid: {path}: horizon: ")


def test_problem_lines_keeps_str_one_paragraph():
    err = ScenarioError("a.yaml", [("horizon", "must be\n >= 1."), ("", "and 3 more.")])
    assert problem_lines(err) == [
        "a.yaml: 2 problems:",
        "(1) horizon: must be >= 1.",
        "(2) and 3 more.",
    ]
    assert "\n" not in str(err)
