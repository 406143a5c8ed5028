"""`riskmodel.simulation.store.assemble`: what a run's Dataset records of its sampling design.

The numbers are covered by the engine tests and the golden outputs; these tests pin what each
helper of `assemble` adds, for every importance-sampling design and both ``simulation.keep``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.simulation.engine import simulate_dataset
from riskmodel.simulation.store import PER_PERIOD, path_total


def _run(method: str | None, keep: str = "paths"):
    cfg = lifecycle_dict()
    cfg["simulation"] = {"importance_sampling": method is not None, "keep": keep}
    if method is not None:
        cfg["simulation"]["importance_method"] = method
    return simulate_dataset(rm.scenario_from_dict(cfg), paths=300, seed=4)


@pytest.mark.parametrize("method", ["tilt", "mixture", "shift", None])
def test_the_sampling_design_is_recorded(method):
    ds = _run(method)
    assert ds.attrs["importance_method"] == (method or "")
    assert ds["is_shift"].dims == ("period",)
    assert ("importance_theta" in ds.attrs) == (method == "tilt")
    assert ("is_means" in ds) == (method == "mixture")
    if method == "mixture":
        assert ds["is_means"].dims == ("is_component", "period")
        assert float(ds["is_probs"].sum()) == pytest.approx(1.0, abs=1e-12)
        # the recorded broad shift is the mixture's broad-downturn component
        np.testing.assert_array_equal(ds["is_shift"], ds["is_means"][1])
    if method is None:
        assert ds.attrs["importance_sampling"] == 0
        np.testing.assert_array_equal(ds["weight"], 1.0)


@pytest.mark.parametrize("keep", ["paths", "totals"])
def test_outputs_are_labelled_for_either_kind_of_result(keep):
    ds = _run("tilt", keep=keep)
    assert ds.attrs["keep"] == keep
    for name in PER_PERIOD:
        assert ds[name].attrs["units"] in ("currency", "customers")
        assert ds[name].dims == (("path", "period") if keep == "paths" else ("path",))
        assert (f"{name}_discounted" in ds) == (keep == "totals")
        assert (f"mc_mean_{name}" in ds) == (keep == "totals")


def test_a_totals_run_keeps_the_discounted_totals_of_the_paths_run():
    full, totals = _run("tilt"), _run("tilt", keep="totals")
    for name in PER_PERIOD:
        np.testing.assert_array_equal(
            path_total(totals, name, discounted=True), path_total(full, name, discounted=True)
        )
        # mc_mean: the weighted mean over paths per period, as from the kept paths
        mean = (full[name] * full["weight"]).mean("path")
        np.testing.assert_allclose(totals[f"mc_mean_{name}"], mean, rtol=1e-12)
