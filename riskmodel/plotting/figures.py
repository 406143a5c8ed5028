"""The figure sets of the reports, rendered to PNG bytes without pyplot (no global state, no GUI).

`riskmodel.report` writes these to ``figures/*.png`` and embeds them in ``report.html``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from riskmodel.plotting.style import plot_style

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

    from riskmodel.metrics.compare import ComparisonResult
    from riskmodel.metrics.result import SimulationResult
    from riskmodel.metrics.risk import RiskMeasures

__all__ = ["RUN_FIGURE_CAPTIONS", "comparison_figures", "render_png", "run_figures"]

RUN_FIGURE_CAPTIONS: dict[str, str] = {
    "loss_distribution": "Distribution of total loss with EL, VaR and ES; inset: the tail beyond "
    "the lowest-level VaR on a log scale",
    "loss_term_structure": "Loss per period: 5–95% and 25–75% of paths, median, and the exact "
    "expected loss",
    "cumulative_default_rate": "Cumulative default rate: exact expectation and the spread of "
    "the paths",
    "stage_occupancy": "Expected customers per state at each period end",
    "contributions": "Segment contributions to EL, VaR and ES (Euler allocation, ± 1 s.e.)",
    "alerts": "Early warnings: probability of a breach per period against each alarm level",
    "stress_path": "Stress path per period: mean of the systematic factor Z (left), exposure "
    "factor, LGD mean and shock multipliers (right)",
    "comparison": "EL, VaR and ES per scenario, ± one standard error",
    "differences": "Each scenario minus the baseline, ± 1.96 paired standard errors on common "
    "random numbers",
    "loss_distributions": "Loss distributions of the scenarios, overlaid (same paths)",
}
"""Captions of the report figures, by file stem."""


def render_png(draw: Callable[[Axes], Any], *, size: tuple[float, float] = (8.0, 4.5)) -> bytes:
    """Draw on a new pyplot-free Figure and return it as PNG bytes.

    Parameters
    ----------
    draw : callable
        ``draw(ax)``: a plot function bound to its data, e.g.
        ``lambda ax: plot_stage_occupancy(result, ax=ax)``.
    size : (float, float)
        Figure size in inches.
    """
    from matplotlib.figure import Figure

    with plot_style():
        fig = Figure(figsize=size, layout="constrained")
        draw(fig.add_subplot())
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def run_figures(
    result: SimulationResult,
    *,
    measures: RiskMeasures | None = None,
    contributions: xr.Dataset | None = None,
    alerts: xr.Dataset | None = None,
) -> dict[str, bytes]:
    """Return the run report's figures as PNG bytes, by file stem, in report order.

    The statistics come from `riskmodel.metrics.figures`, computed here once per figure unless
    given: pass the `measures` and `contributions` that ``summary.json`` reports, so the
    figures show the same numbers.

    Parameters
    ----------
    result : SimulationResult
    measures : RiskMeasures, optional
        ``result.risk()`` if already computed.
    contributions : xarray.Dataset, optional
        ``risk_contributions(result)`` if already computed.
    alerts : xarray.Dataset, optional
        From `riskmodel.metrics.alerts.evaluate_alerts`; adds the ``alerts`` figure.

    Returns
    -------
    dict of str to bytes
        ``loss_distribution``, ``loss_term_structure``, ``cumulative_default_rate``,
        ``stage_occupancy``, ``contributions`` [, ``alerts``].
    """
    from riskmodel.metrics.figures import Fan, LossDistribution, Occupancy, contributions_data
    from riskmodel.plotting.alerts import plot_alerts
    from riskmodel.plotting.contributions import plot_contributions
    from riskmodel.plotting.distribution import plot_loss_distribution
    from riskmodel.plotting.term_structure import (
        plot_cumulative_default_rate,
        plot_loss_term_structure,
        plot_stage_occupancy,
    )

    dist = LossDistribution.from_result(result, measures=measures)
    losses, rates = Fan.loss(result), Fan.cumulative_default_rate(result)
    occupancy = Occupancy.from_result(result)
    contrib = contributions if contributions is not None else contributions_data(result)
    out = {
        "loss_distribution": render_png(
            lambda ax: plot_loss_distribution(dist, ax=ax, tail_inset=True)
        ),
        "loss_term_structure": render_png(lambda ax: plot_loss_term_structure(losses, ax=ax)),
        "cumulative_default_rate": render_png(
            lambda ax: plot_cumulative_default_rate(rates, ax=ax)
        ),
        "stage_occupancy": render_png(
            lambda ax: plot_stage_occupancy(occupancy, ax=ax), size=(9.0, 4.5)
        ),
        "contributions": render_png(lambda ax: plot_contributions(contrib, ax=ax)),
    }
    if alerts is not None and alerts.sizes.get("alert", 0):
        out["alerts"] = render_png(lambda ax: plot_alerts(result, alerts, ax=ax), size=(8.0, 5.0))
    return out


def comparison_figures(comparison: ComparisonResult) -> dict[str, bytes]:
    """Draw the comparison report's figures as PNG bytes.

    ``comparison``, ``differences`` (with two scenarios or more), ``loss_distributions``.
    """
    from riskmodel.plotting.comparison import plot_comparison, plot_differences
    from riskmodel.plotting.distribution import plot_loss_distributions

    width = max(8.0, 1.6 * len(comparison.scenarios))
    out = {
        "comparison": render_png(lambda ax: plot_comparison(comparison, ax=ax), size=(width, 4.5))
    }
    if comparison.differences is not None and not comparison.differences.empty:
        out["differences"] = render_png(lambda ax: plot_differences(comparison, ax=ax))
    if comparison.results:
        out["loss_distributions"] = render_png(
            lambda ax: plot_loss_distributions(comparison, ax=ax)
        )
    return out
