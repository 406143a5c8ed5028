"""The command line prints the headline numbers after the report path; every --help renders."""

from __future__ import annotations

import argparse
import json
import re

import pytest
import yaml

from riskmodel.cli import build_parser, main
from riskmodel.metrics.risk import format_level


def _cells(out: str, label: str) -> list[str]:
    """The cells of the table row starting with `label` (columns split on 2+ spaces)."""
    line = next(line for line in out.splitlines() if line.startswith(label + " "))
    return re.split(r"\s{2,}", line.strip())[1:]


def test_run_prints_el_var_es_with_stderr_and_ecl_from_summary(tiny_yaml, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code = main(["run", str(tiny_yaml), "--out", str(out_dir), "--paths", "1000", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].endswith("report.html")
    summary = json.loads((out_dir / "summary.json").read_text())
    loss = summary["loss"]
    assert summary["loss"]["method"] == "exact"
    assert _cells(out, "EL (exact)") == [f"{loss['expected']:,.0f}"]
    for q, var in loss["var"].items():
        pct = format_level(100 * float(q))
        se = loss["stderr"]["var"][q]
        assert _cells(out, f"VaR {pct}%") == [f"{var:,.0f} ± {se:,.0f}"]
        es, se = loss["es"][q], loss["stderr"]["es"][q]
        assert _cells(out, f"ES {pct}%") == [f"{es:,.0f} ± {se:,.0f}"]
    assert summary["ecl"]["method"] == "exact"
    assert _cells(out, "Lifetime ECL (exact)") == [f"{summary['ecl']['lifetime']:,.0f}"]


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # small runs
def test_compare_prints_one_column_per_scenario(tiny_yaml, tmp_path, capsys):
    out_dir = tmp_path / "cmp"
    other = tmp_path / "storm.yaml"
    cfg = yaml.safe_load(tiny_yaml.read_text())
    cfg.update(name="storm", systematic={"correlation": 0.1, "shift": -1.5})
    other.write_text(yaml.safe_dump(cfg))
    argv = ["compare", str(tiny_yaml), str(other), "--out", str(out_dir), "--no-progress"]
    assert main([*argv, "--paths", "800"]) == 0
    out = capsys.readouterr().out
    table = json.loads((out_dir / "comparison.json").read_text())
    rows = {r["scenario"]: r for r in table["scenarios"]}
    assert re.split(r"\s{2,}", out.splitlines()[1].strip()) == ["Measure", "tiny", "storm"]
    assert _cells(out, "EL") == [f"{rows[n]['expected']:,.0f} (exact)" for n in rows]
    assert _cells(out, "ES 99%") == [
        f"{rows[n]['es_0.99']:,.0f} ± {rows[n]['stderr_es_0.99']:,.0f}" for n in rows
    ]
    assert _cells(out, "Lifetime ECL") == [f"{rows[n]['ecl_lifetime']:,.0f} (exact)" for n in rows]


def test_every_subcommand_help_renders(capsys):
    # enumerate the parser's own subcommands, so a command added later is covered too
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {"run", "compare", "fit", "sensitivity", "validate"} <= set(sub.choices)
    for command in sub.choices:
        assert main([command, "--help"]) == 0, command
        text = capsys.readouterr().out
        assert text.startswith(f"usage: riskmodel {command}"), command
        assert "%%" not in text and "%(" not in text, command


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # small runs
def test_compare_baseline_flag_chooses_the_subtracted_scenario(tiny_yaml, tmp_path, capsys):
    other = tmp_path / "storm.yaml"
    cfg = yaml.safe_load(tiny_yaml.read_text())
    cfg.update(name="storm", systematic={"correlation": 0.1, "shift": -1.5})
    other.write_text(yaml.safe_dump(cfg))
    argv = ["compare", str(tiny_yaml), str(other), "--paths", "800", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "c"), "--baseline", "storm"]) == 0
    data = json.loads((tmp_path / "c" / "comparison.json").read_text())
    assert data["baseline"] == "storm"
    assert {r["scenario"] for r in data["differences"]} == {"tiny"}
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "d"), "--baseline", "strom"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'storm'?" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_run_headline_adds_the_model_risk_sentence_of_a_posterior_run():
    from riskmodel.report.headline import run_headline

    summary = {
        "loss": {"expected": 10.0, "method": "exact", "var": {}, "es": {}},
        "ecl": {"lifetime": 9.0},
    }
    assert "not knowing" not in run_headline(summary)
    sentence = (
        "36.8% (± 0.62 points) of the 99.9% ES above EL comes from not knowing the parameters."
    )
    out = run_headline({**summary, "model_risk": {"sentence": sentence}})
    assert out.splitlines()[-1] == sentence
