"""Run size: the memory of a run is estimated up front and an impossible run is refused (issue 11).

``simulate(paths=10**12)`` and ``--paths 1e9`` used to die with a MemoryError after allocating.
Now the estimate (paths × periods × what is kept) is compared with a limit before anything is
allocated, and the refusal says the estimate, the limit and the fix.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.simulation import engine, resources
from riskmodel.simulation.resources import WORKING_ARRAYS, memory_limit, run_bytes


@pytest.fixture
def scenario():
    return rm.scenario_from_dict(lifecycle_dict(horizon=6, paths=2048, seed=9))


def _refused_quickly(call) -> rm.ResourceLimitError:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(rm.ResourceLimitError) as info:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 50 * 2**20, f"allocated {peak / 2**20:.0f} MB before refusing"
    return info.value


@pytest.mark.parametrize("paths", [10**12, 10**9])
def test_a_huge_run_is_refused_before_allocating(scenario, paths, monkeypatch):
    monkeypatch.setenv("RISKMODEL_MEMORY_LIMIT", "16G")  # the same answer on every machine
    error = _refused_quickly(lambda: rm.simulate(scenario, paths=paths, progress=False))
    message = str(error)
    assert f"{paths:,} paths" in message
    assert "16.0 GB allowed" in message and "RISKMODEL_MEMORY_LIMIT" in message
    need = run_bytes(paths, 6, len(scenario.segments), scenario.portfolio.n_cohorts, "paths")
    assert resources.format_bytes(need) in message
    assert "run at most" in message and "keep: totals" in message
    assert isinstance(error, rm.InputError)


def test_the_schema_maximum_from_a_file_is_refused_too(scenario, monkeypatch):
    monkeypatch.setenv("RISKMODEL_MEMORY_LIMIT", "16G")
    big = scenario.with_options(paths=1_000_000_000)  # `--paths 1e9`: allowed by the schema
    _refused_quickly(lambda: rm.simulate(big, progress=False))


def test_the_estimate_covers_what_a_run_keeps(scenario):
    """The stored per-path arrays take what the formula says, less the working margin."""
    res = rm.simulate(scenario, paths=3000, progress=False)
    stored = sum(res.data[v].nbytes for v in res.data.data_vars if "path" in res.data[v].dims)
    n_seg, n_coh = len(scenario.segments), scenario.portfolio.n_cohorts
    estimate = run_bytes(3000, 6, n_seg, n_coh, "paths")
    assert stored == estimate - 8 * 3000 * WORKING_ARRAYS


def _in_flight_bytes(scenario, paths: int) -> int:
    # the kernel's blocks in flight, as the engine counts them (one block per worker thread)
    in_flight = engine.in_flight_paths(paths, scenario.config.simulation.workers)
    return resources.KERNEL_BYTES_PER_PATH_COHORT * in_flight * scenario.portfolio.n_cohorts


def test_keep_totals_is_offered_and_fits(scenario):
    n_seg, n_coh = len(scenario.segments), scenario.portfolio.n_cohorts
    paths = 20_000
    kernel = _in_flight_bytes(scenario, paths)
    full = run_bytes(paths, 6, n_seg, n_coh, "paths") + kernel
    totals = run_bytes(paths, 6, n_seg, n_coh, "totals") + kernel
    limit = (full + totals) // 2  # too small for the paths, enough for the totals
    assert totals < limit < full
    with pytest.raises(rm.ResourceLimitError, match=r"simulation: \{keep: totals\}"):
        rm.simulate(scenario, paths=paths, memory_limit=limit, progress=False)
    lean = scenario.with_options(simulation={"keep": "totals"})
    res = rm.simulate(lean, paths=paths, memory_limit=limit, progress=False)
    assert res.paths == paths


def test_the_fewer_paths_advice_fits(scenario):
    limit = 10 * 2**20
    with pytest.raises(rm.ResourceLimitError) as info:
        rm.simulate(scenario, paths=10**6, memory_limit=limit, progress=False)
    advised = int(str(info.value).split("run at most ")[1].split(" paths")[0].replace(",", ""))
    res = rm.simulate(scenario, paths=advised, memory_limit=limit, progress=False)
    assert res.paths == advised
    with pytest.raises(rm.ResourceLimitError):
        rm.simulate(scenario, paths=advised + 1, memory_limit=limit, progress=False)


def test_a_comparison_counts_every_scenario(scenario):
    other = scenario.with_options(name="other")
    results = run_bytes(4096, 6, len(scenario.segments), scenario.portfolio.n_cohorts, "paths")
    one = results + _in_flight_bytes(scenario, 4096)  # the blocks in flight count once
    limit = one + results // 2  # one scenario fits, two do not
    rm.simulate(scenario, paths=4096, memory_limit=limit, progress=False)
    with pytest.raises(rm.ResourceLimitError, match="2 scenarios"):
        rm.compare_scenarios([scenario, other], paths=4096, memory_limit=limit)


def test_the_limit_follows_the_machine_and_the_environment(monkeypatch):
    monkeypatch.delenv("RISKMODEL_MEMORY_LIMIT", raising=False)
    physical = resources._physical_memory()
    assert physical is not None and physical > 0
    assert memory_limit() == int(physical * resources.MEMORY_FRACTION)
    assert memory_limit(12345) == 12345
    for text, expected in [("512M", 512 * 2**20), ("8G", 8 * 2**30), ("1.5GB", int(1.5 * 2**30))]:
        monkeypatch.setenv("RISKMODEL_MEMORY_LIMIT", text)
        assert memory_limit() == expected
    monkeypatch.setenv("RISKMODEL_MEMORY_LIMIT", "lots")
    with pytest.raises(rm.ArgumentError, match="RISKMODEL_MEMORY_LIMIT"):
        memory_limit()


def test_normal_runs_are_not_affected(scenario):
    """The check changes no number: the same seed gives the same paths with or without a limit."""
    a = rm.simulate(scenario, paths=2048, progress=False)
    b = rm.simulate(scenario, paths=2048, memory_limit=2**40, progress=False)
    np.testing.assert_array_equal(a.data["loss"], b.data["loss"])


def test_the_command_line_refuses_a_huge_run_with_exit_2(
    write_scenario, tmp_path, monkeypatch, capsys
):
    from riskmodel.cli import main

    monkeypatch.setenv("RISKMODEL_MEMORY_LIMIT", "16G")
    path = write_scenario(lifecycle_dict(horizon=6, paths=2048, seed=9), "big.yaml")
    out = tmp_path / "out"
    start = time.perf_counter()
    code = main(["run", str(path), "--paths", "1000000000", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and time.perf_counter() - start < 30.0  # generous: shared CI cores
    assert "1,000,000,000 paths" in err and "run at most" in err and "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- blocks in flight
def test_many_cohorts_count_the_kernels_working_arrays(scenario):
    # 10⁵ cohorts × one block of 1,024 paths per worker: ~25 GiB of (path, cohort, state)
    # arrays in flight, which killed a run at 23 GB before this was counted; the results of
    # 1,000 paths (keep: totals) are only ~0.8 GB, so the check must see the blocks.
    limit = 4 * 2**30
    results = run_bytes(1000, 60, 4, 100_000, "totals")
    assert results < limit
    with pytest.raises(rm.ResourceLimitError) as info:
        resources.check_run_memory(
            1000, 60, 4, 100_000, "totals", limit=limit, in_flight_paths=1000
        )
    msg = str(info.value)
    assert "100,000 cohorts" in msg and "1,000 paths at once" in msg
    assert "merge cohorts" in msg and "workers: 1" in msg
    kernel = resources.KERNEL_BYTES_PER_PATH_COHORT * 1000 * 100_000
    assert resources.format_bytes(kernel) in msg
    # the same book with nothing in flight fits: the kept results alone are small
    assert resources.check_run_memory(1000, 60, 4, 100_000, "totals", limit=limit) == results


def test_the_engine_passes_its_blocks_in_flight(scenario, monkeypatch):
    # a book of 3,000 small cohorts, 64 paths (one block), 1 worker: the kernel's working set
    # (256 B × 64 × 3,000 ≈ 49 MB) is over a 40 MB limit whose results part (< 2 MB) fits
    cohorts = [
        {"segment": "cards", "state": "mature", "customers": 3, "exposure": 300.0 + k}
        for k in range(3000)
    ]
    d = lifecycle_dict(horizon=6, paths=64, seed=9)
    d["portfolio"] = {"cohorts": cohorts}
    d["simulation"] = {"keep": "totals", "workers": 1}
    sc = rm.scenario_from_dict(d)
    err = _refused_quickly(lambda: rm.simulate(sc, memory_limit=40 * 2**20))
    assert "3,000 cohorts" in str(err) and "64 paths at once" in str(err)
    # and a limit that holds the blocks lets it run
    assert rm.simulate(sc, paths=64, memory_limit=200 * 2**20).paths == 64
