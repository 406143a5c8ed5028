"""The default-rate history a `DefaultModel` fits: its checks and the parameterisation it needs.

`prepare_default_data` checks a table ``period, [segment,] customers, defaults`` (non-negative
integers, defaults at most the customers at risk, one row per period and segment) and returns it
with a ``segment`` column. `choose_parameterization` decides between the centred and non-centred
forms of the latent factor (see `riskmodel.models.default`) from the data's Fisher information on
it. numpy, pandas and scipy only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special

from riskmodel.errors import DefaultDataError

__all__ = ["choose_parameterization", "prepare_default_data"]


def prepare_default_data(data: pd.DataFrame) -> pd.DataFrame:
    """Check a default-rate history and return it with a ``segment`` column ("all" if absent).

    Raises
    ------
    TypeError
        If `data` is not a DataFrame.
    DefaultDataError
        On missing columns or values, counts that are not non-negative integers, defaults above
        the customers at risk, or repeated (period, segment) rows; the message names the rows.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            "data must be a DataFrame with columns period, [segment,] customers, defaults; "
            f"got {type(data).__name__}."
        )
    need = ["period", "customers", "defaults"]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise DefaultDataError(
            f"default data is missing column(s) {missing}; got {list(data.columns)}. It needs "
            "period, customers, defaults and optionally segment."
        )
    df = data[[*need, *(["segment"] if "segment" in data.columns else [])]].copy()
    if "segment" not in df.columns:
        df["segment"] = "all"
    df = df.reset_index(drop=True)
    na = df.isna().any(axis=1).to_numpy()
    if na.any():
        raise DefaultDataError(
            f"default data has missing values at rows {np.flatnonzero(na)[:5].tolist()} "
            "(0-based); drop or fill them."
        )
    for col in need:
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(v) | (v != np.round(v)) | (v < 0))
        if bad.size:
            raise DefaultDataError(
                f"column {col!r} must hold non-negative integers; rows {bad[:5].tolist()} "
                "(0-based) don't."
            )
        df[col] = v.astype(np.int64)
    over = np.flatnonzero(df["defaults"].to_numpy() > df["customers"].to_numpy())
    if over.size:
        raise DefaultDataError(
            f"defaults exceed customers at rows {over[:5].tolist()} (0-based); customers are "
            "those at risk at the start of the period."
        )
    df["segment"] = df["segment"].astype(str)
    dup = df.duplicated(["period", "segment"], keep=False).to_numpy()
    if dup.any():
        raise DefaultDataError(
            f"default data has duplicate (period, segment) rows {np.flatnonzero(dup)[:5].tolist()}"
            " (0-based); keep one row per period and segment."
        )
    return df


def choose_parameterization(
    n: np.ndarray,
    d: np.ndarray,
    s_idx: np.ndarray,
    t_idx: np.ndarray,
    n_periods: int,
    prior: Mapping[str, float],
) -> str:
    """Centred when the data's sd of ``w_t`` is below its prior scale ``sqrt(E[rho])``."""
    rate = np.zeros(s_idx.max() + 1)
    for s in range(rate.size):
        sel = s_idx == s
        rate[s] = (d[sel].sum() + 0.5) / (n[sel].sum() + 1.0)
    rate = np.clip(rate, 1e-6, 0.5)
    c = special.ndtri(rate)
    info_row = (
        n
        * (np.exp(-0.5 * c[s_idx] ** 2) / np.sqrt(2 * np.pi)) ** 2
        / (rate[s_idx] * (1 - rate[s_idx]))
    )
    info = np.bincount(t_idx, weights=info_row, minlength=n_periods)
    data_sd = np.median(1.0 / np.sqrt(np.maximum(info, 1e-12)))
    prior_sd = np.sqrt(prior["rho_alpha"] / (prior["rho_alpha"] + prior["rho_beta"]))
    return "centered" if data_sd < prior_sd else "noncentered"
