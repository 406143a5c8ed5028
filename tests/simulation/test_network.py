"""The network rule: a scenario file alone never opens a connection (issue 11).

A hostile scenario names a scheduler at a TCP listener on 127.0.0.1. Loading, validating and
running it (Python, command line, comparison, sensitivity) must neither connect to the listener
nor call any socket connect; the run is refused with the address and the fix. An address the
caller gives that does not answer fails within seconds, not after Dask's 30 s default.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
import yaml
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.sensitivity import tornado
from riskmodel.simulation.cluster import SCHEDULER_TIMEOUT


@pytest.fixture
def listener():
    """A TCP listener on loopback that records whether anyone connected (bounded waits)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)

    def connections() -> int:
        n = 0
        while True:
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                return n
            conn.close()
            n += 1

    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    yield address, connections
    server.close()


@pytest.fixture
def connect_calls(monkeypatch):
    """Every outgoing socket connect in this process, recorded (and still performed)."""
    calls: list = []
    real_connect = socket.socket.connect
    real_create = socket.create_connection

    def connect(self, address):
        calls.append(address)
        return real_connect(self, address)

    def create_connection(address, *args, **kwargs):
        calls.append(address)
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return calls


def _hostile(tmp_path: Path, address: str, backend: str = "dask") -> Path:
    cfg = lifecycle_dict(horizon=3, paths=1024, seed=5)
    cfg["name"] = "hostile"
    cfg["simulation"] = {"backend": backend, "scheduler": address}
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_a_scenario_scheduler_is_never_connected_to(
    tmp_path, listener, connect_calls, capsys, short_scheduler_timeout
):
    address, connections = listener
    path = _hostile(tmp_path, address)
    scenario = rm.load_scenario(path)  # loading is fine: the key is valid in the schema
    assert main(["validate", str(path)]) == 0

    with pytest.raises(rm.ScenarioError) as info:
        rm.simulate(scenario, progress=False)
    message = str(info.value)
    assert address in message and f"--scheduler {address}" in message
    assert "does not connect to addresses from scenario files" in message
    assert "trust_scenario_scheduler" in message and str(path) in message

    for call in (
        lambda: rm.run(path, progress=False),
        lambda: rm.simulate(scenario, backend="dask", progress=False),
        lambda: rm.compare_scenarios([scenario], paths=1024),
        lambda: tornado(scenario, {"lgd.mean": (0.3, 0.5)}, ["var_0.99"], paths=1024),
        lambda: rm.run_sensitivity(
            scenario, {"factors": [{"name": "lgd.mean", "low": 0.3, "high": 0.5}]}, paths=1024
        ),
    ):
        with pytest.raises(rm.ScenarioError, match="does not connect"):
            call()

    capsys.readouterr()
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"--scheduler {address}" in err and "Traceback" not in err
    assert connect_calls == []
    assert connections() == 0

    # control: the recorders do see a connection when the caller opts in (the listener does not
    # speak Dask's protocol, so the run then fails within the scheduler timeout)
    with pytest.raises(rm.SchedulerError):
        rm.simulate(scenario, trust_scenario_scheduler=True, progress=False)
    assert connect_calls and connections() >= 1


def test_a_scenario_scheduler_is_ignored_by_the_local_backend(tmp_path, connect_calls):
    # `backend: local` never uses the address: the run goes ahead in this process
    scenario = rm.load_scenario(_hostile(tmp_path, "tcp://203.0.113.9:8786", backend="local"))
    res = rm.simulate(scenario, progress=False)
    assert res.paths == 1024
    assert connect_calls == []


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: nothing listens there


def test_an_unreachable_scheduler_fails_fast(lifecycle_scenario):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.perf_counter()
    with pytest.raises(rm.SchedulerError) as info:
        rm.simulate(lifecycle_scenario, paths=1024, scheduler=address, progress=False)
    elapsed = time.perf_counter() - start
    assert elapsed < SCHEDULER_TIMEOUT + 5.0, f"took {elapsed:.1f} s"
    assert address in str(info.value) and "dask scheduler" in str(info.value)
    assert isinstance(info.value, rm.InputError)


def test_a_trusted_but_unreachable_scenario_scheduler_fails_fast(tmp_path, short_scheduler_timeout):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    scenario = rm.load_scenario(_hostile(tmp_path, address))
    start = time.perf_counter()
    with pytest.raises(rm.SchedulerError, match=address) as info:
        rm.simulate(scenario, trust_scenario_scheduler=True, progress=False)
    assert time.perf_counter() - start < short_scheduler_timeout + 5.0
    assert "within 1 s" in str(info.value)  # the timeout in force is the one reported


@pytest.mark.parametrize("scheduler", ["", "   ", 8786, ["tcp://a:1"]])
def test_a_malformed_scheduler_argument_is_refused(lifecycle_scenario, scheduler):
    with pytest.raises(rm.ArgumentError, match="scheduler"):
        rm.simulate(lifecycle_scenario, scheduler=scheduler, progress=False)


def test_a_scheduler_with_the_local_backend_is_refused(lifecycle_scenario, connect_calls):
    with pytest.raises(rm.ArgumentError, match="backend='local'"):
        rm.simulate(
            lifecycle_scenario, backend="local", scheduler="tcp://127.0.0.1:1", progress=False
        )
    assert connect_calls == []
