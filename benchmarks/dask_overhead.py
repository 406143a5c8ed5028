"""Dask overhead: the bundled baseline scenario in-process against a local 2-worker Dask cluster.

Runs 10^5 paths of ``scenarios/baseline.yaml`` (36 periods, 8 cohorts, 122,000 customers) with
the same seed three ways:

1. in-process (threads; ``backend: local``),
2. on a 2-worker ``LocalCluster`` (one thread per worker process, loopback) started once and
   reached by its address, as a real cluster would be. The cluster's start-up is timed apart and
   excluded from the per-run figure, then reported included (start-up + median run),
3. ``backend: dask`` with no address, so the engine starts (and closes) a local cluster per run.

Each is the median of ``--repeats`` runs; in-process and by-address runs are interleaved so
that load from other processes hits both alike. Results are checked to be bit-identical.
Prints paths/s and the time ratio Dask / in-process (1 = no overhead).

Run:  python benchmarks/dask_overhead.py [--paths 100000] [--repeats 3] [--batch 4096]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import riskmodel as rm  # noqa: E402


def timed(fn) -> tuple[float, object]:
    """Wall time of one call of `fn` and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    args = ap.parse_args()

    from dask.distributed import LocalCluster

    sc = rm.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    n, seed = args.paths, 7
    run = dict(paths=n, seed=seed, batch=args.batch, progress=False)
    load0 = os.getloadavg()[0]
    print(
        f"baseline: {sc.horizon} periods, {len(sc.portfolio.table)} cohorts, "
        f"{sc.portfolio.total_customers:,} customers; {n:,} paths, batch {args.batch}, "
        f"{os.cpu_count()} CPUs, median of {args.repeats} interleaved repeats"
    )
    rm.simulate(sc, paths=2048, seed=seed, progress=False)  # warm-up (imports, caches)

    t_start, cluster = timed(
        lambda: LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
    )
    address = cluster.scheduler_address  # from the caller: scenario files never name one
    sc_auto = sc.with_options(simulation={"backend": "dask", "scheduler": None})
    # interleave the methods so that load from other processes hits them alike
    times: dict[str, list[float]] = {"local": [], "address": [], "engine": []}
    results = {}
    try:
        for _ in range(args.repeats):
            for key, fn in (
                ("local", lambda: rm.simulate(sc, backend="local", **run)),
                ("address", lambda: rm.simulate(sc, scheduler=address, **run)),
            ):
                t, results[key] = timed(fn)
                times[key].append(t)
    finally:
        cluster.close()
    for _ in range(args.repeats):  # the engine starts and closes its own cluster per run
        t, results["engine"] = timed(lambda: rm.simulate(sc_auto, **run))
        times["engine"].append(t)

    for v in ("loss", "defaults", "churn", "margin", "loss_by_segment", "draw"):
        for key in ("address", "engine"):
            np.testing.assert_array_equal(
                results["local"].data[v], results[key].data[v], err_msg=f"{key}: {v}"
            )

    med = {k: statistics.median(v) for k, v in times.items()}
    runs = {k: ", ".join(f"{t:.1f}" for t in v) for k, v in times.items()}
    local_threads = min(-(-n // args.batch), os.cpu_count() or 1)
    w = args.workers
    rows = [
        (f"in-process, {local_threads} threads", n / med["local"], f"runs {runs['local']} s"),
        (f"Dask {w} workers, start-up excluded", n / med["address"], f"runs {runs['address']} s"),
        (
            f"Dask {w} workers, start-up included",
            n / (t_start + med["address"]),
            f"start-up {t_start:.1f} s + median run {med['address']:.1f} s",
        ),
        (
            "Dask, cluster started by the engine",
            n / med["engine"],
            f"runs {runs['engine']} s ({os.cpu_count()} workers, start-up and close included)",
        ),
    ]
    for label, rate, note in rows:
        print(f"{label:<38}: {rate:7.0f} paths/s  ({note})")
    print(f"{'cluster start-up':<38}: {t_start:7.2f} s")
    print(f"{'time ratio Dask / in-process, excluded':<38}: {med['address'] / med['local']:7.2f}")
    print(
        f"{'time ratio Dask / in-process, included':<38}: "
        f"{(t_start + med['address']) / med['local']:7.2f}"
    )
    print(f"{'time ratio engine-started / in-process':<38}: {med['engine'] / med['local']:7.2f}")
    print("results bit-identical across backends: yes")
    print(f"1-min load average before / after: {load0:.1f} / {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
