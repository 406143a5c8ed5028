"""Granularity: a book's tail with its 20 largest names simulated one by one vs spread in a pool.

The book (one period, PD 2%, asset correlation 0.12, LGD mean 45%, fixed or Beta with sd 20%,
exposure 1e9): a pool of 100,000 customers plus 20 names of 0.5% … 1.5% of the book (times
``--scale``), each a cohort of one customer with its own default draw. Book B puts the names'
exposure into the pool (same total, same PD). Per book and level the table shows

- ``simulated``: the engine's VaR with importance sampling (default tilt) and its standard error;
- ``ASRF``: ``μ(x_q)``, the VaR of the infinitely granular book (Vasicek);
- ``GA``: the first-order granularity adjustment (`riskmodel.metrics.granularity`);
- ``exact``: the VaR by convolution of the names given the factor and quadrature over the factor
  (`riskmodel.metrics.granularity_exact`; the pool in its large-pool limit);
- relative errors against ``exact``: of the simulation, of ``ASRF + GA`` and of ``ASRF`` alone.

Run:  python benchmarks/granularity.py [--paths 65536] [--seed 11] [--scale 1.0]

Measured (2026-12-02, 65,536 paths, seed 11, scale 1): see docs/granularity.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import riskmodel as rm
from riskmodel.metrics.granularity import granularity_adjustment
from riskmodel.metrics.granularity_exact import exact_pool_and_names_var

PD, RHO, LGD, TOTAL, CUSTOMERS = 0.02, 0.12, 0.45, 1.0e9, 100_000
LEVELS = (0.99, 0.999)


def scenario(names: np.ndarray, sd: float) -> rm.Scenario:
    """The pool plus `names` as cohorts of one customer."""
    cohorts = [
        {"segment": "b", "state": "ok", "customers": CUSTOMERS, "exposure": TOTAL - names.sum()}
    ]
    cohorts += [
        {"segment": "b", "state": "ok", "customers": 1, "exposure": float(e)} for e in names
    ]
    return rm.scenario_from_dict(
        {
            "name": "granularity",
            "horizon": 1,
            "states": {
                "names": ["ok", "defaulted"],
                "absorbing": ["defaulted"],
                "default": "defaulted",
            },
            "portfolio": {"cohorts": cohorts},
            "parameters": {"transitions": {"b": [[1 - PD, PD]]}},
            "systematic": {"correlation": RHO},
            "lgd": {"mean": LGD, "sd": sd},
            "outputs": {"levels": list(LEVELS)},
        }
    )


def measure(names: np.ndarray, sd: float, paths: int, seed: int) -> list[str]:
    """Rows of the table for one book."""
    t0 = time.perf_counter()
    m = rm.simulate(scenario(names, sd), paths=paths, seed=seed, progress=False).risk(levels=LEVELS)
    t_sim = time.perf_counter() - t0
    if names.size:
        rows = np.c_[names, np.full(names.size, PD), np.full(names.size, LGD)]
        exact = exact_pool_and_names_var(
            (TOTAL - names.sum(), PD, LGD), rows, RHO, LEVELS, lgd_sd=sd
        )
    else:
        exact = None
    out = []
    for i, q in enumerate(LEVELS):
        ga = granularity_adjustment(
            np.r_[names, TOTAL - names.sum()], PD, LGD, sd, RHO, q,
            customers=np.r_[np.ones(names.size), CUSTOMERS],
        )  # fmt: skip
        ref = ga.asrf_var if exact is None else float(exact[i])  # pool alone: Vasicek is exact

        def rel(v: float, ref: float = ref) -> str:
            return f"{100 * (v / ref - 1):+6.2f}%"

        out.append(
            f"{len(names):>5} {sd:4.2f} {q:6.3f}"
            f" {m.var[q] / 1e6:9.3f} ± {m.stderr_var[q] / 1e6:5.3f}"
            f" {ga.asrf_var / 1e6:8.3f} {ga.adjustment / 1e6:7.3f} {ga.var / 1e6:9.3f}"
            f" {ref / 1e6:9.3f} {rel(m.var[q])} {rel(ga.var)} {rel(ga.asrf_var)}  ({t_sim:.1f} s)"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=65_536)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the names' sizes")
    a = ap.parse_args()
    names = np.linspace(0.005, 0.015, 20) * TOTAL * a.scale
    print(
        f"book 1e9, PD {PD}, rho {RHO}, LGD mean {LGD}; names {names.min() / 1e6:.1f}"
        f"-{names.max() / 1e6:.1f}M ({names.sum() / TOTAL:.0%} of the book); {a.paths} paths, IS on"
    )
    print(
        "names   sd  level  sim VaR [M] ± s.e.     ASRF      GA  ASRF+GA     exact"
        "  sim err  GA err ASRF err"
    )
    for sd in (0.0, 0.2):
        for book in (names, np.zeros(0)):
            print("\n".join(measure(book, sd, a.paths, a.seed)))


if __name__ == "__main__":
    main()
