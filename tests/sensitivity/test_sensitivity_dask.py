"""Sensitivity runs on the Dask backend give the in-process numbers, bit for bit."""

from __future__ import annotations

import warnings

import distributed  # required dependency (dask[distributed]): never skipped
import pytest

from riskmodel.sensitivity import SensitivityWarning, sobol, tornado


@pytest.fixture(scope="module")
def scheduler_address():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address


def test_dask_backend_matches_local(scenario, scheduler_address):
    factors = {"lgd.mean": (0.35, 0.55), "systematic.shift": (-0.5, 0.5)}
    metrics = ["var_0.99", "mean_loss"]
    kw = {"paths": 700, "seed": 3}
    assert tornado(scenario, factors, metrics, scheduler=scheduler_address, **kw).data.identical(
        tornado(scenario, factors, metrics, **kw).data
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)
        a = sobol(scenario, factors, metrics, n=8, paths=64, seed=3, scheduler=scheduler_address)
        b = sobol(scenario, factors, metrics, n=8, paths=64, seed=3)
    assert a.data["Y"].identical(b.data["Y"])
