"""save/load keeps the config with the posterior and refuses mismatches."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from models_testdata import ZEROS, pooled_data

from riskmodel.models import ModelFileError, TransitionModel, load_parameter_draws
from riskmodel.states import LIFECYCLE, StateSpace


@pytest.fixture(scope="module")
def conjugate_model():
    _, counts = pooled_data(seed=9)
    return TransitionModel(LIFECYCLE, structural_zeros=ZEROS, prior=0.5).fit(
        counts, draws=50, chains=2, seed=4
    )


def test_conjugate_round_trip(conjugate_model, tmp_path):
    path = tmp_path / "m.nc"
    conjugate_model.save(path)
    loaded = TransitionModel.load(path, states=LIFECYCLE, pooling="none", structural_zeros=ZEROS)
    assert loaded.pooling == "none" and loaded.prior["concentration"] == 0.5
    assert loaded.segments == conjugate_model.segments
    for stat in ("mean", 0.03):
        xr.testing.assert_allclose(
            loaded.transition_matrix(stat), conjugate_model.transition_matrix(stat)
        )
    np.testing.assert_array_equal(
        loaded.parameter_draws().transitions, conjugate_model.parameter_draws().transitions
    )
    xr.testing.assert_equal(loaded.counts, conjugate_model.counts)


def test_partial_round_trip(pooling_runs, tmp_path):
    model = pooling_runs[0][1]
    path = tmp_path / "p.nc"
    model.save(path)
    loaded = TransitionModel.load(path, pooling="partial")
    xr.testing.assert_allclose(loaded.transition_matrix(), model.transition_matrix())
    assert loaded.diagnostics == model.diagnostics
    assert list(loaded.summary().index) == list(model.summary().index)
    assert load_parameter_draws(path).n_draws == 800


def test_covariate_round_trip(covariate_run, tmp_path):
    model = covariate_run[0]
    path = tmp_path / "c.nc"
    model.save(path)
    back = load_parameter_draws(path)
    assert back.covariates == ("unemployment",)
    np.testing.assert_array_equal(back.coefficients, model.parameter_draws().coefficients)
    loaded = TransitionModel.load(path, covariates=["unemployment"])
    xr.testing.assert_allclose(loaded.transition_matrix(), model.transition_matrix())


def test_mismatched_or_edited_files_are_refused(conjugate_model, tmp_path):
    path = tmp_path / "m.nc"
    conjugate_model.save(path)
    other = StateSpace(["a", "b", "d"], absorbing=["d"], default="d")
    with pytest.raises(ModelFileError, match="saved with states="):
        TransitionModel.load(path, states=other)
    with pytest.raises(ModelFileError, match="pooling='none', but 'partial' was expected"):
        TransitionModel.load(path, pooling="partial")
    with pytest.raises(ModelFileError, match="covariates"):
        TransitionModel.load(path, covariates=["unemployment"])
    with pytest.raises(ModelFileError, match="structural_zeros"):
        TransitionModel.load(path, structural_zeros=[("new", "mature")])
    # edit the stored config behind the hash's back
    post = xr.load_dataset(path, group="posterior")
    post.attrs["riskmodel_config"] = post.attrs["riskmodel_config"].replace('"none"', '"partial"')
    edited = tmp_path / "edited.nc"
    post.to_netcdf(edited, group="posterior", mode="w")
    with pytest.raises(ModelFileError, match="attrs were edited"):
        TransitionModel.load(edited)
    # a plain ParameterDraws file is not a TransitionModel
    plain = tmp_path / "plain.nc"
    conjugate_model.parameter_draws().to_netcdf(plain)
    with pytest.raises(ModelFileError, match="not a saved TransitionModel"):
        TransitionModel.load(plain)
