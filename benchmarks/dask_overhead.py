"""Dask overhead: the bundled baseline scenario in-process against a local Dask cluster.

Runs ``--paths`` paths (default 10^5) of ``scenarios/baseline.yaml`` (36 periods, 8 cohorts,
122,000 customers) with the same seed, for ``keep: paths`` (every per-period output) and
``keep: totals``:

1. in-process (threads; ``backend: local``),
2. on a ``--workers``-process cluster from `riskmodel.simulation.cluster.local_cluster` (one
   thread per process, loopback), started once and reached by its address as a real cluster
   would be. Its start-up is timed apart: the ratio is printed without and with it.

In-process and Dask runs are interleaved and each figure is the median of ``--repeats`` runs, so
that load from other processes hits both alike; CPU seconds (less sensitive to that load) are
printed beside the wall times. Every Dask result is checked bit-identical to the in-process one.

Scaling: paths/s against the number of worker processes (1 and ``--workers``), and from the
task timings of the distributed client (``get_task_stream``) the per-task efficiency
compute / (compute + overhead), where the overhead is a worker's time between its tasks
(scheduling, transfers), and the serial fraction (the part of a run no worker computes:
planning, scattering, assembling the results). With them, Amdahl's law projects the efficiency
per worker of larger clusters: speed-up(n) = 1 / (s + (1 - s) / (n e)).

Optional rows: ``--engine`` (``backend: dask`` with no address: the engine starts and closes a
cluster per run) and ``--dask-defaults`` (a cluster with Dask's default worker settings, for
comparison with riskmodel's; see `riskmodel.simulation.cluster`).

Run:  python benchmarks/dask_overhead.py [--paths 100000] [--repeats 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import riskmodel as rm  # noqa: E402
from riskmodel.simulation.cluster import local_cluster  # noqa: E402

TASK_PREFIX = "riskmodel-task"


def _cpu(processes: list[psutil.Process]) -> float:
    return sum(p.cpu_times().user + p.cpu_times().system for p in processes)


class DaskRig:
    """A cluster reached by address, a client for task timings, and its worker processes."""

    def __init__(self, n_workers: int, *, defaults: bool = False) -> None:
        import distributed

        t0 = time.perf_counter()
        if defaults:
            self.cluster = distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
            )
        else:
            self.cluster = local_cluster(n_workers)
        self.startup = time.perf_counter() - t0
        self.address = self.cluster.scheduler_address
        self.client = distributed.Client(self.address)
        pids = self.client.run(os.getpid).values()
        self.workers = [psutil.Process(p) for p in pids]
        self.n = n_workers

    def run(self, fn: Callable[[], Any]) -> tuple[float, Any, dict[str, float]]:
        """Wall time, result and timings of one run on this cluster."""
        import distributed

        me = [psutil.Process()]
        cw, cm = _cpu(self.workers), _cpu(me)
        t_wall = time.time()
        t0 = time.perf_counter()
        with distributed.get_task_stream(client=self.client) as stream:
            out = fn()
        wall = time.perf_counter() - t0
        timing = task_timings(stream.data, t_wall, wall)
        timing["cpu_workers"] = _cpu(self.workers) - cw
        timing["cpu_client"] = _cpu(me) - cm
        return wall, out, timing

    def close(self) -> None:
        self.client.close()
        self.cluster.close()


def task_timings(stream: list[dict[str, Any]], t_start: float, wall: float) -> dict[str, float]:
    """Per-task compute and overhead, and the serial part of a run, from a task stream.

    compute: summed 'compute' intervals of the run's tasks. overhead: summed gaps between a
    worker's consecutive tasks (waiting for, receiving and answering tasks). serial: the run's
    wall time before the first task starts and after the last one ends.
    """
    by_worker: dict[str, list[tuple[float, float]]] = {}
    for task in stream:
        if not str(task["key"]).startswith(TASK_PREFIX):
            continue
        for ss in task["startstops"]:
            if ss["action"] == "compute":
                by_worker.setdefault(task["worker"], []).append((ss["start"], ss["stop"]))
    spans = [iv for ivs in by_worker.values() for iv in ivs]
    compute = sum(b - a for a, b in spans)
    overhead = 0.0
    for ivs in by_worker.values():
        ivs.sort()
        overhead += sum(max(0.0, nxt[0] - prev[1]) for prev, nxt in itertools.pairwise(ivs))
    first = min(a for a, _ in spans)
    last = max(b for _, b in spans)
    serial = (first - t_start) + (t_start + wall - last)
    return {
        "tasks": float(len(spans)),
        "compute": compute,
        "overhead": overhead,
        "serial": serial,
        "wall": wall,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall and CPU time of one call of `fn` in this process, and its result."""
    me = [psutil.Process()]
    c0 = _cpu(me)
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, (out, _cpu(me) - c0)


def same_numbers(a: rm.SimulationResult, b: rm.SimulationResult, what: str) -> None:
    """Assert every variable of two results is bit-identical."""
    assert set(a.data.variables) == set(b.data.variables), what
    for v in a.data.variables:
        np.testing.assert_array_equal(a.data[v].values, b.data[v].values, err_msg=f"{what}: {v}")


def compare(sc: rm.Scenario, rig: DaskRig, run: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Interleaved in-process and Dask runs of `sc`; medians, CPU and task timings."""
    local_t, dask_t, local_cpu, timings = [], [], [], []
    for _ in range(repeats):
        t, (local, cpu) = timed(lambda: rm.simulate(sc, backend="local", **run))
        local_t.append(t)
        local_cpu.append(cpu)
        t, res, timing = rig.run(lambda: rm.simulate(sc, scheduler=rig.address, **run))
        dask_t.append(t)
        timings.append(timing)
        same_numbers(local, res, f"keep {sc.config.simulation.keep}")
    return {
        "local": statistics.median(local_t),
        "dask": statistics.median(dask_t),
        "local_runs": local_t,
        "dask_runs": dask_t,
        "local_cpu": statistics.median(local_cpu),
        "timing": {k: statistics.median(t[k] for t in timings) for k in timings[0]},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    ap.add_argument("--engine", action="store_true", help="also time engine-started clusters")
    ap.add_argument(
        "--dask-defaults", action="store_true", help="also time Dask's default worker settings"
    )
    args = ap.parse_args()

    base = rm.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    n, w = args.paths, args.workers
    run = dict(paths=n, seed=7, batch=args.batch, progress=False)
    print(
        f"baseline: {base.horizon} periods, {len(base.portfolio.table)} cohorts, "
        f"{base.portfolio.total_customers:,} customers; {n:,} paths, batch {args.batch}, "
        f"{os.cpu_count()} CPUs, median of {args.repeats} interleaved repeats"
    )
    print(f"uptime load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rm.simulate(base, paths=2048, seed=7, progress=False)  # warm-up (imports, caches)

    rig = DaskRig(w)
    results = {}
    try:
        for keep in ("paths", "totals"):
            sc = base.with_options(simulation={"keep": keep})
            results[keep] = compare(sc, rig, run, args.repeats)
    finally:
        rig.close()
    one = DaskRig(1)
    try:
        t1, _, timing1 = one.run(lambda: rm.simulate(base, scheduler=one.address, **run))
    finally:
        one.close()

    threads = min(-(-n // args.batch), os.cpu_count() or 1)
    for keep, r in results.items():
        tm = r["timing"]
        print(f"\nkeep: {keep}")
        print(
            f"  in-process, {threads} threads     : {n / r['local']:7.0f} paths/s  (runs "
            + ", ".join(f"{t:.1f}" for t in r["local_runs"])
            + " s)"
        )
        print(
            f"  Dask {w} workers, by address   : {n / r['dask']:7.0f} paths/s  (runs "
            + ", ".join(f"{t:.1f}" for t in r["dask_runs"])
            + " s)"
        )
        print(f"  time ratio Dask / in-process, start-up excluded: {r['dask'] / r['local']:.3f}")
        print(
            f"  time ratio Dask / in-process, start-up included: "
            f"{(rig.startup + r['dask']) / r['local']:.3f}  (start-up {rig.startup:.1f} s)"
        )
        print(
            f"  CPU seconds: in-process {r['local_cpu']:.1f}; Dask workers "
            f"{tm['cpu_workers']:.1f} + client and scheduler {tm['cpu_client']:.1f} "
            f"(ratio {(tm['cpu_workers'] + tm['cpu_client']) / r['local_cpu']:.3f})"
        )
        print("  results bit-identical to in-process: yes")

    print("\nscaling (keep: paths), paths/s against worker processes:")
    per_worker = {1: (t1, timing1), w: (results["paths"]["dask"], results["paths"]["timing"])}
    for k, (t, _) in sorted(per_worker.items()):
        print(f"  {k} worker{'s' if k > 1 else ' '}: {n / t:7.0f} paths/s")
    if w > 1:
        print(f"  speed-up {w} / 1 workers: {t1 / results['paths']['dask']:.2f}")
    tm = timing1
    e = tm["compute"] / (tm["compute"] + tm["overhead"])
    s = tm["serial"] / tm["wall"]
    print(
        f"  from the 1-worker task timings: {tm['tasks']:.0f} tasks, compute "
        f"{tm['compute'] / tm['tasks'] * 1e3:.0f} ms and overhead "
        f"{tm['overhead'] / max(tm['tasks'] - 1, 1) * 1e3:.1f} ms per task: efficiency per task "
        f"compute/(compute+overhead) = {e:.3f}; serial fraction {s:.3f} "
        f"({tm['serial']:.2f} s of {tm['wall']:.1f} s)"
    )
    print("  projected (Amdahl) efficiency per worker, speed-up(n) / n:")
    for k in (1, 2, 4, 8, 16):
        speedup = 1.0 / (s + (1.0 - s) / (k * e))
        print(f"    {k:2d} workers: speed-up {speedup:5.2f}, efficiency {speedup / k:.3f}")

    if args.engine:
        sc_auto = base.with_options(simulation={"backend": "dask", "scheduler": None})
        t, _ = timed(lambda: rm.simulate(sc_auto, **run))
        print(
            f"\nengine-started cluster ({os.cpu_count()} workers, start-up and close "
            f"included): {n / t:7.0f} paths/s, ratio {t / results['paths']['local']:.3f}"
        )
    if args.dask_defaults:
        rig = DaskRig(w, defaults=True)
        try:
            t, _, tm = rig.run(lambda: rm.simulate(base, scheduler=rig.address, **run))
        finally:
            rig.close()
        print(
            f"\nDask's default cluster settings (profiler, monitors; malloc still tuned by the "
            f"tasks), {w} workers: {n / t:7.0f} paths/s, ratio "
            f"{t / results['paths']['local']:.3f} (one run), CPU workers {tm['cpu_workers']:.1f} "
            f"+ client and scheduler {tm['cpu_client']:.1f}"
        )
    print(f"\nuptime load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
