"""The engine-facing ParameterDraws contract and loading without PyMC."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from riskmodel.models import ParameterDraws, TransitionModel, load_parameter_draws
from riskmodel.states import StateSpace

SS = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")
REPO = Path(__file__).resolve().parents[2]


def draws(n: int = 5) -> ParameterDraws:
    rng = np.random.default_rng(0)
    rows = rng.dirichlet([8, 2, 1], size=(n, 2, 2))
    return ParameterDraws(SS, ("x", "y"), SS.full_matrix(rows))


def test_validation_messages():
    good = draws()
    with pytest.raises(ValueError, match="shape"):
        ParameterDraws(SS, ("x",), good.transitions)
    bad = good.transitions.copy()
    bad[0, 0, 0, 0] += 0.1
    with pytest.raises(ValueError, match="sum to 1"):
        ParameterDraws(SS, ("x", "y"), bad)
    bad = good.transitions.copy()
    bad[:, :, 2] = [0.5, 0.0, 0.5]
    with pytest.raises(ValueError, match="identity"):
        ParameterDraws(SS, ("x", "y"), bad)
    with pytest.raises(ValueError, match=r"correlation must have shape \(5,\)"):
        ParameterDraws(SS, ("x", "y"), good.transitions, correlation=np.full(3, 0.1))
    with pytest.raises(ValueError, match="intercepts"):
        ParameterDraws(SS, ("x", "y"), good.transitions, covariates=("u",))


def test_mean_take_and_with_correlation():
    d = draws()
    m = d.mean()
    assert m.n_draws == 1
    np.testing.assert_allclose(m.transitions[0], d.transitions.mean(0))
    np.testing.assert_allclose(m.transitions.sum(-1), 1.0)
    sub = d.take([4, 0])
    np.testing.assert_array_equal(sub.transitions[0], d.transitions[4])
    assert d.with_correlation(0.2).correlation.tolist() == [0.2] * 5
    same = d.with_correlation(np.linspace(0.1, 0.2, 5))
    np.testing.assert_allclose(same.correlation, np.linspace(0.1, 0.2, 5))
    resampled = d.with_correlation(np.array([0.1, 0.3]), seed=1)
    assert set(resampled.correlation) <= {0.1, 0.3}
    assert resampled.mean().correlation.shape == (1,)


def test_no_covariates_broadcast_over_macro_periods():
    d = draws()
    out = d.transitions_for_macro({"anything": np.zeros(7)})
    assert out.shape == (5, 7, 2, 3, 3)
    np.testing.assert_array_equal(out[:, 3], d.transitions)
    with pytest.raises(ValueError, match="no macro covariates"):
        d.transitions_for_macro({})


def test_round_trip_through_netcdf(tmp_path):
    d = draws().with_correlation(np.linspace(0.05, 0.25, 5))
    d.to_netcdf(tmp_path / "d.nc")
    back = load_parameter_draws(tmp_path / "d.nc")
    assert back.states == SS and back.segments == ("x", "y")
    np.testing.assert_array_equal(back.transitions, d.transitions)
    np.testing.assert_array_equal(back.correlation, d.correlation)
    with pytest.raises(FileNotFoundError):
        load_parameter_draws(tmp_path / "missing.nc")


def test_models_import_and_load_without_pymc(tmp_path):
    counts_model = TransitionModel(SS).fit(
        __import__("riskmodel.data.synthetic", fromlist=["x"]).simulate_panel(
            {"r": [[0.9, 0.08, 0.02], [0.3, 0.6, 0.1], [0, 0, 1]]},
            SS,
            n_customers=50,
            n_periods=4,
            seed=0,
        ),
        draws=10,
        chains=2,
        seed=0,
    )
    path = tmp_path / "tm.nc"
    counts_model.save(path)
    code = (
        "import sys, riskmodel.models as m\n"
        f"d = m.load_parameter_draws({str(path)!r})\n"
        "assert d.transitions.shape == (20, 1, 3, 3), d.transitions.shape\n"
        "assert 'pymc' not in sys.modules and 'arviz' not in sys.modules\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=REPO, env={"PYTHONPATH": str(REPO)}
    )
