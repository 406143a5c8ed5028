"""The models package after its split (issue 12): public names stay where users import them.

Each pair is (module users import from, name): the object there must be the one its new home
defines, so code written against the old layout keeps working and sees one class, not a copy.
Options of the public containers are keyword-only (issue 12: ``Class(required, *, option=...)``).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.models.intensity_draws import GeneratorDraws
from riskmodel.models.parameter_draws import ParameterDraws

MOVED = [
    ("riskmodel.models.draws", "ParameterDraws", "riskmodel.models.parameter_draws"),
    ("riskmodel.models.draws", "MAX_POSTERIOR_BYTES", "riskmodel.models.netcdf_size"),
    ("riskmodel.models.draws", "check_netcdf_size", "riskmodel.models.netcdf_size"),
    ("riskmodel.models.draws", "netcdf_engine", "riskmodel.models.netcdf_size"),
    ("riskmodel.models.draws", "netcdf_memory_estimate", "riskmodel.models.netcdf_size"),
    ("riskmodel.models.transition", "DEFAULT_PRIOR", "riskmodel.models.transition_config"),
    ("riskmodel.models.intensity_likelihood", "prepare_panel", "riskmodel.models.intensity_panel"),
    (
        "riskmodel.models.intensity_likelihood",
        "PanelObservations",
        "riskmodel.models.intensity_panel",
    ),
    ("riskmodel.models.intensity_likelihood", "model_config", "riskmodel.models.intensity_config"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED, ids=[f"{o}.{n}" for o, n, _ in MOVED])
def test_moved_names_import_from_their_old_module(old, name, new):
    assert getattr(importlib.import_module(old), name) is getattr(
        importlib.import_module(new), name
    )


def test_package_names_are_the_moved_objects():
    assert rm.ParameterDraws is ParameterDraws
    assert rm.models.ParameterDraws is ParameterDraws


SS = rm.StateSpace(["a", "d"], absorbing=["d"], default="d")
P = np.array([[[[0.9, 0.1], [0.0, 1.0]]]])


def test_parameter_draws_options_are_keyword_only():
    assert ParameterDraws(SS, ("x",), P, correlation=[0.2]).correlation.tolist() == [0.2]
    with pytest.raises(TypeError, match="positional"):
        ParameterDraws(SS, ("x",), P, [0.2])


def test_generator_draws_options_are_keyword_only():
    Q = np.array([[[[-0.1, 0.1], [0.0, 0.0]]]])
    assert GeneratorDraws(SS, ("x",), Q, time_unit="year").time_unit == "year"
    with pytest.raises(TypeError, match="positional"):
        GeneratorDraws(SS, ("x",), Q, "year")
