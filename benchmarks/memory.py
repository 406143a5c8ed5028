"""Peak resident memory of a large run: 10^6 paths of the bundled baseline (target < 2 GiB).

Run:  python benchmarks/memory.py [--paths 1000000] [--keep totals|paths]
Prints the run time, the result's size and the process's peak RSS (ru_maxrss). `--keep totals`
(the default here, as the issue asks) keeps per-path totals and per-period means only;
`--keep paths` keeps every path's term structure as well.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import riskmodel as rm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--keep", choices=["totals", "paths"], default="totals")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    sc = rm.load_scenario(os.path.join(here, "..", "scenarios", "baseline.yaml"))
    sc = sc.with_options(simulation={"keep": args.keep})
    t0 = time.perf_counter()
    res = rm.simulate(sc, paths=args.paths, progress=False)
    elapsed = time.perf_counter() - t0
    summary = res.summary()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB
    print(
        f"{args.paths:,d} paths x {sc.horizon} periods, keep={args.keep}, in {elapsed:.1f} s "
        f"({args.paths / elapsed:,.0f} paths/s)"
    )
    print(
        f"result dataset: {res.data.nbytes / 1024**3:.2f} GiB; "
        f"ES 99.9% = {summary['loss']['es']['0.999']:,.0f}"
    )
    print(f"peak resident memory: {peak:.2f} GiB (target < 2 GiB)")


if __name__ == "__main__":
    main()
