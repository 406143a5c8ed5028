"""The run folder and its self-contained HTML report."""

from __future__ import annotations

import base64
import json
import math
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

import riskmodel as rm
import riskmodel.report as report
from riskmodel.report import SECTIONS, OutputDirError, check_output_dir, write_run_report

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Checker(HTMLParser):
    """Collects structural problems, image sources, links and headings of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.srcs: list[str] = []
        self.refs: list[str] = []
        self.tags: set[str] = set()
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.srcs.append(attrs.get("src") or "")
        self.refs += [v or "" for k, v in attrs.items() if k in ("src", "href", "action")]
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
        self.refs += [v or "" for k, v in dict(attrs).items() if k in ("src", "href")]
        if tag == "img":
            self.srcs.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"end tag for void element <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(
                f"</{tag}> does not close <{self.stack[-1] if self.stack else ''}>"
            )
        else:
            self.stack.pop()
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2[-1] += data


def _check(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return checker


@pytest.fixture(scope="module")
def run():
    """(scenario, result) of the tiny scenario, with a hostile description and segment name."""
    cfg = yaml.safe_load((Path(__file__).parent / "scenarios" / "tiny.yaml").read_text())
    cfg["description"] = "<script>alert('x')</script> & \"quotes\" https://example.com"
    seg = "<b>retail</b>"
    cfg["portfolio"]["cohorts"] = [dict(c, segment=seg) for c in cfg["portfolio"]["cohorts"]]
    cfg["parameters"]["transitions"] = {seg: cfg["parameters"]["transitions"]["retail"]}
    scenario = rm.scenario_from_dict(cfg)
    return scenario, rm.simulate(scenario, progress=False)


@pytest.fixture(scope="module")
def folder(run, tmp_path_factory):
    scenario, result = run
    out = tmp_path_factory.mktemp("report") / "run"
    return write_run_report(result, scenario, out, extra={"run_seconds": 1.25})


@pytest.fixture(scope="module")
def page(folder) -> str:
    return (folder / "report.html").read_text(encoding="utf-8")


def test_folder_contents(folder):
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    assert names == [
        ".riskmodel-manifest.json",  # what riskmodel wrote, with hashes (tests/report)
        "figures",
        "figures/contributions.png",
        "figures/cumulative_default_rate.png",
        "figures/loss_distribution.png",
        "figures/loss_term_structure.png",
        "figures/stage_occupancy.png",
        "figures/stress_path.png",
        "report.html",
        "report.md",
        "results.nc",
        "summary.json",
    ]
    assert folder.is_absolute()
    assert (folder / "figures/loss_distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_json_is_the_result_summary_plus_provenance(folder, run):
    _, result = run
    summary = json.loads((folder / "summary.json").read_text())
    expected = json.loads(json.dumps(result.summary()))
    assert {k: summary[k] for k in expected} == expected
    assert summary["scenario_file"] is None and summary["inputs"] == {}
    assert summary["run_seconds"] == 1.25


def test_results_round_trip(folder, run):
    _, result = run
    back = rm.SimulationResult.from_netcdf(folder / "results.nc")
    assert back.paths == result.paths
    assert back.summary()["loss"] == result.summary()["loss"]


def test_html_is_well_formed(page):
    checker = _check(page)
    assert checker.problems == []
    assert checker.stack == []
    assert page.startswith("<!DOCTYPE html>")


def test_html_is_self_contained(page):
    checker = _check(page)
    assert checker.srcs, "the report must embed the figure"
    for src in checker.srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for ref in checker.refs:
        assert not ref.startswith(("http://", "https://", "//")), ref
    assert not {"script", "link", "iframe", "object"} & checker.tags
    assert "@import" not in page and "url(" not in page


def test_html_has_every_section(page):
    assert _check(page).h2 == list(SECTIONS)


def test_user_strings_are_escaped(page):
    assert "<script>" not in page and "<b>retail</b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    assert "&lt;b&gt;retail&lt;/b&gt;" in page


def test_headline_table_shows_measures_with_standard_errors(page, run):
    _, result = run
    risk = result.risk()
    loss = result.summary()["loss"]  # EL exact, and its self-normalised MC cross-check ± s.e.
    assert f'{loss["expected"]:,.0f} <span class="se">exact</span>' in page
    assert f'{loss["expected_mc"]:,.0f} <span class="se">± {loss["stderr_mc"]:,.0f}' in page
    for q in result.levels:
        assert f"{risk.var[q]:,.0f}" in page and f"{risk.es[q]:,.0f}" in page
    for label in ("Lifetime ECL", "12-month ECL", "Expected defaults", "Expected churn"):
        assert label in page
    for label in ("Horizon", "Paths", "Seed", "Asset correlation", "LGD", "Discount rate"):
        assert label in page
    assert "Effective sample size" in page and "1.25 s" in page


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # one path
def test_single_path_run_writes_valid_json(run, tmp_path):
    scenario, _ = run
    result = rm.simulate(scenario, paths=1, progress=False)  # standard errors are NaN
    out = write_run_report(result, scenario, tmp_path / "one")
    text = (out / "summary.json").read_text()

    def reject(constant):
        raise AssertionError(f"non-JSON constant {constant}")

    summary = json.loads(text, parse_constant=reject)
    assert summary["loss"]["stderr_mc"] is None  # loss.expected is exact: stderr.expected 0
    assert _check((out / "report.html").read_text()).problems == []


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 300 paths
def test_report_from_a_scenario_file_lists_inputs_with_hashes(tmp_path):
    scenario = rm.load_scenario(Path(rm.__file__).resolve().parents[1] / "scenarios/baseline.yaml")
    result = rm.simulate(scenario, paths=300, progress=False)
    out = write_run_report(result, scenario, tmp_path / "b")
    summary = json.loads((out / "summary.json").read_text())
    assert not Path(summary["scenario_file"]).is_absolute()  # no absolute path leaks
    assert summary["scenario_file"].endswith("baseline.yaml")
    # input files named relative to the scenario's folder, with their hashes
    assert (
        summary["inputs"] == {Path(f).name: h for f, h in scenario.inputs.items()}
        and len(summary["inputs"]) == 2
    )
    page = (out / "report.html").read_text()
    for file, digest in summary["inputs"].items():
        assert file in page and digest in page


def test_failure_removes_the_temporary_folder(run, tmp_path, monkeypatch):
    scenario, result = run

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report.run, "render_html", fail)
    with pytest.raises(OSError, match="disk full"):
        write_run_report(result, scenario, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_check_output_dir(tmp_path):
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing is created
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "summary.json").write_text("{}")
    with pytest.raises(OutputDirError, match=r"no \.riskmodel-manifest\.json"):
        check_output_dir(tmp_path / "report")  # no manifest: not provably riskmodel's own
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "data.csv").write_text("x")
    with pytest.raises(OutputDirError, match="not a riskmodel report"):
        check_output_dir(tmp_path / "other")
    with pytest.raises(OutputDirError, match="not a folder"):
        check_output_dir(tmp_path / "other" / "data.csv")
    with pytest.raises(OutputDirError, match="cannot create"):
        check_output_dir(tmp_path / "other" / "data.csv" / "below")


def test_numbers_format():
    assert report._num(1234567.89) == "1,234,568"
    assert report._num(0.012345) == "0.01235"
    assert report._num(math.nan) == "—" and report._num(None) == "—"


# ---------------------------------------------------------------- the full run report
@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """A run with alerts, a management action, stresses and importance sampling."""
    cfg = yaml.safe_load((Path(__file__).parent / "scenarios" / "tiny.yaml").read_text())
    cfg["alerts"] = [
        {"name": "default rate", "metric": "default_rate", "threshold": 0.005, "confidence": 0.5}
    ]
    cfg["actions"] = [
        {
            "name": "keep declining",
            "type": "retention",
            "state": "declining",
            "churn_reduction": 0.3,
            "cost_per_customer": 2.0,
        }
    ]
    cfg["lgd"] = {"mean": 0.45, "sd": 0.2, "addon": 0.05}
    cfg["simulation"] = {"batch": 1024, "importance_sampling": True}
    scenario = rm.scenario_from_dict(cfg)
    result = rm.simulate(scenario, paths=500, seed=4, progress=False)
    with warnings.catch_warnings():  # 500 paths: thin tails, reported; the sections are the point
        warnings.simplefilter("ignore", rm.TailResolutionWarning)
        out = write_run_report(result, scenario, tmp_path_factory.mktemp("rich") / "run")
    return scenario, result, out


def test_every_figure_is_written_and_embedded(rich):
    _, _, out = rich
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert pngs == sorted(
        [
            "alerts",
            "contributions",
            "cumulative_default_rate",
            "loss_distribution",
            "loss_term_structure",
            "stage_occupancy",
            "stress_path",
        ]
    )
    page = (out / "report.html").read_text(encoding="utf-8")
    checker = _check(page)
    assert checker.problems == [] and checker.stack == []
    assert checker.h2 == list(SECTIONS)
    embedded = [base64.b64decode(src.split(",", 1)[1]) for src in checker.srcs]
    assert all(src.startswith("data:image/png;base64,") for src in checker.srcs)
    assert sorted(embedded) == sorted((out / "figures" / f"{n}.png").read_bytes() for n in pngs)
    for ref in checker.refs:
        assert not ref.startswith(("http://", "https://", "//")), ref


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 500 paths
def test_sections_show_stresses_actions_alerts_and_diagnostics(rich):
    _, result, out = rich
    page = (out / "report.html").read_text(encoding="utf-8")
    section = {
        title: page.split(f"<h2>{title}</h2>", 1)[1].split("</section>", 1)[0] for title in SECTIONS
    }
    stresses = section["Scenario settings and stresses"]
    assert "Stresses applied" in stresses and "systematic_shift" in stresses
    assert "addon: 0.05" in stresses and "keep declining" in stresses
    assert "keep declining" in section["Management actions"]
    assert "Net benefit" in section["Management actions"]
    assert "<img" in section["Early warnings"] and "default rate" in section["Early warnings"]
    assert "<img" in section["Risk contributions"]
    assert section["Term structure"].count("<img") == 3
    assert "ECL by starting state" in section["Term structure"]
    diagnostics = section["Monte Carlo diagnostics"]
    ess = result.summary()["diagnostics"]["effective_sample_size"]
    assert 'Importance sampling</td><td class="num">yes' in diagnostics
    assert f"{ess:,.0f}" in diagnostics
    assert "Mean factor innovation under the IS tilt" in diagnostics
    assert "s.e. of VaR" in diagnostics and "Quasi-Monte Carlo" in diagnostics
    headline = section["Headline figures"]
    assert "Lifetime ECL" in headline and "12-month ECL" in headline
    assert "Expected loss (EL)</td>" in headline and "Monte Carlo cross-check" in headline
    provenance = section["Provenance"]
    assert "Seed" in provenance and "riskmodel version" in provenance


def test_qmc_replicates_are_reported(tmp_path):
    cfg = yaml.safe_load((Path(__file__).parent / "scenarios" / "tiny.yaml").read_text())
    cfg["simulation"] = {"batch": 1024, "qmc": True, "qmc_replicates": 4}
    scenario = rm.scenario_from_dict(cfg)
    result = rm.simulate(scenario, paths=4096, seed=1, progress=False)  # one replicate per block
    assert int(result.data.attrs["qmc_replicates"]) == 4
    out = write_run_report(result, scenario, tmp_path / "qmc")
    assert "yes, 4 randomised replicates" in (out / "report.html").read_text(encoding="utf-8")


def test_report_md_has_headline_table_and_relative_figure_links(rich):
    *_, out = rich
    md = (out / "report.md").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text())
    assert md.startswith(f"# riskmodel report: {summary['scenario']}")
    assert "| Measure | Value (exact, or ± standard error) |" in md
    assert f"| Expected loss (EL) | {summary['loss']['expected']:,.0f} exact |" in md
    for q, var in summary["loss"]["var"].items():
        assert f"{var:,.0f}" in md and f"{summary['loss']['es'][q]:,.0f}" in md
    assert "Lifetime ECL" in md
    links = [line.split("](", 1)[1].rstrip(")") for line in md.splitlines() if "](" in line]
    assert sorted(links) == sorted(f"figures/{p.name}" for p in (out / "figures").glob("*.png"))
    assert all((out / link).is_file() for link in links)
    assert "http" not in md and "<" not in md


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # small runs
def test_comparison_report_embeds_both_figures(tmp_path):
    from riskmodel.report import COMPARISON_SECTIONS, write_comparison_report

    cfg = yaml.safe_load((Path(__file__).parent / "scenarios" / "tiny.yaml").read_text())
    scenarios = [
        rm.scenario_from_dict(dict(cfg, name="calm")),
        rm.scenario_from_dict(
            dict(cfg, name="storm", systematic={"correlation": 0.1, "shift": -1})
        ),
    ]
    cmp = rm.compare_scenarios(scenarios, paths=300, seed=1)
    out = write_comparison_report(cmp, scenarios, tmp_path / "cmp")
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    stresses = ["stress_path_calm.png", "stress_path_storm.png"]  # under "What was used"
    figures = ["comparison.png", "differences.png", "loss_distributions.png"]
    assert pngs == sorted([*figures, *stresses])
    checker = _check((out / "report.html").read_text(encoding="utf-8"))
    assert checker.problems == [] and checker.h2 == list(COMPARISON_SECTIONS)
    embedded = sorted(base64.b64decode(s.split(",", 1)[1]) for s in checker.srcs)
    assert embedded == sorted((out / "figures" / n).read_bytes() for n in pngs)
