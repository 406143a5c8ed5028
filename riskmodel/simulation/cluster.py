"""Where a run's tasks go: the in-process engine, or a Dask cluster — and the network rule.

Network rule
------------
A scenario file alone never opens a network connection. A Dask scheduler speaks pickle: whoever
runs it can execute code in the client's process, so connecting to an address found in a file
would let an untrusted scenario run code on the user's machine. Therefore:

- the scheduler address comes from the caller: ``scheduler="tcp://…"`` in Python, or
  ``--scheduler`` on the command line;
- ``simulation.scheduler`` in a scenario stays valid in the schema (it is part of the version-1
  contract) but is not used on its own: a run that would connect to it raises a `ScenarioError`
  that names the address and the fix, unless the caller opts in with
  ``trust_scenario_scheduler=True`` (``--scheduler-from-scenario``);
- ``backend: dask`` without any address starts a local cluster on 127.0.0.1 for the run and
  closes it afterwards (no connection leaves the machine);
- an address that does not answer fails within `SCHEDULER_TIMEOUT` seconds with a
  `SchedulerError` naming the address and the ``scheduler`` setting, not after Dask's 30 s
  default; an address is never dropped in favour of another backend.

Loading and validating a scenario never reach this module.

Worker settings
---------------
Measured on the bundled baseline (``benchmarks/dask_overhead.py``), two settings cost a Dask
worker more than everything the engine ships:

- Dask starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting any glibc malloc threshold
  turns off glibc's dynamic mmap threshold, so every numpy temporary above 128 KiB (the kernel
  makes thousands per block) is a fresh ``mmap`` whose pages fault in on first touch: the kernel
  ran 20% slower, all of it system time. `tune_worker_malloc` (called by each task, once per
  process) sets the mmap threshold to 32 MiB and the trim threshold to 64 MiB, the values
  glibc's dynamic rule reaches by itself, unless ``MALLOC_MMAP_THRESHOLD_`` was chosen
  explicitly.
- Dask's statistical profiler (every 10 ms), system monitor (500 ms), memory monitor (100 ms) and
  event-loop tick (20 ms) took 30 ms of CPU per second per worker and 40 ms per second in the
  scheduler's process: 5% of two cores. The local clusters riskmodel starts (`local_cluster`)
  use `QUIET_CLUSTER_CONFIG`, which brings that to 3 and 7 ms per second. For a cluster of your
  own, set the same keys in its Dask configuration.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from riskmodel._validate import check_choice, check_flag, check_scheduler
from riskmodel.errors import ArgumentError, ScenarioError, SchedulerError
from riskmodel.scenarios.load import Scenario

__all__ = [
    "BACKENDS",
    "QUIET_CLUSTER_CONFIG",
    "SCHEDULER_TIMEOUT",
    "dask_client",
    "local_cluster",
    "resolve_backend",
    "resolve_scheduler",
    "tune_worker_malloc",
]

BACKENDS = ("local", "dask")
"""Engine backends: in-process threads, or a Dask cluster."""

SCHEDULER_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""

QUIET_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}
"""Dask settings of the local clusters riskmodel starts: no profiler, slower housekeeping.

Tasks are few and long (seconds), so the scheduler's queue balances them without stealing.
"""

_MIB = 1 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_malloc_tuned: bool | None = None


def resolve_backend(scenario: Scenario, backend: str | None, scheduler: str | None) -> str:
    """Choose the backend of a run.

    The caller's, else ``dask`` if the caller gave a scheduler address, else the scenario's
    ``simulation.backend``.

    Raises
    ------
    ArgumentError
        For an unknown backend, or a scheduler address given with ``backend="local"``.
    """
    backend = check_choice("backend", backend, BACKENDS)
    scheduler = check_scheduler(scheduler)
    if scheduler is not None and backend == "local":
        raise ArgumentError(
            f"`scheduler={scheduler!r}` sends the run to a Dask cluster but `backend='local'` "
            "runs it in this process; drop one of them (a scheduler implies backend='dask')."
        )
    if backend is not None:
        return backend
    return "dask" if scheduler is not None else scenario.config.simulation.backend


def resolve_scheduler(
    scenario: Scenario,
    scheduler: str | None,
    *,
    trust_scenario_scheduler: bool = False,
) -> str | None:
    """Return the Dask scheduler address a run may connect to (None: start a local cluster).

    Parameters
    ----------
    scenario : Scenario
    scheduler : str, optional
        The caller's address; it wins over the scenario's.
    trust_scenario_scheduler : bool, default False
        Use the scenario's ``simulation.scheduler`` when the caller gave none.

    Raises
    ------
    ScenarioError
        If the scenario names a scheduler, the caller gave none and did not opt in.
    """
    scheduler = check_scheduler(scheduler)
    trust = check_flag("trust_scenario_scheduler", trust_scenario_scheduler)
    if scheduler is not None:
        return scheduler
    named = scenario.config.simulation.scheduler
    if named is None:
        return None
    if trust:
        return named
    raise ScenarioError(
        scenario.source,
        [
            (
                "simulation -> scheduler",
                f"the file names the Dask scheduler {named!r}, and riskmodel does not connect "
                "to addresses from scenario files (a scheduler can run code on this machine). "
                f"To use it, pass `--scheduler {named}` on the command line (or `scheduler=` in "
                "Python); `--scheduler-from-scenario` (`trust_scenario_scheduler=True`) uses "
                "the file's address if you trust the file. Remove the key to run on a local "
                "cluster.",
            )
        ],
    )


def local_cluster(n_workers: int | None = None) -> Any:
    """Start a `dask.distributed.LocalCluster` on 127.0.0.1 the way riskmodel runs one.

    One process per worker with one thread each (the kernel holds the GIL between numpy
    calls, so threads in one process would serialise), `QUIET_CLUSTER_CONFIG`, and a dashboard
    on a free loopback port. The caller closes it (it is a context manager).

    Parameters
    ----------
    n_workers : int, optional
        Worker processes; default one per core.
    """
    import dask
    import distributed

    cluster_class: Any = distributed.LocalCluster
    with dask.config.set(QUIET_CLUSTER_CONFIG):
        return cluster_class(
            n_workers=n_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )


def tune_worker_malloc() -> bool:
    """Undo the cost of Dask's ``MALLOC_TRIM_THRESHOLD_`` in this (worker) process; idempotent.

    Sets glibc's mmap threshold to 32 MiB and trim threshold to 64 MiB when the trim threshold
    was set through the environment (as Dask's nanny does) and the mmap threshold was not. See
    the module notes. Returns whether the thresholds are riskmodel's in this process.
    """
    global _malloc_tuned
    if _malloc_tuned is None:
        _malloc_tuned = False
        wanted = (
            "MALLOC_TRIM_THRESHOLD_" in os.environ and "MALLOC_MMAP_THRESHOLD_" not in os.environ
        )
        if wanted and sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                _malloc_tuned = bool(
                    libc.mallopt(_M_MMAP_THRESHOLD, 32 * _MIB)
                    and libc.mallopt(_M_TRIM_THRESHOLD, 64 * _MIB)
                )
            except (OSError, AttributeError):  # not glibc
                pass
    return _malloc_tuned


@contextmanager
def dask_client(scheduler: str | None, *, timeout: float | None = None) -> Iterator[Any]:
    """Open a `dask.distributed.Client` for `scheduler`, or for a local cluster.

    The local cluster (`local_cluster`) is started (and closed) here when no address is given:
    one process per core on 127.0.0.1. `timeout` defaults to `SCHEDULER_TIMEOUT` (read when
    called).

    Raises
    ------
    SchedulerError
        If the address is malformed or the scheduler does not answer within `timeout` seconds;
        the message names the address and the ``scheduler`` setting.
    """
    import distributed

    client_class: Any = distributed.Client
    cluster = None
    if scheduler:
        client = _connect(scheduler, SCHEDULER_TIMEOUT if timeout is None else timeout)
    else:
        cluster = local_cluster()
        client = client_class(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


_FIELD = (
    "the `scheduler` setting (`scheduler=` in Python, `--scheduler` on the command line, or a "
    "trusted scenario's `simulation -> scheduler`)"
)


def _connect(scheduler: str, timeout: float) -> Any:
    """Check that `scheduler` answers as a Dask scheduler, then open a client to it.

    Dask's own ``Client(address, timeout=...)`` bounds the TCP connect only: a peer that
    accepts the connection and then stays silent blocks it for ever. The probe bounds the whole
    exchange (connect, handshake, one ``identity`` request) by `timeout`.
    """
    import distributed

    client_class: Any = distributed.Client
    try:
        _probe(scheduler, timeout)
        return client_class(scheduler, timeout=timeout)
    except (ValueError, TypeError, KeyError) as exc:  # a malformed address, or not Dask
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SchedulerError(
            f"cannot use {scheduler!r}, given as {_FIELD}, as a Dask scheduler address "
            f"({reason}). Give tcp://HOST:PORT of a running `dask scheduler`, or leave out the "
            "scheduler to run on this machine."
        ) from None
    except (OSError, TimeoutError) as exc:
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        if isinstance(exc, TimeoutError) and not reason:
            reason = "no answer"
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {scheduler!r}, given as {_FIELD}, within "
            f"{timeout:g} s ({reason}). Check that `dask scheduler` runs there and the address "
            "(tcp://HOST:PORT) is right, or leave out the scheduler to run on this machine."
        ) from None


async def _identity(scheduler: str, timeout: float) -> dict[str, Any]:
    from distributed.comm import core

    connect: Any = core.connect
    comm = await connect(scheduler, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        reply = await comm.read()
    finally:
        comm.abort()
    if not isinstance(reply, dict) or "type" not in reply:
        raise ValueError("the peer did not answer as a Dask scheduler")
    return reply


def _probe(scheduler: str, timeout: float) -> None:
    """Raise (TimeoutError, OSError, ...) unless `scheduler` answers within `timeout` seconds.

    Runs on its own event loop in a helper thread, so it works inside Jupyter's running loop.
    """

    def run() -> dict[str, Any]:
        return asyncio.run(asyncio.wait_for(_identity(scheduler, timeout), timeout))

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result(timeout=timeout + 5.0)
