"""The result of the posterior predictive checks (`riskmodel.validation.ppc`): `PredictiveCheck`.

Its tables (destination counts per segment, origin and destination; default rates per segment
and period; the summary per check) and settings, the ``flagged`` verdict and the JSON content
(`PredictiveCheck.to_dict`) that the fit report writes to ``fit.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["PredictiveCheck"]


@dataclass(frozen=True)
class PredictiveCheck:
    """Result of `riskmodel.validation.ppc.posterior_predictive_check`.

    Attributes
    ----------
    cells : DataFrame
        One row per segment, origin and destination: ``segment, from_state, to_state, n,
        observed, expected, sd, lower, upper, percentile, p_value, outside, prob_outside,
        included`` (``included``: the predictive is not a single value, so the cell counts in
        the summary).
    default_rates : DataFrame
        One row per segment and period with customers: ``segment, period, n, defaults,
        observed, expected, sd, lower, upper, percentile, p_value, outside, prob_outside,
        included`` (rates).
    summary : DataFrame
        One row per check and ``all``: ``check, cells, outside, share, expected_share,
        nominal, p_value, flagged``.
    level : float
        Central probability of the bands.
    replicates : int
        Replicated panels drawn.
    correlated : bool
        Whether the samples carry a systematic factor.
    alpha : float
        A check is flagged when its ``p_value`` is below this.
    """

    cells: pd.DataFrame
    default_rates: pd.DataFrame
    summary: pd.DataFrame
    level: float
    replicates: int
    correlated: bool = False
    alpha: float = 0.01
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """Whether any check has more cells outside their band than the model explains."""
        return bool(self.summary["flagged"].any())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (``summary``, ``cells``, ``default_rates``, settings)."""

        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = (
                df.astype(object).where(df.notna(), None).to_dict(orient="records")
            )
            return out

        return {
            "level": self.level,
            "nominal_share_outside": round(1.0 - self.level, 12),
            "replicates": self.replicates,
            "correlated": self.correlated,
            "alpha": self.alpha,
            "flagged": self.flagged,
            "summary": records(self.summary),
            "destination_counts": records(self.cells),
            "default_rate_period": records(self.default_rates),
            **self.info,
        }
