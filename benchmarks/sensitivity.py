"""Sensitivity analysis cost and the value of common random numbers, on the baseline scenario.

1. Times the CLI default (`riskmodel.sensitivity.default_config`) on ``scenarios/baseline.yaml``
   method by method: exact metrics alone, the tornado, the Sobol design.
2. Measures the standard error of tornado swings with common random numbers (one seed for the
   low and the high run, paired standard errors) against independent seeds (the standard errors
   of the two runs combined), per factor and metric, as a ratio (smaller = CRN pays more).

Run:  python benchmarks/sensitivity.py [--paths 4096] [--skip-default]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import riskmodel as rm  # noqa: E402
from riskmodel.sensitivity import (  # noqa: E402
    SensitivityWarning,
    apply_factors,
    default_config,
    run_sensitivity,
    tornado,
)
from riskmodel.sensitivity.measures import EXACT_METRICS  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Print timings and CRN standard-error ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=4096)
    ap.add_argument("--skip-default", action="store_true")
    args = ap.parse_args(argv)
    sc = rm.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    cfg = default_config(sc)
    print("default factors:", ", ".join(f"{f.name} [{f.low:g}, {f.high:g}]" for f in cfg.factors))

    exact = cfg.model_copy(update={"metrics": list(EXACT_METRICS)})
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SensitivityWarning)
        run_sensitivity(sc, exact)
    print(f"exact metrics only (tornado + Sobol n={cfg.sobol.n}): {time.perf_counter() - t0:.1f} s")
    if not args.skip_default:
        for method in ("tornado", "sobol"):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SensitivityWarning)
                run_sensitivity(sc, cfg.model_copy(update={"method": [method]}))
            print(f"default {method}: {time.perf_counter() - t0:.1f} s")

    metrics = ["mean_loss", "var_0.99", "es_0.999"]
    res = tornado(sc, cfg.factors, metrics, paths=args.paths, seed=1)
    print(f"\nswing standard error, CRN / independent seeds ({args.paths} paths per run)")
    print(f"{'factor':38s}" + "".join(f"{m:>12s}" for m in metrics))
    levels = (0.99, 0.999)
    for f in cfg.factors:
        lo = rm.simulate(apply_factors(sc, {f.name: f.low}), paths=args.paths, seed=1).risk(
            levels=levels
        )
        hi = rm.simulate(apply_factors(sc, {f.name: f.high}), paths=args.paths, seed=2).risk(
            levels=levels
        )
        indep = {
            "mean_loss": math.hypot(lo.stderr_expected, hi.stderr_expected),
            "var_0.99": math.hypot(lo.stderr_var[0.99], hi.stderr_var[0.99]),
            "es_0.999": math.hypot(lo.stderr_es[0.999], hi.stderr_es[0.999]),
        }
        crn = res.data["swing_stderr"].sel(factor=f.name)
        ratios = [float(crn.sel(metric=m)) / indep[m] for m in metrics]
        print(f"{f.name:38s}" + "".join(f"{r:12.3f}" for r in ratios))


if __name__ == "__main__":
    main()
