"""riskmodel.plotting: figures of results.

Plots take results (+ an optional ``ax``), return the Axes, and never compute statistics or
sample; matplotlib is imported only when a plot is drawn.

Figures of a run: `plot_loss_distribution`, `plot_loss_term_structure`,
`plot_cumulative_default_rate`, `plot_stage_occupancy`, `plot_contributions`, `plot_alerts`.
Of several scenarios: `plot_comparison`, `plot_differences`, `plot_loss_distributions`. Of
fitted models: `plot_transition_heatmap`, `plot_prior_posterior`,
`plot_posterior_diagnostics`. Of sensitivity analyses: `riskmodel.plotting.sensitivity`
(`plot_tornado`, `plot_sobol`).
"""

from riskmodel.plotting.alerts import plot_alerts
from riskmodel.plotting.comparison import plot_comparison, plot_differences
from riskmodel.plotting.contributions import plot_contributions
from riskmodel.plotting.distribution import plot_loss_distribution, plot_loss_distributions
from riskmodel.plotting.posterior import (
    plot_posterior_diagnostics,
    plot_prior_posterior,
    plot_transition_heatmap,
)
from riskmodel.plotting.style import OKABE_ITO, compact_formatter, format_compact, plot_style
from riskmodel.plotting.term_structure import (
    plot_cumulative_default_rate,
    plot_loss_term_structure,
    plot_stage_occupancy,
)

__all__ = [
    "OKABE_ITO",
    "compact_formatter",
    "format_compact",
    "plot_alerts",
    "plot_comparison",
    "plot_contributions",
    "plot_cumulative_default_rate",
    "plot_differences",
    "plot_loss_distribution",
    "plot_loss_distributions",
    "plot_loss_term_structure",
    "plot_posterior_diagnostics",
    "plot_prior_posterior",
    "plot_stage_occupancy",
    "plot_style",
    "plot_transition_heatmap",
]
