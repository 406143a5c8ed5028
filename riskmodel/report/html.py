"""HTML building blocks shared by the reports.

Escaping, number formatting, tables, sections, embedded figures and the self-contained page
(inline CSS, figures as base64 data URIs, no scripts, no external resources), so a report can be
mailed or archived as one file.

Table cells are passed as HTML: escape user strings with `_e` first.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;
margin:0;background:#fafafa}
main{max-width:960px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:32px 0 8px;padding-bottom:4px;
border-bottom:2px solid #0072B2}
p.lead{color:#555;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{padding:5px 10px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:#f2f6fa;font-weight:600}
span.se{color:#666;font-size:.9em}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
figure{margin:8px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
footer{margin-top:32px;color:#777;font-size:.85em}
div.table-wrap{overflow-x:auto;max-width:100%}
th{white-space:nowrap}
nav.toc{margin:0 0 8px;padding:8px 16px;background:#f6f8fa;border:1px solid #e5e5e5}
nav.toc p{margin:0 0 4px;font-weight:600}nav.toc ol{margin:0;padding-left:20px;columns:2}
nav.toc a{color:#0072B2;text-decoration:none}
@media print{body{background:#fff;font-size:11pt}main{max-width:none;padding:0}
nav.toc{display:none}div.table-wrap{overflow:visible}
figure,table,tr,ul.assumptions li{break-inside:avoid;page-break-inside:avoid}
h2,h3{break-after:avoid;page-break-after:avoid}figure img{max-height:9in;border:0}
@page{margin:15mm}}
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def _num(value: float | None, *, digits: int = 0) -> str:
    """Thousands-separated number; small numbers keep 4 significant digits; None/NaN → —."""
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 100 or value == 0:
        return f"{value:,.{digits}f}"
    return f"{value:,.4g}"


def _with_se(value: float | None, se: float | None, *, digits: int = 0) -> str:
    text = _num(value, digits=digits)
    if se is None or not math.isfinite(se):
        return text
    return f'{text} <span class="se">± {_num(se, digits=digits)}</span>'


def _exact(value: float | None, *, digits: int = 0) -> str:
    """Return an exact figure (no Monte Carlo error), labelled so."""
    return f'{_num(value, digits=digits)} <span class="se">exact</span>'


def _expected(block: Mapping[str, Any], *, digits: int = 0) -> str:
    """Return the ``expected`` of a summary block: labelled exact, or with its ± standard error."""
    if block.get("method") == "exact":
        return _exact(block["expected"], digits=digits)
    return _with_se(block["expected"], (block.get("stderr") or {}).get("expected"), digits=digits)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """Return a table; cells are given as HTML (escape user strings before)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="table-wrap">{table}</div>'  # a wide table scrolls inside its box


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{body}</section>'


def _per_period_text(values, *, digits: int = 4, limit: int = 12) -> str:
    vals = [float(v) for v in values]
    if len(set(vals)) == 1:
        return f"{vals[0]:.{digits}g} in every period"
    shown = ", ".join(f"{v:.{digits}g}" for v in vals[:limit])
    more = f", … ({len(vals)} periods)" if len(vals) > limit else ""
    return f"[{shown}{more}]"


def _figure(name: str, figures: Mapping[str, bytes]) -> str:
    """One embedded figure (a base64 data URI) with its caption; '' if it was not drawn."""
    from riskmodel.plotting.figures import RUN_FIGURE_CAPTIONS

    png = figures.get(name)
    if png is None:
        return ""
    return figure_html(name, png, RUN_FIGURE_CAPTIONS.get(name, name.replace("_", " ")))


def figure_html(name: str, png: bytes, caption: str) -> str:
    """Return an embedded PNG (base64 data URI) with its caption and the file it is saved as."""
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)} (also <code>figures/{_e(name)}.png</code>)</figcaption>"
        "</figure>"
    )


def _section_figures(figures: Mapping[str, bytes], title: str) -> str:
    return _section(title, "".join(_figure(name, figures) for name in figures))


def _toc(sections: list[str]) -> str:
    """Return a table of contents linking each section's ``id`` (from `_section`)."""
    import re

    found = re.findall(r'<section id="([^"]*)"><h2>(.*?)</h2>', "".join(sections))
    items = "".join(f'<li><a href="#{a}">{t}</a></li>' for a, t in found)
    return f'<nav class="toc"><p>Contents</p><ol>{items}</ol></nav>' if items else ""


def _page(title: str, lead: str, sections: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<header><h1>{_e(title)}</h1><p class="lead">{_e(lead)}</p></header>'
        + _toc(sections)
        + "".join(sections)
        + "<footer>Generated by riskmodel. Figures marked exact are exact expectations of the "
        "model (no Monte Carlo error); the others are Monte Carlo estimates, ± one standard "
        "error.</footer></main></body></html>\n"
    )
