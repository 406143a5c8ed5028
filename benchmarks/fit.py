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

    python benchmarks/fit.py --samplers pymc numba nutpie numpyro blackjax [--cores 1 2]

compares NUTS implementations for the partial-pooling fit side by side, each in fresh processes:
``cold`` (empty PyTensor and numba caches, imports included), ``cache`` (a new process reusing the
compile caches the cold run left), ``warm`` (a second fit in the same process), the smallest bulk
ESS of the warm fit and ESS per second of warm wall time. Samplers whose package is not
installed are reported as such. Each row runs the fits once: run it a few times on a quiet
machine and read medians.

Measured 2026-12-02 on the 2-core machine shared with other jobs (PyMC 5.28.5, PyTensor 2.38.3,
NumPyro 0.22, JAX 0.10.2, nutpie 0.16.8), one chain process (cores=1), fresh caches:

    at load average ~2, run one after the other      cold s   warm s   min ESS
    pymc (C backend, the old default)                  55.6      8.5     2503
    numpyro (chains vectorised: the default now)       16.1      7.9     2938

    at load average ~6, the three run concurrently   cold s   warm s   min ESS
    pymc                                              263.2      (*)     2503
    nutpie                                            161.8     71.8     2441
    numpyro                                            87.7     49.6     2938
    (*) pymc's warm fit ran after the others had finished: not comparable.

Sequential rows at load 6-14 (--samplers, one after another, so loads differ): pymc cores=1
310 s cold / 50 s warm, cores=2 369 / 69; numba 381 / 117 and 174 / 73; nutpie 57 / 44 and
142 / 100; numpyro 62 / 33; blackjax failed inside JAX under pm.sample. PyMC's cold time is its
C compilation (55.6 s cold against 8.5 s warm); numpyro's XLA compilation is far cheaper, and
its vectorised chains halved a warm fit against sequential chains (13 against 26 s at load 3).
Parallel chain processes (cores=2) did not pay on this machine: the two cores were never free.
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


def worker(sampler: str, cores: int, seed: int) -> None:
    """One process: a cold fit, then a warm one; prints a JSON line (see `compare_samplers`)."""
    t0 = time.perf_counter()
    counts = make_counts(seed)
    first, _ = fit_partial(counts, seed + 100, cores, sampler)
    cold = time.perf_counter() - t0
    warm, diag = fit_partial(counts, seed, cores, sampler)
    print(
        json.dumps(
            {
                "cold": cold,
                "first_fit": first,
                "warm": warm,
                "min_ess": diag["min_ess_bulk"],
                "divergences": diag["divergences"],
                "max_rhat": diag["max_rhat"],
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
        f"{'sampler':10} {'cores':>5} {'cold s':>7} {'cache s':>7} {'warm s':>7} "
        f"{'min ESS':>8} {'ESS/s':>7} div"
    )
    for sampler in samplers:
        if sampler not in ("pymc", "numba") and importlib.util.find_spec(sampler) is None:
            print(f"{sampler:10} not installed (pip install {sampler})")
            continue
        for cores in cores_list:
            with tempfile.TemporaryDirectory() as cache:
                cold = _run_worker(sampler, cores, seed, cache)
                again = _run_worker(sampler, cores, seed, cache) if "error" not in cold else cold
            if "error" in cold:
                print(f"{sampler:10} {cores:5d} failed: {cold['error']}")
                continue
            print(
                f"{sampler:10} {cores:5d} {cold['cold']:7.1f} {again['cold']:7.1f} "
                f"{cold['warm']:7.1f} {cold['min_ess']:8.0f} "
                f"{cold['min_ess'] / cold['warm']:7.0f} {cold['divergences']}",
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
    fit_partial(counts, args.seed + 100, args.cores)  # warm the in-process caches
    warm, diag = fit_partial(counts, args.seed, args.cores)
    print(f"partial pooling, warm          : {warm:7.1f} s  {fmt_diag(diag)}")
    warm10, diag10 = fit_partial(counts10, args.seed, args.cores)
    print(f"partial pooling, warm, x10     : {warm10:7.1f} s  {fmt_diag(diag10)}")


if __name__ == "__main__":
    main()
