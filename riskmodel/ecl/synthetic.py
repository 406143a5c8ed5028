"""A synthetic loan tape for examples, tests and benchmarks (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.scenarios.load import Scenario

__all__ = ["synthetic_tape"]


def synthetic_tape(scenario: Scenario, loans: int, *, seed: int = 0) -> pd.DataFrame:
    """Return a loan tape of `loans` rows over the scenario's segments and states.

    States are drawn 80/15/5 % over the first transient state, the other transient states and
    the default state; exposures are log-normal (median 20,000); maturities uniform on 1 … the
    horizon (a tenth empty: to the horizon); half the loans amortise at 0–2 % a period, a third
    pay an annuity instalment, the rest neither; rates 0–1 % a period (a tenth empty); LGDs
    0.1–0.6 (a fifth empty); origination PDs 1–20 % (a tenth empty).

    Parameters
    ----------
    scenario : Scenario
    loans : int
        Number of rows.
    seed : int
        Seed of the generator.

    Returns
    -------
    DataFrame
        Columns ``loan_id, segment, state, exposure, maturity, amortisation, instalment, rate,
        lgd, origination_pd``.

    Examples
    --------
    >>> import riskmodel as rm
    >>> tape = synthetic_tape(rm.load_scenario("scenarios/ifrs9.yaml"), 5, seed=1)
    >>> list(tape.columns[:4])
    ['loan_id', 'segment', 'state', 'exposure']
    """
    rng = np.random.default_rng(seed)
    n, h = int(loans), scenario.horizon
    states = scenario.states
    transient = list(states.transient)
    others = transient[1:] or transient
    first = rng.random(n)
    state = np.where(
        first < 0.8,
        transient[0],
        np.where(first < 0.95, rng.choice(others, n), states.default),
    )
    exposure = np.round(rng.lognormal(np.log(20_000), 1.0, n), 2)
    rate = np.round(rng.uniform(0.0, 0.01, n), 6)
    kind = rng.random(n)
    amortisation = np.where(kind < 0.5, np.round(rng.uniform(0.0, 0.02, n), 5), np.nan)
    maturity = rng.integers(1, h + 1, n).astype(float)
    # an annuity over the maturity at the loan's rate: I = B r / (1 − (1 + r)^−M)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = exposure * np.where(
            rate > 0, rate / (1.0 - (1.0 + rate) ** -maturity), 1.0 / maturity
        )
    instalment = np.where((kind >= 0.5) & (kind < 0.83), np.round(annuity, 2), np.nan)
    return pd.DataFrame(
        {
            "loan_id": [f"L{i:08d}" for i in range(n)],
            "segment": rng.choice(list(scenario.segments), n),
            "state": state,
            "exposure": exposure,
            "maturity": pd.array(np.where(rng.random(n) < 0.1, np.nan, maturity), dtype="Int64"),
            "amortisation": amortisation,
            "instalment": instalment,
            "rate": np.where(rng.random(n) < 0.1, np.nan, rate),
            "lgd": np.where(rng.random(n) < 0.2, np.nan, np.round(rng.uniform(0.1, 0.6, n), 4)),
            "origination_pd": np.where(
                rng.random(n) < 0.1, np.nan, np.round(rng.uniform(0.01, 0.2, n), 5)
            ),
        }
    )
