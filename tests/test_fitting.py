"""`riskmodel fit` and posterior-driven simulation: the Bayesian loop end to end."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.data.macro import logit_transition_matrices
from riskmodel.data.synthetic import simulate_panel
from riskmodel.fitting import default_history

STATES = {
    "names": ["good", "watch", "churned", "defaulted"],
    "absorbing": ["churned", "defaulted"],
    "default": "defaulted",
    "churn": "churned",
}
MATRIX = np.array(
    [
        [0.90, 0.06, 0.02, 0.02],
        [0.10, 0.80, 0.03, 0.07],
        [0.00, 0.00, 1.00, 0.00],
        [0.00, 0.00, 0.00, 1.00],
    ]
)


@pytest.fixture(scope="module")
def thin_panel():
    """A thin synthetic panel: few customer-periods, so the posterior is wide."""
    ss = rm.StateSpace(**STATES)
    return simulate_panel({"retail": MATRIX}, ss, n_customers=60, n_periods=8, seed=3)


def _config(tmp_path, **extra) -> str:
    cfg = {"states": STATES, "pooling": "none", "draws": 500, "chains": 2, "seed": 4, **extra}
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _scenario(posterior: str, **simulation) -> dict:
    return {
        "name": "post",
        "horizon": 6,
        "paths": 6000,
        "seed": 2,
        "states": STATES,
        "portfolio": {
            "cohorts": [
                {"segment": "retail", "state": "good", "customers": 50_000, "exposure": 5e7},
                {"segment": "retail", "state": "watch", "customers": 5_000, "exposure": 5e6},
            ]
        },
        "parameters": {"posterior": posterior},
        "systematic": {"correlation": 0.05},
        "lgd": {"mean": 0.5, "sd": 0.0},
        "simulation": simulation,
    }


def test_fit_cli_writes_posterior_and_summary(tmp_path, thin_panel, capsys):
    panel = tmp_path / "panel.csv"
    thin_panel.to_csv(panel, index=False)
    out = tmp_path / "fitted.nc"
    assert (
        main(["fit", str(panel), "--config", _config(tmp_path), "--out", str(out), "--no-report"])
        == 0
    )
    assert out.is_file() and out.with_suffix(".summary.csv").is_file()
    draws = rm.load_parameter_draws(out)
    assert draws.segments == ("retail",) and draws.transitions.shape == (1000, 1, 4, 4)
    np.testing.assert_allclose(draws.transitions.sum(axis=-1), 1.0, atol=1e-12)
    assert "posterior written" in capsys.readouterr().out


def test_fit_cli_bad_config_exits_2_without_traceback(tmp_path, thin_panel, capsys):
    panel = tmp_path / "panel.csv"
    thin_panel.to_csv(panel, index=False)
    bad = _config(tmp_path, poolng="partial")
    assert main(["fit", str(panel), "--config", bad, "--out", str(tmp_path / "x.nc")]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'pooling'" in err and "Traceback" not in err
    assert not (tmp_path / "x.nc").exists()
    assert (
        main(
            [
                "fit",
                str(tmp_path / "none.csv"),
                "--config",
                _config(tmp_path),
                "--out",
                str(tmp_path / "x.nc"),
            ]
        )
        == 2
    )


def test_parameter_uncertainty_widens_the_loss_distribution(tmp_path, thin_panel):
    ss = rm.StateSpace(**STATES)
    tm = rm.TransitionModel(ss, pooling="none").fit(thin_panel, draws=1000, chains=2, seed=1)
    post = tmp_path / "post.nc"
    tm.parameter_draws().to_netcdf(post)
    with_unc = rm.simulate(rm.scenario_from_dict(_scenario(str(post))), progress=False)
    at_mean = rm.simulate(
        rm.scenario_from_dict(_scenario(str(post), parameter_uncertainty=False)), progress=False
    )
    assert at_mean.data.attrs["parameter_draws"] == 1
    assert with_unc.data.attrs["parameter_draws"] == 2000
    a = with_unc.total("loss").to_numpy()
    b = at_mean.total("loss").to_numpy()
    # variance ratio against its sampling error (independent samples; fourth moments)
    n = len(a)
    se_var = lambda x: np.sqrt((np.mean((x - x.mean()) ** 4) - x.var() ** 2) / n)  # noqa: E731
    assert a.var() - b.var() > 4 * np.hypot(se_var(a), se_var(b))
    ra, rb = with_unc.risk(), at_mean.risk()
    for q in (0.99, 0.999):
        assert ra.es[q] - rb.es[q] > 4 * np.hypot(ra.stderr_es[q], rb.stderr_es[q])
    # the means agree: the posterior-mean matrix is the mean of the draws, and the expected
    # loss is linear in each period's matrix only to first order, so allow the exact values
    exact_a = float(with_unc.data["exact_loss"].sum())
    assert abs(ra.expected - exact_a) < 4 * ra.stderr_expected


def test_default_history_counts_transient_customers_and_defaults(thin_panel):
    ss = rm.StateSpace(**STATES)
    hist = default_history(thin_panel, ss)
    assert set(hist.columns) == {"period", "segment", "customers", "defaults"}
    counts = rm.TransitionModel(ss).fit(thin_panel, draws=10, chains=1, seed=0).counts
    assert hist["defaults"].sum() == int(counts.sel(to_state="defaulted").sum())
    assert (hist["defaults"] <= hist["customers"]).all()


def _covariate_draws(n_draws: int = 3):
    """Logit draws whose default probability rises with unemployment (coefficient > 0)."""
    ss = rm.StateSpace(**STATES)
    # rows: good, watch; destinations: good, watch, churned, defaulted; stay is the reference
    a = np.array([[[0.0, -2.7, -3.8, -3.9], [-2.0, 0.0, -3.3, -2.4]]])  # (S=1, Kt=2, K=4)
    b = np.zeros((1, 2, 4, 1))
    b[0, :, 3, 0] = 0.25  # default logit per point of unemployment
    a = np.repeat(a[None], n_draws, axis=0) + np.linspace(-0.05, 0.05, n_draws)[:, None, None, None]
    a[:, :, [0, 1], [0, 1]] = 0.0  # stay stays the reference
    b = np.repeat(b[None], n_draws, axis=0)
    mats = logit_transition_matrices(a, b, np.zeros((1, 1)), ss)[:, 0]
    return rm.ParameterDraws(
        ss, ("retail",), mats, covariates=("unemployment",), intercepts=a, coefficients=b
    )


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")  # 200 paths
def test_macro_paths_drive_a_covariate_posterior(tmp_path):
    post = tmp_path / "cov.nc"
    _covariate_draws().to_netcdf(post)
    calm = _scenario(str(post))
    calm["macro"] = {"unemployment": [0.0]}
    stress = _scenario(str(post))
    stress["macro"] = {"unemployment": [0.0, 2.0, 4.0, 6.0]}  # the last value repeats
    sc_calm, sc_stress = rm.scenario_from_dict(calm), rm.scenario_from_dict(stress)
    assert sc_stress.transitions.shape[:2] == (3, 6)
    d = rm.StateSpace(**STATES).default_idx
    pd_path = sc_stress.transitions[0, :, 0, 0, d]
    assert np.all(np.diff(pd_path[:4]) > 0) and pd_path[4] == pd_path[3]  # rises, then holds
    e_calm = float(rm.simulate(sc_calm, paths=200, progress=False).data["exact_defaults"].sum())
    e_stress = float(rm.simulate(sc_stress, paths=200, progress=False).data["exact_defaults"].sum())
    assert e_stress > 1.2 * e_calm
    summary = rm.simulate(sc_stress, paths=200, progress=False).summary()
    assert summary["stresses"]["macro"]["unemployment"]


def test_macro_errors_name_the_field(tmp_path):
    post = tmp_path / "cov.nc"
    _covariate_draws().to_netcdf(post)
    missing = _scenario(str(post))
    with pytest.raises(rm.ScenarioError, match=r"macro.*unemployment"):
        rm.scenario_from_dict(missing)
    typo = _scenario(str(post))
    typo["macro"] = {"unemployment": [1.0], "unemploymnt": [1.0]}
    with pytest.raises(rm.ScenarioError, match="did you mean 'unemployment'"):
        rm.scenario_from_dict(typo)
    plain = _scenario(str(post))
    plain["parameters"] = {"transitions": {"retail": MATRIX[:2].tolist()}}
    plain["macro"] = {"unemployment": [1.0]}
    with pytest.raises(rm.ScenarioError, match="macro"):
        rm.scenario_from_dict(plain)


def test_tune_is_checked_and_named_in_the_error(tmp_path):
    """`tune` (NUTS warm-up steps) defaults to 1000; below 10 the error names the key and file."""
    from riskmodel.config.fit import read_fit_config

    assert read_fit_config(_config(tmp_path)).tune == 1000
    assert read_fit_config(_config(tmp_path, tune=150)).tune == 150
    with pytest.raises(rm.ScenarioError, match=r"model\.yaml.*tune"):
        read_fit_config(_config(tmp_path, tune=5))
