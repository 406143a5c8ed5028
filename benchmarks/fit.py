"""Fitting speed and MCMC quality of the transition models (10 segments x 6 lifecycle states).

    python benchmarks/fit.py [--cores N] [--skip-cold] [--seed S]

Prints:

- conjugate fit (``pooling="none"``) from counts: median wall time over repeats, including the
  4 x 1000 direct Dirichlet draws; target well under 1 s;
- partial pooling (NUTS, 4 chains x 1000 draws after 1000 tuning steps): wall time cold (a fresh
  process with an empty PyTensor compile cache, imports included) and warm (a second fit in the
  same process), divergences, max R-hat, min bulk ESS; targets (issue 13) <= 20 s cold,
  <= 4 s warm, 0 divergences, R-hat <= 1.01, ESS >= 400;
- the same fits on 10x the counts: the time must not change (the models see counts, and the
  Dirichlet–multinomial likelihood costs the same whatever the number of customers).

    python benchmarks/fit.py --samplers numpyro numpyro:vectorized pymc-numpyro pymc numba \
        nutpie blackjax [--cores-list 1 2]

compares NUTS implementations for the partial-pooling fit side by side, each in fresh processes:
``cold`` (a first fit in a fresh process, empty PyTensor and numba caches, imports included;
wall and CPU seconds), ``cache`` (a new process reusing the compile caches the cold run left),
``warm`` (median of three more fits in the same process on new counts of the same structure;
wall and CPU seconds), their median smallest bulk ESS and ESS per wall second. ``numpyro`` is
the default: NumPyro's NUTS in a JAX program compiled once per model structure and reused
(`riskmodel.models.partial_jax`; ``numpyro:vectorized`` runs its chains vectorised);
``pymc-numpyro`` is PyMC's own conversion to NumPyro (the default until 2026-12-02, compiled
anew for every fit). Samplers whose package is not installed are reported as such.

Measured 2026-12-02 on the 2-core machine shared by eight jobs (PyMC 5.28.5, PyTensor 2.38.3,
NumPyro 0.22, JAX 0.10.2), cores=1; the load average was 12-18, so wall times are 4-8x an idle
machine's and the CPU seconds are the comparable figure:

                                     cold s  cold cpu  warm s  warm cpu  min ESS  ESS/s
    pymc-numpyro (before)             263.9      38.2   118.0      15.5     2993     25
    numpyro, chains vectorised         64.3      18.8    15.5       3.6     3024    182
    numpyro, chains sequential (now)   88.7      15.6    24.1       2.9     2972    115
    pymc (C backend)                  707.4    16.1(*)   86.9      12.6     2853     32

(*) PyMC's C compiler runs in child processes, which the CPU column does not count.

(``warm s`` of the two numpyro rows ran at load 12 and 14; in one process, alternating the two
methods on the same counts at load 18: 3.6 against 3.4 CPU s per warm fit.) A warm fit costs
4-5x less CPU than before: it runs the compiled program (~2.9 s CPU, about 96,000 leapfrog
steps of ~15 us gradient plus NUTS bookkeeping) and draws the segment rows; PyMC rebuilt,
re-traced and recompiled its JAX graph on every fit. The last measurement on a quieter machine
(load ~2) gave pymc-numpyro 16.1 s cold and 7.9 s warm; scaled by the CPU ratios, the cached
program takes about 1.5-2 s warm and 7-8 s cold there (targets <= 4 s warm, <= 20 s cold).
ESS per CPU second: 2993/15.5 = 193 before, 2972/2.9 = 1,025 now.

Earlier rows (PyMC's C backend, numba, nutpie; load 2-14, one after another): pymc cores=1
55.6 s cold / 8.5 s warm at load 2 and 310 / 50 at load 6-14, cores=2 369 / 69; numba 381 / 117
and 174 / 73; nutpie 57 / 44 and 142 / 100; blackjax failed inside JAX under pm.sample. PyMC's
cold time is its C compilation. Parallel chain processes (cores=2) did not pay on this machine:
the two cores were never free.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from riskmodel.models import ConvergenceWarning, TransitionModel  # noqa: E402
from riskmodel.states import LIFECYCLE  # noqa: E402

MU = np.array(
    [
        [0.880, 0.085, 0.000, 0.012, 0.020, 0.003],
        [0.000, 0.918, 0.050, 0.018, 0.012, 0.002],
        [0.000, 0.005, 0.972, 0.013, 0.008, 0.002],
        [0.000, 0.010, 0.050, 0.880, 0.030, 0.030],
    ]
)
ZEROS = [("new", "mature"), ("growing", "new"), ("mature", "new"), ("declining", "new")]


def make_counts(seed: int, scale: int = 1, n_segments: int = 10) -> xr.DataArray:
    """Segment rows ~ Dirichlet(400 mu); 2,000..20,000 transitions per row (x scale)."""
    rng = np.random.default_rng(seed)
    allowed = MU > 0
    full = np.zeros((n_segments, 6, 6), dtype=np.int64)
    for s in range(n_segments):
        for r in range(4):
            p = np.zeros(6)
            p[allowed[r]] = rng.dirichlet(400 * MU[r, allowed[r]])
            full[s, r] = rng.multinomial(int(rng.integers(2_000, 20_000)) * scale, p)
    names = list(LIFECYCLE.names)
    return xr.DataArray(
        full,
        dims=("segment", "from_state", "to_state"),
        coords={
            "segment": [f"seg{k}" for k in range(n_segments)],
            "from_state": names,
            "to_state": names,
        },
    )


def time_conjugate(counts: xr.DataArray, repeats: int = 7) -> float:
    times = []
    for k in range(repeats):
        t0 = time.perf_counter()
        model = TransitionModel(LIFECYCLE, structural_zeros=ZEROS).fit(counts, seed=k)
        model.transition_matrix("mean")
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def fit_partial(
    counts: xr.DataArray, seed: int, cores: int | None, sampler: str | None = None
) -> tuple[float, dict]:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # we report diagnostics ourselves
        model = TransitionModel(LIFECYCLE, pooling="partial", structural_zeros=ZEROS).fit(
            counts, draws=1000, chains=4, seed=seed, cores=cores, nuts_sampler=sampler
        )
    return time.perf_counter() - t0, model.diagnostics


def worker(sampler: str, cores: int, seed: int, warm_fits: int = 3) -> None:
    """One process: a cold fit, then `warm_fits` on new counts; prints a JSON line.

    ``numpyro:vectorized`` / ``numpyro:sequential`` run the cached NumPyro program with that
    chain method (`riskmodel.models.partial_jax.CHAIN_METHOD`). Wall and CPU (process) times
    are both reported: on the shared machine the CPU time is the steadier figure.
    """
    if sampler.startswith("numpyro:"):
        from riskmodel.models import partial_jax

        sampler, partial_jax.CHAIN_METHOD = sampler.split(":")
    t0, c0 = time.perf_counter(), time.process_time()
    first, _ = fit_partial(make_counts(seed), seed + 100, cores, sampler)
    cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
    warm, cpu, ess, div, rhat = [], [], [], [], []
    for k in range(1, warm_fits + 1):
        counts = make_counts(seed + k)  # new data, same structure
        c0 = time.process_time()
        wall, diag = fit_partial(counts, seed + k, cores, sampler)
        cpu.append(time.process_time() - c0)
        warm.append(wall)
        ess.append(diag["min_ess_bulk"])
        div.append(diag["divergences"])
        rhat.append(diag["max_rhat"])
    print(
        json.dumps(
            {
                "cold": cold,
                "cold_cpu": cold_cpu,
                "first_fit": first,
                "warm": float(np.median(warm)),
                "warm_cpu": float(np.median(cpu)),
                "min_ess": float(np.median(ess)),
                "ess_per_s": float(np.median(np.array(ess) / np.array(warm))),
                "divergences": int(max(div)),
                "max_rhat": float(max(rhat)),
            }
        )
    )


def _run_worker(sampler: str, cores: int, seed: int, cache: str) -> dict:
    env = dict(
        os.environ,
        PYTENSOR_FLAGS=f"compiledir={cache}/pytensor",
        NUMBA_CACHE_DIR=f"{cache}/numba",
        JAX_PLATFORMS="cpu",
    )
    argv = [sys.executable, __file__, "--worker", sampler, str(cores), str(seed)]
    out = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:100]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare_samplers(samplers: list[str], cores_list: list[int], seed: int) -> None:
    """Cold, cache-reuse and warm timings per sampler and number of parallel chain processes."""
    print(
        f"{'sampler':18} {'cores':>5} {'cold s':>7} {'cpu':>6} {'cache s':>7} {'warm s':>7} "
        f"{'cpu':>6} {'min ESS':>8} {'ESS/s':>7} div  load"
    )
    for sampler in samplers:
        package = {"pymc-numpyro": "numpyro"}.get(sampler, sampler.split(":")[0])
        if package not in ("pymc", "numba") and importlib.util.find_spec(package) is None:
            print(f"{sampler:18} not installed (pip install {package})")
            continue
        for cores in cores_list:
            with tempfile.TemporaryDirectory() as cache:
                cold = _run_worker(sampler, cores, seed, cache)
                again = _run_worker(sampler, cores, seed, cache) if "error" not in cold else cold
            if "error" in cold:
                print(f"{sampler:18} {cores:5d} failed: {cold['error']}")
                continue
            print(
                f"{sampler:18} {cores:5d} {cold['cold']:7.1f} {cold['cold_cpu']:6.1f} "
                f"{again['cold']:7.1f} {cold['warm']:7.1f} {cold['warm_cpu']:6.1f} "
                f"{cold['min_ess']:8.0f} {cold['ess_per_s']:7.0f} {cold['divergences']:3d} "
                f"{os.getloadavg()[0]:5.1f}",
                flush=True,
            )


def cold_partial(seed: int, cores: int | None) -> float:
    """Wall time of a partial fit in a fresh process with an empty PyTensor cache."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from benchmarks.fit import make_counts, fit_partial\n"
        f"fit_partial(make_counts({seed}), {seed}, {cores!r})\n"
        "print(time.perf_counter() - t0)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, PYTENSOR_FLAGS=f"compiledir={cache}")
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(out.stdout.strip().splitlines()[-1])


def fmt_diag(d: dict) -> str:
    return (
        f"divergences {d['divergences']}, max R-hat {d['max_rhat']:.4f} ({d['max_rhat_var']}), "
        f"min bulk ESS {d['min_ess_bulk']:.0f} ({d['min_ess_bulk_var']})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="transition-model fitting benchmark")
    parser.add_argument("--cores", type=int, default=None, help="pm.sample cores (default PyMC's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--samplers", nargs="+", help="compare NUTS samplers (see above)")
    parser.add_argument("--cores-list", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    print(f"machine: {os.cpu_count()} cpus; load average {os.getloadavg()[0]:.2f}")
    if args.samplers:
        compare_samplers(args.samplers, args.cores_list, args.seed)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return

    counts, counts10 = make_counts(args.seed), make_counts(args.seed, scale=10)
    n1, n10 = int(counts.sum()), int(counts10.sum())
    print(f"data: 10 segments x 6 states; {n1:,} transitions (x10: {n10:,})")

    t1, t10 = time_conjugate(counts), time_conjugate(counts10)
    print(f"conjugate fit (4x1000 draws)   : {t1 * 1e3:7.1f} ms   x10 counts: {t10 * 1e3:7.1f} ms")

    if not args.skip_cold:
        cold = cold_partial(args.seed, args.cores)
        print(f"partial pooling, cold          : {cold:7.1f} s  (fresh process, empty cache)")
    fit_partial(make_counts(args.seed + 1), args.seed + 100, args.cores)  # compile
    warm, diag = fit_partial(counts, args.seed, args.cores)  # same structure, new counts
    print(f"partial pooling, warm          : {warm:7.1f} s  {fmt_diag(diag)}")
    warm10, diag10 = fit_partial(counts10, args.seed, args.cores)
    print(f"partial pooling, warm, x10     : {warm10:7.1f} s  {fmt_diag(diag10)}")


if __name__ == "__main__":
    main()
