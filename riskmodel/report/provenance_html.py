"""The Provenance section of the run and comparison reports, from the written summary."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from riskmodel.report.html import _e, _table

__all__ = ["provenance_html"]

_LABELS = {
    "riskmodel": "riskmodel version",
    "python": "Python",
    "platform": "Platform",
    "numpy": "numpy",
    "scipy": "SciPy",
    "xarray": "xarray",
    "pandas": "pandas",
    "pymc": "PyMC",
    "arviz": "ArviZ",
}


def provenance_html(summary: Mapping[str, Any]) -> str:
    """Input files with their SHA-256 (relative to the scenario), run facts and versions.

    Parameters
    ----------
    summary : mapping
        ``summary.json`` or ``comparison.json`` as written, with ``provenance``.
    """
    prov = summary.get("provenance") or {}
    inputs = prov.get("inputs") or summary.get("inputs") or {}
    rows = [(f"<code>{_e(f)}</code>", f"<code>{_e(h)}</code>") for f, h in inputs.items()]
    files = _table(
        ("Input file (relative to the scenario)", "SHA-256"),
        rows or [("—", "—")],
        numeric=set(),
    )
    seconds = summary.get("run_seconds")
    seed = summary.get("seed")
    commit = prov.get("git_commit")
    command = prov.get("command")
    facts = [
        ("Seed", _e("none (fresh entropy)" if seed is None else seed)),
        (
            "Seed entropy",
            f"<code>{_e(prov.get('entropy') or summary.get('entropy') or '—')}</code>",
        ),
        ("Command", "—" if not command else f"<code>{_e(command)}</code>"),
        (
            "Git commit",
            "— (not run from a checkout)" if not commit else f"<code>{_e(commit)}</code>",
        ),
        ("Run time", "—" if seconds is None else f"{float(seconds):.2f} s"),
        ("Report written", _e(_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))),
    ]
    versions = prov.get("versions") or {"riskmodel": summary.get("riskmodel_version")}
    facts += [
        (_LABELS.get(k, _e(k)), "not installed" if v is None else _e(v))
        for k, v in versions.items()
    ]
    note = (
        "<p>Numbers depend on numpy's random streams and the numerical libraries: rerun with "
        "the same versions, seed (or entropy) and inputs to reproduce them.</p>"
    )
    return files + _table(("Item", "Value"), facts, numeric=set()) + note
