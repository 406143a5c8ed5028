"""Files of a model-comparison folder.

``models.json``, ``models.csv``, ``figures/*.png`` and a self-contained ``report.html`` (inline
CSS, figures as data URIs, like the other reports).

`fill_models_folder` writes them into a folder; ``riskmodel compare-models`` hands it to
`riskmodel.report.files.write_folder_atomic`, which builds the folder in a temporary sibling and
swaps it into place (manifest, refusal of foreign files).
"""

from __future__ import annotations

from pathlib import Path

from riskmodel.plotting.figures import render_png
from riskmodel.plotting.models import plot_elpd, plot_pareto_k
from riskmodel.report.files import fill_report_folder
from riskmodel.report.html import _e, _num, _page, _section, _table, figure_html
from riskmodel.validation.compare_result import PARETO_K_BAD, ModelComparison

__all__ = ["fill_models_folder", "model_figures", "render_models_html"]

CAPTIONS = {
    "elpd": "Expected log predictive density per model ± its standard error (circles), and "
    "each model's difference to the best ± the paired standard error over cells (triangles)",
    "pareto_k": "Pareto k of every cell (PSIS-LOO): below 0.5 good, 0.5–0.7 usable, above 0.7 "
    "the cell's leave-one-out estimate is unreliable",
}

_METHOD_HTML = {
    "loo": (
        "<p>Each cell is one period × segment × origin state of the panel the models were "
        "fitted on, with its destination counts. Per posterior draw <i>d</i> the cell's "
        "log-likelihood is <code>log Multinomial(y | n, P_d)</code>. PSIS-LOO estimates "
        "<code>elpd_i = log p(y_i | y_-i)</code>, the density of the cell under the posterior "
        "fitted without it, by importance sampling of the draws with weights "
        "<code>1 / p(y_i | θ_d)</code>, Pareto-smoothed (ArviZ <code>loo</code>). "
        "<code>elpd = Σ elpd_i</code>, <code>se = √(cells · var(elpd_i))</code>; "
        "<code>p_loo</code> is the effective number of parameters (above the real number of "
        "parameters it flags a misspecified model).</p>"
    ),
    "time": (
        "<p>Each cell is one period × segment × origin state of a held-out panel the models "
        "never saw. Its log predictive density is <code>log mean_d Multinomial(y | n, "
        "P_d)</code>, mixed over the posterior draws; <code>elpd = Σ lpd_i</code> and "
        "<code>se = √(cells · var(lpd_i))</code>.</p>"
    ),
}
_PAIRED = (
    "<p>Differences are paired over the same cells, as ArviZ <code>compare</code>: "
    "<code>Δelpd = Σ (elpd_best,i − elpd_i)</code> with standard error "
    "<code>√(cells · var(elpd_best,i − elpd_i))</code>, much smaller than the models' own "
    "standard errors because the cells are common. A difference of more than two standard "
    "errors is called a clear preference.</p>"
)


def model_figures(result: ModelComparison) -> dict[str, bytes]:
    """PNG bytes of the comparison figures, by file stem (``pareto_k`` for LOO only)."""
    n = len(result.table)
    figs = {
        "elpd": render_png(
            lambda ax: plot_elpd(result.table, ax=ax, method=result.method),
            size=(8.0, 1.6 + 0.7 * n),
        )
    }
    if result.pareto_k is not None:
        figs["pareto_k"] = render_png(
            lambda ax: plot_pareto_k(result.pareto_k, ax=ax, threshold=PARETO_K_BAD)
        )
    return figs


def _figure(name: str, png: bytes) -> str:
    return figure_html(name, png, CAPTIONS[name])


def _pm(value, se) -> str:
    """``value ± se`` with one decimal (log densities: a tenth is the resolution that matters)."""
    return f'{value:,.1f} <span class="se">± {se:,.1f}</span>'


def _ranking(result: ModelComparison) -> str:
    loo = result.method == "loo"
    rows = []
    for r in result.table.itertuples():
        ratio = "—" if r.rank == 1 or not r.se_diff > 0 else f"{r.elpd_diff / r.se_diff:.1f}"
        row = [str(r.rank), _e(r.model), _e(r.pooling or "—"), _pm(r.elpd, r.se)]
        if loo:
            row.append(_num(r.p_loo, digits=1))
        row += ["—" if r.rank == 1 else _pm(r.elpd_diff, r.se_diff), ratio]
        if loo:
            row += [str(int(r.pareto_k_bad)), f"{r.pareto_k_max:.2f}", str(r.chains)]
        row.append(f"{int(r.draws):,}")
        rows.append(tuple(row))
    head = ["rank", "model", "pooling", "elpd ± se"]
    head += ["p_loo"] if loo else []
    head += ["Δelpd ± se", "Δ / se"]
    head += [f"cells k > {PARETO_K_BAD}", "max k", "chains"] if loo else []
    head += ["draws"]
    numeric = set(range(3, len(head)))
    return _table(tuple(head), rows, numeric)


def _pareto_section(result: ModelComparison) -> str:
    warnings = result.pareto_k_warnings()
    body = (
        "<p>Every cell's Pareto k is below "
        f"{PARETO_K_BAD} for every model: the PSIS-LOO estimates are reliable.</p>"
        if not warnings
        else "<ul>" + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>"
    )
    rows = []
    for model in result.models:
        for r in result.worst_cells(model, 3).itertuples():
            rows.append((_e(model), _e(r.period), _e(r.segment), _e(r.from_state),
                         f"{r.pareto_k:.2f}"))  # fmt: skip
    head = ("model", "period", "segment", "from", "Pareto k")
    body += "<p>The three cells of each model with the largest k:</p>" + _table(head, rows, {4})
    return _section("Pareto k diagnostics", body)


def render_models_html(result: ModelComparison, figures: dict[str, bytes]) -> str:
    """Return the self-contained HTML report of a model comparison."""
    sections = [_section("Ranking", _ranking(result))]
    pooling = result.pooling_preference()
    if pooling:
        sections.append(_section("Pooling", f"<p>{_e(pooling)}</p>"))
    if result.method == "loo":
        sections.append(_pareto_section(result))
    sections.append(_section("Method", _METHOD_HTML[result.method] + _PAIRED))
    sections.append(_section("Figures", "".join(_figure(n, png) for n, png in figures.items())))
    return _page("Model comparison", result.summary(), sections)


def fill_models_folder(
    result: ModelComparison, folder: Path, *, inputs: dict | None = None
) -> None:
    """Write ``models.json`` (with `inputs`), ``models.csv``, figures and ``report.html``."""
    content = result.to_dict()
    if inputs:
        content["inputs"] = inputs
    figures = model_figures(result)
    fill_report_folder(
        Path(folder),
        content=content,
        json_name="models.json",
        figures=figures,
        html=render_models_html(result, figures),
        table=result.to_dataframe(),
        table_name="models.csv",
    )
