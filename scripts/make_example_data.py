"""Regenerate the bundled example data in riskmodel/data/examples/ from a fixed seed.

    python scripts/make_example_data.py [--seed 20240601] [--out riskmodel/data/examples]

Writes ``panel.csv`` (customer_id, period, state, segment) and ``macro.csv`` (period,
unemployment, gdp_growth): 36 months, segments ``cards`` and ``loans`` and a thin ``smb``
segment, on the default lifecycle. Transitions follow the multinomial-logit covariate model
(`riskmodel.data.synthetic.macro_driven_matrices`) with the rates and macro sensitivities below,
so the example exercises pooling and covariates alike.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.data.panel import EXAMPLE_STRUCTURAL_ZEROS
from riskmodel.data.synthetic import macro_driven_matrices, simulate_panel
from riskmodel.states import LIFECYCLE

N_PERIODS = 36
CUSTOMERS = {"cards": 420, "loans": 330, "smb": 24}
VARIABLES = ("unemployment", "gdp_growth")

# Monthly transition rates at average macro conditions (the "stay" probability is the rest).
RATES = {
    "cards": {
        "new": {"growing": 0.08, "declining": 0.010, "churned": 0.020, "defaulted": 0.0030},
        "growing": {"mature": 0.05, "declining": 0.015, "churned": 0.012, "defaulted": 0.0020},
        "mature": {"growing": 0.005, "declining": 0.012, "churned": 0.008, "defaulted": 0.0012},
        "declining": {"growing": 0.01, "mature": 0.04, "churned": 0.030, "defaulted": 0.0300},
    },
    "loans": {
        "new": {"growing": 0.06, "declining": 0.008, "churned": 0.010, "defaulted": 0.0020},
        "growing": {"mature": 0.04, "declining": 0.010, "churned": 0.008, "defaulted": 0.0015},
        "mature": {"growing": 0.004, "declining": 0.010, "churned": 0.006, "defaulted": 0.0010},
        "declining": {"growing": 0.01, "mature": 0.05, "churned": 0.020, "defaulted": 0.0250},
    },
    "smb": {
        "new": {"growing": 0.07, "declining": 0.015, "churned": 0.015, "defaulted": 0.0050},
        "growing": {"mature": 0.04, "declining": 0.020, "churned": 0.010, "defaulted": 0.0040},
        "mature": {"growing": 0.005, "declining": 0.015, "churned": 0.008, "defaulted": 0.0030},
        "declining": {"growing": 0.01, "mature": 0.03, "churned": 0.030, "defaulted": 0.0450},
    },
}
# Log-odds (vs staying) per unit of each variable: unemployment in %, GDP growth in % annualised.
SENSITIVITY = {
    "unemployment": {"declining": 0.15, "churned": 0.05, "defaulted": 0.25},
    "gdp_growth": {"declining": -0.05, "defaulted": -0.05},
}


def make_macro(rng: np.random.Generator) -> pd.DataFrame:
    """A mild recession: unemployment 4.5% -> ~7% around months 14-24, GDP growth dips below 0."""
    t = np.arange(N_PERIODS)
    bump = np.exp(-0.5 * ((t - 19) / 5.0) ** 2)
    unemployment = 4.5 + 2.5 * bump + rng.normal(0, 0.08, N_PERIODS).cumsum() * 0.3
    gdp_growth = 2.4 - 4.0 * np.exp(-0.5 * ((t - 16) / 4.5) ** 2) + rng.normal(0, 0.25, N_PERIODS)
    return pd.DataFrame(
        {"period": t, "unemployment": unemployment.round(2), "gdp_growth": gdp_growth.round(2)}
    )


def logit_parameters(macro: pd.DataFrame):
    """Intercepts per segment and shared coefficients, so RATES hold at the average macro."""
    ss = LIFECYCLE
    zeros = {(f, t) for f, t in EXAMPLE_STRUCTURAL_ZEROS}
    mean = macro[list(VARIABLES)].mean().to_numpy()
    coef = np.zeros((len(ss.transient), ss.n, len(VARIABLES)))
    for k, var in enumerate(VARIABLES):
        for r, origin in enumerate(ss.transient):
            for dest, b in SENSITIVITY[var].items():
                if dest != origin:
                    coef[r, ss.index(dest), k] = b
    intercepts = {}
    for seg, rows in RATES.items():
        a = np.full((len(ss.transient), ss.n), -np.inf)
        for r, origin in enumerate(ss.transient):
            stay = 1.0 - sum(rows[origin].values())
            a[r, ss.index(origin)] = 0.0
            for dest, p in rows[origin].items():
                if (origin, dest) in zeros:
                    raise ValueError(f"rate given for structural zero {origin} -> {dest}")
                a[r, ss.index(dest)] = np.log(p / stay) - coef[r, ss.index(dest)] @ mean
        intercepts[seg] = a
    coef[~np.isfinite(np.stack(list(intercepts.values()))).all(axis=0)] = 0.0
    return intercepts, coef


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "riskmodel/data/examples"
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    macro = make_macro(rng)
    intercepts, coef = logit_parameters(macro)
    mats = macro_driven_matrices(intercepts, coef, macro, VARIABLES, LIFECYCLE)
    initial = {"new": 0.45, "growing": 0.25, "mature": 0.25, "declining": 0.05}
    panel = simulate_panel(
        mats,
        LIFECYCLE,
        n_customers=CUSTOMERS,
        n_periods=N_PERIODS,
        initial=initial,
        entry="uniform",
        rng=rng,
    )
    # short ids keep the file small: C0001, L0001, S001
    prefix = panel["segment"].str[0].str.upper()
    number = panel["customer_id"].str.split("-").str[-1]
    panel["customer_id"] = prefix + number
    args.out.mkdir(parents=True, exist_ok=True)
    panel.to_csv(args.out / "panel.csv", index=False)
    macro.to_csv(args.out / "macro.csv", index=False)
    sizes = panel.groupby("segment").size().to_dict()
    print(f"wrote {len(panel)} rows {sizes} and {len(macro)} macro rows to {args.out}")


if __name__ == "__main__":
    main()
