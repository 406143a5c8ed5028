"""Granularity: a book's tail with its 20 largest names simulated one by one vs spread in a pool.

The book (one period, PD 2%, asset correlation 0.12, LGD mean 45%, fixed or Beta with sd 20%,
exposure 1e9): a pool of 100,000 customers plus 20 names of 0.5% … 1.5% of the book (times
``--scale``), listed in ``portfolio: names`` (each simulated on its own, with its own default
draw; ``--as-cohorts`` writes them as cohorts of one customer instead, which gives the same
numbers bit for bit). Book B puts the names' exposure into the pool (same total, same PD).
Book C (fixed LGD only) gives the names their own ``pd_multiplier: 2`` and ``lgd: 0.6``.
Per book and level the table shows

- ``simulated``: the engine's VaR with importance sampling (default tilt) and its standard error;
- ``ASRF``: ``μ(x_q)``, the VaR of the infinitely granular book (Vasicek);
- ``GA``: the first-order granularity adjustment (`riskmodel.metrics.granularity`);
- ``exact``: the VaR by convolution of the names given the factor and quadrature over the factor
  (`riskmodel.metrics.granularity_exact`; the pool in its large-pool limit);
- relative errors against ``exact``: of the simulation, of ``ASRF + GA`` and of ``ASRF`` alone.

Run:  python benchmarks/granularity.py [--paths 65536] [--seed 11] [--scale 1.0] [--as-cohorts]

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


def scenario(names: np.ndarray, sd: float, own: dict, as_cohorts: bool) -> rm.Scenario:
    """The pool plus `names`: in ``portfolio: names`` (with `own` multiplier and LGD), or as
    cohorts of one customer."""
    cohorts = [
        {"segment": "b", "state": "ok", "customers": CUSTOMERS, "exposure": TOTAL - names.sum()}
    ]
    portfolio: dict = {"cohorts": cohorts}
    if as_cohorts and not own:
        cohorts += [
            {"segment": "b", "state": "ok", "customers": 1, "exposure": float(e)} for e in names
        ]
    elif names.size:
        portfolio["names"] = [
            {"id": f"N{i:02d}", "segment": "b", "state": "ok", "exposure": float(e), **own}
            for i, e in enumerate(names)
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
            "portfolio": portfolio,
            "parameters": {"transitions": {"b": [[1 - PD, PD]]}},
            "systematic": {"correlation": RHO},
            "lgd": {"mean": LGD, "sd": sd},
            "outputs": {"levels": list(LEVELS)},
        }
    )


def measure(
    names: np.ndarray, sd: float, paths: int, seed: int, own: dict, as_cohorts: bool
) -> list[str]:
    """Rows of the table for one book."""
    t0 = time.perf_counter()
    sc = scenario(names, sd, own, as_cohorts)
    m = rm.simulate(sc, paths=paths, seed=seed, progress=False).risk(levels=LEVELS)
    t_sim = time.perf_counter() - t0
    pd, lgd = PD * own.get("pd_multiplier", 1.0), own.get("lgd", LGD)
    if names.size:
        rows = np.c_[names, np.full(names.size, pd), np.full(names.size, lgd)]
        exact = exact_pool_and_names_var(
            (TOTAL - names.sum(), PD, LGD), rows, RHO, LEVELS, lgd_sd=sd
        )
    else:
        exact = None
    out = []
    for i, q in enumerate(LEVELS):
        ga = granularity_adjustment(
            np.r_[names, TOTAL - names.sum()], np.r_[np.full(names.size, pd), PD],
            np.r_[np.full(names.size, lgd), LGD], sd, RHO, q,
            customers=np.r_[np.ones(names.size), CUSTOMERS],
        )  # fmt: skip
        ref = ga.asrf_var if exact is None else float(exact[i])  # pool alone: Vasicek is exact

        def rel(v: float, ref: float = ref) -> str:
            return f"{100 * (v / ref - 1):+6.2f}%"

        out.append(
            f"{len(names):>5}{'*' if own else ' '} {sd:4.2f} {q:6.3f}"
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
    ap.add_argument("--as-cohorts", action="store_true", help="names as cohorts of one customer")
    a = ap.parse_args()
    names = np.linspace(0.005, 0.015, 20) * TOTAL * a.scale
    print(
        f"book 1e9, PD {PD}, rho {RHO}, LGD mean {LGD}; names {names.min() / 1e6:.1f}"
        f"-{names.max() / 1e6:.1f}M ({names.sum() / TOTAL:.0%} of the book); {a.paths} paths, IS on"
    )
    print(
        "names    sd  level  sim VaR [M] ± s.e.     ASRF      GA  ASRF+GA     exact"
        "  sim err  GA err ASRF err   (* names with pd_multiplier 2, lgd 0.6)"
    )
    own = {"pd_multiplier": 2.0, "lgd": 0.6}
    books = [(0.0, names, {}), (0.0, np.zeros(0), {}), (0.0, names, own)]
    books += [(0.2, names, {}), (0.2, np.zeros(0), {})]
    for sd, book, extra in books:
        print("\n".join(measure(book, sd, a.paths, a.seed, extra, a.as_cohorts)))


if __name__ == "__main__":
    main()
