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
  `SchedulerError` naming the address, not after Dask's 30 s default.

Loading and validating a scenario never reach this module.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from riskmodel._validate import check_choice, check_flag, check_scheduler
from riskmodel.errors import ArgumentError, ScenarioError, SchedulerError
from riskmodel.scenarios.load import Scenario

__all__ = [
    "BACKENDS",
    "SCHEDULER_TIMEOUT",
    "dask_client",
    "resolve_backend",
    "resolve_scheduler",
]

BACKENDS = ("local", "dask")
"""Engine backends: in-process threads, or a Dask cluster."""

SCHEDULER_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""


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


@contextmanager
def dask_client(scheduler: str | None, *, timeout: float = SCHEDULER_TIMEOUT) -> Iterator:
    """Open a `dask.distributed.Client` for `scheduler`, or for a local cluster.

    The local cluster is started (and closed) here when no address is given: one process per
    core on 127.0.0.1.

    Raises
    ------
    SchedulerError
        If the address is malformed or the scheduler does not answer within `timeout` seconds.
    """
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = _connect(Client, scheduler, timeout)
    else:
        cluster = LocalCluster(
            n_workers=os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(client_class, scheduler: str, timeout: float):
    """Check that `scheduler` answers as a Dask scheduler, then open a client to it.

    Dask's own ``Client(address, timeout=...)`` bounds the TCP connect only: a peer that
    accepts the connection and then stays silent blocks it for ever. The probe bounds the whole
    exchange (connect, handshake, one ``identity`` request) by `timeout`.
    """
    try:
        _probe(scheduler, timeout)
        return client_class(scheduler, timeout=timeout)
    except (ValueError, TypeError, KeyError) as exc:  # a malformed address, or not Dask
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise SchedulerError(
            f"cannot use {scheduler!r} as a Dask scheduler address ({reason}). Give "
            "tcp://HOST:PORT of a running `dask scheduler`, or leave out the scheduler to run "
            "on this machine."
        ) from None
    except (OSError, TimeoutError) as exc:
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        if isinstance(exc, TimeoutError) and not reason:
            reason = "no answer"
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s ({reason}). "
            "Check that `dask scheduler` runs there and the address (tcp://HOST:PORT) is "
            "right, or leave out the scheduler to run on this machine."
        ) from None


async def _identity(scheduler: str, timeout: float) -> dict:
    from distributed.comm import connect

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

    def run() -> dict:
        return asyncio.run(asyncio.wait_for(_identity(scheduler, timeout), timeout))

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result(timeout=timeout + 5.0)
