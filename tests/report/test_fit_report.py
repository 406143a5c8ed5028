"""The fit report (`rm.fit_report`, `riskmodel fit --report`): files, content, every pooling,
correlation and covariates, and the folder safety the other reports have."""

from __future__ import annotations

import json
import re
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.data.macro import logit_transition_matrices
from riskmodel.data.panel import example_states, load_example_panel, panel_to_counts
from riskmodel.data.synthetic import macro_driven_matrices, simulate_panel
from riskmodel.fitting import FitConfig, FitOutcome, default_history, fit_panel, load_fit_config
from riskmodel.models import DefaultModel, ParameterDraws, TransitionModel
from riskmodel.report.fit import FitReport, convergence_table, report_for_config

STATES = {
    "names": ["new", "growing", "mature", "declining", "churned", "defaulted"],
    "absorbing": ["churned", "defaulted"],
    "default": "defaulted",
    "churn": "churned",
}


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return load_example_panel()


@pytest.fixture(scope="module")
def conjugate(panel) -> FitOutcome:
    cfg = FitConfig.model_validate({"states": STATES, "draws": 300, "chains": 2, "seed": 1})
    return fit_panel(panel, cfg)


@pytest.fixture(scope="session")
def nuts_outcome():
    """One tiny NUTS fit for the whole session: partial pooling plus the correlation model.

    Too short to converge (100 tuning steps): the report must show that, not hide it.
    """
    panel = load_example_panel()
    ss = example_states()
    mc = {"draws": 100, "chains": 2, "tune": 100, "seed": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of so short a run
        tm = TransitionModel(ss, pooling="partial").fit(panel, **mc)
        dm = DefaultModel().fit(default_history(panel, ss), **mc)
    draws = tm.parameter_draws().with_correlation(dm.correlation_draws(), seed=3)
    outcome = FitOutcome(
        draws=draws,
        summary=pd.DataFrame(),  # no table: the report summarises the draws itself
        diagnostics={"transition_model": tm.diagnostics, "default_model": dm.diagnostics},
        models={"transition_model": tm, "default_model": dm},
    )
    return outcome, panel


def _no_external_resources(html: str) -> None:
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"(src|href)=\"(?!data:|#)", html)
    assert "http://" not in html and "https://" not in html


def test_report_folder_has_page_json_and_figures(conjugate, panel, tmp_path):
    report = rm.fit_report(conjugate, panel, out=tmp_path / "rep", seed=2)
    folder = tmp_path / "rep"
    names = {p.name for p in (folder / "figures").iterdir()}
    segments = ("cards", "loans", "smb")
    for k, seg in enumerate(segments, start=1):
        assert {f"transitions_{k}_{seg}.png", f"ppc_{k}_{seg}.png"} <= names
    assert "ppc_default_rates.png" in names and "correlation.png" not in names
    html = (folder / "report.html").read_text(encoding="utf-8")
    _no_external_resources(html)
    assert html.count("data:image/png;base64,") == len(names)
    for title in ("Convergence", "Transition matrices", "Posterior predictive checks"):
        assert f"<h2>{title}</h2>" in html
    content = json.loads((folder / "fit.json").read_text(encoding="utf-8"))
    assert content["kind"] == "fit" and content["converged"] is True
    ppc = content["posterior_predictive"]
    assert ppc["nominal_share_outside"] == pytest.approx(0.06)
    assert [r["check"] for r in ppc["summary"]] == ["destination_counts", "default_rate_period",
                                                    "all"]  # fmt: skip
    # one destination cell per segment, transient origin with customers and state
    assert len(ppc["destination_counts"]) == len(segments) * 4 * 6
    assert len(content["transitions"]) == len(segments) * 4 * 6
    assert content["convergence"][0]["status"] == "exact"
    assert isinstance(report, FitReport) and not report.check.flagged


def test_the_report_says_when_the_model_misfits(conjugate, panel):
    # the example panel with every `x -> defaulted` count tripled (taken from staying in x)
    counts = panel_to_counts(panel, example_states(), by_period=True).copy()
    values = counts.values
    for i in range(4):
        extra = np.minimum(2 * values[:, :, i, 5], values[:, :, i, i])
        values[:, :, i, 5] += extra
        values[:, :, i, i] -= extra
    report = rm.fit_report(conjugate, counts, seed=1)
    assert report.check.flagged
    html = report.to_html(figures={})
    assert "misfit flagged" in html and "Destination counts outside their band" in html


@pytest.mark.parametrize("pooling", ["none", "complete"])
def test_a_fitted_transition_model_of_either_conjugate_pooling(panel, pooling):
    model = TransitionModel(example_states(), pooling=pooling).fit(
        panel, draws=200, chains=2, seed=4
    )
    report = rm.fit_report(model, panel, replicates=200)
    assert report.info["pooling"] == pooling
    assert report.convergence["group"].tolist() == ["transition"]
    means = report.transitions.pivot_table(index=["from_state", "to_state"], columns="segment",
                                           values="mean")  # fmt: skip
    if pooling == "complete":  # one matrix for all segments
        assert np.allclose(means.to_numpy(), means.to_numpy()[:, :1])


def test_nuts_fit_with_correlation_shows_groups_and_the_factor(nuts_outcome, tmp_path):
    outcome, panel = nuts_outcome
    report = rm.fit_report(outcome, panel, replicates=300, out=tmp_path / "nuts")
    table = report.convergence
    assert set(table["model"]) == {"transitions", "correlation"}
    assert {"kappa", "mu"} <= set(table.loc[table["model"] == "transitions", "group"])
    assert {"pd", "rho"} <= set(table.loc[table["model"] == "correlation", "group"])
    assert table["min_ess_tail"].notna().all() and (table["divergences"] >= 0).all()
    # the statuses follow the checks of warn_on_diagnostics (R-hat 1.01, ESS 100 per chain,
    # divergences), on unrounded R-hat: the transitions' worst R-hat is the diagnostics' one
    bad = (table["max_rhat"] > 1.01) | (table[["min_ess_bulk", "min_ess_tail"]] < 200).any(axis=1)
    bad |= table["divergences"] > 0
    worst = table.loc[table["model"] == "transitions", "max_rhat"].max()
    assert worst == pytest.approx(outcome.diagnostics["transition_model"]["max_rhat"], rel=1e-6)
    assert (table["status"] == np.where(bad, "check", "ok")).all()
    assert report.check.correlated and report.correlation is not None
    assert report.correlation["lower"] <= report.correlation["mean"] <= report.correlation["upper"]
    names = {p.stem for p in (tmp_path / "nuts" / "figures").iterdir()}
    assert "correlation" in names
    html = (tmp_path / "nuts" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Asset correlation</h2>" in html and "systematic factor" in html
    if report.remedies:  # a failed check prints its remedy
        assert "Remedies" in html and "refit" in html


def test_convergence_rows_without_models_come_from_the_diagnostics():
    diag = {"divergences": 3, "max_rhat": 1.05, "max_rhat_var": "mu", "min_ess_bulk": 50.0,
            "min_ess_bulk_var": "kappa", "chains": 2, "draws": 100}  # fmt: skip
    table = convergence_table({"transition_model": diag, "x": {"method": "mle"}})
    assert table["status"].tolist() == ["check", "no MCMC"]
    assert table.loc[0, "divergences"] == 3 and table.loc[0, "group"] == "mu"


def _covariate_outcome():
    """A covariate posterior (tight around known logit parameters) and a panel drawn from it."""
    ss = example_states()
    base = np.array(
        [
            [0.80, 0.15, 0.0, 0.01, 0.03, 0.01],
            [0.0, 0.85, 0.10, 0.02, 0.02, 0.01],
            [0.0, 0.02, 0.92, 0.03, 0.02, 0.01],
            [0.0, 0.01, 0.08, 0.83, 0.05, 0.03],
        ]
    )
    with np.errstate(divide="ignore"):
        a = np.log(base) - np.log(base[np.arange(4), ss.transient_idx])[:, None]
    b = np.zeros((4, ss.n, 1))
    b[:, ss.default_idx, 0] = 0.4
    rng = np.random.default_rng(2)
    a_d = np.where(np.isfinite(a), a + rng.normal(0, 0.01, size=(30, 1, 4, ss.n)), -np.inf)
    a_d[..., np.arange(4), ss.transient_idx] = 0.0
    b_d = np.broadcast_to(b, (30, 1, 4, ss.n, 1)).copy()
    macro = pd.DataFrame({"period": np.arange(10), "u": 5 + 2 * np.sin(np.arange(10) / 2)})
    x_ref = np.array([[macro["u"].mean()]])
    t = np.stack([logit_transition_matrices(a_d[d], b_d[d], x_ref, ss)[0] for d in range(30)])
    draws = ParameterDraws(ss, ("retail",), t, covariates=("u",), intercepts=a_d,
                           coefficients=b_d)  # fmt: skip
    mats = macro_driven_matrices({"retail": a}, b, macro, ["u"], ss)
    panel = simulate_panel(mats, ss, n_customers=3000, n_periods=11, seed=5)
    outcome = SimpleNamespace(draws=draws, diagnostics={"transition_model": {"method": "test"}})
    return outcome, panel, macro


def test_covariate_model_needs_and_uses_the_macro_series():
    outcome, panel, macro = _covariate_outcome()
    with pytest.raises(rm.ArgumentError, match="pass macro="):
        rm.fit_report(outcome, panel)
    report = rm.fit_report(outcome, panel, macro=macro, replicates=300)
    assert report.info["covariates"] == ["u"] and not report.check.flagged
    assert "average macro values" in report.to_html(figures={})


def test_intensity_fit_is_checked_on_its_period_grid_or_says_why_not(tmp_path):
    import scipy.linalg as sl

    states = {"names": ["good", "watch", "defaulted"], "absorbing": ["defaulted"],
              "default": "defaulted"}  # fmt: skip
    ss = rm.StateSpace(**states)
    q = np.array([[-0.35, 0.30, 0.05], [0.50, -0.80, 0.30], [0.0, 0.0, 0.0]])  # per year
    monthly = {s: sl.expm(q / 12) for s in ("north", "south")}
    panel = simulate_panel(monthly, ss, n_customers=300, n_periods=10, seed=2).rename(
        columns={"customer_id": "id", "period": "months", "segment": "region"}
    )
    allowed = ["good->watch", "watch->good", "watch->defaulted", "good->defaulted"]
    cfg = {"model": "intensity", "states": states, "time_unit": "month", "allowed": allowed,
           "columns": {"subject": "id", "time": "months", "segment": "region"}}  # fmt: skip
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(cfg))
    config = load_fit_config(tmp_path / "m.yaml")
    outcome = fit_panel(panel, config)  # maximum likelihood: one draw, no MCMC
    report = report_for_config(outcome, panel, config)
    assert report.convergence["status"].tolist() == ["no MCMC"]
    assert report.check is not None and not report.check.flagged
    assert set(report.check.cells["segment"]) == {"north", "south"}
    # observed at 1.5-month steps: not on the monthly grid of the draws, so no checks
    off_grid = panel.assign(months=panel["months"] * 1.5)
    skipped = report_for_config(outcome, off_grid, config)
    assert skipped.check is None
    assert "Not run" in skipped.to_html() and skipped.to_dict()["posterior_predictive"] is None


def test_wrong_fit_object_is_refused(panel):
    with pytest.raises(rm.ArgumentError, match="fit must be"):
        rm.fit_report({"draws": 1}, panel)


# --------------------------------------------------------------------------- command line
@pytest.fixture
def fit_inputs(tmp_path, panel, monkeypatch):
    monkeypatch.chdir(tmp_path)
    panel.to_csv("panel.csv", index=False)
    cfg = {"states": STATES, "draws": 100, "chains": 2, "seed": 1}
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(cfg))
    return ["fit", "panel.csv", "--config", "model.yaml"]


def test_cli_writes_the_report_to_its_default_folder(fit_inputs, tmp_path, capsys):
    assert main([*fit_inputs, "--out", "post/model.nc"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith("; report written to reports/model-fit/report.html")
    folder = tmp_path / "reports" / "model-fit"
    assert (folder / "report.html").is_file() and (folder / "fit.json").is_file()
    assert (folder / ".riskmodel-manifest.json").is_file()
    assert main([*fit_inputs, "--out", "post/model.nc"]) == 0  # its own report: replaced
    assert main([*fit_inputs, "--out", "other.nc", "--report", "mine"]) == 0
    assert (tmp_path / "mine" / "report.html").is_file()
    assert main([*fit_inputs, "--out", "third.nc", "--no-report"]) == 0
    assert not (tmp_path / "reports" / "third-fit").exists()


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ("foreign", "x.txt"),
        (".", "the current folder"),
        ("post", "would hold the posterior file"),
        ("", "empty"),
    ],
)
def test_cli_refuses_unsafe_report_folders_before_fitting(
    fit_inputs, tmp_path, capsys, report, message
):
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x.txt").write_text("mine")
    assert main([*fit_inputs, "--out", "post/model.nc", "--report", report]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "--report" in err
    assert not (tmp_path / "post").exists()  # refused before the fit: nothing written
    assert (tmp_path / "foreign" / "x.txt").read_text() == "mine"


def test_cli_report_and_no_report_exclude_each_other(fit_inputs, capsys):
    assert main([*fit_inputs, "--out", "m.nc", "--report", "r", "--no-report"]) == 2
    assert "not allowed with" in capsys.readouterr().err
