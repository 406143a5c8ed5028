"""The Dask backend gives the in-process engine's numbers, bit for bit.

One 2-worker `LocalCluster` on loopback serves the module; runs reach it by the address the caller
gives (``scheduler="tcp://…"``, the command line's ``--scheduler``), as they would a real cluster.
A scenario file's own ``simulation.scheduler`` is used only when the caller trusts it.
"""

from __future__ import annotations

import distributed  # required dependency (dask[distributed]): never skipped
import numpy as np
import psutil
import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm

PER_PATH = ("loss", "defaults", "churn", "margin", "loss_by_segment", "weight", "draw")


def _children() -> set[int]:
    """Child processes, less multiprocessing's resource tracker (one per interpreter, by design)."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(_cmdline(p))
    }


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:  # exited meanwhile
        return []


@pytest.fixture(scope="module")
def scheduler_address():
    before = _children()
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # `None` still binds the HTTP server to port 8787 and warns when that port is taken (e.g.
        # by the cluster a no-address run starts); a free loopback port keeps tests independent
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster.scheduler_address
    _assert_no_leaked_processes(before)


def _assert_no_leaked_processes(before: set[int], timeout: float = 10.0) -> None:
    leaked = []
    for pid in _children() - before:
        try:
            leaked.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    _gone, alive = psutil.wait_procs(leaked, timeout=timeout)
    assert not alive, f"worker processes left running: {[p.pid for p in alive]}"


@pytest.fixture(scope="module")
def scenario():
    # two segments, five cohorts; 5,000 paths = 5 seeded blocks of 1,024, the last one short
    cfg = lifecycle_dict(horizon=12, paths=5000, seed=31)
    cfg["simulation"] = {"importance_sampling": True}  # the default tilt travels with the tasks
    return rm.scenario_from_dict(cfg)


@pytest.fixture(scope="module")
def in_process(scenario):
    return rm.simulate(scenario, batch=4096, backend="local", progress=False)


@pytest.mark.parametrize("batch", [1000, 4096])
def test_cluster_by_address_is_bit_identical(scenario, in_process, scheduler_address, batch):
    res = rm.simulate(scenario, batch=batch, scheduler=scheduler_address, progress=False)
    for v in PER_PATH:
        np.testing.assert_array_equal(res.data[v], in_process.data[v], err_msg=v)
    # per-period aggregates are sums in a fixed block order, so they match exactly too
    np.testing.assert_array_equal(res.data["occupancy"], in_process.data["occupancy"])
    assert res.summary() == in_process.summary()


def test_backend_argument_overrides_the_scenario(scenario, in_process, scheduler_address):
    # backend: local in the file; the caller's backend and address win
    res = rm.simulate(
        scenario, backend="dask", scheduler=scheduler_address, batch=2048, progress=False
    )
    np.testing.assert_array_equal(res.data["loss"], in_process.data["loss"])


def test_a_trusted_scenario_scheduler_is_used(scenario, in_process, scheduler_address):
    sc = scenario.with_options(simulation={"backend": "dask", "scheduler": scheduler_address})
    with pytest.raises(rm.ScenarioError, match="does not connect to addresses from scenario"):
        rm.simulate(sc, progress=False)
    res = rm.simulate(sc, trust_scenario_scheduler=True, batch=2048, progress=False)
    np.testing.assert_array_equal(res.data["loss"], in_process.data["loss"])


def test_without_address_a_local_cluster_is_started_and_closed(scenario):
    tiny = scenario.with_options(paths=1500, simulation={"backend": "dask", "batch": 1024})
    before = _children()
    res = rm.simulate(tiny, progress=False)
    _assert_no_leaked_processes(before)
    local = rm.simulate(tiny, backend="local", progress=False)
    for v in PER_PATH:
        np.testing.assert_array_equal(res.data[v], local.data[v], err_msg=v)


def test_a_comparison_runs_on_the_callers_scheduler(scenario, scheduler_address):
    other = scenario.with_options(name="other", systematic={"shift": -1.0})
    kw = {"paths": 2048, "seed": 4}
    on_dask = rm.compare_scenarios([scenario, other], scheduler=scheduler_address, **kw)
    local = rm.compare_scenarios([scenario, other], **kw)
    for name in ("lifecycle", "other"):
        np.testing.assert_array_equal(
            on_dask.results[name].data["loss"], local.results[name].data["loss"]
        )
