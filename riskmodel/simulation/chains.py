"""The exact cohorts' binomial chains of one period, drawing only what is uncertain.

The kernel (`riskmodel.simulation.kernel`) keeps the customers of the exact cohorts as columns
``(cohort, origin)`` of an array with one row per path. Per period `draw_exact` draws the defaults
``D ~ Binomial(n, p(Z))`` of every column, then the chain of survivors' moves
``Binomial(remaining, p_step)`` destination by destination, the stay destination being the
remainder, and adds the moves into the (cohort, state) destinations.

Draws whose outcome is certain are left out: a binomial with ``n = 0`` or ``p = 0`` is 0, and
numpy's generator consumes no random number for it, so every other draw keeps its value and the
stream stays bit-identical. One with ``p = 1`` is ``n``; numpy would consume a uniform for it, so
it is not drawn either (reproducibility version 2; `_binomial`). Only columns holding customers
on some path are drawn (a cohort never enters an origin its rows cannot reach), only origins
whose default probability is not 0 in every parameter draw, and only steps whose probability is
not 0 in every draw.

The same period is also compiled (`riskmodel.simulation._chains_c`): the same draws in the same
order from the same bit generator, without numpy's per-call overhead. `draw_exact` uses it when
`riskmodel.simulation.compiled` provides it (built, checked against numpy, and not switched off
with ``RISKMODEL_KERNEL=numpy``) and the generator is numpy's own; the numbers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from riskmodel.dynamics import survivor_shares
from riskmodel.simulation.compiled import FlatColumns, draw_compiled, kernel_for

if TYPE_CHECKING:  # the kernel imports this module
    from riskmodel.simulation.kernel import KernelInputs

__all__ = ["ExactColumns", "draw_exact", "prepare_transitions"]

Floats = NDArray[np.float64]
Counts = NDArray[np.int64]
Index = NDArray[np.intp]


@dataclass
class _Selection:
    """What a period draws when the columns `active` hold customers, and where moves go.

    Positions index the active columns; None means all of them. Targets are flat indices into
    the block's (path, cohort, state) destination counts. Two origins of a cohort may move to the
    same state in one step, so a step's columns are split into rounds whose targets are distinct
    within a path: each round adds its moves with one fancy ``+=`` (no ``np.add.at``).
    """

    active: Index  # (A,) active exact columns (cohort-major, origin-minor)
    sr: Index  # (A,) flat (segment, origin) index of each active column
    default_pos: Index | None  # columns with a default probability not always 0
    step_pos: list[Index | None]  # per chain step: columns whose destination is not always 0
    step_target: list[list[tuple[Index | None, Index]]]  # per step: rounds (columns, targets)
    stay_target: Index  # (n·A,) flat target of each active column's stay destination
    cohort_start: Index | None  # first active column of each cohort; None if one has none
    dense: bool = False  # every column active and drawn at every step: add moves by slices


@dataclass
class ExactColumns:
    """The exact cohorts' (cohort, origin) columns and the structure of their draws."""

    exact: Index  # (Ce,) exact cohorts
    pool: Index  # (Cp,) large-pool cohorts
    n_origins: int  # Kt
    sr: Index  # (Ce·Kt,) flat (segment, origin) index of each column
    pool_sr: Index  # (Cp, Kt) flat (segment, origin) index of the large-pool cohorts' rows
    default_drawn: NDArray[np.bool_]  # (Ce·Kt,) default probability not 0 in every draw
    step_drawn: NDArray[np.bool_]  # (J, Ce·Kt) step probability not 0 in every draw
    step_target: Index  # (J, Ce·Kt) flat (cohort, state) index of each step's destination
    stay_target: Index  # (Ce·Kt,) flat (cohort, state) index of the stay destination
    n_into: int  # Ce·K destinations
    routes: list[list[tuple[int, int]]]  # per step and the stay: (origin, destination) pairs
    cache: dict[tuple[int, bytes], _Selection] = field(default_factory=dict)
    _flat: FlatColumns | None = field(default=None, repr=False)

    @property
    def flat(self) -> FlatColumns:
        """The structure as the compiled kernel takes it (built once)."""
        if self._flat is None:
            self._flat = FlatColumns.build(self)
        return self._flat

    @property
    def all_exact(self) -> bool:
        """No cohort uses the large-pool approximation."""
        return len(self.pool) == 0

    @classmethod
    def build(cls, inp: KernelInputs) -> ExactColumns:
        """Columns of the exact cohorts of `inp`."""
        n_t, k = len(inp.transient_idx), inp.n_states
        exact = np.flatnonzero(~inp.large_pool)
        pool = np.flatnonzero(inp.large_pool)
        seg = inp.cohort_segment
        rows = np.tile(np.arange(n_t), len(exact))
        owner = np.repeat(np.arange(len(exact)), n_t)  # position of the column's cohort
        sr = seg[exact][owner] * n_t + rows
        # structurally zero probabilities: 0 in every parameter draw and period
        default_drawn = (inp.probit_pd > -np.inf).any(axis=(0, 1)).ravel()[sr]  # Φ⁻¹(0) = −∞
        seq_nonzero = (inp.seq_prob > 0).any(axis=(0, 1))  # (S, Kt, J)
        seq_nonzero = seq_nonzero.reshape(inp.n_segments * n_t, seq_nonzero.shape[-1])
        return cls(
            exact=exact,
            pool=pool,
            n_origins=n_t,
            sr=sr,
            pool_sr=seg[pool][:, None] * n_t + np.arange(n_t)[None],
            default_drawn=default_drawn,
            step_drawn=seq_nonzero[sr].T,
            step_target=(owner * k)[None] + inp.dest[rows, :-1].T,
            stay_target=owner * k + inp.dest[rows, -1],
            n_into=len(exact) * k,
            routes=[list(enumerate(col.tolist())) for col in inp.dest.T],
        )

    def selection(self, active: Index, n: int) -> _Selection:
        """Return what to draw for `n` paths when the columns `active` hold customers (cached)."""
        key = (n, active.tobytes())
        sel = self.cache.get(key)
        if sel is None:
            offset = (np.arange(n) * self.n_into)[:, None]
            step_pos = [_positions(drawn[active]) for drawn in self.step_drawn]
            owner = active // self.n_origins
            first = np.flatnonzero(np.diff(owner, prepend=-1))
            sel = _Selection(
                active=active,
                sr=self.sr[active],
                default_pos=_positions(self.default_drawn[active]),
                step_pos=step_pos,
                step_target=[
                    _rounds(offset, _take(target[active], pos))
                    for target, pos in zip(self.step_target, step_pos, strict=True)
                ],
                stay_target=(offset + self.stay_target[active][None]).ravel(),
                cohort_start=first if len(first) == len(self.exact) else None,
                dense=len(active) == len(self.sr) and all(pos is None for pos in step_pos),
            )
            self.cache[key] = sel
        return sel


def _positions(mask: NDArray[np.bool_]) -> Index | None:
    """Positions where `mask` holds, or None if it holds everywhere."""
    return None if mask.all() else np.flatnonzero(mask)


def _take(a: Index, pos: Index | None) -> Index:
    """``a[pos]``, or `a` itself for None."""
    return a if pos is None else a[pos]


def _rounds(offset: Index, target: Index) -> list[tuple[Index | None, Index]]:
    """Split a step's columns into rounds with distinct targets; flat targets of every path.

    Round ``r`` holds each column whose target occurred ``r`` times among the columns before it;
    its entry is (the round's columns, or None for all of them; targets of shape (n·A_r,)).
    """
    seen: dict[int, int] = {}
    rank = np.zeros(len(target), np.intp)
    for i, x in enumerate(target.tolist()):
        rank[i] = seen.get(x, 0)
        seen[x] = int(rank[i]) + 1
    if not rank.any():
        return [(None, (offset + target[None]).ravel())]
    rounds = [np.flatnonzero(rank == r) for r in range(int(rank.max()) + 1)]
    return [(cols, (offset + target[cols][None]).ravel()) for cols in rounds]


def draw_exact(
    cols: ExactColumns, rng: np.random.Generator, cnt: Counts, pd_sr: Floats, seq_sr: Floats
) -> tuple[Counts, Counts]:
    """One period of the exact cohorts: defaults per cohort and destination counts.

    `cnt` (n, Ce·Kt) holds the customers of each path and (cohort, origin). Returns the defaults
    of each path and cohort (n, Ce) and the customers moved into each (cohort, state), shape
    (n, Ce·K). Only active columns are drawn (module docstring: the stream is unchanged). The
    compiled kernel does it when it can (module docstring); other generators (the benchmarks'
    counting and replaying wrappers) get the numpy calls.
    """
    kernel = kernel_for(rng)
    if kernel is not None:
        return draw_compiled(kernel, cols, rng, cnt, pd_sr, seq_sr)
    return _draw_numpy(cols, rng, cnt, pd_sr, seq_sr)


def _draw_numpy(
    cols: ExactColumns, rng: np.random.Generator, cnt: Counts, pd_sr: Floats, seq_sr: Floats
) -> tuple[Counts, Counts]:
    """`draw_exact` by numpy's array calls."""
    n = cnt.shape[0]
    into = np.zeros((n, cols.n_into), np.int64)
    active = np.flatnonzero(cnt.any(axis=0))
    if active.size == 0:
        return np.zeros((n, len(cols.exact)), np.int64), into
    sel = cols.selection(active, n)
    # np.take along axis 1 keeps C order (``a[:, idx]`` does not): contiguous draws' parameters
    n_a = cnt if active.size == cnt.shape[1] else np.take(cnt, active, axis=1)
    if sel.default_pos is None:
        d = _binomial(rng, n_a, np.take(pd_sr, sel.sr, axis=1))
    else:
        d = np.zeros_like(n_a)
        if sel.default_pos.size:
            pos = sel.default_pos
            d[:, pos] = _binomial(
                rng, np.take(n_a, pos, axis=1), np.take(pd_sr, sel.sr[pos], axis=1)
            )
    rem = n_a - d
    flat = into.reshape(-1)
    for s, (pos_s, rounds) in enumerate(zip(sel.step_pos, sel.step_target, strict=True)):
        if pos_s is None:
            moved = _binomial(rng, rem, np.take(seq_sr[..., s], sel.sr, axis=1))
            rem -= moved
        elif pos_s.size:
            moved = _binomial(
                rng, np.take(rem, pos_s, axis=1), np.take(seq_sr[..., s], sel.sr[pos_s], axis=1)
            )
            rem[:, pos_s] -= moved
        else:
            continue
        if sel.dense:
            _add_by_origin(into, moved, cols.routes[s])
            continue
        for part, target in rounds:  # distinct targets within a round: a plain fancy add
            flat[target] += (moved if part is None else np.take(moved, part, axis=1)).reshape(-1)
    if sel.dense:
        _add_by_origin(into, rem, cols.routes[-1])
    else:
        flat[sel.stay_target] += rem.reshape(-1)  # one stay destination per column: no repeats
    return _cohort_sums(cols, sel, d), into


def _binomial(rng: np.random.Generator, n: Counts, p: Floats) -> Counts:
    """``rng.binomial(n, p)``, with ``p = 1`` certain: all ``n``, and no random number consumed.

    numpy draws a uniform for ``p = 1`` although the outcome is certain (a row whose survivors
    all move to one destination, a PD of 1); such entries are drawn with ``n = 0``, which
    consumes nothing, and get their ``n`` added (reproducibility version 2,
    `riskmodel.simulation.plan.REPRODUCIBILITY_VERSION`).
    """
    sure = p == 1.0
    if not sure.any():
        drawn: Counts = rng.binomial(n, p)
        return drawn
    out: Counts = rng.binomial(np.where(sure, 0, n), p) + np.where(sure, n, 0)
    return out


def _add_by_origin(into: Counts, moved: Counts, route: list[tuple[int, int]]) -> None:
    """Add the moves of every column (n, Ce·Kt) into their destinations (n, Ce·K), by slices.

    One strided add per (origin, destination) pair over all paths and cohorts: far cheaper than
    a fancy-index add, and exact (integer counts sum the same in any order).
    """
    n, n_cohorts = into.shape[0], moved.shape[1] // len(route)
    by_state = into.reshape(n, n_cohorts, -1)
    by_origin = moved.reshape(n, n_cohorts, -1)
    for origin, dest in route:
        by_state[:, :, dest] += by_origin[:, :, origin]


def _cohort_sums(cols: ExactColumns, sel: _Selection, d: Counts) -> Counts:
    """Sum the active columns `d` (n, A) per exact cohort, shape (n, Ce)."""
    n_t = cols.n_origins
    if d.shape[1] == len(cols.exact) * n_t and n_t > 1:  # every column: add the origins' slices
        per_origin = d.reshape(d.shape[0], -1, n_t)
        total: Counts = per_origin[:, :, 0] + per_origin[:, :, 1]
        for k in range(2, n_t):
            total += per_origin[:, :, k]
        return total
    if sel.cohort_start is not None:
        sums: Counts = np.add.reduceat(d, sel.cohort_start, axis=1)
        return sums
    full = np.zeros((d.shape[0], len(cols.exact) * cols.n_origins), np.int64)
    full[:, sel.active] = d
    per_cohort: Counts = full.reshape(d.shape[0], len(cols.exact), -1).sum(axis=2)
    return per_cohort


def prepare_transitions(
    transitions: np.ndarray, transient_idx: np.ndarray, default_idx: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precompute the kernel's transition arrays from full matrices.

    Parameters
    ----------
    transitions : array, shape (D, T, S, K, K)
        Row-stochastic matrices.

    Returns
    -------
    probit_pd : (D, T, S, Kt)
    seq_prob : (D, T, S, Kt, J)
    dest : (Kt, J + 1)
    surv_prob : (D, T, S, Kt, K)
        Destination probabilities of the survivors (default column 0, rows sum to 1).
    """
    p = np.asarray(transitions, dtype=float)[..., transient_idx, :]  # (D,T,S,Kt,K)
    n_t, k = len(transient_idx), p.shape[-1]
    pd = np.clip(p[..., default_idx], 0.0, 1.0)
    surv = survivor_shares(p, pd, default_idx)
    # destination order per row: destinations that are not 0 in every draw, period and segment,
    # by decreasing largest survivor share over those; stay last (the remainder)
    mass = surv.reshape(-1, n_t, k).max(axis=0)
    orders = []
    for r, i in enumerate(transient_idx):
        others = [j for j in range(k) if j not in (i, default_idx) and mass[r, j] > 0]
        others.sort(key=lambda j: -mass[r, j])
        orders.append(others)
    n_steps = max((len(o) for o in orders), default=0)
    dest = np.empty((n_t, n_steps + 1), dtype=np.intp)
    for r, i in enumerate(transient_idx):
        o = orders[r]
        # pad with the stay state (probability 0 at padded steps), stay is the remainder
        dest[r, : len(o)] = o
        dest[r, len(o) : n_steps] = i
        dest[r, n_steps] = i
    seq = np.zeros((*surv.shape[:-1], n_steps))
    remaining = np.ones(surv.shape[:-1])
    for step in range(n_steps):
        for r in range(n_t):
            if step >= len(orders[r]):
                continue
            q = surv[..., r, dest[r, step]]
            with np.errstate(divide="ignore", invalid="ignore"):
                cond = np.where(remaining[..., r] > 0, q / remaining[..., r], 0.0)
            seq[..., r, step] = np.clip(cond, 0.0, 1.0)
            remaining[..., r] = np.maximum(remaining[..., r] - q, 0.0)
    probit_pd = ndtri(pd)  # -inf for 0, +inf for 1
    return probit_pd, seq, dest, surv
