"""Macro series and their link to transition probabilities.

A macro table has a ``period`` column and one column per variable (``unemployment``,
``gdp_growth`` …). Transitions from period ``t`` to ``t + 1`` use period ``t``'s values.

The multinomial-logit link lives here, in plain numpy, because three layers share it: the
synthetic generators (data), the covariate transition model (models) and the engine, which turns
a scenario's macro path into transition matrices without importing PyMC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmodel.errors import MacroError
from riskmodel.states import StateSpace

__all__ = ["MacroError", "align_macro", "logit_transition_matrices", "validate_macro"]


def validate_macro(macro: pd.DataFrame, variables: Sequence[str]) -> pd.DataFrame:
    """Check a macro table and index it by period.

    Parameters
    ----------
    macro : DataFrame
        Columns ``period`` and every name in `variables`; other columns are ignored.
    variables : sequence of str
        The macro variables the model uses.

    Returns
    -------
    DataFrame
        Float columns `variables`, indexed by integer ``period``, sorted.

    Raises
    ------
    MacroError
        If ``period`` or a variable is missing, periods are not unique integers, or values are
        missing or not finite.
    """
    if not isinstance(macro, pd.DataFrame):
        raise TypeError(
            f"macro must be a pandas DataFrame with columns ['period', {', '.join(variables)}]; "
            f"got {type(macro).__name__}."
        )
    missing = [c for c in ("period", *variables) if c not in macro.columns]
    if missing:
        raise MacroError(
            f"macro table is missing column(s) {missing}; got {list(macro.columns)}. "
            f"It needs 'period' and the covariates {list(variables)}."
        )
    per = pd.to_numeric(macro["period"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(per) | (per != np.round(per)))
    if bad.size:
        raise MacroError(
            f"macro column 'period' must hold integers; rows {bad[:5].tolist()} (0-based) don't."
        )
    per = per.astype(np.int64)
    dup = pd.Series(per).duplicated(keep=False).to_numpy()
    if dup.any():
        raise MacroError(
            f"macro table has duplicate periods {sorted(set(per[dup].tolist()))[:5]}; "
            "keep one row per period."
        )
    values = macro[list(variables)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise MacroError(
            f"macro table has missing or non-numeric values at rows {bad[:5].tolist()} "
            f"(0-based) in {list(variables)}; fill them (e.g. carry the last value forward)."
        )
    out = pd.DataFrame(values, columns=list(variables), index=pd.Index(per, name="period"))
    return out.sort_index()


def align_macro(
    macro: pd.DataFrame, periods: Sequence[int] | np.ndarray, variables: Sequence[str]
) -> np.ndarray:
    """Macro values for the periods transitions start from.

    Parameters
    ----------
    macro : DataFrame
        A macro table (see `validate_macro`).
    periods : sequence of int
        The ``period`` coordinate of by-period transition counts: transition ``t -> t+1`` is
        labelled ``t`` and uses period ``t``'s values.
    variables : sequence of str

    Returns
    -------
    ndarray, shape (len(periods), len(variables))

    Raises
    ------
    MacroError
        If some transition period has no macro row; the message lists them and the range covered.
    """
    table = validate_macro(macro, variables)
    periods = np.asarray(periods, dtype=np.int64)
    have = set(table.index.tolist())
    lacking = [int(p) for p in periods if int(p) not in have]
    if lacking:
        span = f"{table.index.min()}..{table.index.max()}" if len(table) else "none"
        raise MacroError(
            f"macro table does not cover the transition periods: no row for period(s) "
            f"{lacking[:8]}{' …' if len(lacking) > 8 else ''} (macro covers {span}; the "
            f"transitions start in {int(periods.min())}..{int(periods.max())}). Transition "
            "t -> t+1 uses period t's macro values; extend the macro table."
        )
    return table.loc[periods, list(variables)].to_numpy(dtype=float)


def logit_transition_matrices(
    intercepts: np.ndarray,
    coefficients: np.ndarray,
    x: np.ndarray,
    states: StateSpace,
) -> np.ndarray:
    """Transition matrices of the multinomial-logit covariate model for a macro path.

    For segment ``s``, transient origin ``i`` and destination ``j`` the logit is
    ``eta[s, i, j](t) = intercepts[s, i, j] + sum_k coefficients[s, i, j, k] * x[t, k]`` and the
    row is ``softmax_j(eta)``. The reference destination of each row has intercept and
    coefficients 0; a structural zero has intercept ``-inf`` and so probability exactly 0.

    Parameters
    ----------
    intercepts : array, shape (..., n_segments, n_transient, n_states)
    coefficients : array, shape (..., n_segments, n_transient, n_states, n_covariates)
        Per unit of the macro variables as given in `x`.
    x : array, shape (n_periods, n_covariates)
        Macro values per period.
    states : StateSpace

    Returns
    -------
    ndarray, shape (..., n_periods, n_segments, n_states, n_states)
        Row-stochastic matrices; absorbing rows are identity.

    Examples
    --------
    >>> ss = StateSpace(["a", "b", "d"], absorbing=["d"], default="d")
    >>> a = np.array([[[0.0, -1.0, -3.0], [-1.0, 0.0, -2.0]]])        # 1 segment
    >>> b = np.zeros((1, 2, 3, 1)); b[0, 0, 2, 0] = 0.5
    >>> logit_transition_matrices(a, b, np.array([[0.0], [1.0]]), ss).shape
    (2, 1, 3, 3)
    """
    intercepts = np.asarray(intercepts, dtype=float)
    coefficients = np.asarray(coefficients, dtype=float)
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or coefficients.shape[-1] != x.shape[1]:
        raise ValueError(
            f"x must have shape (n_periods, {coefficients.shape[-1]}) to match the coefficients; "
            f"got {x.shape}."
        )
    if coefficients.shape[:-1] != intercepts.shape:
        raise ValueError(
            f"coefficients shape {coefficients.shape} does not fit intercepts {intercepts.shape}; "
            "it must be intercepts.shape + (n_covariates,)."
        )
    lin = np.einsum("...sijk,tk->...tsij", coefficients, x)
    eta = intercepts[..., None, :, :, :] + lin
    eta = eta - eta.max(axis=-1, keepdims=True)
    p = np.exp(eta)
    p /= p.sum(axis=-1, keepdims=True)
    return states.full_matrix(p)
