"""The headline numbers as a small plain-text table, printed by the command line after a run.

Everything is read from what was written (``summary.json`` of a run, the comparison table):
nothing is recomputed, so the terminal and the report always agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from riskmodel.metrics.risk import format_level

__all__ = ["comparison_headline", "fit_headline", "fit_remedies", "run_headline", "text_table"]


def _money(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.0f}"


def _with_se(value: float | None, se: float | None) -> str:
    if se is None or not math.isfinite(se):
        return _money(value)
    return f"{_money(value)} ± {_money(se)}"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Pad columns to their widest cell.

    The first `left` columns are left-aligned, the rest (numbers) right-aligned.
    """
    cells = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[j]) for r in cells) for j in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if j < left else c.rjust(w)
            for j, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def run_headline(summary: Mapping[str, Any]) -> str:
    """Headline table of one run from its ``summary.json``: EL, VaR and ES (± s.e.), ECL.

    A run with a posterior adds the model-risk sentence (``summary["model_risk"]``) below.

    Examples
    --------
    >>> s = {"loss": {"expected": 10.0, "method": "exact", "var": {"0.99": 30.0},
    ...      "es": {"0.99": 40.0}, "stderr": {"var": {"0.99": 2.0}, "es": {"0.99": 3.0}}},
    ...      "ecl": {"lifetime": 9.0}}
    >>> print(run_headline(s))
    Measure        Value
    ------------  ------
    EL (exact)        10
    VaR 99%       30 ± 2
    ES 99%        40 ± 3
    Lifetime ECL       9
    """
    loss = summary["loss"]
    stderr = loss.get("stderr") or {}
    if loss.get("method") == "exact":
        rows = [("EL (exact)", _money(loss["expected"]))]
    else:
        rows = [("EL", _with_se(loss["expected"], stderr.get("expected")))]
    for kind, label in (("var", "VaR"), ("es", "ES")):
        for q, v in loss[kind].items():
            se = (stderr.get(kind) or {}).get(q)
            rows.append((f"{label} {format_level(100 * float(q))}%", _with_se(v, se)))
    ecl = summary.get("ecl") or {}
    if "lifetime" in ecl:
        exact = ecl.get("method") == "exact"
        rows.append(("Lifetime ECL (exact)" if exact else "Lifetime ECL", _money(ecl["lifetime"])))
    table = text_table(("Measure", "Value"), rows)
    sentence = (summary.get("model_risk") or {}).get("sentence")
    return f"{table}\n{sentence}" if sentence else table


def comparison_headline(frame: Any, levels: Sequence[float]) -> str:
    """Headline table of a comparison: one row per measure, one column per scenario.

    `frame` is ``ComparisonResult.to_dataframe()`` (one row per scenario).
    """
    rows: list[list[str]] = [["EL"], *([] for _ in range(2 * len(levels))), ["Lifetime ECL"]]
    for k, q in enumerate(levels):
        rows[1 + k] = [f"VaR {format_level(100 * q)}%"]
        rows[1 + len(levels) + k] = [f"ES {format_level(100 * q)}%"]
    for _, r in frame.iterrows():
        exact = str(r.get("method", "")) == "exact"
        rows[0].append(
            f"{_money(r['expected'])} (exact)"
            if exact
            else _with_se(r["expected"], r["stderr_expected"])
        )
        for k, q in enumerate(levels):
            x = format_level(q)
            rows[1 + k].append(_with_se(r[f"var_{x}"], r[f"stderr_var_{x}"]))
            rows[1 + len(levels) + k].append(_with_se(r[f"es_{x}"], r[f"stderr_es_{x}"]))
        rows[-1].append(f"{_money(r['ecl_lifetime'])}{' (exact)' if exact else ''}")
    return text_table(["Measure", *(str(n) for n in frame.index)], rows)


_MODEL_NAMES = {"transition_model": "transitions", "default_model": "correlation"}


def _fit_row(name: str, diag: Mapping[str, Any]) -> list[str]:
    label = _MODEL_NAMES.get(name, name)
    if "max_rhat" not in diag:
        return [label, str(diag.get("method", "—")), "—", "—", "—"]

    def num(v: Any, fmt: str) -> str:
        return "—" if v is None or not math.isfinite(float(v)) else format(float(v), fmt)

    rhat = num(diag.get("max_rhat"), ".3f")
    if rhat != "—" and diag.get("max_rhat_var"):
        rhat += f" ({diag['max_rhat_var']})"
    ess = num(diag.get("min_ess_bulk"), ".0f")
    if ess != "—" and diag.get("min_ess_bulk_var"):
        ess += f" ({diag['min_ess_bulk_var']})"
    method = f"NUTS, {diag['chains']} chains × {diag['draws']} draws"
    return [label, method, rhat, ess, str(int(diag.get("divergences", 0)))]


def fit_remedies(diagnostics: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Return the remedy of each failed convergence check, one line per model (empty when all pass).

    The checks and their wording are those of `riskmodel.models._common.warn_on_diagnostics`
    (the one place the thresholds live), captured instead of warned.
    """
    import warnings

    from riskmodel.models._common import warn_on_diagnostics

    out = []
    for name, diag in diagnostics.items():
        if "max_rhat" not in diag:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_on_diagnostics(dict(diag))
        out += [f"{_MODEL_NAMES.get(name, name)}: {w.message}" for w in caught]
    return out


def fit_headline(diagnostics: Mapping[str, Mapping[str, Any]]) -> str:
    """Convergence summary of a fit: R-hat, bulk ESS, divergences, and the remedy on failure.

    Parameters
    ----------
    diagnostics : mapping
        ``FitOutcome.diagnostics``: per model, the dict of
        `riskmodel.models._common.convergence_diagnostics` or ``{"method": ...}`` for an exact
        (conjugate) fit.

    Examples
    --------
    >>> print(fit_headline({"transition_model": {"method": "conjugate (exact)"}}))
    Model        Method             max R-hat  min bulk ESS  Divergences
    -----------  -----------------  ---------  ------------  -----------
    transitions  conjugate (exact)          —             —            —
    Convergence: ok (an exact conjugate posterior needs no MCMC checks).
    >>> print(fit_headline({"intensity_model": {"method": "maximum likelihood"}}).splitlines()[-1])
    Convergence: no MCMC to check (maximum likelihood; intervals from the Hessian).
    """
    rows = [_fit_row(name, diag) for name, diag in diagnostics.items()]
    header = ("Model", "Method", "max R-hat", "min bulk ESS", "Divergences")
    table = text_table(header, rows, left=2)
    remedies = fit_remedies(diagnostics)
    if remedies:
        return table + "\nConvergence: FAILED. " + "\n".join(remedies)
    if all("max_rhat" not in d for d in diagnostics.values()):
        methods = " ".join(str(d.get("method", "")) for d in diagnostics.values()).lower()
        if "likelihood" in methods:  # an MLE (with or without conjugate parts): nothing sampled
            return table + (
                "\nConvergence: no MCMC to check (maximum likelihood; intervals from the Hessian)."
            )
        return table + "\nConvergence: ok (an exact conjugate posterior needs no MCMC checks)."
    return table + "\nConvergence: ok (R-hat, ESS and divergences within their limits)."
