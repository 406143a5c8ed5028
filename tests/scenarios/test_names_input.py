"""`portfolio: names` as input: inline and CSV names, each validation, and the CLI's exit 2."""

from __future__ import annotations

import pytest

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.errors import ScenarioError

HEADER = "id,segment,state,exposure,pd_multiplier,lgd\n"
GOOD = "ACME,retail,mature,2.0e6,1.5,0.6\nBETA,retail,new,1.0e6,,\n"


@pytest.fixture
def names_scenario(tiny_config, write_scenario, tmp_path):
    """Write `rows` to names.csv beside a tiny scenario that names it; return the YAML path."""

    def write(rows: str, header: str = HEADER):
        (tmp_path / "names.csv").write_text(header + rows, encoding="utf-8")
        tiny_config["portfolio"]["names"] = "names.csv"
        return write_scenario(tiny_config)

    return write


def test_names_csv_is_read_relative_to_the_scenario(names_scenario):
    sc = rm.load_scenario(names_scenario(GOOD))
    table = sc.portfolio.table
    assert len(table) == 4 and table["customers"].tolist()[-2:] == [1, 1]
    assert table["exposure"].tolist()[-2:] == [2.0e6, 1.0e6]
    assert sc.cohort_labels[-2:] == ["ACME", "BETA"]
    assert sc.names.table["pd_multiplier"].tolist() == [1.5, 1.0]  # empty: 1
    lgd = sc.names.table["lgd"].tolist()
    assert lgd[0] == 0.6 and lgd[1] != lgd[1]  # empty: NaN, the scenario's LGD
    assert any(str(p).endswith("names.csv") for p in sc.inputs)  # hashed for provenance


@pytest.mark.parametrize(
    ("rows", "where", "what"),
    [
        ("ACME,wholesale,mature,1e6,,\n", "row 1, column 'segment'", "unknown segment"),
        ("ACME,retail,matured,1e6,,\n", "row 1, column 'state'", "is not a state"),
        ("ACME,retail,defaulted,1e6,,\n", "row 1, column 'state'", "is absorbing"),
        ("A,retail,new,1e6,,\nA,retail,new,2e6,,\n", "row 2, column 'id'", "duplicate id"),
        ("ACME,retail,new,0,,\n", "row 1, column 'exposure'", "must be > 0"),
        ("ACME,retail,new,-5,,\n", "row 1, column 'exposure'", "must be > 0"),
        ("ACME,retail,new,1e6,-0.5,\n", "row 1, column 'pd_multiplier'", "must be >= 0"),
        ("ACME,retail,new,1e6,,1.2\n", "row 1, column 'lgd'", "must be in [0, 1]"),
        ("ACME,retail,new,1e6,,-0.1\n", "row 1, column 'lgd'", "must be in [0, 1]"),
        ("ACME,retail,new,1e6,lots,\n", "row 1, column 'pd_multiplier'", "finite number"),
        ("retail/new,retail,new,1e6,,\n", "row 1, column 'id'", "also a cohort's label"),
        (",retail,new,1e6,,\n", "row 1, column 'id'", "empty"),
    ],
)
def test_bad_names_csv_names_file_row_field_and_fix(names_scenario, rows, where, what):
    path = names_scenario(rows)
    with pytest.raises(ScenarioError) as info:
        rm.load_scenario(path)
    msg = str(info.value)
    assert "portfolio -> names" in msg and "names.csv" in msg
    assert where in msg and what in msg


@pytest.mark.parametrize(
    ("header", "what"),
    [
        ("id,segment,state\n", "missing column(s) ['exposure']"),
        ("id,segment,state,exposure,rating\n", "unknown column(s)"),
    ],
)
def test_bad_names_header(names_scenario, header, what):
    with pytest.raises(ScenarioError, match=r"names\.csv") as info:
        rm.load_scenario(names_scenario("ACME,retail,new,1e6,x\n", header=header))
    assert what in str(info.value)


def test_missing_names_file(tiny_config, write_scenario):
    tiny_config["portfolio"]["names"] = "nowhere.csv"
    with pytest.raises(ScenarioError, match="portfolio -> names"):
        rm.load_scenario(write_scenario(tiny_config))


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ({"id": "A", "segment": "retail", "state": "new", "exposure": 0.0}, "exposure"),
        ({"id": "A", "segment": "retail", "state": "new", "exposure": 1.0, "lgd": 2}, "lgd"),
        (
            {"id": "A", "segment": "retail", "state": "new", "exposure": 1, "pd_multiplier": -1},
            "pd_multiplier",
        ),
    ],
)
def test_bad_inline_name_names_its_field(tiny_config, name, field):
    tiny_config["portfolio"]["names"] = [name]
    with pytest.raises(ScenarioError, match=rf"portfolio -> names\[0\] -> {field}"):
        rm.scenario_from_dict(tiny_config)


def test_inline_name_checked_against_states_by_index(tiny_config):
    tiny_config["portfolio"]["names"] = [
        {"id": "A", "segment": "retail", "state": "new", "exposure": 1.0},
        {"id": "B", "segment": "retail", "state": "churned", "exposure": 1.0},
    ]
    with pytest.raises(ScenarioError, match=r"portfolio -> names\[1\] -> state: .*absorbing"):
        rm.scenario_from_dict(tiny_config)


def test_names_only_book(tiny_config):
    del tiny_config["portfolio"]["cohorts"]
    tiny_config["portfolio"]["names"] = [
        {"id": "A", "segment": "retail", "state": "new", "exposure": 3.0}
    ]
    sc = rm.scenario_from_dict(tiny_config)
    assert sc.cohorts is None and sc.portfolio.n_cohorts == 1 and sc.cohort_labels == ["A"]


def test_with_options_keeps_names_from_file(names_scenario):
    sc = rm.load_scenario(names_scenario(GOOD))
    again = sc.with_options(paths=100)
    assert again.portfolio.table.equals(sc.portfolio.table)
    assert again.names.table.equals(sc.names.table)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cli_exits_2_without_traceback_on_bad_names(names_scenario, tmp_path, capsys, command):
    path = names_scenario("ACME,retail,new,1e6,,1.5\n")
    argv = [command, str(path)]
    if command == "run":
        argv += ["--out", str(tmp_path / "out"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "names.csv" in err and "column 'lgd'" in err and "must be in [0, 1]" in err
