"""Sensitivity in seconds: the CLI default against one `riskmodel run`, measured in one process.

1. Times ``riskmodel sensitivity scenarios/baseline.yaml --out DIR`` (the default design:
   tornado + Sobol) and ``riskmodel run scenarios/baseline.yaml --out DIR``, alternately,
   `--repeat` times each, and prints the medians and their ratio (goal: the sensitivity default
   in at most 1.5x one run, and at most 30 s).
2. Prints, for every reported Sobol index, the index, the half-width of its interval and
   whether the interval is narrower than the index (goal: all, except indices whose whole
   interval lies below 0.05), and the method behind each metric (exact / large-pool with its
   measured error / engine).

Run:  python benchmarks/sensitivity.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from riskmodel.cli import main as cli  # noqa: E402

NEGLIGIBLE = 0.05


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(None):
        code = cli(argv)
    if code != 0:
        raise SystemExit(f"riskmodel {' '.join(argv)} exited with {code}")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """Print the timings, the ratio and the interval-versus-index table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    scenario = str(ROOT / "scenarios" / "baseline.yaml")
    runs, sens = [], []
    with tempfile.TemporaryDirectory() as tmp:
        _timed(["run", scenario, "--out", f"{tmp}/warm", "--no-progress"])  # imports, caches
        for i in range(args.repeat):
            runs.append(_timed(["run", scenario, "--out", f"{tmp}/run{i}", "--no-progress"]))
            sens.append(_timed(["sensitivity", scenario, "--out", f"{tmp}/sens{i}"]))
        report = json.loads(Path(f"{tmp}/sens0/sensitivity.json").read_text())
    t_run, t_sens = statistics.median(runs), statistics.median(sens)
    print(f"riskmodel run (median of {args.repeat}):          {t_run:7.2f} s   {runs}")
    print(f"riskmodel sensitivity (median of {args.repeat}):  {t_sens:7.2f} s   {sens}")
    print(f"ratio sensitivity / run:                {t_sens / t_run:7.2f}   (goal <= 1.5)")
    settings = report["settings"]
    print(
        f"design: approximation {settings.get('approximation')}, Sobol estimator "
        f"{settings.get('sobol_estimator')}, n {settings.get('sobol_n')}, paths "
        f"{settings.get('sobol_paths')}, tornado paths {settings.get('tornado_paths')}, "
        f"check paths {settings.get('check_paths')}"
    )
    print("\nmethod per metric")
    for metric, block in report["metrics"].items():
        err = block.get("large_pool_error")
        extra = "" if err is None else f" (measured error vs engine: {100 * err:.2f}% max)"
        q2 = block.get("surrogate_q2")
        fit = "" if q2 is None else f"; surrogate Q2 {q2:.6f}"
        print(f"  {metric:14s} {block.get('method')}{extra}{fit}")
    print("\ninterval half-width vs index (narrower: yes/no; 'negligible' = whole interval < 0.05)")
    print(f"  {'metric':14s} {'factor':34s} {'index':5s} {'value':>8s} {'half-width':>10s}  ok")
    bad = 0
    for metric, block in report["metrics"].items():
        for row in block["factors"]:
            for index in ("S1", "ST"):
                val, conf = row[index], row[f"{index}_conf"]
                if val is None or conf is None:
                    continue
                if conf < abs(val):
                    ok = "yes"
                elif abs(val) + conf < NEGLIGIBLE:
                    ok = "negligible"
                else:
                    ok, bad = "NO", bad + 1
                print(
                    f"  {metric:14s} {row['factor']:34s} {index:5s} {val:8.4f} {conf:10.4f}  {ok}"
                )
    print(f"\nindices with an interval wider than the index (not negligible): {bad}")


if __name__ == "__main__":
    main()
