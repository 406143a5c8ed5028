"""`riskmodel compare-models POSTERIOR.nc ... --panel PANEL.csv --out DIR` and its report."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.cli import main
from riskmodel.models import TransitionModel
from riskmodel.report.models import fill_models_folder, render_models_html
from riskmodel.states import LIFECYCLE
from riskmodel.validation.compare import compare_models

# the example panel's thin segment has a cell or two near k = 0.7 (seed-dependent): the warning
# is shown, not raised, so the tests check the outputs and, where it is printed, the warning
pytestmark = pytest.mark.filterwarnings("always::riskmodel.errors.ParetoKWarning")


@pytest.fixture(scope="module")
def posteriors(example_panel, tmp_path_factory):
    """Conjugate fits of the example panel, saved as TransitionModel files (chains and pooling
    kept) and as flattened ParameterDraws (the format of `riskmodel fit`)."""
    folder = tmp_path_factory.mktemp("posteriors")
    panel = folder / "panel.csv"
    example_panel.to_csv(panel, index=False)
    paths = {}
    for pooling in ("none", "complete"):
        model = TransitionModel(LIFECYCLE, pooling=pooling).fit(
            example_panel, draws=500, chains=2, seed=3
        )
        paths[pooling] = folder / f"{pooling}.nc"
        model.save(paths[pooling])
        paths[f"{pooling}_draws"] = folder / f"{pooling}_draws.nc"
        model.parameter_draws().to_netcdf(paths[f"{pooling}_draws"])
    return paths, panel


def test_compare_models_writes_the_folder(posteriors, tmp_path, capsys):
    paths, panel = posteriors
    out = tmp_path / "cmp"
    argv = ["compare-models", str(paths["none"]), str(paths["complete"]), "--panel", str(panel),
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads((out / "models.json").read_text(encoding="utf-8"))
    assert data["method"] == "loo" and data["cells"] > 0
    assert {m["model"] for m in data["models"]} == {"none", "complete"}
    assert {m["pooling"] for m in data["models"]} == {"none", "complete"}
    assert all(m["chains"] == 2 and m["draws"] == 1000 for m in data["models"])
    assert set(data["inputs"]) == {str(paths["none"]), str(paths["complete"]), str(panel)}
    assert "pooling '" in data["summary"]  # models differing only in pooling
    table = pd.read_csv(out / "models.csv")
    assert list(table["rank"]) == [1, 2] and table["elpd_diff"].iloc[1] > 0
    for name in ("report.html", "figures/elpd.png", "figures/pareto_k.png"):
        assert (out / name).is_file()
    captured = capsys.readouterr()
    assert "the data " in captured.out and "report.html" in captured.out
    # Pareto-k warnings reach stderr as one riskmodel line each, and models.json lists them
    assert bool(data["warnings"]) == ("riskmodel: warning: model " in captured.err)
    # the same numbers through the library
    res = compare_models({"none": paths["none"], "complete": paths["complete"]}, panel)
    assert table["elpd"].to_numpy() == pytest.approx(res.table["elpd"].to_numpy())
    # a second run replaces its own folder; the time split writes no Pareto-k figure
    assert main([*argv, "--method", "time"]) == 0
    assert json.loads((out / "models.json").read_text())["method"] == "time"
    assert not (out / "figures" / "pareto_k.png").exists()


def test_flattened_draws_are_one_chain(posteriors, tmp_path):
    paths, panel = posteriors
    out = tmp_path / "flat"
    argv = ["compare-models", str(paths["none_draws"]), "--panel", str(panel), "--out", str(out)]
    assert main(argv) == 0
    (model,) = json.loads((out / "models.json").read_text())["models"]
    assert model["model"] == "none_draws" and model["chains"] == 1


def _bad(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_bad_input_exits_2_naming_the_file(posteriors, tmp_path, capsys):
    paths, panel = posteriors
    out = str(tmp_path / "o")
    other = tmp_path / "elsewhere"
    other.mkdir()
    twin = other / "none.nc"
    twin.write_bytes(paths["none"].read_bytes())
    err = _bad(["compare-models", str(paths["none"]), str(twin), "--panel", str(panel),
                "--out", out], capsys)  # fmt: skip
    assert "both be named 'none'" in err and str(twin) in err
    err = _bad(["compare-models", str(tmp_path / "missing.nc"), "--panel", str(panel),
                "--out", out], capsys)  # fmt: skip
    assert "missing.nc: no such posterior file" in err
    err = _bad(["compare-models", str(panel), "--panel", str(panel), "--out", out], capsys)
    assert str(panel) in err
    bad_panel = tmp_path / "bad.csv"
    pd.read_csv(panel).drop(columns="state").to_csv(bad_panel, index=False)
    err = _bad(["compare-models", str(paths["none"]), "--panel", str(bad_panel), "--out", out],
               capsys)  # fmt: skip
    assert "bad.csv" in err and "state" in err
    # LOO on a panel the model was not fitted on
    half = tmp_path / "half.csv"
    df = pd.read_csv(panel)
    df[df["period"] < 20].to_csv(half, index=False)
    err = _bad(["compare-models", str(paths["none"]), "--panel", str(half), "--out", out], capsys)
    assert "model 'none' was fitted on other data" in err and "--method time" in err
    _bad(["compare-models", str(paths["none"]), "--panel", str(panel), "--out", out,
          "--method", "waic"], capsys)  # fmt: skip
    assert not Path(out).exists()


def test_help_renders(capsys):
    assert main(["compare-models", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--method {loo,time}" in text and "POSTERIOR.nc" in text


def test_the_report_states_the_preference(posteriors):
    paths, panel = posteriors
    res = compare_models({"none": paths["none"], "complete": paths["complete"]}, panel)
    html = render_models_html(res, {})
    for part in ("Ranking", "Pooling", "Pareto k diagnostics", "Method", "the data ",
                 "p_loo", "Δelpd ± se"):  # fmt: skip
        assert part in html
    timed = compare_models({"none": paths["none"]}, panel, method="time")
    html = render_models_html(timed, {})
    assert "Pareto k diagnostics" not in html and "held-out" in html


def _browser_helpers():
    path = Path(__file__).resolve().parents[1] / "report" / "test_browser.py"
    spec = importlib.util.spec_from_file_location("_browser_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_renders_in_a_browser(posteriors, tmp_path):
    helpers = _browser_helpers()
    browser = helpers._browser()  # skips, with the install command, without Chromium
    paths, panel = posteriors
    res = compare_models({"none": paths["none"], "complete": paths["complete"]}, panel)
    folder = tmp_path / "report"
    folder.mkdir()
    fill_models_folder(res, folder)
    page = folder / "report.html"
    probe = helpers._probe(browser, page, tmp_path)
    assert probe["errors"] == [], probe["errors"]
    assert probe["overflow"] <= 0, f"page wider than {helpers.WIDTH} px: {probe}"
    shots = Path(os.environ.get("RISKMODEL_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    shot = helpers._screenshot(browser, page, "compare-models", shots)
    assert shot.is_file() and shot.stat().st_size > 10_000
