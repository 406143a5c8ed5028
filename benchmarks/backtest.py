"""Backtest speed: 10 segments × 6 states, a 12-period out-of-time panel of 500,000 rows.

Builds a conjugate (Dirichlet) posterior of 1,000 draws per segment from simulated history,
simulates an out-of-time panel of about 500,000 customer-period rows (`simulate_panel`, 13
periods so that 12 transitions per customer are observed), writes it to CSV, then times
``rm.backtest`` (a) on the DataFrame, (b) from the CSV path (reading included), without and with
an asset correlation in the posterior (correlation: 4,000 predictive samples of the systematic
factor). Prints the median of ``--repeats`` runs of each; the target is <= 10 s.

Then the many small backtests of tests/validation/test_backtest_power.py: its book (3 segments ×
4 origins × 12 periods, 200 draws), ``replicates=400, predictive_samples_n=1000``, on
``--small`` panels simulated from the posterior, without and with a correlation of 0.15; prints
the median over ``--repeats`` passes of the CPU time per backtest. (The correlated tails used to
be computed one cell at a time, 48 calls here: 210 ms per backtest against 35 ms without
correlation; batched over cells, 135 ms, the numbers bit for bit the same.)

Run:  python benchmarks/backtest.py [--rows 500000] [--repeats 3] [--small 20]
      (``--rows 0`` or ``--small 0`` skips that part)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "validation"))
import riskmodel as rm  # noqa: E402
from riskmodel.data.synthetic import simulate_panel  # noqa: E402

SEGMENTS = [f"seg{i:02d}" for i in range(10)]
BASE = np.array(
    [
        [0.80, 0.15, 0.00, 0.01, 0.03, 0.01],
        [0.00, 0.85, 0.10, 0.02, 0.02, 0.01],
        [0.00, 0.02, 0.92, 0.03, 0.02, 0.01],
        [0.00, 0.01, 0.08, 0.83, 0.05, 0.03],
        [0.00, 0.00, 0.00, 0.00, 1.00, 0.00],
        [0.00, 0.00, 0.00, 0.00, 0.00, 1.00],
    ]
)


def posterior(rng: np.random.Generator, n_draws: int = 1000) -> rm.ParameterDraws:
    """Dirichlet posterior per segment from 20,000 simulated transitions per origin."""
    ss = rm.LIFECYCLE
    t = np.zeros((n_draws, len(SEGMENTS), ss.n, ss.n))
    for s in range(len(SEGMENTS)):
        for i in ss.transient_idx:
            counts = rng.multinomial(20_000, BASE[i])
            t[:, s, i] = rng.dirichlet(counts + 0.5, size=n_draws)
        t[:, s, ss.absorbing_idx, ss.absorbing_idx] = 1.0
    return rm.ParameterDraws(ss, tuple(SEGMENTS), t)


def small_books(n_panels: int, repeats: int) -> None:
    """CPU time per backtest of the power test's book (module doc), without and with rho."""
    import xarray as xr
    from backtest_builders import power_book, simulate_counts

    segments = ("cards", "loans", "smb")
    draws, exposure = power_book(segments, 12)
    dims = ("period", "segment", "from_state", "to_state")
    coords = {"period": np.arange(12), "segment": list(segments)}
    for rho in (None, 0.15):
        d = draws if rho is None else draws.with_correlation(rho)
        panels = [
            xr.DataArray(simulate_counts(d, exposure, seed=s), dims=dims, coords=coords)
            for s in range(n_panels)
        ]
        per_backtest = []
        for _ in range(repeats):
            t0 = time.process_time()
            for s, counts in enumerate(panels):
                rm.backtest(d, counts, replicates=400, predictive_samples_n=1000, seed=s)
            per_backtest.append((time.process_time() - t0) / n_panels)
        ms = [t * 1e3 for t in per_backtest]
        print(
            f"small book, correlation {rho!s:5s} median {statistics.median(ms):6.1f} ms CPU "
            f"per backtest (min {min(ms):.1f}, {n_panels} panels)"
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--small", type=int, default=20, help="panels of the small-book part")
    args = ap.parse_args(argv)
    if args.rows > 0:
        large_panel(args.rows, args.repeats)
    if args.small > 0:
        small_books(args.small, args.repeats)


def large_panel(rows: int, repeats: int) -> None:
    """Wall time of one backtest of the large panel (module doc), four ways."""
    rng = np.random.default_rng(1)
    draws = posterior(rng)
    # customers that stay transient contribute 13 rows; absorption ends a history earlier
    per_segment = int(rows / 10 / 10.55)
    panel = simulate_panel(
        {s: BASE for s in SEGMENTS}, rm.LIFECYCLE, n_customers=per_segment, n_periods=13, seed=2
    )
    print(f"panel: {len(panel):,} rows, {panel['customer_id'].nunique():,} customers")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "panel.csv"
        panel.to_csv(path, index=False)
        cases = {
            "DataFrame, no correlation": (draws, panel),
            "CSV path, no correlation": (draws, path),
            "DataFrame, correlation 0.12": (draws.with_correlation(0.12), panel),
            "CSV path, correlation 0.12": (draws.with_correlation(0.12), path),
        }
        for name, (d, p) in cases.items():
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                res = rm.backtest(d, p)
                times.append(time.perf_counter() - t0)
            print(
                f"{name:30s} median {statistics.median(times):6.2f} s  "
                f"(min {min(times):.2f}, {len(res.tests)} tests, overall {res.overall})"
            )


if __name__ == "__main__":
    main()
