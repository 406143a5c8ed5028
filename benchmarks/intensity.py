"""IntensityModel maximum likelihood: time to fit a 4-state panel of ~600 subjects, ~2,800 rows.

Two panels: R msm's ``cav`` data (622 subjects, 2,846 rows, exact death; shipped in
``tests/models/data/msm_cav.csv``) and a synthetic panel from a known generator (600 subjects at
irregular times, `tests/models/intensity_testdata.py`). The target of issue 13 is ≤ 2 s per fit
(panel checks, optimisation and Hessian included).

With ``--nuts``: one cold NUTS fit of the cav model in a fresh process (4 chains × 1,000 draws
after 1,000 tuning steps, on ``RISKMODEL_BENCH_CORES`` processes, default 2), reporting the wall
time and the smallest bulk ESS over the intensities (targets: ≤ 60 s, ESS ≥ 400).

Run:  python benchmarks/intensity.py [--repeats 5] [--nuts]
Prints the median wall time per fit and the fitted −2 log-likelihood.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
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
    parser.add_argument("--nuts", action="store_true", help="time one cold NUTS fit instead")
    args = parser.parse_args()
    if args.nuts:
        nuts()
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


def nuts() -> None:
    cav = pd.read_csv(os.path.join(HERE, "..", "tests", "models", "data", "msm_cav.csv"))
    states = rm.StateSpace(["1", "2", "3", "4"], absorbing=["4"], default="4")
    model = rm.IntensityModel(states, allowed=CAV_ALLOWED, exact_states=["4"])
    t0 = time.perf_counter()
    model.fit(cav, subject="PTNUM", time="years", state="state", method="nuts", seed=1, cores=CORES)
    took = time.perf_counter() - t0
    d = model.diagnostics
    print(
        f"cav NUTS 4x1000: {took:.1f} s, min bulk ESS {d['min_ess_bulk']:.0f}, "
        f"max R-hat {d['max_rhat']:.3f}, divergences {d['divergences']}"
    )


if __name__ == "__main__":
    main()
