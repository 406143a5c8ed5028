"""Synthetic data with known truth: customer panels and default-count histories.

Tests, notebooks and benchmarks draw data here from parameters they choose, then check that the
models recover them. Every generator takes a keyword ``seed`` (or ``rng``) and turns it into one
``numpy.random.Generator``; nothing touches global random state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from riskmodel import dynamics
from riskmodel.data.macro import align_macro, logit_transition_matrices
from riskmodel.states import StateSpace

__all__ = [
    "conditional_pd",
    "macro_driven_matrices",
    "simulate_default_history",
    "simulate_panel",
]


def _generator(seed, rng) -> np.random.Generator:
    if rng is not None and seed is not None:
        raise ValueError("pass either `seed` or `rng`, not both.")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}.")
        return rng
    return np.random.default_rng(seed)


def _as_matrices(matrices, states: StateSpace) -> xr.DataArray:
    """Normalise the accepted matrix inputs to dims ([period,] segment, from_state, to_state)."""
    if isinstance(matrices, xr.DataArray):
        da = matrices
        if "segment" not in da.dims:
            da = da.expand_dims(segment=["all"])
    elif isinstance(matrices, Mapping):
        segs = [str(s) for s in matrices]
        arrs = [np.asarray(matrices[s], dtype=float) for s in matrices]
        shapes = {a.shape for a in arrs}
        if len(shapes) != 1:
            raise ValueError(f"all segment matrices must have the same shape; got {shapes}.")
        stacked = np.stack(arrs, axis=-3)  # ([period,] segment, n, n)
        dims: tuple[str, ...] = ("segment", "from_state", "to_state")
        if stacked.ndim == 4:
            dims = ("period", *dims)
        da = xr.DataArray(stacked, dims=dims, coords={"segment": segs})
    else:
        arr = np.asarray(matrices, dtype=float)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise ValueError(
                "matrices must be a mapping segment -> (n, n) array, an (n, n) array or an "
                f"xarray.DataArray; got an array of shape {arr.shape}."
            )
        da = xr.DataArray(
            arr, dims=("segment", "from_state", "to_state"), coords={"segment": ["all"]}
        )
    lead = ("period",) if "period" in da.dims else ()
    da = da.transpose(*lead, "segment", "from_state", "to_state")
    if da.shape[-2:] != (states.n, states.n):
        raise ValueError(
            f"transition matrices must be {states.n} x {states.n} for states "
            f"{list(states.names)}; got {da.shape[-2:]}."
        )
    vals = np.asarray(da.values, dtype=float)
    trans = vals[..., states.transient_idx, :]
    if (vals < 0).any() or not np.allclose(trans.sum(-1), 1.0, atol=1e-9):
        raise ValueError("transition matrix rows must be non-negative and sum to 1.")
    return da.copy(data=vals)


def simulate_panel(
    matrices,
    states: StateSpace,
    *,
    n_customers: int | Mapping[str, int],
    n_periods: int,
    initial: Sequence[float] | Mapping[str, float] | None = None,
    entry: str = "start",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw a customer panel from known transition matrices.

    Parameters
    ----------
    matrices : mapping, array or xarray.DataArray
        Per segment ``(n, n)`` row-stochastic matrices (a mapping segment -> array, an ``(n, n)``
        array for one segment named "all", or a DataArray with dims ``(segment, from_state,
        to_state)``). For time-varying (e.g. macro-driven, see `macro_driven_matrices`)
        matrices add a leading ``period`` dim (length ``>= n_periods - 1``; the matrix at
        position ``t`` moves customers from period ``t`` to ``t + 1``).
    states : StateSpace
    n_customers : int or mapping segment -> int
        Customers per segment.
    n_periods : int
        Number of periods (rows are periods ``0 .. n_periods - 1``).
    initial : sequence or mapping state -> probability, optional
        Distribution of the first observed state; default uniform over the transient states.
    entry : {"start", "uniform"}
        ``"start"``: every customer is observed from period 0. ``"uniform"``: each customer
        enters at a period drawn uniformly from ``0 .. n_periods - 1``.
    seed, rng
        Seed for ``numpy.random.default_rng`` or a Generator (not both).

    Returns
    -------
    DataFrame
        ``customer_id, period, state, segment``; a customer's last row is the absorbing state
        it enters, if any.

    Examples
    --------
    >>> ss = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")
    >>> P = [[0.9, 0.08, 0.02], [0.3, 0.6, 0.1], [0, 0, 1]]
    >>> panel = simulate_panel({"retail": P}, ss, n_customers=50, n_periods=6, seed=1)
    >>> list(panel.columns)
    ['customer_id', 'period', 'state', 'segment']
    """
    gen = _generator(seed, rng)
    da = _as_matrices(matrices, states)
    time_varying = _check_periods(da, n_periods, entry)
    p0 = _initial_distribution(initial, states)
    frames = []
    for s_idx, seg in enumerate(str(s) for s in da.segment.values):
        n_c = int(n_customers[seg] if isinstance(n_customers, Mapping) else n_customers)
        mats = da.values[:, s_idx] if time_varying else da.values[s_idx]
        rows = _walk_segment(mats, time_varying, states, n_c, n_periods, p0, entry=entry, gen=gen)
        frames.append(_segment_frame(seg, n_c, *rows, states))
    out = pd.concat(frames, ignore_index=True)
    out["customer_id"] = out["customer_id"].astype(str)
    return out.sort_values(["segment", "customer_id", "period"], ignore_index=True)


def _check_periods(da: xr.DataArray, n_periods: int, entry: str) -> bool:
    """Refuse too few periods, matrices that do not cover them, an unknown `entry`.

    Returns whether the matrices vary by period.
    """
    if n_periods < 1:
        raise ValueError(f"n_periods must be >= 1; got {n_periods}.")
    time_varying = "period" in da.dims
    if time_varying and da.sizes["period"] < n_periods - 1:
        raise ValueError(
            f"time-varying matrices cover {da.sizes['period']} transitions; n_periods="
            f"{n_periods} needs {n_periods - 1}."
        )
    if entry not in ("start", "uniform"):
        raise ValueError(f"entry must be 'start' or 'uniform'; got {entry!r}.")
    return time_varying


def _initial_distribution(
    initial: Sequence[float] | Mapping[str, float] | None, states: StateSpace
) -> np.ndarray:
    """Probabilities of the first observed state (default: uniform over the transient states)."""
    if initial is None:
        p0 = np.zeros(states.n)
        p0[states.transient_idx] = 1.0 / len(states.transient)
    elif isinstance(initial, Mapping):
        p0 = np.zeros(states.n)
        for name, v in initial.items():
            p0[states.index(name)] = float(v)
    else:
        p0 = np.asarray(initial, dtype=float)
    if p0.shape != (states.n,) or (p0 < 0).any() or not np.isclose(p0.sum(), 1.0):
        raise ValueError(f"initial must be {states.n} probabilities summing to 1; got {p0}.")
    return p0


def _walk_segment(
    mats: np.ndarray,
    time_varying: bool,
    states: StateSpace,
    n_c: int,
    n_periods: int,
    p0: np.ndarray,
    *,
    entry: str,
    gen: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Walk one segment's customers through the periods.

    `mats` is the segment's matrix ``(n, n)``, or with `time_varying` one per period
    ``(periods, n, n)`` (``mats[t]`` moves customers from ``t`` to ``t + 1``).

    Draws, in this order: the entry periods (with ``entry="uniform"``), the first states, then
    one uniform per moving customer and period. Returns the customer index, period and state
    code of every observed row.
    """
    start = (
        np.zeros(n_c, dtype=np.int64) if entry == "start" else gen.integers(0, n_periods, size=n_c)
    )
    state = gen.choice(states.n, size=n_c, p=p0)
    done = np.zeros(n_c, dtype=bool)
    absorbing = np.zeros(states.n, dtype=bool)
    absorbing[states.absorbing_idx] = True
    cid, per, st = [], [], []
    for t in range(n_periods):
        active = (start <= t) & ~done
        idx = np.flatnonzero(active)
        cid.append(idx)
        per.append(np.full(idx.size, t))
        st.append(state[idx])
        done |= active & absorbing[state]
        if t == n_periods - 1:
            break
        move = idx[~absorbing[state[idx]]]
        P = mats[t] if time_varying else mats
        cum = np.cumsum(P[state[move]], axis=1)
        u = gen.random(move.size)
        nxt = (u[:, None] > cum[:, :-1]).sum(axis=1)
        state[move] = nxt
    return np.concatenate(cid), np.concatenate(per), np.concatenate(st)


def _segment_frame(
    seg: str, n_c: int, cid: np.ndarray, per: np.ndarray, st: np.ndarray, states: StateSpace
) -> pd.DataFrame:
    """Return the panel rows of one segment; ids ``<segment>-<zero-padded index>``."""
    width = len(str(max(n_c - 1, 0)))
    ids = np.char.add(f"{seg}-", np.char.zfill(cid.astype(str), width))
    return pd.DataFrame(
        {
            "customer_id": ids,
            "period": per,
            "state": np.asarray(states.names, dtype=object)[st],
            "segment": seg,
        }
    )


def macro_driven_matrices(
    intercepts: Mapping[str, np.ndarray] | np.ndarray,
    coefficients: np.ndarray,
    macro: pd.DataFrame,
    variables: Sequence[str],
    states: StateSpace,
    *,
    segments: Sequence[str] | None = None,
) -> xr.DataArray:
    """Per-period transition matrices of the multinomial-logit covariate model.

    The same link as `riskmodel.models.TransitionModel` with covariates (see
    `riskmodel.data.macro.logit_transition_matrices`).

    Parameters
    ----------
    intercepts : mapping segment -> array (n_transient, n_states), or array (n_segments, …)
        Log-odds against each row's reference destination (0 there, ``-inf`` for structural
        zeros).
    coefficients : array, shape (n_transient, n_states, n_covariates)
        Per unit of each macro variable, shared by the segments (0 at the reference).
    macro : DataFrame
        ``period`` and the `variables`; one matrix per macro row, in period order.
    variables : sequence of str
    states : StateSpace
    segments : sequence of str, optional
        Segment names when `intercepts` is an array.

    Returns
    -------
    xarray.DataArray
        Dims ``(period, segment, from_state, to_state)``; pass it to `simulate_panel`.
    """
    if isinstance(intercepts, Mapping):
        segments = [str(s) for s in intercepts]
        a = np.stack([np.asarray(intercepts[s], dtype=float) for s in intercepts])
    else:
        a = np.asarray(intercepts, dtype=float)
        if a.ndim == 2:
            a = a[None]
        segments = list(segments) if segments is not None else [f"s{k}" for k in range(len(a))]
    b = np.broadcast_to(np.asarray(coefficients, dtype=float), (*a.shape, len(variables)))
    periods = np.sort(pd.to_numeric(macro["period"]).to_numpy(dtype=np.int64))
    x = align_macro(macro, periods, variables)
    mats = logit_transition_matrices(a, b, x, states)
    return xr.DataArray(
        mats,
        dims=("period", "segment", "from_state", "to_state"),
        coords={
            "period": periods,
            "segment": segments,
            "from_state": list(states.names),
            "to_state": list(states.names),
        },
    )


def conditional_pd(pd_: np.ndarray | float, correlation: float, z: np.ndarray | float):
    """One-factor Gaussian PD given the systematic factor.

    ``p(Z) = Phi((Phi^-1(p) - sqrt(rho) Z) / sqrt(1 - rho))``; a negative ``Z`` is a downturn.
    """
    rho = float(correlation)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"correlation must be in [0, 1); got {rho}.")
    return dynamics.conditional_pd(special.ndtri(pd_), rho, z)


def simulate_default_history(
    pd_: float | Mapping[str, float],
    correlation: float,
    *,
    customers: int | Mapping[str, int],
    n_periods: int,
    shift: Sequence[float] | np.ndarray | float = 0.0,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Draw default counts from the one-factor Gaussian model.

    Per period ``t``, ``Z_t ~ Normal(shift_t, 1)`` is shared by all segments, and
    ``defaults[s, t] ~ Binomial(customers[s], p(Z_t))`` with ``p`` from `conditional_pd`.

    Parameters
    ----------
    pd_ : float or mapping segment -> float
        Unconditional PD per period (at ``shift = 0``); a float means one segment, "all".
    correlation : float
        Asset correlation ``rho`` in [0, 1).
    customers : int or mapping segment -> int
        Customers at risk per period.
    n_periods : int
    shift : float or sequence of length n_periods
        Mean of ``Z_t`` (e.g. a macro-driven factor mean).
    seed, rng
        Seed for ``numpy.random.default_rng`` or a Generator (not both).

    Returns
    -------
    DataFrame
        ``period, segment, customers, defaults``; ``attrs["factor"]`` holds the drawn ``Z_t``.

    Examples
    --------
    >>> hist = simulate_default_history(0.02, 0.1, customers=1000, n_periods=12, seed=3)
    >>> hist.shape
    (12, 4)
    """
    gen = _generator(seed, rng)
    pds = dict(pd_) if isinstance(pd_, Mapping) else {"all": float(pd_)}
    for s, p in pds.items():
        if not 0.0 < p < 1.0:
            raise ValueError(f"PD of segment {s!r} must be in (0, 1); got {p}.")
    mu = np.broadcast_to(np.asarray(shift, dtype=float), (n_periods,))
    z = mu + gen.standard_normal(n_periods)
    rows = []
    for seg, p in pds.items():
        n = int(customers[seg] if isinstance(customers, Mapping) else customers)
        d = gen.binomial(n, conditional_pd(p, correlation, z))
        rows.append(
            pd.DataFrame(
                {"period": np.arange(n_periods), "segment": seg, "customers": n, "defaults": d}
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out.attrs["factor"] = z.tolist()
    return out
