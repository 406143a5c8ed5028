"""Named exposures in the engine: each name's own default row, and its own fixed LGD.

A name (`riskmodel.data.names`) is a cohort of one customer, the last rows of the scenario's
portfolio. Its default probability in transient row ``i`` of its segment is
``p'_i = min(m · p_i, 1)`` for its multiplier ``m``; its survivors move with the segment's
survivor shares, so the other entries of the row are ``p_ij (1 − p'_i) / (1 − p_i)`` (a row the
segment never survives, ``p_i = 1``, keeps a name's survivors in their state). With ``m = 1``
the row is the segment's, bit for bit.

Each name gets its own *row group* beside the segments' (``S + j`` for name ``j``): its matrices
per draw and period, its segment's correlation and factor. `scenario_rows` is the scenario seen
with those row groups as segments, which the exact expectations
(`riskmodel.simulation.expected`) propagate; `NameArrays` holds the kernel's arrays of the row
groups, and `NameArrays.view` gives the kernel inputs with the row groups in place of the
segments, for the default draws and the survivors' moves only: outputs by segment, the LGD and
the exposure still use each name's own segment. The conditional default probability of a name
is the one-factor (or sector) formula with ``Φ⁻¹(p'_i)``: ``E[p'(Z)] = p'`` at shift 0.

A name with its own ``lgd`` loses exactly ``EAD × f_t × lgd`` when it defaults: no Beta draw and
no downturn (the scenario's ``lgd.sd``, ``addon`` and ``downturn`` apply only to names without
one, and to the cohorts).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from riskmodel.data.names import Names
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.chains import prepare_transitions

if TYPE_CHECKING:  # the kernel imports this module
    from riskmodel.simulation.kernel import KernelInputs

__all__ = [
    "NameArrays",
    "cohort_lgd",
    "cohort_rows",
    "name_arrays",
    "own_lgd_loss",
    "scenario_rows",
]

Floats = NDArray[np.float64]
Index = NDArray[np.intp]


def cohort_rows(scenario: Scenario) -> Index:
    """Row group of each cohort (C,): its segment, or ``S + j`` for name ``j``."""
    seg_pos = {name: i for i, name in enumerate(scenario.segments)}
    rows = np.array([seg_pos[s] for s in scenario.portfolio.table["segment"]], dtype=np.intp)
    if scenario.names is not None:
        n_s, n = len(scenario.segments), scenario.names.n
        rows[len(rows) - n :] = n_s + np.arange(n)
    return rows


def cohort_lgd(scenario: Scenario) -> tuple[NDArray[np.bool_], Floats] | None:
    """Cohorts with a fixed LGD of their own (C,) and that LGD (0 elsewhere); None if none."""
    if scenario.names is None:
        return None
    own = scenario.names.table["lgd"].to_numpy(dtype=float)
    n_c = scenario.portfolio.n_cohorts
    fixed = np.zeros(n_c, dtype=bool)
    fixed[n_c - len(own) :] = ~np.isnan(own)
    if not fixed.any():
        return None
    lgd = np.zeros(n_c)
    lgd[fixed] = own[~np.isnan(own)]
    return fixed, lgd


def own_lgd_loss(
    own: tuple[NDArray[np.bool_], Floats] | None, defaults: Floats, loss: Floats
) -> Floats:
    """`loss` (…, C) with the cohorts of a fixed LGD of their own at ``defaults × LGD``."""
    if own is None:
        return loss
    out: Floats = np.where(own[0], defaults * own[1], loss)
    return out


def _name_matrices(scenario: Scenario, names: Names) -> np.ndarray:
    """Return the names' matrices per draw (and period), shape (D, [T,] N, K, K)."""
    seg_pos = {name: i for i, name in enumerate(scenario.segments)}
    seg = np.array([seg_pos[s] for s in names.table["segment"]], dtype=np.intp)
    m = names.table["pd_multiplier"].to_numpy(dtype=float)
    t_idx, d_idx = scenario.states.transient_idx, scenario.states.default_idx
    p = np.array(np.asarray(scenario.transitions, dtype=float)[..., seg, :, :])
    rows = p[..., t_idx, :]  # (D, [T,] N, Kt, K)
    pd = np.clip(rows[..., d_idx], 0.0, 1.0)
    new_pd = np.minimum(m[:, None] * pd, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(pd < 1.0, (1.0 - new_pd) / (1.0 - pd), 0.0)
    rows = rows * scale[..., None]
    rows[..., d_idx] = new_pd
    stay = rows[..., np.arange(len(t_idx)), t_idx]
    rows[..., np.arange(len(t_idx)), t_idx] = stay + np.where(pd < 1.0, 0.0, 1.0 - new_pd)
    p[..., t_idx, :] = rows
    return p


def scenario_rows(scenario: Scenario) -> Scenario:
    """Return the scenario with one extra segment (row group) per name, for the exact expectations.

    Only ``transitions``, ``correlation``, ``segments`` and the sector factors' segment arrays
    change; the portfolio is this scenario's (index it with `cohort_rows`). Without names,
    `scenario` itself.
    """
    names = scenario.names
    if names is None:
        return scenario
    seg_pos = {name: i for i, name in enumerate(scenario.segments)}
    seg = np.array([seg_pos[s] for s in names.table["segment"]], dtype=np.intp)
    groups = np.concatenate([np.arange(len(scenario.segments)), seg])
    transitions = np.concatenate([scenario.transitions, _name_matrices(scenario, names)], axis=-3)
    corr = np.asarray(scenario.correlation)
    factors = scenario.factors
    if factors is not None:
        factors = replace(
            factors,
            segment_factor=factors.segment_factor[groups],
            segment_correlation=factors.segment_correlation[groups],
        )
    return replace(
        scenario,
        transitions=transitions,
        correlation=corr[:, groups] if corr.ndim == 2 else corr,
        segments=(*scenario.segments, *(f"name:{i}" for i in names.ids)),
        factors=factors,
    )


@dataclass(frozen=True)
class NameArrays:
    """The kernel's arrays of the row groups (segments, then one per name); R = S + N."""

    row: Index  # (C,) row group of each cohort
    probit_pd: Floats  # (D, T, R, Kt)
    seq_prob: Floats  # (D, T, R, Kt, J)
    surv_prob: Floats  # (D, T, R, Kt, K)
    correlation: Floats  # (D,), or (D, R) with sector factors
    segment_factor: Index | None  # (R,) with sector factors
    lgd: tuple[NDArray[np.bool_], Floats] | None  # `cohort_lgd`

    def view(self, inp: KernelInputs) -> KernelInputs:
        """`inp` with the row groups in place of the segments (defaults and moves only)."""
        return replace(
            inp,
            cohort_segment=self.row,
            probit_pd=self.probit_pd,
            seq_prob=self.seq_prob,
            surv_prob=self.surv_prob,
            correlation=self.correlation,
            segment_factor=self.segment_factor,
            n_segments=int(self.probit_pd.shape[2]),
            names=None,
        )


def name_arrays(
    scenario: Scenario, transitions: np.ndarray
) -> tuple[NameArrays, tuple[Floats, Floats, Index, Floats]]:
    """Return the row groups' kernel arrays, and the segments' own (probit, seq, dest, surv).

    `transitions` (D, T, S, K, K) are the scenario's. Both come from one `prepare_transitions`
    of all row groups, so the survivors' destination order (`dest`) is shared.
    """
    rows = scenario_rows(scenario)
    ext = np.asarray(rows.transitions, dtype=float)
    if ext.ndim == 4:
        ext = ext[:, None]
    probit, seq, dest, surv = prepare_transitions(
        ext, scenario.states.transient_idx, scenario.states.default_idx
    )
    n_s = transitions.shape[2]
    arrays = NameArrays(
        row=cohort_rows(scenario),
        probit_pd=probit,
        seq_prob=seq,
        surv_prob=surv,
        correlation=np.asarray(rows.correlation, dtype=float),
        segment_factor=None if rows.factors is None else rows.factors.segment_factor,
        lgd=cohort_lgd(scenario),
    )
    return arrays, (probit[:, :, :n_s], seq[:, :, :n_s], dest, surv[:, :, :n_s])
