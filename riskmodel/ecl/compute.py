"""Per-loan ECL of a chunk of the tape: dot products with the shared term structures.

For a loan of group ``g`` (its segment and state today), remaining life ``M = min(maturity, H)``
periods, exposure profile ``EAD_t``, discount factors ``df_t`` and LGD ``ℓ``:

``ecl_lifetime = ℓ · Σ_{t ≤ M} EAD_t · df_t · λ[g, t]`` and
``ecl_12m = ℓ · Σ_{t ≤ M} w_t · EAD_t · df_t · λ[g, t]``,

with ``λ`` the loss profile of the term structure (`TermStructure.loss_profile`; the marginal PD
without a downturn LGD) and ``w_t`` the weights of the 12-month window. The PDs are
``pd_lifetime = Σ_{t ≤ M} pd[g, t]`` and ``pd_12m = Σ_{t ≤ M} w_t pd[g, t]`` (one look-up in the
cumulative sums). A loan in the default state has both PDs 1 and both ECLs ``exposure · ℓ``
(undiscounted: the loss event has happened).

The exposure profile: ``EAD_t = exposure · Π_{u ≤ t} (1 − a)`` with the loan's ``amortisation``
``a``; with an ``instalment`` ``I`` the balance runs ``B_t = max(B_{t−1} (1 + r_t) − I, 0)``;
without either the loan follows the scenario's ``exposure.amortisation`` (``ead_factor``), as the
cohort engine does. ``df_t = Π_{u ≤ t} 1 / (1 + r)`` with the loan's ``rate``, else the scenario's
discount rate. ``ℓ`` is the loan's ``lgd`` plus the scenario's LGD add-on (clipped to [0, 1]), else
the scenario's mean plus add-on.

With a weighted set of scenarios every figure is the weighted sum of the scenarios' figures, and
the stage is set on the weighted PDs (`riskmodel.ecl.staging`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.ecl.plan import EclPlan, ScenarioTerms
from riskmodel.ecl.staging import REASONS, stage_loans
from riskmodel.ecl.tape import TapeChunk

__all__ = ["OUTPUT_COLUMNS", "ChunkResult", "compute_chunk", "iter_results"]

OUTPUT_COLUMNS = (
    "loan_id",
    "segment",
    "state",
    "exposure",
    "periods",
    "pd_12m",
    "pd_lifetime",
    "pd_ratio",
    "stage",
    "stage_reason",
    "ecl_12m",
    "ecl_lifetime",
    "ecl_booked",
)
"""Columns of ``ecl_by_loan.csv``, in order."""


@dataclass(frozen=True)
class ChunkResult:
    """Per-loan figures of one chunk (weighted over the scenarios).

    Attributes
    ----------
    chunk : TapeChunk
        The loans.
    periods : ndarray of int
        Remaining life used, ``min(maturity, horizon)``.
    pd_12m, pd_lifetime, pd_ratio, ecl_12m, ecl_lifetime, ecl_booked : ndarray of float
    stage, reason : ndarray of int8
        Stage 1–3 and the position of its reason in `REASONS`.
    by_scenario : ndarray, shape (n_scenarios, 3, n)
        Each scenario's ``ecl_12m``, ``ecl_lifetime`` and booked ECL (with the common stages).
    """

    chunk: TapeChunk
    periods: np.ndarray
    pd_12m: np.ndarray
    pd_lifetime: np.ndarray
    pd_ratio: np.ndarray
    stage: np.ndarray
    reason: np.ndarray
    ecl_12m: np.ndarray
    ecl_lifetime: np.ndarray
    ecl_booked: np.ndarray
    by_scenario: np.ndarray

    def to_frame(self, plan: EclPlan) -> pd.DataFrame:
        """Return the chunk as a DataFrame with `OUTPUT_COLUMNS` (categories for the names)."""
        c = self.chunk
        return pd.DataFrame(
            {
                "loan_id": c.loan_id,
                "segment": pd.Categorical.from_codes(c.segment, categories=list(plan.segments)),
                "state": pd.Categorical.from_codes(c.state, categories=list(plan.states)),
                "exposure": c.exposure,
                "periods": self.periods,
                "pd_12m": self.pd_12m,
                "pd_lifetime": self.pd_lifetime,
                "pd_ratio": self.pd_ratio,
                "stage": self.stage,
                "stage_reason": pd.Categorical.from_codes(self.reason, categories=list(REASONS)),
                "ecl_12m": self.ecl_12m,
                "ecl_lifetime": self.ecl_lifetime,
                "ecl_booked": self.ecl_booked,
            },
            index=pd.RangeIndex(c.start, c.start + len(c)),
        )


def _by_life(periods: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Loans by remaining life, longest first, and how many live past each period ``t``.

    Period ``t`` (0-based) then concerns the first ``alive[t]`` loans of `order` only: the
    loops below touch each loan-period once, whatever the mix of maturities.
    """
    order = np.argsort(-periods, kind="stable")
    alive = np.searchsorted(-periods[order], -np.arange(horizon), side="left")
    return order, alive


def _instalment(
    terms: ScenarioTerms, c: TapeChunk, rows: np.ndarray, flat: np.ndarray, periods: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``Σ_{t<M} B_t · df_t · profile[flat, t]`` of instalment loans (and window-weighted).

    ``B_t = max(B_{t−1} (1 + r_t) − I, 0)`` with the loan's rate, else the scenario's.
    """
    ts = terms.ts
    order, alive = _by_life(periods, ts.horizon)
    rate = c.rate[rows][order]
    own_rate = ~np.isnan(rate)
    mixed = not own_rate.all()
    rate = np.where(own_rate, rate, 0.0)
    inv_rate = 1.0 / (1.0 + rate)
    instalment = c.instalment[rows][order]
    bal = c.exposure[rows][order]
    disc = np.ones(len(rows))
    flat = flat[order]
    life = np.zeros(len(rows))
    short = np.zeros(len(rows))
    n_w = len(terms.window)
    for t in range(ts.horizon):
        k = int(alive[t])
        if k == 0:
            break
        grow = np.where(own_rate[:k], rate[:k], ts.rate[t]) if mixed else rate[:k]
        bal = np.maximum(bal[:k] * (1.0 + grow) - instalment[:k], 0.0)
        disc = disc[:k] * inv_rate[:k]
        df = np.where(own_rate[:k], disc, ts.discount[t]) if mixed else disc
        term = bal * df * terms.profile_t[t][flat[:k]]
        life[:k] += term
        if t < n_w:
            short[:k] += terms.window[t] * term
    out_short, out_life = np.empty(len(rows)), np.empty(len(rows))
    out_short[order], out_life[order] = short, life
    return out_short, out_life


def _geometric(
    terms: ScenarioTerms, flat: np.ndarray, ratio: np.ndarray, periods: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``ratio^(t+1) profile[flat, t]`` over ``t < M`` (also window-weighted), by Horner."""
    order, alive = _by_life(periods, terms.ts.horizon)
    flat, ratio = flat[order], ratio[order]
    n_w = len(terms.window)
    life = np.zeros(len(flat))
    short = np.zeros(len(flat))
    for t in range(terms.ts.horizon - 1, -1, -1):
        k = int(alive[t])  # loans with t < M: the others' sums are still 0
        if k == 0:
            continue
        col = terms.profile_t[t][flat[:k]]
        life[:k] = (life[:k] + col) * ratio[:k]
        if t < n_w:
            short[:k] = (short[:k] + col * terms.window[t]) * ratio[:k]
    out_short, out_life = np.empty(len(flat)), np.empty(len(flat))
    out_short[order], out_life[order] = short, life
    return out_short, out_life


def _scenario(
    terms: ScenarioTerms, c: TapeChunk, g: np.ndarray, periods: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One scenario's (pd_12m, pd_lifetime, ecl_12m, ecl_lifetime) per loan, before the LGD.

    Loans without their own amortisation, instalment or rate (or with ``a = r = 0``) take their
    ECL from the cumulative profile: one look-up each. Loans with an own amortisation or rate
    (geometric factors) are summed by Horner's scheme, instalment loans along their balance
    schedule; both touch each loan-period once and hold a chunk's vectors only.
    """
    n_g = terms.cum_pd.shape[0]
    own_a = ~np.isnan(c.amortisation)
    own_r = ~np.isnan(c.rate)
    kind = own_a.astype(np.intp) + 2 * own_r.astype(np.intp)
    ratio = np.where(own_a, 1.0 - c.amortisation, 1.0) / np.where(own_r, 1.0 + c.rate, 1.0)
    instal = ~np.isnan(c.instalment)
    short = terms.cum_12m[kind, g, periods]
    life = terms.cum_life[kind, g, periods]
    geo = np.flatnonzero((ratio != 1.0) & ~instal)
    if len(geo):
        s, li = _geometric(terms, kind[geo] * n_g + g[geo], ratio[geo], periods[geo])
        short[geo], life[geo] = s, li
    rows = np.flatnonzero(instal)
    if len(rows):  # their own balance and discounting: the profile without scenario factors
        s, li = _instalment(terms, c, rows, 3 * n_g + g[rows], periods[rows])
        short[rows], life[rows] = s, li
    ead = np.where(instal, 1.0, c.exposure)  # instalment profiles hold their balance already
    return terms.cum_pd_12m[g, periods], terms.cum_pd[g, periods], short * ead, life * ead


def compute_chunk(plan: EclPlan, c: TapeChunk) -> ChunkResult:
    """Per-loan PDs, stages and ECLs of a chunk, weighted over the plan's scenarios.

    Parameters
    ----------
    plan : EclPlan
        From `riskmodel.ecl.plan.prepare`.
    c : TapeChunk
        Checked loans (`riskmodel.ecl.tape.iter_tape`).

    Returns
    -------
    ChunkResult
    """
    n = len(c)
    h = plan.horizon
    periods = np.where(np.isnan(c.maturity), h, np.minimum(np.nan_to_num(c.maturity), h))
    periods = periods.astype(np.intp)
    is_default = c.state == plan.default_idx
    g = c.segment * len(plan.states) + c.state
    totals = np.zeros((4, n))
    per = np.zeros((len(plan.terms), 2, n))
    for k, (terms, weight) in enumerate(zip(plan.terms, plan.weights, strict=True)):
        addon = terms.ts.lgd_addon
        lgd = np.where(np.isnan(c.lgd), terms.ts.lgd_mean, np.clip(c.lgd + addon, 0.0, 1.0))
        figures = np.array(_scenario(terms, c, g, periods))  # (4, n)
        figures[2:] *= lgd
        figures[:2, is_default] = 1.0
        figures[2:, is_default] = (c.exposure * lgd)[is_default]
        per[k] = figures[2:]
        totals += weight * figures
    pd_12m, pd_life, ecl_12m, ecl_life = totals
    if len(plan.terms) == 1:  # exactly the scenario's figures, not 1.0 × them
        pd_12m, pd_life, ecl_12m, ecl_life = figures
    stage, reason, ratio = stage_loans(
        plan.rule,
        state_stage=plan.state_stage[c.state],
        is_default=is_default,
        pd_12m=pd_12m,
        pd_lifetime=pd_life,
        origination_pd=c.origination_pd,
    )
    one = stage == 1
    booked = np.where(one, ecl_12m, ecl_life)
    by_scenario = np.concatenate([per, np.where(one, per[:, 0], per[:, 1])[:, None]], axis=1)
    return ChunkResult(
        chunk=c,
        periods=periods,
        pd_12m=pd_12m,
        pd_lifetime=pd_life,
        pd_ratio=ratio,
        stage=stage,
        reason=reason,
        ecl_12m=ecl_12m,
        ecl_lifetime=ecl_life,
        ecl_booked=booked,
        by_scenario=by_scenario,
    )


def iter_results(plan: EclPlan, chunks: Iterator[TapeChunk]) -> Iterator[ChunkResult]:
    """`compute_chunk` over the tape's chunks, one at a time (memory bounded by a chunk)."""
    for c in chunks:
        yield compute_chunk(plan, c)
