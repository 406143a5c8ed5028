"""Result containers of the model-risk split: the variance split, the tail split per level, both.

`VarianceSplit` (law of total variance across posterior draws), `LevelSplit` (the parameter
share of ES above EL at one level) and `ModelRisk` (the two together, with the sentence a
report prints) hold what `riskmodel.metrics.model_risk` estimates, and write the
``model_risk`` block of ``summary.json`` (``to_dict``). The estimators and their derivation
are in `riskmodel.metrics.model_risk`; nothing here computes a Monte Carlo figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from riskmodel.config.metrics import format_level
from riskmodel.errors import ArgumentError

__all__ = ["LevelSplit", "ModelRisk", "VarianceSplit"]


@dataclass(frozen=True)
class VarianceSplit:
    """Law-of-total-variance split of the loss variance (see the module docstring).

    ``parameter`` is exact; ``process`` and every ``*_mc`` figure are Monte Carlo estimates
    with the standard errors in ``stderr``.
    """

    parameter: float
    process: float
    parameter_mc: float
    total_mc: float
    stderr: dict[str, float]
    draws: int
    draws_used: int

    @property
    def total(self) -> float:
        """``parameter + process``."""
        return self.parameter + self.process

    @property
    def parameter_share(self) -> float:
        """``parameter / total`` (NaN for a loss without variance)."""
        return self.parameter / self.total if self.total > 0 else math.nan

    @property
    def parameter_share_mc(self) -> float:
        """``parameter_mc / (parameter_mc + process)``: the all-Monte-Carlo share."""
        total = self.parameter_mc + self.process
        return self.parameter_mc / total if total > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Return the variance split as a JSON-ready dict (``model_risk.variance``)."""
        share = self.parameter_share
        return {
            "total": self.total,
            "parameter": self.parameter,
            "process": self.process,
            "parameter_share": share,
            "process_share": 1.0 - share,
            "method": {"parameter": "exact", "process": "monte_carlo"},
            "mc": {
                "total": self.total_mc,
                "parameter": self.parameter_mc,
                "process": self.process,
                "parameter_share": self.parameter_share_mc,
            },
            "stderr": dict(self.stderr),
            "draws": self.draws,
            "draws_used": self.draws_used,
        }


@dataclass(frozen=True)
class LevelSplit:
    """Parameter share of the tail above EL at one level (see the module docstring)."""

    level: float
    es_minus_el: float
    es_minus_el_at_mean: float
    parameter_share: float
    stderr: float
    var_minus_el: float
    var_minus_el_at_mean: float
    var_parameter_share: float
    stderr_var: float
    stderr_es_minus_el: float
    stderr_es_minus_el_at_mean: float

    def to_dict(self) -> dict[str, Any]:
        """Return the split at this level as a JSON-ready dict."""
        return {
            "level": self.level,
            "es_minus_el": self.es_minus_el,
            "es_minus_el_at_mean": self.es_minus_el_at_mean,
            "parameter_share": self.parameter_share,
            "stderr": self.stderr,
            "stderr_es_minus_el": self.stderr_es_minus_el,
            "stderr_es_minus_el_at_mean": self.stderr_es_minus_el_at_mean,
            "var_minus_el": self.var_minus_el,
            "var_minus_el_at_mean": self.var_minus_el_at_mean,
            "var_parameter_share": self.var_parameter_share,
            "stderr_var": self.stderr_var,
        }


@dataclass(frozen=True)
class ModelRisk:
    """Parameter and process risk of a posterior run: variance split and tail split per level.

    ``expected`` and ``expected_at_mean`` are the exact ELs of the run and of the run at the
    posterior mean.
    """

    variance: VarianceSplit
    levels: tuple[LevelSplit, ...]
    expected: float
    expected_at_mean: float

    def sentence(self, level: float | None = None) -> str:
        """Say "x% of the 99.9% ES above EL comes from not knowing the parameters".

        At the highest level by default, with its standard error.
        """
        split = self._level(level)
        share = split.parameter_share
        if not math.isfinite(share):
            return (
                f"The {format_level(100 * split.level)}% ES does not exceed EL, so its split "
                "into parameter and process risk is undefined."
            )
        se = f" (± {100 * split.stderr:.2g} points)" if math.isfinite(split.stderr) else ""
        return (
            f"{100 * share:.3g}%{se} of the {format_level(100 * split.level)}% ES above EL "
            "comes from not knowing the parameters."
        )

    def _level(self, level: float | None) -> LevelSplit:
        if not self.levels:
            raise ArgumentError("this model-risk result has no risk levels.")
        if level is None:
            return max(self.levels, key=lambda s: s.level)
        for split in self.levels:
            if math.isclose(split.level, float(level)):
                return split
        have = [s.level for s in self.levels]
        raise ArgumentError(f"`level` must be one of the run's levels {have}; got {level!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Return the ``model_risk`` block of ``summary.json``."""
        return {
            "expected": self.expected,
            "expected_at_posterior_mean": self.expected_at_mean,
            "variance": self.variance.to_dict(),
            "levels": [s.to_dict() for s in self.levels],
            "sentence": self.sentence(),
            "posterior_mean": "per segment (and period) the mean over draws of the transition "
            "matrices the paths use, rows renormalised, and the mean asset correlation; run on "
            "the same paths (common random numbers)",
            "description": "law of total variance across posterior draws (parameter part "
            "exact from E[L | d] per draw, process part Monte Carlo) and, per level, the share "
            "of ES - EL that disappears at the posterior mean: 1 - (ES - EL at mean) / (ES - EL)",
        }
