"""riskmodel.plotting: figures of results. Plots take results (+ an optional ``ax``), return the
Axes, and never compute statistics or sample; matplotlib is imported only when a plot is drawn."""

from riskmodel.plotting.distribution import plot_loss_distribution
from riskmodel.plotting.style import OKABE_ITO, compact_formatter, format_compact, plot_style

__all__ = [
    "OKABE_ITO",
    "compact_formatter",
    "format_compact",
    "plot_loss_distribution",
    "plot_style",
]
