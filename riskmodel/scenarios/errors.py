"""Re-export of `riskmodel.config.errors` (its old home; kept for existing imports)."""

from riskmodel.config.errors import (
    MAX_PROBLEMS,
    UNION_TAGS,
    ScenarioError,
    format_validation_error,
    problem_lines,
    short_repr,
)

__all__ = [
    "MAX_PROBLEMS",
    "UNION_TAGS",
    "ScenarioError",
    "format_validation_error",
    "problem_lines",
    "short_repr",
]
