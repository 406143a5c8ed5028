"""The run report's "Model risk" section and the ``model_risk`` / ``posterior_convergence``
blocks of summary.json (issues 14 and 16)."""

from __future__ import annotations

import hashlib
import html
import json

import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.models.draws import ParameterDraws, netcdf_engine
from riskmodel.models.posterior_convergence import FIT_FILES_ATTR
from riskmodel.report import SECTIONS, write_run_report

STATES = {"names": ["ok", "late", "d"], "absorbing": ["d"], "default": "d"}
DIAGNOSTICS = {
    "transition_model": {
        "divergences": 2,
        "max_rhat": 1.03,
        "max_rhat_var": "mu",
        "min_ess_bulk": 900.0,
        "min_ess_bulk_var": "kappa",
        "min_ess_tail": 700.0,
        "min_ess_tail_var": "kappa",
        "chains": 4,
        "draws": 500,
    }
}


def _scenario_file(folder, *, posterior: bool) -> object:
    ss = rm.StateSpace(STATES["names"], absorbing=STATES["absorbing"], default=STATES["default"])
    rng = np.random.default_rng(3)
    pd = rng.uniform(0.01, 0.04, size=6)
    mats = np.array([[[[0.9 - p, 0.1, p], [0.2, 0.8 - 2 * p, 2 * p], [0.0, 0.0, 1.0]]] for p in pd])
    draws = ParameterDraws(ss, ("all",), mats, correlation=rng.uniform(0.05, 0.2, size=6))
    ds = draws.to_dataset()
    diag = folder / "post.diagnostics.json"
    diag.write_text(json.dumps(DIAGNOSTICS))
    ds.attrs[FIT_FILES_ATTR] = json.dumps(
        {diag.name: hashlib.sha256(diag.read_bytes()).hexdigest()}
    )
    ds.to_netcdf(folder / "post.nc", group="posterior", mode="w", engine=netcdf_engine())
    cfg = {
        "name": "mr-report",
        "horizon": 4,
        "paths": 4096,
        "seed": 5,
        "states": STATES,
        "portfolio": {
            "cohorts": [
                {"segment": "all", "state": "ok", "customers": 900, "exposure": 9e6},
                {"segment": "all", "state": "late", "customers": 100, "exposure": 1e6},
            ]
        },
        "parameters": (
            {"posterior": "post.nc"}
            if posterior
            else {"transitions": {"all": mats[0, 0, :2].tolist()}}
        ),
        "lgd": {"mean": 0.45, "sd": 0.2},
        "outputs": {"levels": [0.95, 0.99]},
    }
    if not posterior:
        cfg["systematic"] = {"correlation": 0.1}
    path = folder / ("posterior.yaml" if posterior else "point.yaml")
    path.write_text(yaml.safe_dump(cfg))
    return rm.load_scenario(path)


@pytest.fixture(scope="module")
def posterior_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mr")
    sc = _scenario_file(folder, posterior=True)
    result = rm.simulate(sc)
    out = write_run_report(result, sc, folder / "out")
    return result, out


def _section(page: str, title: str) -> str:
    return page.split(f"<h2>{title}</h2>", 1)[1].split("</section>", 1)[0]


def test_summary_has_the_model_risk_block(posterior_run):
    result, out = posterior_run
    summary = json.loads((out / "summary.json").read_text())
    block = summary["model_risk"]
    assert block == json.loads(json.dumps(result.model_risk().to_dict()))
    for level, split in zip([0.95, 0.99], block["levels"], strict=True):
        assert split["level"] == level
        assert {"es_minus_el", "es_minus_el_at_mean", "parameter_share", "stderr"} <= set(split)
        share = 1 - split["es_minus_el_at_mean"] / split["es_minus_el"]
        assert split["parameter_share"] == pytest.approx(share, rel=1e-12)
    v = block["variance"]
    assert v["parameter"] + v["process"] == pytest.approx(v["total"], rel=1e-12)
    assert v["parameter_share"] + v["process_share"] == pytest.approx(1.0)
    assert v["method"] == {"parameter": "exact", "process": "monte_carlo"}
    assert {"total", "parameter", "process", "parameter_share"} <= set(v["mc"])
    # results.nc keeps what the split needs: the saved run gives the same block
    back = rm.SimulationResult.from_netcdf(out / "results.nc").model_risk().to_dict()
    assert json.loads(json.dumps(back)) == block


def test_summary_has_the_posterior_convergence(posterior_run):
    _, out = posterior_run
    conv = json.loads((out / "summary.json").read_text())["posterior_convergence"]
    assert conv["verdict"] == "not converged"
    assert conv["max_rhat"] == 1.03 and conv["divergences"] == 2
    assert conv["min_ess_bulk"] == 900.0 and conv["min_ess_tail"] == 700.0
    assert conv["thresholds"]["max_rhat"] == 1.01
    assert len(conv["failed"]) == 2


def test_report_shows_the_sentence_table_and_convergence(posterior_run):
    result, out = posterior_run
    page = (out / "report.html").read_text()
    assert "<h2>Model risk</h2>" in page and "Model risk" in SECTIONS
    body = _section(page, "Model risk")
    sentence = result.model_risk().sentence()
    assert "of the 99% ES above EL comes from not knowing the parameters" in sentence
    assert html.escape(sentence, quote=True) in body
    assert "Parameter share of ES − EL" in body and "Tail above EL" in body
    assert body.count("<tr>") >= 1 + 2 + 1 + 3  # header and 2 levels, header and 3 parts
    assert "Convergence of the posterior used" in body and "not converged" in body
    assert "<strong>1.030</strong> ✗" in body  # R-hat above 1.01, marked
    assert "post.diagnostics.json" in body
    assert f"## Model risk\n\n{sentence}\n" in (out / "report.md").read_text()


def test_point_parameter_run_has_no_block(tmp_path):
    sc = _scenario_file(tmp_path, posterior=False)
    out = write_run_report(rm.simulate(sc), sc, tmp_path / "out")
    summary = json.loads((out / "summary.json").read_text())
    assert "model_risk" not in summary and "posterior_convergence" not in summary
    body = _section((out / "report.html").read_text(), "Model risk")
    assert "Point parameters" in body and "Convergence" not in body
    assert "Model risk" not in (out / "report.md").read_text()


def test_cli_run_of_a_posterior_scenario_writes_the_blocks(tmp_path, capsys):
    from riskmodel.cli import main

    sc = _scenario_file(tmp_path, posterior=True)
    out = tmp_path / "cli-out"
    assert main(["run", str(sc.source), "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model_risk"]["sentence"].endswith("comes from not knowing the parameters.")
    assert summary["posterior_convergence"]["verdict"] == "not converged"
