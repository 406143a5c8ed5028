"""The comparison report's "Assumptions and limitations" and "What was used": shared statements
and tables once, what differs per scenario, a stress-path figure per scenario (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import riskmodel as rm
from riskmodel.report import write_comparison_report
from riskmodel.report.assumptions import assumptions
from riskmodel.report.comparison_context import stress_figure_name

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    cfg = yaml.safe_load(TINY.read_text())
    calm = rm.scenario_from_dict(dict(cfg, name="calm"))
    lgd = dict(cfg["lgd"], sd=0.0)  # fixed LGD: a statement only the storm has
    storm = rm.scenario_from_dict(
        dict(cfg, name="storm.1", lgd=lgd, systematic={"correlation": 0.1, "shift": [-1, -0.5]})
    )
    cmp = rm.compare_scenarios([calm, storm], paths=2000, seed=1, progress=False)
    out = write_comparison_report(cmp, [calm, storm], tmp_path_factory.mktemp("c") / "out")
    return {"folder": out, "html": (out / "report.html").read_text(), "cmp": cmp,
            "scenarios": [calm, storm]}  # fmt: skip


def _section(html: str, title: str) -> str:
    found = re.search(rf"<h2[^>]*>{title}</h2>(.*?)</section>", html, re.S)
    assert found, title
    return found.group(1)


def test_assumptions_shared_once_and_differences_per_scenario(report):
    text = _section(report["html"], "Assumptions and limitations")
    own = {sc.name: assumptions(sc, report["cmp"].results[sc.name]) for sc in report["scenarios"]}
    shared = [a for a in own["calm"] if a in own["storm.1"]]
    assert shared and all(text.count(a) == 1 for a in shared)
    assert "Only in calm" in text and "Only in storm.1" in text
    storm_part = text.split("Only in storm.1")[1]
    assert "Fixed LGD" in storm_part and "Fixed LGD" not in text.split("Only in storm.1")[0]
    assert text.count("Beta LGD") == 1  # the calm scenario's only


def test_what_was_used_groups_equal_tables_and_draws_each_stress_path(report):
    text = _section(report["html"], "What was used")
    # the same matrices and portfolio in both: one table each, said to be shared
    assert "Transition probabilities (the same in every scenario)" in text
    assert "Portfolio by cohort (the same in every scenario)" in text
    assert text.count("<h3>Segment ") == len(report["scenarios"][0].segments)
    # shifts differ: a column per scenario; discount rates agree: one column
    header = re.search(r"Stress path per period</h3>.*?<tr>(.*?)</tr>", text, re.S).group(1)
    assert "Shift of Z, calm" in header and "Shift of Z, storm.1" in header
    assert header.count("Discount rate") == 1
    for sc in report["scenarios"]:
        name = stress_figure_name(sc)
        assert (report["folder"] / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"figures/{name}.png" in text
    assert stress_figure_name(report["scenarios"][1]) == "stress_path_storm-1"


def test_error_bars_are_stated_with_their_largest_relative_size(report):
    text = _section(report["html"], "Comparison figures")
    ds = report["cmp"].data
    k = report["cmp"].levels.index(0.99)
    rel = max(
        float((ds[f"stderr_{m}"][:, k] / ds[m][:, k]).max()) for m in ("var", "es")
    )  # the largest bar-relative standard error, as the note must report it
    found = re.search(
        r"The largest is ([0-9.]+)% of its bar \((VaR|ES) 99%, (calm|storm\.1)\)", text
    )
    assert found, text[-600:]
    assert float(found.group(1)) == pytest.approx(100 * rel, rel=0.05)  # printed to 2 digits
    assert "EL is exact and has none" in text
