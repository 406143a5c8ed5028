"""Each report in a real browser: headless Chromium at 1,280 px, no horizontal overflow of the
page, no console or resource error; screenshots are saved for a human to look at.

Skipped, with the reason, when no Chromium is on PATH (Debian/Ubuntu: ``apt-get install -y
chromium``). Screenshots go to pytest's temporary folder, or to ``$RISKMODEL_SCREENSHOTS``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

import riskmodel as rm
from riskmodel.report import write_comparison_report, write_run_report
from riskmodel.report.sensitivity import write_sensitivity_report
from riskmodel.sensitivity import run_sensitivity

WIDTH = 1280
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"
SENSITIVITY = {
    "factors": [
        {"name": "lgd.mean", "low": 0.35, "high": 0.55},
        {"name": "systematic.correlation", "low": 0.05, "high": 0.2},
    ],
    "metrics": ["expected_loss", "es_0.99"],
    "tornado": {"paths": 1000, "seed": 2},
    "sobol": {"n": 8, "paths": 64, "seed": 2},
}

# Runs first in <head>: records script errors, console.error calls and failed resources
# (images), then at load writes the page's overflow and the errors into the DOM as JSON.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target || {};
  window.__errors.push(e.message || ('failed to load ' + (t.tagName || '?')));
}, true);
var __ce = console.error;
console.error = function () { window.__errors.push([].join.call(arguments, ' ')); };
window.addEventListener('load', function () {
  var d = document.documentElement;
  var wide = [].filter.call(document.querySelectorAll('body *'), function (el) {
    return el.getBoundingClientRect().right > window.innerWidth + 1;
  }).map(function (el) { return el.tagName + '.' + el.className; });
  var pre = document.createElement('pre');
  pre.id = '__probe';
  pre.textContent = JSON.stringify({overflow: d.scrollWidth - window.innerWidth,
    width: window.innerWidth, errors: window.__errors, wide: wide.slice(0, 5)});
  document.body.appendChild(pre);
});
</script>"""


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "no headless Chromium on PATH (tried " + ", ".join(BROWSERS) + "); install the Debian "
        "package `chromium` (apt-get install -y chromium) to render the reports in a browser"
    )


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={WIDTH},1000",
        "--virtual-time-budget=5000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _probe(browser: str, page: Path, tmp: Path) -> dict:
    text = page.read_text(encoding="utf-8")
    probed = tmp / f"probe-{page.parent.name}.html"
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    out = _chromium(browser, "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="__probe">(.*?)</pre>', out.stdout, re.S)
    assert found, f"Chromium did not render {page}: {out.stderr[-2000:]}"
    import html

    return json.loads(html.unescape(found.group(1)))


def _screenshot(browser: str, page: Path, name: str, folder: Path) -> Path:
    shot = folder / f"{name}.png"
    _chromium(browser, f"--screenshot={shot}", f"--window-size={WIDTH},6000", page.as_uri())
    return shot


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    cfg = yaml.safe_load(TINY.read_text())
    calm = rm.scenario_from_dict(dict(cfg, name="calm"))
    storm = rm.scenario_from_dict(
        dict(cfg, name="storm", systematic={"correlation": 0.1, "shift": -1})
    )
    run = write_run_report(rm.simulate(calm, paths=2000, progress=False), calm, folder / "run")
    cmp = rm.compare_scenarios([calm, storm], paths=2000, seed=1, progress=False)
    compare = write_comparison_report(cmp, [calm, storm], folder / "compare")
    with warnings.catch_warnings():  # a tiny design: its wide Sobol intervals are not the point
        warnings.simplefilter("ignore")
        sens = run_sensitivity(calm, SENSITIVITY)
    sensitivity = write_sensitivity_report(sens, calm, folder / "sensitivity")
    return {
        "run": run / "report.html",
        "compare": compare / "report.html",
        "sensitivity": sensitivity / "report.html",
    }


@pytest.mark.parametrize("kind", ["run", "compare", "sensitivity"])
def test_report_renders_without_overflow_or_errors(kind, reports, tmp_path):
    browser = _browser()
    shots = Path(os.environ.get("RISKMODEL_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    probe = _probe(browser, reports[kind], tmp_path)
    assert probe["width"] == WIDTH
    assert probe["errors"] == [], probe["errors"]
    assert probe["overflow"] <= 0, f"page wider than {WIDTH} px: {probe}"
    shot = _screenshot(browser, reports[kind], kind, shots)
    assert shot.is_file() and shot.stat().st_size > 10_000


@pytest.fixture(scope="module")
def backtest_report(tmp_path_factory) -> Path:
    """The backtest report of a conjugate posterior (Jeffreys Dirichlet draws per row) on the
    bundled example panel, written as `riskmodel backtest` writes it."""
    import numpy as np

    from riskmodel.data.panel import load_example_panel, panel_to_counts
    from riskmodel.models.draws import ParameterDraws
    from riskmodel.report.backtest import fill_backtest_folder
    from riskmodel.states import LIFECYCLE

    panel = load_example_panel()
    counts = panel_to_counts(panel, LIFECYCLE)
    rng = np.random.default_rng(3)
    t = np.zeros((200, counts.sizes["segment"], LIFECYCLE.n, LIFECYCLE.n))
    for s in range(counts.sizes["segment"]):
        for i in LIFECYCLE.transient_idx:
            t[:, s, i] = rng.dirichlet(counts.values[s, i] + 0.5, size=200)
        for i in LIFECYCLE.absorbing_idx:
            t[:, s, i, i] = 1.0
    draws = ParameterDraws(LIFECYCLE, tuple(counts["segment"].values), t)
    folder = tmp_path_factory.mktemp("backtest")
    fill_backtest_folder(rm.backtest(draws, panel, replicates=200), folder)
    return folder / "report.html"


def test_backtest_report_renders_without_overflow_or_errors(backtest_report, tmp_path):
    browser = _browser()
    shots = Path(os.environ.get("RISKMODEL_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    probe = _probe(browser, backtest_report, tmp_path)
    assert probe["width"] == WIDTH
    assert probe["errors"] == [], probe["errors"]
    assert probe["overflow"] <= 0, f"page wider than {WIDTH} px: {probe}"
    shot = _screenshot(browser, backtest_report, "backtest", shots)
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_fit_report_renders_without_overflow_or_errors(tmp_path):
    browser = _browser()
    from riskmodel.data.panel import example_states, load_example_panel

    shots = Path(os.environ.get("RISKMODEL_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    panel = load_example_panel()
    model = rm.TransitionModel(example_states()).fit(panel, draws=200, chains=2, seed=1)
    page = tmp_path / "fit" / "report.html"
    rm.fit_report(model, panel, replicates=200, out=page.parent)
    probe = _probe(browser, page, tmp_path)
    assert probe["width"] == WIDTH
    assert probe["errors"] == [], probe["errors"]
    assert probe["overflow"] <= 0, f"page wider than {WIDTH} px: {probe}"
    shot = _screenshot(browser, page, "fit", shots)
    assert shot.is_file() and shot.stat().st_size > 10_000
