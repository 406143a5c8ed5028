"""`ModelComparison`: the ranking of `compare_models`, its cells, and the sentences about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PARETO_K_BAD", "ModelComparison"]

PARETO_K_BAD = 0.7
"""Pareto k above which a cell's PSIS-LOO estimate is unreliable (Vehtari et al. 2024)."""

CLEAR_SE = 2.0
"""A difference is called clear when it exceeds this many standard errors of the difference."""

METHODS = {
    "loo": "PSIS-LOO on the panel the models were fitted on",
    "time": "log predictive density of a held-out (out-of-time) panel",
}


def _plain(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if v is pd.NA:
        return None
    return v


@dataclass(frozen=True)
class ModelComparison:
    """Outcome of `compare_models`.

    Attributes
    ----------
    table : DataFrame
        One row per model, best first: ``model``, ``rank`` (1 = best), ``elpd`` (sum over cells
        of the cell's elpd: PSIS-LOO ``elpd_loo``, or the held-out log predictive density),
        ``se``, ``p_loo`` (effective number of parameters; LOO only), ``elpd_diff`` (best
        model's elpd minus this one's, ≥ 0, as `arviz.compare`), ``se_diff`` (its standard
        error, paired over cells: ``sqrt(cells · var(elpd_best,i − elpd_i))``), ``cells``,
        ``draws``, ``chains``, ``pareto_k_max`` and ``pareto_k_bad`` (cells with k > 0.7;
        LOO only), ``kind``, ``pooling`` and ``covariates`` (where known).
    pointwise : DataFrame
        One row per cell: ``period, segment, from_state, n`` and each model's elpd of the cell
        (a column named after the model).
    pareto_k : DataFrame or None
        LOO only: ``period, segment, from_state`` and each model's Pareto k of the cell.
    method : {"loo", "time"}
    """

    table: pd.DataFrame
    pointwise: pd.DataFrame = field(repr=False)
    pareto_k: pd.DataFrame | None = field(default=None, repr=False)
    method: str = "time"

    # ------------------------------------------------------------------ views
    @property
    def models(self) -> list[str]:
        """Model names, best first."""
        return [str(m) for m in self.table["model"]]

    def to_dataframe(self) -> pd.DataFrame:
        """Return the ranking table (a copy): ``models.csv`` of ``riskmodel compare-models``."""
        return self.table.copy()

    def worst_cells(self, model: str, n: int = 5) -> pd.DataFrame:
        """Return the `n` cells of `model` with the largest Pareto k (empty for the time split)."""
        if self.pareto_k is None:
            return pd.DataFrame(columns=["period", "segment", "from_state", "pareto_k"])
        k = self.pareto_k[["period", "segment", "from_state", model]].rename(
            columns={model: "pareto_k"}
        )
        return k.sort_values("pareto_k", ascending=False).head(n).reset_index(drop=True)

    def pareto_k_warnings(self) -> list[str]:
        """One sentence per model with cells of Pareto k > 0.7 (none for the time split)."""
        if self.pareto_k is None:
            return []
        out = []
        for row in self.table.itertuples():
            if not row.pareto_k_bad:
                continue
            worst = self.worst_cells(row.model, 3)
            where = "; ".join(
                f"period {r.period}, {r.segment}, from {r.from_state} (k = {r.pareto_k:.2f})"
                for r in worst.itertuples()
            )
            out.append(
                f"model {row.model!r}: {int(row.pareto_k_bad)} of {int(row.cells)} cells have "
                f"Pareto k > {PARETO_K_BAD} (worst: {where}); their PSIS-LOO estimates are "
                "unreliable and its elpd may be too high. Check those cells (a cell that "
                "dominates its segment's data), draw more posterior samples, or compare on a "
                "held-out panel with method='time' (CLI: --method time)."
            )
        return out

    def to_dict(self) -> dict:
        """Return the JSON-ready content (``models.json``).

        Method, summary, one record per model, worst cells by Pareto k and the warnings.
        """
        models = []
        for rec in self.table.to_dict(orient="records"):
            rec = {k: _plain(v) for k, v in rec.items()}
            if self.pareto_k is not None:
                rec["worst_cells"] = [
                    {k: _plain(v) for k, v in r.items()}
                    for r in self.worst_cells(rec["model"]).to_dict(orient="records")
                ]
            models.append(rec)
        return {
            "method": self.method,
            "method_description": METHODS[self.method],
            "cells": len(self.pointwise),
            "pareto_k_threshold": PARETO_K_BAD if self.method == "loo" else None,
            "summary": self.summary(),
            "models": models,
            "warnings": self.pareto_k_warnings(),
        }

    # ------------------------------------------------------------------ sentences
    def _preference(self, best, other) -> str:
        diff, se = float(other["elpd_diff"]), float(other["se_diff"])
        ratio = diff / se if se > 0 else np.inf
        clear = ratio > CLEAR_SE
        verb = "prefer" if clear else "slightly prefer"
        tail = (f"{ratio:.1f} standard errors" if np.isfinite(ratio) else "identical cells") + (
            "" if clear else f"; within {CLEAR_SE:g} standard errors, not a clear preference"
        )
        return (
            f"the data {verb} {best['model']} over {other['model']} by "
            f"Δelpd = {diff:.1f} ± {se:.1f} ({tail})"
        )

    def pooling_preference(self, *, short: bool = False) -> str | None:
        """When the models differ only in pooling, which pooling the data prefer; else None.

        `short` leaves out the differences (`summary` has already said them).
        """
        t = self.table
        if len(t) < 2 or t["pooling"].isna().any() or t["pooling"].nunique() < 2:
            return None
        if t["kind"].nunique() > 1 or t["covariates"].fillna("").nunique() > 1:
            return None
        best = t.iloc[0]
        parts = []
        for _, other in t.iloc[1:].iterrows():
            if other["pooling"] == best["pooling"]:
                continue
            diff, se = float(other["elpd_diff"]), float(other["se_diff"])
            ratio = f"{diff / se:.1f}" if se > 0 else "∞"
            parts.append(f"'{other['pooling']}' by Δelpd = {diff:.1f} ± {se:.1f} ({ratio} se)")
        if not parts:
            return None
        clear = all(
            float(o["elpd_diff"]) > CLEAR_SE * float(o["se_diff"])
            for _, o in t.iloc[1:].iterrows()
            if o["pooling"] != best["pooling"]
        )
        lead = "The data prefer" if clear else "The data lean (not clearly) towards"
        if short:
            others = [f"'{p}'" for p in t["pooling"].iloc[1:] if p != best["pooling"]]
            return f"{lead} pooling '{best['pooling']}' (over {', '.join(others)})."
        return f"{lead} pooling '{best['pooling']}' over " + ", and over ".join(parts) + "."

    def summary(self) -> str:
        """Say which model the data prefer, and by how much.

        And, for models differing only in pooling, which pooling; plus a note on unreliable
        PSIS-LOO cells.
        """
        t = self.table
        best = t.iloc[0]
        if len(t) < 2:
            text = f"Only one model: {best['model']} (elpd {best['elpd']:.1f} ± {best['se']:.1f})."
        else:
            prefs = [self._preference(best, other) for _, other in t.iloc[1:].iterrows()]
            text = f"By {METHODS[self.method]} ({len(self.pointwise)} cells), " + "; ".join(prefs)
            text += "."
        pooling = self.pooling_preference(short=True)
        if pooling:
            text += " " + pooling
        bad = [r.model for r in t.itertuples() if self.method == "loo" and r.pareto_k_bad]
        if bad:
            text += (
                f" PSIS-LOO is unreliable for some cells of {', '.join(map(str, bad))} "
                f"(Pareto k > {PARETO_K_BAD}): see the warnings."
            )
        return text
