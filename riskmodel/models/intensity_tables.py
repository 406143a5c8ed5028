"""The tables ``riskmodel fit`` writes for a continuous-time model, from a fitted `IntensityModel`.

`intensity_fit_tables` gives the model's generator draws (`riskmodel.models.intensity_draws`), the
engine's matrices at one period length, and two long tables: the transient rows of
``expm(Q · length)`` (mean and 94% bounds over the draws) and the allowed intensities per time
unit (posterior quantiles, or Wald bounds on the log scale for MLE). numpy and pandas only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.models.intensity_draws import GeneratorDraws, generator_draws_of
from riskmodel.models.parameter_draws import ParameterDraws
from riskmodel.states import StateSpace

__all__ = ["IntensityFitTables", "intensity_fit_tables"]


@dataclass(frozen=True)
class IntensityFitTables:
    """What `riskmodel fit` writes for an intensity model (see `intensity_fit_tables`)."""

    generators: GeneratorDraws
    draws: ParameterDraws
    transitions: pd.DataFrame
    intensities: pd.DataFrame


def _long(
    values: dict[str, np.ndarray], segments: Sequence[str], states: StateSpace
) -> pd.DataFrame:
    """(S, n, n) arrays by column name as a long table ``segment, from_state, to_state, …``."""
    s, i, j = np.indices(next(iter(values.values())).shape).reshape(3, -1)
    return pd.DataFrame(
        {
            "segment": np.asarray(segments, dtype=object)[s],
            "from_state": np.asarray(states.names, dtype=object)[i],
            "to_state": np.asarray(states.names, dtype=object)[j],
            **{k: v.reshape(-1) for k, v in values.items()},
        }
    )


def intensity_fit_tables(model: Any, length: float) -> IntensityFitTables:
    """Return generator draws, the matrices of periods of `length` time units, and tables.

    ``transitions``: transient rows of ``expm(Q · length)``, ``mean``, ``q03``, ``q97`` over the
    draws (NaN bounds for MLE, whose single draw is the estimate). ``intensities``: the allowed
    transitions' ``mean``, ``q03``, ``q97`` per time unit (`IntensityModel.generator` with those
    statistics: posterior quantiles, or for MLE the Wald bounds on the log scale).
    """
    gen = generator_draws_of(model)
    draws = gen.parameter_draws(length)
    states = model.states
    P = draws.transitions
    mle = gen.n_draws == 1 and model.method == "mle"
    lo, hi = (np.full(P.shape[1:], np.nan),) * 2 if mle else np.quantile(P, [0.03, 0.97], axis=0)
    table = _long({"mean": P.mean(axis=0), "q03": lo, "q97": hi}, gen.segments, states)
    table = table[table["from_state"].isin(states.transient)].reset_index(drop=True)
    stats = {k: np.asarray(model.generator(q).values) for k, q in
             (("mean", "mean"), ("q03", 0.03), ("q97", 0.97))}  # fmt: skip
    rates = _long(stats, gen.segments, states)
    allowed = {tuple(p) for p in model._require_fit().config["allowed"]}
    keep = [(f, t) in allowed for f, t in zip(rates["from_state"], rates["to_state"], strict=True)]
    rates = rates[keep].reset_index(drop=True)
    return IntensityFitTables(generators=gen, draws=draws, transitions=table, intensities=rates)
