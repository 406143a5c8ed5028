"""`riskmodel fit` with `model: intensity`: config, the fit, and a posterior that scenarios and
backtests read like a transition model's."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sl
import yaml

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.data.synthetic import simulate_panel
from riskmodel.fitting import fit_panel, load_fit_config, write_fit
from riskmodel.models.intensity_draws import read_generator_draws

STATES = {
    "names": ["good", "watch", "defaulted"],
    "absorbing": ["defaulted"],
    "default": "defaulted",
}
SS = rm.StateSpace(**STATES)
ALLOWED = ["good->watch", "watch->good", "watch->defaulted", "good->defaulted"]
Q_TRUE = np.array([[-0.35, 0.30, 0.05], [0.50, -0.80, 0.30], [0.0, 0.0, 0.0]])  # per year


def irregular_panel(n: int = 400, seed: int = 1) -> pd.DataFrame:
    """Subjects observed at irregular times (years), columns named unlike the defaults."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        s, t = int(rng.integers(0, 2)), float(rng.uniform(0, 1))
        seg = "north" if i % 2 else "south"
        rows.append((f"c{i:04d}", t, SS.names[s], seg))
        for _ in range(5):
            dt = float(rng.uniform(0.2, 1.5))
            p = np.clip(sl.expm(Q_TRUE * dt)[s], 0, None)
            s, t = int(rng.choice(3, p=p / p.sum())), t + dt
            rows.append((f"c{i:04d}", t, SS.names[s], seg))
            if s == 2:
                break
    return pd.DataFrame(rows, columns=["id", "years", "grade", "region"])


def config(tmp_path, **extra) -> str:
    cfg = {
        "model": "intensity",
        "states": STATES,
        "columns": {"subject": "id", "time": "years", "state": "grade", "segment": "region"},
        "time_unit": "year",
        "allowed": ALLOWED,
        **extra,
    }
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"time_unit": None}, ("time_unit",)),
        ({"allowed": ["good->nowhere"]}, ("allowed", "nowhere")),
        ({"correlation": True}, ("correlation", "do not apply to `model: intensity`")),
        ({"method": "gibbs"}, ("method", "'mle' or 'nuts'")),
        ({"period": {"length": 1, "unit": "week"}}, ("period -> unit",)),
        ({"pooling": "partial"}, ("`pooling: partial` needs `method: nuts`",)),
    ],
)
def test_bad_intensity_configs_name_the_field(tmp_path, extra, words):
    path = config(tmp_path, **extra)
    if extra.get("time_unit", 1) is None:  # a missing key, not a null
        data = yaml.safe_load(open(path))
        del data["time_unit"]
        open(path, "w").write(yaml.safe_dump(data))
    with pytest.raises(rm.ScenarioError) as err:
        load_fit_config(path)
    for word in words:
        assert word in str(err.value)


def test_intensity_keys_need_model_intensity(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"states": STATES, "allowed": ALLOWED}))
    with pytest.raises(rm.ScenarioError, match="add `model: intensity`"):
        load_fit_config(path)


def test_mle_fit_writes_a_posterior_that_scenarios_and_backtests_read(tmp_path):
    panel = irregular_panel()
    cfg = load_fit_config(config(tmp_path, period={"length": 1, "unit": "month"}))
    outcome = fit_panel(panel, cfg)
    model = outcome.models["intensity_model"]
    assert outcome.model == "intensity" and model.time_unit == "year"
    Q = model.generator().values  # (segment, from, to), per year
    # the MLE is consistent: within 5 standard errors of the truth on the log scale
    summ = model.summary().reset_index()
    pairs = summ["transition"].str.split("->")
    truth = np.log([Q_TRUE[SS.index(f), SS.index(t)] for f, t in pairs])
    assert np.all(np.abs(np.log(summ["estimate"]) - truth) < 5 * summ["se_log"])
    # the engine's matrices: expm(Q / 12), one draw (the estimate)
    np.testing.assert_allclose(
        outcome.draws.transitions[0], np.stack([sl.expm(q / 12) for q in Q]), atol=1e-14
    )
    assert len(outcome.intensities) == len(ALLOWED) * 2  # two segments

    out = tmp_path / "fit.nc"
    write_fit(outcome, out)
    # the transition-model reader (scenarios, backtest) sees the monthly matrices
    draws = rm.load_parameter_draws(out)
    np.testing.assert_array_equal(draws.transitions, outcome.draws.transitions)
    # ... and the generator reader the generators with their unit
    gen = read_generator_draws(out)
    np.testing.assert_array_equal(gen.generators[0], Q)
    assert gen.time_unit == "year"
    table = pd.read_csv(out.with_suffix(".summary.csv"))
    assert set(table["quantity"]) == {"transition_probability", "intensity"}

    # a quarterly scenario converts the generator itself
    scenario = {
        "name": "q",
        "horizon": 4,
        "paths": 100,
        "states": STATES,
        "period": {"length": 1, "unit": "quarter"},
        "portfolio": {
            "cohorts": [{"segment": "north", "state": "good", "customers": 100, "exposure": 1e5}]
        },
        "parameters": {"posterior": "fit.nc"},
        "systematic": {"correlation": 0.1},
        "lgd": {"mean": 0.5},
    }
    sc = rm.scenario_from_dict(scenario, base_dir=tmp_path)
    north = list(model.segments).index("north")
    np.testing.assert_allclose(sc.transitions[0, 0], sl.expm(Q[north] / 4), atol=1e-14)

    # a backtest on a monthly panel reads the posterior file as it is
    monthly = {s: sl.expm(Q_TRUE / 12) for s in ("north", "south")}
    test_panel = simulate_panel(monthly, SS, n_customers=300, n_periods=6, seed=2)
    result = rm.backtest(out, test_panel, replicates=2000, predictive_samples_n=500, seed=1)
    assert result.overall in ("green", "amber", "red")


def test_fit_cli_with_model_intensity(tmp_path, capsys):
    panel = tmp_path / "panel.csv"
    irregular_panel(n=400).to_csv(panel, index=False)
    out = tmp_path / "ct.nc"
    args = ["fit", str(panel), "--config", config(tmp_path), "--out", str(out), "--no-report"]
    assert main(args) == 0
    assert read_generator_draws(out).time_unit == "year"
    assert "posterior written" in capsys.readouterr().out
    # a panel without the configured columns: exit 2 naming the column
    bad = tmp_path / "bad.csv"
    irregular_panel(n=20).rename(columns={"years": "when"}).to_csv(bad, index=False)
    args = ["fit", str(bad), "--config", config(tmp_path), "--out", str(tmp_path / "b.nc")]
    assert main([*args, "--no-report"]) == 2
    assert "years" in capsys.readouterr().err


@pytest.mark.slow
def test_nuts_fit_writes_one_generator_per_draw(tmp_path):
    panel = irregular_panel(n=200, seed=3)
    cfg = load_fit_config(config(tmp_path, method="nuts", draws=100, chains=2, tune=100, seed=5))
    with warnings.catch_warnings():  # 100 draws: ESS checks may warn; not what is tested here
        warnings.simplefilter("ignore", rm.ConvergenceWarning)
        outcome = fit_panel(panel, cfg)
    out = tmp_path / "nuts.nc"
    write_fit(outcome, out)
    gen = read_generator_draws(out)
    assert gen.n_draws == 200 == outcome.draws.n_draws
    P = np.stack([[sl.expm(q / 12) for q in g] for g in gen.generators])  # default: 1 month
    np.testing.assert_allclose(outcome.draws.transitions, P, atol=1e-14)
    assert outcome.summary["q03"].le(outcome.summary["mean"]).all()


def test_fit_cli_with_model_intensity_writes_its_report(tmp_path, capsys):
    # the fit report of an intensity fit (checked on the panel's period grid, or saying why not)
    panel = tmp_path / "panel.csv"
    irregular_panel(n=400).to_csv(panel, index=False)
    report = tmp_path / "report"
    args = ["fit", str(panel), "--config", config(tmp_path), "--out", str(tmp_path / "ct.nc")]
    assert main([*args, "--report", str(report)]) == 0
    assert (report / "report.html").is_file() and (report / "fit.json").is_file()
    assert "no MCMC to check (maximum likelihood" in capsys.readouterr().out
