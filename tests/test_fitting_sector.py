"""`riskmodel fit` with ``model: sector``: SectorDefaultModel beside the transitions.

One tiny fit through the CLI (2 segments on 2 factors, 24 periods, 1 chain of 20 draws: this
checks the plumbing, not the model, whose recovery of known truth is
``tests/models/test_sector_default.py``'s) is shared by the tests (session fixture: PyTensor
compiles the model once). Its sector draws must be exactly those of `SectorDefaultModel` fitted
directly to the panel's default history with the same seed, its summary rows and the
``sector_systematic`` block the statistics of those draws, and a sector scenario must run on
the written posterior with that block.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from scipy.special import ndtr, ndtri

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.data.synthetic import simulate_panel
from riskmodel.fitting import default_history
from riskmodel.models import ConvergenceWarning
from riskmodel.models.sector import SectorDefaultModel

STATES = {"names": ["ok", "late", "defaulted"], "absorbing": ["defaulted"], "default": "defaulted"}
SEGMENT_FACTORS = {"cards": "retail", "loans": "sme"}
TRUTH = {"cards": (0.03, 0.10, 0), "loans": (0.02, 0.20, 1)}  # pd, rho, factor
N_PERIODS = 25
SAMPLING = {"draws": 20, "chains": 1, "tune": 100, "seed": 3}  # `tune` reaches both fits


def _panel() -> pd.DataFrame:
    """Customers whose monthly default probability moves with two correlated factors."""
    states = rm.StateSpace(**STATES)
    rng = np.random.default_rng(0)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]], size=N_PERIODS - 1)
    mats = np.zeros((N_PERIODS - 1, 2, 3, 3))
    for s, (p, rho, f) in enumerate(TRUTH.values()):
        pd_t = ndtr((ndtri(p) - np.sqrt(rho) * z[:, f]) / np.sqrt(1.0 - rho))
        mats[:, s, 0] = np.stack([0.9 - pd_t, np.full_like(pd_t, 0.1), pd_t], axis=1)
        mats[:, s, 1] = np.stack([np.full_like(pd_t, 0.3), 0.7 - 2 * pd_t, 2 * pd_t], axis=1)
        mats[:, s, 2] = [0.0, 0.0, 1.0]
    da = xr.DataArray(
        mats,
        dims=("period", "segment", "from_state", "to_state"),
        coords={"segment": list(TRUTH), "from_state": STATES["names"], "to_state": STATES["names"]},
    )
    return simulate_panel(
        da, states, n_customers=600, n_periods=N_PERIODS, initial={"ok": 1.0}, seed=1
    )


def _config(folder, **cfg) -> str:
    path = folder / "model.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.fixture(scope="session")
def sector_fit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sector_fit")
    panel = _panel()
    panel.to_csv(folder / "panel.csv", index=False)
    config = _config(
        folder, model="sector", states=STATES, segment_factors=SEGMENT_FACTORS, **SAMPLING
    )
    out = folder / "fitted.nc"
    with warnings.catch_warnings():  # 20 draws: the convergence checks fail, as they should
        warnings.simplefilter("ignore")
        code = main(["fit", str(folder / "panel.csv"), "--config", config, "--out", str(out)])
    assert code == 0
    return folder, panel, out


@pytest.mark.slow
def test_written_draws_are_the_sector_models_on_the_default_history(sector_fit):
    _, panel, out = sector_fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        direct = SectorDefaultModel(SEGMENT_FACTORS).fit(
            default_history(panel, rm.StateSpace(**STATES)), **SAMPLING
        )
    with xr.open_dataset(out, group="posterior") as ds:
        rho = ds["sector_correlation"].load()
        corr = ds["sector_factor_correlation"].load()
        block = json.loads(ds.attrs["sector_systematic"])
    np.testing.assert_array_equal(
        rho.transpose("sector_draw", "segment").values,
        direct.correlation_draws().sel(segment=list(rho.segment.values)).values,
    )
    np.testing.assert_array_equal(corr.values, direct.factor_correlation_draws().values)
    assert block == direct.to_systematic()
    assert block["segments"]["cards"]["correlation"] == pytest.approx(
        float(rho.sel(segment="cards").mean()), rel=1e-12
    )


@pytest.mark.slow
def test_summary_rows_are_the_draws_statistics(sector_fit):
    _, _, out = sector_fit
    table = pd.read_csv(out.with_suffix(".summary.csv"))
    assert set(table["quantity"]) == {
        "transition_probability",
        "asset_correlation",
        "factor_correlation",
    }
    with xr.open_dataset(out, group="posterior") as ds:
        rho = ds["sector_correlation"].load()
        pair = ds["sector_factor_correlation"].sel(factor_i="retail", factor_j="sme").values
    rows = table[table["quantity"] == "asset_correlation"].set_index("segment")
    for seg, factor in SEGMENT_FACTORS.items():
        x = rho.sel(segment=seg).values
        assert rows.loc[seg, "factor"] == factor
        assert rows.loc[seg, "mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert rows.loc[seg, "q03"] == pytest.approx(np.quantile(x, 0.03), rel=1e-12)
        assert rows.loc[seg, "q97"] == pytest.approx(np.quantile(x, 0.97), rel=1e-12)
    (r,) = table[table["quantity"] == "factor_correlation"].itertuples()
    assert r.factor == "retail~sme" and r.mean == pytest.approx(pair.mean(), rel=1e-12)
    diagnostics = json.loads(out.with_suffix(".diagnostics.json").read_text())
    assert {"transition_model", "sector_model"} <= set(diagnostics)


@pytest.mark.slow
def test_a_sector_scenario_runs_on_the_fitted_posterior_and_block(sector_fit):
    folder, _, out = sector_fit
    with xr.open_dataset(out, group="posterior") as ds:
        block = json.loads(ds.attrs["sector_systematic"])
    cfg = {
        "name": "fitted sectors",
        "horizon": 6,
        "states": STATES,
        "portfolio": {
            "cohorts": [
                {"segment": s, "state": "ok", "customers": 1000, "exposure": 1e6}
                for s in SEGMENT_FACTORS
            ]
        },
        "parameters": {"posterior": out.name},
        "systematic": {**block, "shift": {"sme": -1.0}},
        "lgd": {"mean": 0.45},
    }
    sc = rm.scenario_from_dict(cfg, base_dir=folder)
    assert sc.n_draws == SAMPLING["draws"]
    expected = [block["segments"][s]["correlation"] for s in sc.segments]
    np.testing.assert_allclose(sc.correlation, np.tile(expected, (sc.n_draws, 1)))
    np.testing.assert_allclose(sc.factors.correlation, block["factor_correlation"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rm.TailResolutionWarning)
        loss = rm.simulate(sc, paths=1024, seed=1, progress=False).summary()["loss"]
    assert abs(loss["expected_mc"] - loss["expected"]) <= 4.0 * loss["stderr_mc"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"segment_factors": None}, "segment_factors"),
        ({"correlation": True}, "correlation"),
        ({"segment_factors": {"cards": "retail"}}, "loans"),
        ({"parameterization": "centred"}, "parameterization"),
    ],
)
def test_bad_sector_configs_exit_2_without_traceback(tmp_path, capsys, extra, message):
    _panel().to_csv(tmp_path / "panel.csv", index=False)  # refused before any sampling
    cfg = {"model": "sector", "states": STATES, "segment_factors": SEGMENT_FACTORS, **SAMPLING}
    cfg.update(extra)
    cfg = {k: v for k, v in cfg.items() if v is not None}
    config = _config(tmp_path, **cfg)
    code = main(["fit", str(tmp_path / "panel.csv"), "--config", config, "--out", "x.nc"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "x.nc").exists()
