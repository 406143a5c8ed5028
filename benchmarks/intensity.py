"""IntensityModel maximum likelihood: time to fit a 4-state panel of ~600 subjects, ~2,800 rows.

Two panels: R msm's ``cav`` data (622 subjects, 2,846 rows, exact death; shipped in
``tests/models/data/msm_cav.csv``) and a synthetic panel from a known generator (600 subjects at
irregular times, `tests/models/intensity_testdata.py`). The target of issue 13 is ≤ 2 s per fit
(panel checks, optimisation and Hessian included).

A third MLE row fits covariates on a synthetic panel of 600 subjects (~2,800 rows) simulated
with a quarterly unemployment walk (one shared coefficient) and a subject risk grade (one
coefficient on each of two transitions), `tests/models/test_intensity_covariates.py`.

With ``--nuts``: cold NUTS fits in fresh processes (4 chains × 1,000 draws after 1,000 tuning
steps, on ``RISKMODEL_BENCH_CORES`` processes, default 2) with empty PyTensor and numba caches
(imports, compilation and sampling included), of the cav model and of the covariate model;
reports the wall time, the smallest bulk ESS over the intensities (and coefficients), R-hat and
divergences (targets: ≤ 60 s, ESS ≥ 400 for every intensity), and one gradient's cost.

Run:  python benchmarks/intensity.py [--repeats 5] [--nuts]
Prints the median wall time per fit and the fitted −2 log-likelihood.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import pandas as pd

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "models"))
from intensity_testdata import (  # noqa: E402
    ILLNESS,
    ILLNESS_ALLOWED,
    ILLNESS_Q,
    generator_of,
    simulate_panel,
)

import riskmodel as rm  # noqa: E402

CORES = int(os.environ.get("RISKMODEL_BENCH_CORES", "2"))
CAV_ALLOWED = [("1", "2"), ("1", "4"), ("2", "1"), ("2", "3"), ("2", "4"), ("3", "2"), ("3", "4")]


def time_fit(model_factory, panel, repeats: int, **cols) -> tuple[float, float]:
    """Median wall time of `repeats` MLE fits after a first one that warms the caches (numba
    compiles the gradient loop on its first use in a fresh environment, then loads it from its
    on-disk cache: covariate models only)."""
    t0 = time.perf_counter()
    model_factory().fit(panel, **cols)
    print(f"  (first fit {time.perf_counter() - t0:.3f} s)", end=" ")
    times, m2ll = [], float("nan")
    for _ in range(repeats):
        model = model_factory()
        t0 = time.perf_counter()
        model.fit(panel, **cols)
        times.append(time.perf_counter() - t0)
        m2ll = model.minus2loglik
    return statistics.median(times), m2ll


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nuts", action="store_true", help="time cold NUTS fits instead")
    parser.add_argument("--nuts-worker", choices=["cav", "covariates"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cpus; load average {os.getloadavg()[0]:.2f}")
    if args.nuts_worker:
        nuts(args.nuts_worker)
        return
    if args.nuts:
        for which in ("cav", "covariates"):
            cold_nuts(which)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return
    cav = pd.read_csv(os.path.join(HERE, "..", "tests", "models", "data", "msm_cav.csv"))
    states = rm.StateSpace(["1", "2", "3", "4"], absorbing=["4"], default="4")
    rm.IntensityModel  # noqa: B018 - import outside the timing
    t, m2ll = time_fit(
        lambda: rm.IntensityModel(states, allowed=CAV_ALLOWED, exact_states=["4"]),
        cav,
        args.repeats,
        subject="PTNUM",
        time="years",
        state="state",
    )
    print(f"cav: {cav['PTNUM'].nunique()} subjects, {len(cav)} rows: {t:.3f} s, -2LL {m2ll:.4f}")
    panel = simulate_panel(generator_of(ILLNESS, ILLNESS_Q), ILLNESS, n_subjects=600, seed=1)
    t, m2ll = time_fit(
        lambda: rm.IntensityModel(ILLNESS, allowed=ILLNESS_ALLOWED, exact_states=["dead"]),
        panel,
        args.repeats,
        subject="id",
        time="t",
        state="state",
    )
    print(f"synthetic: 600 subjects, {len(panel)} rows: {t:.3f} s, -2LL {m2ll:.4f}")
    panel, macro, kw = covariate_case()
    t, m2ll = time_fit(
        lambda: rm.IntensityModel(ILLNESS, **kw), panel, args.repeats, macro=macro, **COLS
    )
    print(f"covariates: 600 subjects, {len(panel)} rows: {t:.3f} s, -2LL {m2ll:.4f}")


COLS = {"subject": "id", "time": "t", "state": "state"}


def covariate_case():
    from test_intensity_covariates import SPEC, macro_series, simulate

    macro = macro_series(7)
    panel = simulate(600, 7, macro)
    kw = {"allowed": ILLNESS_ALLOWED, "exact_states": ["dead"], "covariates": SPEC}
    return panel, macro, kw


def cold_nuts(which: str) -> None:
    """One fit in a fresh process with empty PyTensor and numba caches."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(
            os.environ,
            PYTENSOR_FLAGS=f"compiledir={cache}/pytensor",
            NUMBA_CACHE_DIR=f"{cache}/numba",
        )
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--nuts-worker", which],
            env=env,
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - t0
    if out.returncode != 0:
        print(f"{which}: failed\n{out.stderr[-2000:]}")
        return
    print(f"{out.stdout.strip().splitlines()[-1]}; process wall {took:.1f} s (cold)")


def nuts(which: str) -> None:
    t0 = time.perf_counter()
    if which == "cav":
        panel = pd.read_csv(os.path.join(HERE, "..", "tests", "models", "data", "msm_cav.csv"))
        states = rm.StateSpace(["1", "2", "3", "4"], absorbing=["4"], default="4")
        model = rm.IntensityModel(states, allowed=CAV_ALLOWED, exact_states=["4"])
        cols, extra = {"subject": "PTNUM", "time": "years", "state": "state"}, {}
    else:
        panel, macro, kw = covariate_case()
        model, cols, extra = rm.IntensityModel(ILLNESS, **kw), COLS, {"macro": macro}
    t1 = time.perf_counter()
    model.fit(panel, method="nuts", seed=1, cores=CORES, **cols, **extra)
    took = time.perf_counter() - t1
    d = model.diagnostics
    ess = model.summary()["ess_bulk"].min()
    print(
        f"{which} NUTS 4x1000: fit {took:.1f} s (imports {t1 - t0:.1f} s), min bulk ESS "
        f"{d['min_ess_bulk']:.0f} (intensities {ess:.0f}), max R-hat {d['max_rhat']:.3f}, "
        f"divergences {d['divergences']}"
    )


if __name__ == "__main__":
    main()
