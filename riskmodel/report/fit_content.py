"""What the fit report (`riskmodel.report.fit`) shows of a fit, taken from the fit itself.

`fit_outcome` reads the posterior draws, summary table, diagnostics and models of a
`FitOutcome` (or anything with ``draws`` and ``diagnostics``) or of a fitted
`TransitionModel`; `transition_table` gives the posterior mean and 94% interval of every
transient row (the fit's own table when it has one); `correlation_summary` the mean, sd, 94%
interval and histogram of the asset-correlation draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.errors import ArgumentError
from riskmodel.models.draws import ParameterDraws

__all__ = ["correlation_summary", "fit_outcome", "transition_table"]


def fit_outcome(
    fit: Any,
) -> tuple[ParameterDraws, pd.DataFrame | None, dict[str, Any], dict[str, Any]]:
    """Return (draws, summary table or None, diagnostics, models) of a FitOutcome or a model.

    Raises
    ------
    ArgumentError
        If `fit` is neither.
    """
    if hasattr(fit, "draws") and hasattr(fit, "diagnostics"):
        draws = fit.draws
        return (
            draws,
            getattr(fit, "summary", None),
            dict(fit.diagnostics),
            dict(getattr(fit, "models", None) or {}),
        )
    if callable(getattr(fit, "parameter_draws", None)) and hasattr(fit, "diagnostics"):
        draws = fit.parameter_draws()
        diag = fit.diagnostics or {"method": "conjugate (exact)"}
        return draws, None, {"transition_model": diag}, {"transition_model": fit}
    raise ArgumentError(
        "fit must be the FitOutcome of riskmodel.fitting.fit_panel (draws, diagnostics) or a "
        f"fitted TransitionModel; got {type(fit).__name__}."
    )


def transition_table(draws: ParameterDraws, summary: pd.DataFrame | None) -> pd.DataFrame:
    """Posterior mean and 94% interval per transient row (the fit's own table when given)."""
    ss = draws.states
    cols = ["segment", "from_state", "to_state", "mean", "q03", "q97"]
    if isinstance(summary, pd.DataFrame) and set(cols) <= set(summary.columns):
        table = summary[cols]
    else:
        t = draws.transitions[:, :, ss.transient_idx]  # (D, S, I, n)
        stats = np.stack([t.mean(0), *np.quantile(t, [0.03, 0.97], axis=0)], -1)
        s, i, j = np.indices(t.shape[1:]).reshape(3, -1)
        table = pd.DataFrame(
            {
                "segment": np.asarray(draws.segments, dtype=object)[s],
                "from_state": np.asarray(ss.transient, dtype=object)[i],
                "to_state": np.asarray(ss.names, dtype=object)[j],
                **{c: stats[s, i, j, k] for k, c in enumerate(cols[3:])},
            }
        )
    table = table[table["from_state"].isin(ss.transient)]
    return table.reset_index(drop=True)


def correlation_summary(draws: ParameterDraws) -> dict[str, Any] | None:
    """Mean, sd, 94% interval, count and histogram of the correlation draws (None without)."""
    rho = draws.correlation
    if rho is None:
        return None
    density, edges = np.histogram(rho, bins=min(40, max(10, rho.size // 25)), density=True)
    lower, upper = np.quantile(rho, [0.03, 0.97])
    return {
        "mean": float(rho.mean()),
        "sd": float(rho.std(ddof=1)) if rho.size > 1 else 0.0,
        "lower": float(lower),
        "upper": float(upper),
        "draws": int(rho.size),
        "histogram": pd.DataFrame({"left": edges[:-1], "right": edges[1:], "density": density}),
    }
