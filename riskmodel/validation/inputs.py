"""The inputs of the validation functions, as each of them accepts them.

`as_draws` turns a posterior (``ParameterDraws``, a fitted transition or intensity model, or a
posterior file) into ``ParameterDraws``; `as_counts` turns a panel (DataFrame, panel CSV or
counts) into counts with dims ``(period, segment, from_state, to_state)`` over the posterior's
states and segments; `macro_values` aligns a covariate posterior's macro table with the
periods. `riskmodel.validation.backtest`, `riskmodel.validation.ppc` and
`riskmodel.validation.compare` share them, so they accept and refuse the same inputs.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.data.counts import SINGLE_SEGMENT
from riskmodel.data.macro import align_macro
from riskmodel.data.panel import panel_to_counts, read_panel_csv
from riskmodel.errors import ArgumentError, PanelError
from riskmodel.models.draws import ParameterDraws, load_parameter_draws

__all__ = ["as_counts", "as_draws", "macro_values"]


def as_draws(posterior: Any, period_length: float) -> ParameterDraws:
    """Return the ``ParameterDraws`` of a posterior (draws, fitted model or posterior file).

    An `IntensityModel` gives ``expm(Q · period_length)`` per draw.

    Raises
    ------
    ArgumentError
        If `posterior` is none of these.
    """
    if isinstance(posterior, ParameterDraws):
        draws = posterior
    elif isinstance(posterior, (str, PathLike)):
        draws = load_parameter_draws(posterior)
    elif hasattr(posterior, "generator") and hasattr(posterior, "parameter_draws"):
        # a continuous-time IntensityModel: expm(Q · period_length) per draw (MLE: one draw)
        draws = posterior.parameter_draws(period_length)
    elif hasattr(posterior, "parameter_draws"):
        draws = posterior.parameter_draws()
    else:
        raise ArgumentError(
            "posterior must be a ParameterDraws, a fitted TransitionModel or IntensityModel, or "
            "the path of a posterior file written by `riskmodel fit`; got "
            f"{type(posterior).__name__}."
        )
    return draws


def macro_values(macro: Any, periods: np.ndarray, draws: ParameterDraws) -> np.ndarray | None:
    """Macro values ``(n_periods, n_covariates)`` for a covariate posterior, else None."""
    if not draws.covariates:
        return None
    if macro is None:
        raise ArgumentError(
            f"the posterior is a covariate model (macro variables {list(draws.covariates)}); "
            "pass macro=, the panel's macro table with a `period` column and those variables."
        )
    if isinstance(macro, (str, PathLike)):
        from riskmodel.data.files import read_csv
        from riskmodel.errors import MacroError

        macro = read_csv(macro, what="macro CSV", error=MacroError)
    return align_macro(macro, periods, draws.covariates)


def as_counts(panel: Any, draws: ParameterDraws, segment_col: str) -> xr.DataArray:
    """Count transitions, dims (period, segment, from_state, to_state), per posterior segment."""
    if isinstance(panel, (str, PathLike)):
        panel = read_panel_csv(panel)
    if isinstance(panel, pd.DataFrame):
        counts = panel_to_counts(panel, draws.states, segment_col=segment_col, by_period=True)
    elif isinstance(panel, xr.DataArray):
        counts = panel
    else:
        raise ArgumentError(
            "panel must be a DataFrame (customer_id, period, state[, segment]), the path of a "
            "panel CSV, or counts with dims (period, segment, from_state, to_state); got "
            f"{type(panel).__name__}."
        )
    want = ("period", "segment", "from_state", "to_state")
    if set(counts.dims) != set(want):
        raise ArgumentError(f"counts must have dims {want}; got {counts.dims}.")
    counts = counts.transpose(*want)
    if counts.sizes["to_state"] != draws.states.n or counts.sizes["from_state"] != draws.states.n:
        raise PanelError(
            f"counts must be over the posterior's {draws.states.n} states "
            f"{list(draws.states.names)}; got {counts.sizes['from_state']}."
        )
    segs = [str(s) for s in counts["segment"].values]
    if segs == [SINGLE_SEGMENT] and len(draws.segments) == 1:
        counts = counts.assign_coords(segment=list(draws.segments))
        segs = list(draws.segments)
    unknown = [s for s in segs if s not in draws.segments]
    if unknown:
        raise PanelError(
            f"the panel's segment(s) {unknown} are not in the posterior, which has "
            f"{list(draws.segments)}; backtest a panel of the fitted segments (column "
            f"{segment_col!r})."
        )
    if counts.sizes["period"] == 0 or int(counts.sum()) == 0:
        raise PanelError("the panel has no transitions to backtest (one period per customer?).")
    return counts
