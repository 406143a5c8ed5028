"""`BacktestResult`: the outcome of `riskmodel.backtest`, and the calibration scores."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["BacktestResult", "calibration_scores"]

RECORD_FIELDS = (
    "segment",
    "from_state",
    "to_state",
    "period",
    "test",
    "observed",
    "expected",
    "statistic",
    "p_value",
    "p_adjusted",
    "verdict",
)
_LOG_FLOOR = 1e-300  # a transition the model calls impossible scores -log(1e-300) ≈ 691


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become None, numpy scalars become Python ones."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


def calibration_scores(counts: np.ndarray, mean_rows: np.ndarray, segments) -> pd.DataFrame:
    """Brier and log scores of the predictive transition probabilities, and a naive benchmark.

    Parameters
    ----------
    counts : ndarray, shape (n_periods, n_segments, n_transient, n_states)
        Observed transitions.
    mean_rows : ndarray, shape (n_periods or 1, n_segments, n_transient, n_states)
        The predictive probabilities (posterior mean rows, per period for a covariate model;
        the systematic factor averages out: ``E[p(Z)] = p``).
    segments : sequence of str

    Returns
    -------
    DataFrame
        One row per segment and one ``"all"`` row: ``transitions``, ``brier``, ``log_score``
        (mean negative log probability of the observed destination), the same for the naive
        benchmark (``brier_naive``, ``log_score_naive``: each origin's destination frequencies
        in the backtest panel itself, pooled over segments, an in-sample benchmark that
        ignores segmentation) and the skill scores ``1 - score / score_naive`` (positive: the
        model beats the benchmark).
    """
    y = counts.astype(float)  # (T, S, I, n)
    pooled = y.sum((0, 1))
    tot = pooled.sum(-1, keepdims=True)
    naive = np.divide(pooled, tot, out=np.zeros_like(pooled), where=tot > 0)

    def scores(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sq = (p**2).sum(-1, keepdims=True) - 2 * p + 1  # Brier of each observed destination
        brier = (y * sq).sum((0, 2, 3))
        log = -(y * np.log(np.maximum(p, _LOG_FLOOR))).sum((0, 2, 3))
        return brier, log

    b, lg = scores(np.broadcast_to(mean_rows, y.shape))
    bn, ln = scores(np.broadcast_to(naive, y.shape))
    n = y.sum((0, 2, 3))
    rows = [[*v] for v in zip(segments, n, b, lg, bn, ln, strict=True)]
    rows.append(["all", n.sum(), b.sum(), lg.sum(), bn.sum(), ln.sum()])
    df = pd.DataFrame(
        rows,
        columns=["segment", "transitions", "brier", "log_score", "brier_naive", "log_score_naive"],
    )
    for col in ("brier", "log_score", "brier_naive", "log_score_naive"):
        df[col] = df[col] / df["transitions"].where(df["transitions"] > 0)
    df["brier_skill"] = 1 - df["brier"] / df["brier_naive"]
    df["log_skill"] = 1 - df["log_score"] / df["log_score_naive"]
    return df


@dataclass(frozen=True)
class BacktestResult:
    """Outcome of `riskmodel.backtest`.

    Attributes
    ----------
    overall : {"green", "amber", "red"}
        The worst verdict of the tests in the family (views excluded).
    tests : DataFrame
        One row per test: the fields of ``backtest.json`` (`RECORD_FIELDS`), plus
        ``band_lower``/``band_upper`` (95% predictive band of the rate) for the per-period tests.
    thresholds : dict
        Levels and rules behind the verdicts.
    calibration : DataFrame
        Brier and log scores per segment against the naive benchmark (`calibration_scores`).
    pit : ndarray
        Randomised PIT values of the per-period default counts of each segment × origin.
    bands : dict
        Per period × segment arrays ``expected``, ``lower``, ``upper``, ``observed`` (rates).
    reliability : DataFrame
        Predicted and observed default rate per period × segment × origin, with ``n``.
    info : dict
        Segments, periods, states, sample sizes and the seed.
    """

    overall: str
    tests: pd.DataFrame
    thresholds: dict
    calibration: pd.DataFrame
    pit: np.ndarray = field(repr=False)
    bands: dict = field(repr=False)
    reliability: pd.DataFrame = field(repr=False)
    info: dict = field(default_factory=dict)

    def to_dataframe(self) -> pd.DataFrame:
        """Return the tests as a table (the content of ``backtest.csv``)."""
        cols = [c for c in (*RECORD_FIELDS, "band_lower", "band_upper") if c in self.tests]
        return self.tests[cols].copy()

    def to_dict(self) -> dict:
        """Return ``backtest.json``'s content: overall, thresholds, tests, calibration, info."""
        tests = [
            {k: _clean(v) for k, v in rec.items()}
            for rec in self.to_dataframe().to_dict(orient="records")
        ]
        for rec in tests:
            period = rec["period"]
            rec["period"] = None if period is None or pd.isna(period) else int(period)
        calib = [
            {k: _clean(v) for k, v in rec.items()}
            for rec in self.calibration.to_dict(orient="records")
        ]
        counts = self.tests["verdict"].value_counts()
        return {
            "overall": self.overall,
            "thresholds": self.thresholds,
            "verdict_counts": {z: int(counts.get(z, 0)) for z in ("green", "amber", "red")},
            "tests": tests,
            "calibration": calib,
            "info": {k: _clean(v) if not isinstance(v, list) else v for k, v in self.info.items()},
        }

    def summary(self) -> pd.DataFrame:
        """Verdict counts per test (rows) and the worst verdict of each test."""
        tab = pd.crosstab(self.tests["test"], self.tests["verdict"])
        for z in ("green", "amber", "red"):
            if z not in tab:
                tab[z] = 0
        tab = tab[["green", "amber", "red"]]
        tab["worst"] = np.where(tab["red"] > 0, "red", np.where(tab["amber"] > 0, "amber", "green"))
        return tab

    def pit_histogram(self, bins: int = 10) -> pd.DataFrame:
        """Histogram of `pit` on equal bins of (0, 1), with the 95% band of a uniform sample.

        Returns
        -------
        DataFrame
            ``left``, ``right``, ``density`` and ``lower``/``upper``: the 2.5% and 97.5%
            quantiles of a bin's density for ``len(pit)`` uniform values (binomial counts).
        """
        from scipy import stats

        edges = np.linspace(0.0, 1.0, bins + 1)
        counts, _ = np.histogram(self.pit, bins=edges)
        m = max(len(self.pit), 1)
        lo, hi = stats.binom.ppf([0.025, 0.975], m, 1.0 / bins)
        return pd.DataFrame(
            {
                "left": edges[:-1],
                "right": edges[1:],
                "density": counts * bins / m,
                "lower": lo * bins / m,
                "upper": hi * bins / m,
            }
        )

    def reliability_curve(self, bins: int = 10) -> pd.DataFrame:
        """Predicted against realised default rate, cells grouped by predicted PD.

        Cells (period × segment × origin) are sorted by predicted PD and cut into `bins` groups
        of about equal customers; per group the customer-weighted mean predicted and realised
        rates and the customers ``n``.
        """
        rel = self.reliability.sort_values("predicted")
        if rel.empty:
            return pd.DataFrame(columns=["predicted", "observed", "n"])
        cum = rel["n"].cumsum().to_numpy()
        group = np.minimum((bins * (cum - 1) / cum[-1]).astype(int), bins - 1)
        w = rel["n"].to_numpy()
        df = (
            pd.DataFrame(
                {
                    "group": group,
                    "n": w,
                    "pred_n": rel["predicted"].to_numpy() * w,
                    "obs_n": rel["observed"].to_numpy() * w,
                }
            )
            .groupby("group", sort=True)
            .sum()
        )
        return pd.DataFrame(
            {
                "predicted": df["pred_n"] / df["n"],
                "observed": df["obs_n"] / df["n"],
                "n": df["n"],
            }
        ).reset_index(drop=True)

    def __repr__(self) -> str:
        return (
            f"BacktestResult(overall={self.overall!r}, tests={len(self.tests)}, "
            f"segments={self.info.get('segments')}, periods={len(self.info.get('periods', []))})"
        )
