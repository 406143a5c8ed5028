"""Sections of the comparison report (`riskmodel.report.comparison`), one builder each.

The scenarios side by side (risk, credit and Monte Carlo cross-check tables), the differences
from the baseline with their paired standard errors, the probability-weighted ECL, the scenario
settings, and the note under the comparison figures on the size of their error bars. Each
returns the HTML of one section (`riskmodel.report.html._section`) from the comparison's
numbers; nothing is computed here that the comparison does not carry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from riskmodel.metrics.compare import ComparisonResult
from riskmodel.metrics.risk import format_level
from riskmodel.report.html import (
    _e,
    _exact,
    _num,
    _per_period_text,
    _section,
    _table,
    _with_se,
)
from riskmodel.scenarios.factors import per_factor_text
from riskmodel.scenarios.load import Scenario

if TYPE_CHECKING:
    import xarray as xr


def _drop_column(header: tuple, rows: list[tuple], name: str) -> tuple[tuple, list[tuple]]:
    k = header.index(name)
    return header[:k] + header[k + 1 :], [r[:k] + r[k + 1 :] for r in rows]


class _Cells:
    """Table cells of a comparison's dataset: value ± s.e., or exact (labelled so)."""

    def __init__(self, ds: xr.Dataset) -> None:
        self.ds = ds

    def cell(self, i: int, var: str, err: str, k: int | None = None, digits: int = 0) -> str:
        v, e = self.ds[var].values[i], self.ds[err].values[i]
        if k is not None:
            v, e = v[k], e[k]
        return _with_se(float(v), float(e), digits=digits)

    def exact(self, i: int) -> bool:
        return "method" in self.ds and str(self.ds["method"].values[i]) == "exact"

    def expected(self, i: int, var: str, err: str, digits: int = 0) -> str:
        """Return an expectation: exact (labelled so) when the run carries it, else ± s.e."""
        if self.exact(i):
            return _exact(float(self.ds[var].values[i]), digits=digits)
        return self.cell(i, var, err, digits=digits)


def _comparison_rows(cmp: ComparisonResult) -> tuple[list, list, list]:
    """Rows of the risk, credit and Monte Carlo cross-check tables, one per scenario."""
    ds, n_levels, c = cmp.data, len(cmp.levels), _Cells(cmp.data)
    risk_rows, credit_rows, mc_rows = [], [], []
    for i, name in enumerate(cmp.scenarios):
        weight = float(ds["weight"].values[i])
        risk_rows.append(
            (
                _e(name),
                "—" if math.isnan(weight) else f"{weight:g}",
                c.expected(i, "expected", "stderr_expected"),
                *(c.cell(i, "var", "stderr_var", k) for k in range(n_levels)),
                *(c.cell(i, "es", "stderr_es", k) for k in range(n_levels)),
            )
        )
        ecl = _exact if c.exact(i) else _num
        credit_rows.append(
            (
                _e(name),
                ecl(float(ds["ecl_lifetime"].values[i])),
                ecl(float(ds["ecl_12_period"].values[i])),
                c.expected(i, "expected_defaults", "stderr_defaults", digits=1),
                c.expected(i, "expected_churn", "stderr_churn", digits=1),
                c.expected(i, "expected_value", "stderr_value"),
            )
        )
        if "expected_defaults_mc" in ds:
            mc_rows.append(
                (
                    _e(name),
                    c.cell(i, "expected_mc", "stderr_mc"),
                    c.cell(i, "expected_defaults_mc", "stderr_defaults_mc", digits=1),
                    c.cell(i, "expected_churn_mc", "stderr_churn_mc", digits=1),
                    c.cell(i, "expected_value_mc", "stderr_value_mc"),
                )
            )
    return risk_rows, credit_rows, mc_rows


def _section_comparison_table(cmp: ComparisonResult, *, churn: bool = True) -> str:
    ds = cmp.data
    pct = [f"{format_level(100 * q)}%" for q in cmp.levels]
    risk_header = (
        "Scenario",
        "Weight",
        "EL",
        *(f"VaR {p}" for p in pct),
        *(f"ES {p}" for p in pct),
    )
    credit_header = ("Scenario", "Lifetime ECL", "12-month ECL", "Defaults", "Churn", "Margin")
    mc_header = ("Scenario", "EL", "Defaults", "Churn", "Margin")
    risk_rows, credit_rows, mc_rows = _comparison_rows(cmp)
    if not churn:  # no churn state in any scenario: no churn columns
        credit_header, credit_rows = _drop_column(credit_header, credit_rows, "Churn")
        if mc_rows:
            mc_header, mc_rows = _drop_column(mc_header, mc_rows, "Churn")
    note = (
        f"<p>{int(ds.attrs['paths']):,} paths per scenario on common random numbers (the same "
        "seed, so path <i>i</i> sees the same innovations in every scenario): the differences "
        "between scenarios, with their paired standard errors, are in the next section. "
        "Figures marked exact are exact expectations of the model (no Monte "
        "Carlo error). Total loss over each scenario's horizon; ECL and margin discounted; "
        "defaults and churn in expected customers. The same figures are in "
        "<code>comparison.csv</code>.</p>"
    )
    tables = _table(risk_header, risk_rows, numeric=set(range(1, len(risk_header)))) + _table(
        credit_header, credit_rows, numeric=set(range(1, len(credit_header)))
    )
    if mc_rows:
        tables += (
            "<h3>Monte Carlo cross-checks of the exact expectations</h3>"
            + _table(mc_header, mc_rows, numeric=set(range(1, len(mc_header))))
            + "<p>The self-normalised estimates Σ w x / Σ w from the paths, ± one standard "
            "error (columns <code>*_mc</code> of <code>comparison.csv</code>).</p>"
        )
    return _section("Scenarios side by side", tables + note)


def _section_differences(cmp: ComparisonResult) -> str:
    from riskmodel.plotting.comparison import difference_label

    frame = cmp.differences
    if frame is None or frame.empty:
        body = "<p>One scenario only: no differences to show.</p>"
        return _section("Differences from the baseline", body)
    rows = [
        (
            _e(r.scenario),
            _e(difference_label(r.metric)),
            _num(r.difference),
            "exact" if r.stderr == 0 else _num(r.stderr),
            "exact" if r.stderr_unpaired == 0 else _num(r.stderr_unpaired),
        )
        for r in frame.itertuples()
    ]
    header = ("Scenario", "Measure", "Difference", "Paired s.e.", "Unpaired s.e.")
    base = _e(str(frame["baseline"].iloc[0]))
    note = (
        f"<p>Each scenario minus <b>{base}</b> (choose another with <code>--baseline</code>). "
        "The paired standard error uses the common random numbers: it is the standard error of "
        "the mean of the per-path differences of the estimators' influences (for EL the paired "
        "sd of L<sub>a</sub> − L<sub>b</sub> over √N; for VaR the difference of the per-path "
        "tail indicators, each scaled by its sparsity 1/f(VaR); for ES the difference of the "
        "per-path excesses over VaR over 1 − q). The unpaired s.e. √(s.e.<sub>a</sub>² + "
        "s.e.<sub>b</sub>²) is what independent runs would give. Differences of exact "
        "expectations are exact. The same figures are in <code>comparison.json</code> "
        "(<code>differences</code>) and <code>comparison.csv</code> (columns "
        "<code>difference_*</code>, <code>stderr_difference_*</code>); "
        "<code>docs/comparisons.md</code> derives the estimator.</p>"
    )
    return _section("Differences from the baseline", _table(header, rows, numeric={2, 3, 4}) + note)


def _section_weighted_ecl(cmp: ComparisonResult) -> str:
    if cmp.weights is None:
        body = (
            "<p>No scenario weights given. Add a top-level <code>weight:</code> to every "
            "scenario file (weights summing to 1) for the probability-weighted ECL.</p>"
        )
        return _section("Probability-weighted ECL", body)
    rows = [
        ("Lifetime ECL (discounted)", _num(cmp.weighted_ecl)),
        ("12-month ECL (discounted)", _num(cmp.weighted_ecl_12_period)),
    ]
    terms = " + ".join(
        f"{w:g} × {_e(n)}" for n, w in zip(cmp.scenarios, cmp.weights.tolist(), strict=True)
    )
    note = f"<p>Σ weight × ECL over the scenarios: {terms} (IFRS 9 §5.5.17, B5.5.42).</p>"
    return _section(
        "Probability-weighted ECL", _table(("Measure", "Value"), rows, numeric={1}) + note
    )


def _section_comparison_settings(scenarios: Sequence[Scenario]) -> str:
    rows = [
        (
            _e(sc.name),
            _e(sc.config.description or "—"),
            _e(f"{sc.horizon}"),
            _e(per_factor_text(sc.shift, sc.factors, _per_period_text)),
            f"<code>{_e(sc.source or '—')}</code>",
        )
        for sc in scenarios
    ]
    header = ("Scenario", "Description", "Horizon", "Systematic shift (mean of Z)", "File")
    return _section("Scenario settings", _table(header, rows, numeric={2}))


def _error_bar_note(cmp: ComparisonResult) -> str:
    """Say how large the first figure's error bars are, so thin ones read as "small", not "absent".

    The figure (`plot_comparison`) shows EL, VaR and ES at 99% (or the highest level) ± one s.e.
    """
    import numpy as np

    levels = cmp.levels
    at99 = [i for i, q in enumerate(levels) if abs(q - 0.99) < 1e-12]
    k = at99[0] if at99 else int(np.argmax(levels))  # as plot_comparison chooses
    ds = cmp.data
    pct = f"{format_level(100 * levels[k])}%"
    series = [
        (f"VaR {pct}", ds["var"].values[:, k], ds["stderr_var"].values[:, k]),
        (f"ES {pct}", ds["es"].values[:, k], ds["stderr_es"].values[:, k]),
    ]
    el_exact = not np.nan_to_num(ds["stderr_expected"].values).any()
    if not el_exact:
        series.append(("EL", ds["expected"].values, ds["stderr_expected"].values))
    worst = (0.0, "", "")
    for what, values, errors in series:
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(np.abs(values) > 0, np.abs(errors / values), np.nan)
        if np.isfinite(rel).any() and np.nanmax(rel) > worst[0]:
            i = int(np.nanargmax(rel))
            worst = (float(rel[i]), what, cmp.scenarios[i])
    if not worst[1]:
        return ""
    small = ", hence barely visible" if worst[0] < 0.01 else ""
    el = "; EL is exact and has none" if el_exact else ""
    return (
        f"<p>Error bars in the first figure: ± one Monte Carlo standard error{el}. The largest "
        f"is {100 * worst[0]:.2g}% of its bar ({_e(worst[1])}, {_e(worst[2])}){small}; the "
        "table above lists every standard error.</p>"
    )
