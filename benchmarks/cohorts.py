"""Cost and memory of many cohorts: N cohorts × 60 periods, importance sampling on (issue 15).

Run:  python benchmarks/cohorts.py [--cohorts 1000 10000 100000] [--paths 100 1000]
          [--before-max 10000] [--engine-max 100000] [--timeout 600]
          [--approximation none|large_pool] [--min-customers 1000] [--summary]

Each measurement runs in a fresh process (so its peak resident memory, VmHWM, is its own) on a
seeded synthetic portfolio of N cohorts in 4 segments and 4 transient states with lognormal
exposures and 50-5,000 customers, 60 periods, ``keep: totals``, the importance-sampling tilt of
the bundled scenarios. It prints the setup time (kernel inputs and the importance-sampling
design, `riskmodel.simulation.plan.plan_sampling`), the engine time (`rm.simulate` minus that
setup), the engine's cost per cohort-period-path in ns (wall and CPU: on a loaded machine the
wall time is the CPU time stretched by the load), the peak memory after the run, and whether
the large-pool cohorts were pooled into units. With ``--summary`` the run is followed, in the
same process, by its summary (``res.summary()``, what ``riskmodel run`` writes to
``summary.json``; its Euler contributions by cohort), timed, and the last peak includes it.
The setup is also timed "before": the large-pool model per cohort (``AGGREGATE_MIN_COHORTS`` set
past N), as before the aggregation by segment, up to ``--before-max`` cohorts; the ratio is
before / after.
Past ``--engine-max`` cohorts only the setup is measured. The machine's load (``uptime``) is
printed with the figures. Three engine modes:

- ``--approximation none``: every cohort exact (binomial chains, a Beta LGD per cohort-period);
- ``--approximation large_pool`` (``--min-customers 1000``): cohorts of 1,000 customers or more
  (about 80% here) by their conditional expectation, the rest exact;
- ``--approximation large_pool --min-customers 1``: every cohort by its conditional
  expectation. From 1,000 such cohorts they are pooled into one unit per segment and starting
  state (`riskmodel.simulation.pooled`): cost independent of the number of cohorts, apart from
  spreading each path's unit losses over the cohorts (``loss_by_cohort``).

Measured 2026-12-02 on the shared 2-core machine (load average 6-7, so wall ≈ 2-3 × CPU):

================================  =====================================================
N cohorts × paths                 engine: wall, CPU, CPU ns per cohort-period-path, peak
================================  =====================================================
large_pool, all pooled
10³ × 1,000                       2.6 s, CPU 0.8 s, 14 ns; 0.19 GiB (0.22 with summary)
10⁴ × 1,000                       3.8 s, CPU 1.4 s, 2 ns; 0.34 GiB (0.58)
**10⁵ × 1,000 (the target)**      **18.0 s, CPU 6.3 s, 1.0 ns (3.0 ns wall); 1.81 GiB**
                                  (4.05 GiB with the summary, before its chunking; 1.81
                                  after, below); setup 0.48 s. An earlier run at load
                                  5.7: 13.3 s, CPU 5.1 s, 1.81 GiB
exact (approximation none)
10³ × 1,000 / 10⁴ × 100           CPU 1,434 / 1,461 ns (measured before the pooling;
                                  the exact kernel is unchanged)
10⁵ × 10                          341 s, CPU 129 s, 2,154 ns (with the run's fixed
                                  per-cohort work spread over 10 paths); 2.42 GiB
================================  =====================================================

The setup no longer grows with the cohorts (measured earlier the same day, unchanged since):
per-cohort large-pool design 211 s (CPU 23.8 s, 0.83 GiB) → 0.74 s at 10⁴ cohorts, 283× wall;
> 5 min and 5.9 GB → 0.87 s (0.31 GiB) at 10⁵.

The summary (``--summary``, 10⁵ × 1,000, all pooled; the same seeded run before and after the
Euler contributions were computed over chunks of columns, `riskmodel.metrics.euler_columns`;
measured back to back at 12:09-12:12 UTC, load average 3-5):

=========================  ==========================  ================================
                           before (HEAD 111ca26)       after (chunks of 2 MiB)
=========================  ==========================  ================================
engine                     25.5 s, CPU 8.5 s           10.9 s, CPU 6.9 s
summary                    53.1 s, CPU 17.7 s          6.5 s, CPU 4.3 s (4.1× less CPU)
peak after the run         1.81 GiB                    1.81 GiB
peak after the summary     **4.05 GiB**                **1.81 GiB** (the run's own peak)
=========================  ==========================  ================================

An earlier pair that day (load 6-7): summary 51.5 s (CPU 15.8 s), 4.05 GiB before; 24.1 s
(CPU 9.4 s), 1.81 GiB with 64 MiB chunks. The summary's other parts (risk measures, exact
expectations, ECL, value, stresses, segment contributions) allocate no (paths × cohorts)
arrays (tracemalloc peaks below 1 MiB each); turning the 10⁵ cohort contributions into
``summary.json``'s dictionaries takes about 1.3 s CPU.

So the target of issue 15, 10⁵ cohorts × 60 periods × 1,000 paths in ≤ 5 minutes and ≤ 4 GiB,
is met by the large-pool approximation with every cohort pooled: 18 s wall on the loaded
machine (6.3 s CPU), 1.81 GiB after the run, about 1 ns CPU per cohort-period-path, and with
its summary (Euler contributions of 10⁵ cohorts, 4.3 s CPU) the peak stays 1.81 GiB.
Exact sampling cannot reach it: at ~1,450 ns CPU per cohort-period-path
(numpy's binomial alone costs 53-120 ns a draw, and a cohort-period draws up to 4 binomials per
origin plus a Beta) 10⁵ × 60 × 1,000 needs about 8,700 s CPU (73 min on 2 cores); measured at
10⁵ cohorts × 10 paths, 2,154 ns CPU, the per-run work on 10⁵ cohorts included. Its memory is
now bounded: a block over 2²² paths × cohorts is evolved in sub-blocks of paths
(`riskmodel.simulation.sub_blocks`; 41 paths at 10⁵ cohorts, about 1 GiB of kernel arrays), so
the run is accepted by the memory check (estimate 2.47 GiB) instead of refused (before: 26 GB per
block of 1,024 paths; a block of 1,000 paths was killed by the system at 23 GB); an exact run
of 10⁵ cohorts × 100 paths (three sub-blocks) had reached VmHWM 2.7 GiB after 2.3 min CPU when
it was stopped. With the default threshold (1,000 customers) about 20% of these cohorts stay
exact and dominate: ≈ 0.2 × 8,700 s CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

HORIZON = 60
SEGMENTS = ("cards", "loans", "sme", "mortgages")
ROWS = [  # new, growing, mature, declining -> new, growing, mature, declining, churned, defaulted
    [0.900, 0.075, 0.000, 0.012, 0.008, 0.005],
    [0.000, 0.930, 0.045, 0.012, 0.010, 0.003],
    [0.000, 0.010, 0.960, 0.018, 0.0105, 0.0015],
    [0.000, 0.020, 0.030, 0.880, 0.050, 0.020],
]


def scenario_dict(
    n_cohorts: int,
    paths: int,
    approximation: str = "none",
    seed: int = 15,
    min_customers: int = 1000,
) -> dict:
    """A seeded synthetic scenario of `n_cohorts` cohorts over 60 periods."""
    import numpy as np

    rng = np.random.default_rng(seed)
    names = ["new", "growing", "mature", "declining"]
    seg = rng.integers(0, len(SEGMENTS), n_cohorts)
    state = rng.integers(0, len(names), n_cohorts)
    customers = rng.integers(50, 5000, n_cohorts)
    ead = rng.lognormal(8.0, 1.0, n_cohorts)  # per customer
    cohorts = [
        {
            "segment": SEGMENTS[s],
            "state": names[k],
            "customers": int(n),
            "exposure": float(n * e),
            "margin": float(n * e * 0.002),
        }
        for s, k, n, e in zip(seg, state, customers, ead, strict=True)
    ]
    return {
        "name": f"cohorts-{n_cohorts}",
        "horizon": HORIZON,
        "paths": paths,
        "seed": seed,
        "states": {
            "names": [*names, "churned", "defaulted"],
            "absorbing": ["churned", "defaulted"],
            "default": "defaulted",
            "churn": "churned",
        },
        "portfolio": {"cohorts": cohorts},
        "parameters": {"transitions": {s: ROWS for s in SEGMENTS}},
        "systematic": {"correlation": 0.1},
        "lgd": {"mean": 0.45, "sd": 0.2, "downturn": {"sensitivity": 0.15}},
        "exposure": {"amortisation": 0.005},
        "discount_rate": 0.004,
        "simulation": {
            "importance_sampling": True,
            "keep": "totals",
            "approximation": approximation,
            "large_pool_min_customers": min_customers,
        },
    }


def cpu_s() -> float:
    """CPU time (user + system) of this process and its finished children, seconds."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def vm_hwm_gib() -> float:
    """Peak resident memory of this process (VmHWM), GiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def child(
    n_cohorts: int,
    paths: int,
    what: str,
    approximation: str,
    min_customers: int,
    summary: bool = False,
) -> dict:
    """One measurement in this (fresh) process: ``run``, ``setup`` or ``setup-before``.

    With `summary`, a run is followed by ``res.summary()`` (timed; the peak then includes it).
    """
    import riskmodel as rm
    from riskmodel.simulation import large_pool
    from riskmodel.simulation.engine import build_kernel_inputs
    from riskmodel.simulation.plan import plan_sampling

    sc = rm.scenario_from_dict(
        scenario_dict(n_cohorts, paths, approximation, min_customers=min_customers)
    )
    if what == "setup-before":
        large_pool.AGGREGATE_MIN_COHORTS = n_cohorts + 1  # the per-cohort model, as before
    hwm0 = vm_hwm_gib()
    c0 = cpu_s()
    t0 = time.perf_counter()
    inputs = build_kernel_inputs(sc)
    level = sc.config.simulation.importance_level or max(sc.config.outputs.levels)
    sampling = plan_sampling(sc, inputs, True, sc.config.simulation.qmc, None)
    setup = time.perf_counter() - t0
    setup_cpu = cpu_s() - c0
    out = {"setup_s": setup, "setup_cpu_s": setup_cpu, "tilt": sampling.tilt is not None}
    out["level"] = level
    if what == "run":
        c0 = cpu_s()
        t0 = time.perf_counter()
        res = rm.simulate(sc, paths=paths, progress=False)
        out["engine_hwm_gib"] = vm_hwm_gib()  # before the summary's metrics
        total = time.perf_counter() - t0
        engine = total - setup  # simulate redoes the setup
        engine_cpu = cpu_s() - c0 - setup_cpu
        out |= {
            "simulate_s": total,
            "engine_s": engine,
            "ns_per_cpp": engine / (n_cohorts * HORIZON * paths) * 1e9,
            "engine_cpu_s": engine_cpu,
            "cpu_ns_per_cpp": engine_cpu / (n_cohorts * HORIZON * paths) * 1e9,
            "pooled": int(res.data.attrs["large_pool_units"]),
        }
        out["es"] = float(res.risk("loss").es[0.999])
        if summary:  # the run's summary.json figures, as `riskmodel run` computes them
            c0 = cpu_s()
            t0 = time.perf_counter()
            out["es"] = float(res.summary()["loss"]["es"]["0.999"])
            out["summary_s"] = time.perf_counter() - t0
            out["summary_cpu_s"] = cpu_s() - c0
    out |= {"vm_hwm_gib": vm_hwm_gib(), "hwm_after_build_gib": hwm0}
    return out


def measure(
    n_cohorts: int, paths: int, what: str, timeout: float, args: argparse.Namespace
) -> dict:
    """Run `child` in a fresh process; {'timeout': s} if it ran past `timeout` seconds."""
    cmd = [sys.executable, __file__, "--child", what, str(n_cohorts), str(paths)]
    cmd += [args.approximation, str(args.min_customers), str(int(args.summary))]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    except subprocess.CalledProcessError as exc:
        return {"error": exc.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--paths", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--before-max", type=int, default=10_000)
    ap.add_argument("--engine-max", type=int, default=100_000)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--approximation", choices=["none", "large_pool"], default="none")
    ap.add_argument("--min-customers", type=int, default=1000)
    ap.add_argument(
        "--summary",
        action="store_true",
        help="also time res.summary() after each run (the peak then includes it)",
    )
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        what, n, p, approx, least, summary = args.child
        print(json.dumps(child(int(n), int(p), what, approx, int(least), summary == "1")))
        return
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime: {load}")
    for n in args.cohorts:
        before = None
        if n <= args.before_max:
            before = measure(n, min(args.paths), "setup-before", args.timeout, args)
            print(f"N={n:>7,d} setup before (per cohort): {fmt(before)}", flush=True)
        for p in args.paths:
            what = "run" if n <= args.engine_max else "setup"
            r = measure(n, p, what, args.timeout, args)
            line = f"N={n:>7,d} paths={p:>5,d}: {fmt(r)}"
            if before and "setup_s" in before and "setup_s" in r:
                line += f"; setup before/after {before['setup_s'] / r['setup_s']:.1f}x"
            print(line, flush=True)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


def fmt(r: dict) -> str:
    """One measurement as text."""
    if "timeout" in r:
        return f"ran past {r['timeout']:.0f} s (stopped)"
    if "error" in r:
        return f"failed: {r['error']}"
    s = f"setup {r['setup_s']:.2f} s (CPU {r['setup_cpu_s']:.2f} s)"
    if "engine_s" in r:
        s += (
            f", engine {r['engine_s']:.1f} s, CPU {r['engine_cpu_s']:.1f} s "
            f"({r['ns_per_cpp']:.0f} ns wall, {r['cpu_ns_per_cpp']:.0f} ns CPU per "
            "cohort-period-path)"
        )
    pooled = f", pooled units: {r['pooled']}" if "pooled" in r else ""
    if "engine_hwm_gib" in r:
        s += f", peak after the run {r['engine_hwm_gib']:.2f} GiB"
    if "summary_s" in r:
        s += f", summary {r['summary_s']:.1f} s (CPU {r['summary_cpu_s']:.1f} s)"
    return s + f", peak {r['vm_hwm_gib']:.2f} GiB (tilt: {r['tilt']}{pooled})"


if __name__ == "__main__":
    main()
