"""The "What was used" section of a run report.

Transition matrices per segment, the portfolio by cohort and the full per-period stress path, as
the engine received them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from riskmodel.dynamics import downturn_lgd
from riskmodel.report.html import _e, _table
from riskmodel.scenarios.load import Scenario

__all__ = ["what_was_used_html"]


def _matrices(scenario: Scenario) -> str:
    """Tabulate per segment the mean transition probabilities (%) of the first period.

    With the 3–97% interval over the posterior draws when there are several.
    """
    t = np.asarray(scenario.transitions, dtype=float)
    if t.ndim == 5:  # (draw, period, segment, from, to): show the first period
        t = t[:, 0]
    names = list(scenario.states.names)
    transient = [i for i, n in enumerate(names) if n in scenario.states.transient]
    out = []
    for s, segment in enumerate(scenario.segments):
        mean = t[:, s].mean(axis=0)
        lo, hi = np.quantile(t[:, s], [0.03, 0.97], axis=0) if t.shape[0] > 1 else (None, None)
        rows = []
        for i in transient:
            cells = []
            for j in range(len(names)):
                text = f"{100 * mean[i, j]:.2f}"
                if lo is not None and hi is not None:
                    text += f' <span class="se">[{100 * lo[i, j]:.2f}, {100 * hi[i, j]:.2f}]</span>'
                cells.append(text)
            rows.append((_e(names[i]), *cells))
        header = ("From \\ to (%)", *(_e(n) for n in names))
        out.append(
            f"<h3>Segment {_e(segment)}</h3>"
            + _table(header, rows, numeric=set(range(1, len(names) + 1)))
        )
    draws = t.shape[0]
    note = (
        f"<p>Posterior means over {draws} draws, with 94% intervals [3%, 97%], in percent per "
        "period (before the systematic factor moves the default column)."
        if draws > 1
        else "<p>Point transition probabilities in percent per period (before the systematic "
        "factor moves the default column)."
    )
    if np.asarray(scenario.transitions).ndim == 5:
        note += " Shown for period 1; shocks and macro paths change later periods (see stresses)."
    return "".join(out) + note + "</p>"


def _portfolio(scenario: Scenario) -> str:
    table = scenario.portfolio.table
    rows = [
        (
            _e(r.segment),
            _e(r.state),
            f"{int(r.customers):,}",
            f"{float(r.exposure):,.0f}",
            f"{float(getattr(r, 'margin', 0.0)):,.2f}",
        )
        for r in table.itertuples()
    ]
    header = ("Segment", "State", "Customers", "Exposure (EAD)", "Margin per period")
    return "<h3>Portfolio by cohort</h3>" + _table(header, rows, numeric={2, 3, 4})


def _stress_path(scenario: Scenario) -> str:
    shift = np.asarray(scenario.shift, dtype=float).reshape(scenario.horizon, -1)  # (H, F)
    ead = np.asarray(scenario.ead_factor, dtype=float)
    rate = np.asarray(scenario.discount_rate, dtype=float)
    rows = [
        (str(t + 1), *(f"{x:+.3f}" for x in shift[t]), f"{ead[t]:.4f}", f"{100 * rate[t]:.3f}")
        for t in range(scenario.horizon)
    ]
    names = ["Shift of Z (mean)"]
    if scenario.factors is not None:  # sector factors (issue 15): one column per factor
        names = [f"Shift of {f} (mean)" for f in scenario.factors.names]
    header = ("Period", *names, "Exposure factor", "Discount rate (%)")
    lgd = scenario.config.lgd
    note = (
        f"<p>Every period of the horizon. LGD mean {lgd.mean + lgd.addon:.4g}"
        + (
            f", moving with Z (downturn sensitivity {lgd.downturn.sensitivity:g})"
            if lgd.downturn is not None
            else " in every period"
        )
        + ".</p>"
    )
    numeric = set(range(len(header)))
    return "<h3>Stress path per period</h3>" + _table(header, rows, numeric=numeric) + note


def _per_period(values: object, horizon: int) -> np.ndarray:
    """Return a number or a list per period (a short list repeats its last value) → (horizon,)."""
    v = np.atleast_1d(np.asarray(values, dtype=float))
    return np.concatenate([v, np.repeat(v[-1:], max(horizon - v.size, 0))])[:horizon]


def stress_series(
    scenario: Scenario,
) -> tuple[np.ndarray | dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return the per-period series of `riskmodel.plotting.stresses.plot_stress_path`.

    The shift (with sector factors each factor's, by name), and the exposure factor, the LGD
    mean and each shock's multipliers, by label.
    """
    h = scenario.horizon
    series = {
        "exposure factor": np.asarray(scenario.ead_factor, dtype=float)[:h],
        "LGD mean" + _lgd_at(scenario): _lgd_path(scenario),
    }
    for k, shock in enumerate(scenario.config.shocks):
        name = shock.name or f"shock {k + 1}"
        for kind in ("default", "churn"):
            m = _per_period(getattr(shock, f"{kind}_multiplier"), h)
            if np.any(m != 1.0):
                series[f"{name}: {kind} multiplier"] = m
    shift = np.asarray(scenario.shift, dtype=float)[:h]
    if scenario.factors is not None:  # sector factors: every factor's shift, by name
        named = {f: shift[:, i] for i, f in enumerate(scenario.factors.names)}
        return named, series
    return shift, series


def _lgd_at(scenario: Scenario) -> str:
    """Where the LGD mean of the figure is taken: at the shift (sector factors: their mean)."""
    if scenario.config.lgd.downturn is None:
        return ""
    return " (at Z = shift)" if scenario.factors is None else " (at the factors' mean shift)"


def _lgd_path(scenario: Scenario) -> np.ndarray:
    lgd = scenario.config.lgd
    mean = lgd.mean + lgd.addon
    shift = np.asarray(scenario.shift, dtype=float)[: scenario.horizon]
    if shift.ndim == 2:  # sector factors: at the mean of the factors' shifts
        shift = shift.mean(axis=1)
    if lgd.downturn is None:
        return np.full(shift.shape, mean)
    return downturn_lgd(mean, lgd.downturn.sensitivity, shift)


def stress_figure(scenario: Scenario) -> bytes:
    """Return the stress-path figure of `scenario` as PNG bytes."""
    from riskmodel.plotting.figures import render_png
    from riskmodel.plotting.stresses import plot_stress_path

    shift, series = stress_series(scenario)
    return render_png(lambda ax: plot_stress_path(shift, series, ax=ax))


def what_was_used_html(scenario: Scenario, figures: Mapping[str, bytes] | None = None) -> str:
    """Transition matrices per segment, the portfolio by cohort and the per-period stress path.

    Parameters
    ----------
    scenario : Scenario
        The simulated scenario.

    Returns
    -------
    str
        HTML (user strings escaped); one number format per column.
    """
    from riskmodel.report.html import _figure

    figure = _figure("stress_path", figures or {})
    return _matrices(scenario) + _portfolio(scenario) + _stress_path(scenario) + figure
