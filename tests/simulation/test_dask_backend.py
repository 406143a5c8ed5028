"""The Dask backend without a tax: inputs sent once, blocks reduced in the workers, the
caller's scheduler address always used (or refused with a clear error), never dropped.

One 2-worker cluster from `riskmodel.simulation.cluster.local_cluster` on loopback serves the
module; runs reach it by the address the caller gives, as they would a real cluster.
"""

from __future__ import annotations

import pickle
import socket
import time

import dask
import distributed  # required dependency (dask[distributed]): never skipped
import numpy as np
import pytest
import yaml
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.simulation.backends import dask_task, run_on_client, run_task
from riskmodel.simulation.cluster import (
    local_cluster,
    tune_worker_malloc,
)
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.plan import Sampling, plan_run
from riskmodel.simulation.store import BlockSummary, ResultStore, reduce_block

# Small runs check identities here; their tail levels are thin by design.
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

TASK_PREFIX = "riskmodel-task"


@pytest.fixture(scope="module")
def cluster():
    with local_cluster(2) as cl:
        yield cl


@pytest.fixture(scope="module")
def address(cluster):
    return cluster.scheduler_address


@pytest.fixture(scope="module")
def client(address):
    with distributed.Client(address) as c:
        yield c


def _scenario(keep: str, **extra) -> rm.Scenario:
    # two segments, five cohorts; alerts are evaluated block by block in a totals run
    cfg = lifecycle_dict(horizon=12, paths=5000, seed=23, rho=0.15)
    cfg["discount_rate"] = 0.004
    cfg["simulation"] = {"importance_sampling": True, "keep": keep, **extra}
    cfg["alerts"] = [{"name": "loss_spike", "metric": "loss", "threshold": 1.0e5}]
    return rm.scenario_from_dict(cfg)


def _assert_same_dataset(a: rm.SimulationResult, b: rm.SimulationResult) -> None:
    assert set(a.data.variables) == set(b.data.variables)
    for name in a.data.variables:
        np.testing.assert_array_equal(a.data[name].values, b.data[name].values, err_msg=name)
    assert a.summary() == b.summary()


@pytest.mark.parametrize("keep", ["paths", "totals"])
def test_dask_gives_the_local_numbers_bit_for_bit(address, keep):
    # every variable of the dataset, not only the per-path outputs: totals, discounted totals,
    # per-period weighted means and the alert sums are reduced in the workers
    sc = _scenario(keep)
    local = rm.simulate(sc, backend="local", batch=2048, progress=False)
    on_dask = rm.simulate(sc, scheduler=address, batch=2048, progress=False)
    _assert_same_dataset(on_dask, local)
    if keep == "totals":
        assert "loss_discounted" in on_dask.data and "engine_alert_mean" in on_dask.data


def test_discounted_totals_equal_the_kept_paths_bit_for_bit():
    # the totals run discounts period by period, as path_total does for kept paths
    full = rm.simulate(_scenario("paths"), progress=False)
    totals = rm.simulate(_scenario("totals"), progress=False)
    for v in ("loss", "margin"):
        np.testing.assert_array_equal(
            totals.total(v, discounted=True).values, full.total(v, discounted=True).values
        )


class _Recorder:
    """A client that records what the backend sends, then does it on the real client."""

    def __init__(self, client: distributed.Client) -> None:
        self.client = client
        self.scattered: list[object] = []
        self.submitted: list[tuple] = []

    def scatter(self, data, **kwargs):
        self.scattered.append((data, kwargs))
        return self.client.scatter(data, **kwargs)

    def submit(self, fn, *args, **kwargs):
        self.submitted.append(args)
        return self.client.submit(fn, *args, **kwargs)

    def cancel(self, futures):
        return self.client.cancel(futures)


def test_inputs_go_once_and_totals_come_back_reduced(client):
    sc = _scenario("totals")
    inputs = build_kernel_inputs(sc)
    plan = plan_run(5000, 99, 1024)  # 5 tasks of one block
    store = _store(sc, "totals")
    recorder = _Recorder(client)
    run_on_client(recorder, inputs, plan, lambda n: None, Sampling(), store)

    # the kernel arrays travel once, to every worker; a task carries only its block indices
    [(data, kwargs)] = recorder.scattered
    assert kwargs["broadcast"] is True and data[0][0] is inputs
    assert len(recorder.submitted) == len(plan.tasks) == 5
    for args in recorder.submitted:
        assert isinstance(args[0], distributed.Future)
        assert len(pickle.dumps(args[1:])) < 1000

    # a worker answers with per-path totals, not (path, period) arrays
    summaries = client.submit(
        dask_task, (inputs, Sampling(), store.reduction), 99, [plan.blocks[0]], pure=False
    ).result()
    [summary] = summaries
    assert isinstance(summary, BlockSummary)
    assert all(rows.shape[0] == plan.blocks[0][2] for rows in summary.per_path.values())
    assert all(rows.ndim == 1 for name, rows in summary.per_path.items() if "loss_by" not in name)
    [raw] = run_task(inputs, 99, [plan.blocks[0]], Sampling())
    local = reduce_block(raw, store.reduction)
    for name, rows in local.per_path.items():
        np.testing.assert_array_equal(summary.per_path[name], rows, err_msg=name)
    np.testing.assert_array_equal(summary.period_sums, local.period_sums)


def _store(sc: rm.Scenario, keep: str) -> ResultStore:
    return ResultStore(
        sc.config.paths,
        sc.horizon,
        len(sc.segments),
        sc.states.n,
        sc.portfolio.n_cohorts,
        keep=keep,
        discount=np.ones(sc.horizon),
    )


def _riskmodel_tasks(stream: distributed.client.TaskStream) -> list[str]:
    return [t["key"] for t in stream.data if str(t["key"]).startswith(TASK_PREFIX)]


def test_a_given_address_is_used(client, address, tmp_path):
    # the run's tasks show up on the caller's scheduler: nothing silently runs elsewhere
    sc = _scenario("paths", batch=1024)
    with distributed.get_task_stream(client=client) as stream:
        rm.simulate(sc, scheduler=address, progress=False)
    assert len(_riskmodel_tasks(stream)) == 5  # 5,000 paths: five tasks of one block

    cfg = lifecycle_dict(horizon=3, paths=2048, seed=5)
    cfg["simulation"] = {"batch": 1024}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with distributed.get_task_stream(client=client) as stream:
        argv = ["run", str(path), "--out", str(tmp_path / "o"), "--no-progress"]
        code = main([*argv, "--scheduler", address])
    assert code == 0
    assert len(_riskmodel_tasks(stream)) == 2


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the block ends


@pytest.mark.parametrize("kind", ["unreachable", "malformed"])
def test_a_bad_address_fails_naming_the_address_and_the_field(
    lifecycle_scenario, kind, capsys, short_scheduler_timeout
):
    address = (
        f"tcp://127.0.0.1:{_closed_port()}" if kind == "unreachable" else "tcp://no such host:x"
    )
    start = time.perf_counter()
    with pytest.raises(rm.SchedulerError) as info:
        rm.simulate(lifecycle_scenario, paths=1024, scheduler=address, progress=False)
    assert time.perf_counter() - start < short_scheduler_timeout + 5.0
    message = str(info.value)
    assert isinstance(info.value, rm.InputError)
    assert repr(address) in message
    assert "`scheduler`" in message and "--scheduler" in message


def test_a_bad_address_on_the_command_line_exits_2(tmp_path, capsys, short_scheduler_timeout):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(lifecycle_dict(horizon=3, paths=1024, seed=5)))
    address = f"tcp://127.0.0.1:{_closed_port()}"
    capsys.readouterr()
    code = main(
        ["run", str(path), "--out", str(tmp_path / "o"), "--no-progress", "--scheduler", address]
    )
    err = capsys.readouterr().err
    assert code == 2 and address in err and "--scheduler" in err and "Traceback" not in err


def test_workers_run_quiet_with_riskmodels_malloc_thresholds(client):
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_ set; the first task restores glibc's
    # large-array thresholds there (see riskmodel.simulation.cluster)
    tuned = client.run(tune_worker_malloc)
    assert list(tuned.values()) == [True, True]
    profiler = client.run(_profiler_enabled)
    assert list(profiler.values()) == [False, False]


def _profiler_enabled() -> bool:
    return bool(dask.config.get("distributed.worker.profile.enabled"))
