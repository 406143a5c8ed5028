"""The panel an `IntensityModel` fits, checked and put in the form the likelihood reads.

`prepare_panel` reads a long panel (subject, time, state [, segment, covariates]) into
`PanelObservations`: one row per interval between consecutive observations of a subject, with
its time step, the observed state set (censored codes mean "one of these states"), whether it is
an exact-time entry or an exactly observed jump, and the covariates at the interval's start. The
likelihood that reads them is `riskmodel.models.intensity_likelihood`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.errors import PanelError
from riskmodel.states import StateSpace

__all__ = ["PanelObservations", "prepare_panel"]


@dataclass(frozen=True)
class PanelObservations:
    """A panel prepared for the likelihood (see `prepare_panel`).

    Attributes
    ----------
    init : (n_subjects, n) float
        Indicator of the first observation's state set.
    subject, segment : (n_rows,) int
        Subject index (into ``init``) and segment index of each transition row.
    step : (n_rows,) int
        Position of the row in its subject's sequence (1 for the second observation, …).
    dt : (n_rows,) float
        Time since the subject's previous observation (> 0).
    mask : (n_rows, n) float
        Indicator of the observed state set.
    exact : (n_rows,) bool
        True where the row is an exact-time entry into an absorbing state.
    segments : tuple of str
        Segment names, indexed by ``segment``.
    n_subjects_by_segment : (n_segments,) int
    jump : (n_rows,) bool or None
        True where the row is an exactly observed transition time (or the end of continuous
        follow-up); None when there are none.
    prev, cur : (n_rows,) int or None
        Without censored observations: the previous and the current state index of each row
        (the likelihood then needs no forward recursion); None otherwise.
    x : (n_rows, n_covariates) float or None
        Covariate values at the start of each row's interval (the previous observation's
        values); None without covariates.
    """

    init: np.ndarray
    subject: np.ndarray
    segment: np.ndarray
    step: np.ndarray
    dt: np.ndarray
    mask: np.ndarray
    exact: np.ndarray
    segments: tuple[str, ...]
    n_subjects_by_segment: np.ndarray
    prev: np.ndarray | None = None
    cur: np.ndarray | None = None
    jump: np.ndarray | None = None
    x: np.ndarray | None = None


def prepare_panel(
    panel: pd.DataFrame,
    states: StateSpace,
    *,
    subject: str,
    time: str,
    state: str,
    segment: str | None = None,
    exact_states: tuple[str, ...] = (),
    censored: dict[str, tuple[str, ...]] | None = None,
    exact_times: bool = False,
    covariates: tuple[str, ...] = (),
) -> PanelObservations:
    """Check a long panel and turn it into `PanelObservations`.

    Rows are sorted by subject and time. A value of the state column is either a state name or a
    key of `censored` (the state is then only known to be one of the listed states). An
    observation of a state in `exact_states` is an exact-time entry; nothing may follow it.
    With `exact_times`, every row is an exactly observed transition time (continuous follow-up).
    Each of `covariates` is a numeric column; a row's interval takes the value of the previous
    observation (its start), which must not be missing (the last one of a subject may be).

    Raises
    ------
    PanelError
        Naming the column and the offending value: missing columns or values, unknown states,
        two observations of one subject at the same time, observations after an absorbing state,
        a subject in two segments.
    """
    covariates = tuple(covariates)
    df = _read_columns(panel, subject, time, state, segment)
    censored = {str(k): tuple(v) for k, v in (censored or {}).items()}
    codes = _state_codes(states, censored)
    labels = df[state].astype(str)
    bad = sorted(set(labels) - set(codes))
    if bad:
        raise PanelError(
            f"the panel's column {state!r} has values {bad[:5]} that are neither states "
            f"{list(states.names)} nor censored codes {list(censored)}."
        )
    df["_label"] = labels
    for c in covariates:
        try:
            df[c] = pd.to_numeric(panel[c]).astype(float)
        except (TypeError, ValueError) as exc:
            raise PanelError(f"covariate column {c!r} must be numeric; {exc}") from None
    df = df.sort_values([subject, time], kind="stable").reset_index(drop=True)
    subj_codes, _ = pd.factorize(df[subject], sort=False)
    seg_codes, seg_names = _segment_codes(df, subject, segment)
    first = np.r_[True, subj_codes[1:] != subj_codes[:-1]]
    dt = np.r_[0.0, np.diff(df[time].to_numpy())]
    _check_sequences(df, states, first, dt, subject=subject, time=time)
    pos = np.arange(len(df))
    step = pos - np.maximum.accumulate(np.where(first, pos, 0))
    mask = np.stack([codes[v] for v in df["_label"]]) if len(df) else np.zeros((0, states.n))
    exact = df["_label"].isin(set(exact_states)).to_numpy()
    tr = ~first
    seg_first = np.asarray(seg_codes)[first]
    x = _interval_covariates(df, covariates, tr, subject=subject, time=time)
    prev = cur = None
    if (mask.sum(axis=1) == 1).all():
        idx = mask.argmax(axis=1)
        prev, cur = np.r_[0, idx[:-1]][tr], idx[tr]
    return PanelObservations(
        init=mask[first],
        subject=np.asarray(subj_codes)[tr],
        segment=np.asarray(seg_codes)[tr],
        step=step[tr],
        dt=dt[tr],
        mask=mask[tr],
        exact=exact[tr],
        segments=tuple(str(s) for s in seg_names),
        n_subjects_by_segment=np.bincount(seg_first, minlength=len(seg_names)),
        prev=prev,
        cur=cur,
        jump=np.ones(int(tr.sum()), dtype=bool) if exact_times else None,
        x=x,
    )


def _read_columns(
    panel: pd.DataFrame,
    subject: str,
    time: str,
    state: str,
    segment: str | None,
) -> pd.DataFrame:
    """Return the panel's named columns, checked: present, no missing values, numeric time."""
    cols = [subject, time, state] + ([segment] if segment else [])
    missing = [c for c in cols if c not in panel.columns]
    if missing:
        raise PanelError(
            f"the panel has no column(s) {missing}; its columns are {list(panel.columns)}. "
            "Name the columns with fit(subject=, time=, state=, segment=)."
        )
    df = panel[cols].copy()
    if df.isna().any().any():
        col = df.columns[df.isna().any()].tolist()[0]
        raise PanelError(f"the panel's column {col!r} has missing values; drop or fill them.")
    try:
        df[time] = pd.to_numeric(df[time]).astype(float)
    except (TypeError, ValueError) as exc:
        raise PanelError(
            f"the panel's time column {time!r} must be numeric (e.g. years since entry); {exc}"
        ) from None
    return df


def _state_codes(states: StateSpace, censored: dict[str, tuple[str, ...]]) -> dict[str, np.ndarray]:
    """Return the indicator of the state set each label means: a state, or a censored code."""
    codes = {name: np.eye(states.n)[i] for i, name in enumerate(states.names)}
    for key, members in censored.items():
        unknown = [m for m in members if m not in states.names]
        if key in codes or unknown or not members:
            raise PanelError(
                f"censored code {key!r} must be a new label mapping to known states; got "
                f"{list(members)} (states {list(states.names)})."
            )
        codes[key] = np.isin(states.names, members).astype(float)
    return codes


def _segment_codes(df: pd.DataFrame, subject: str, segment: str | None) -> tuple[Any, pd.Index]:
    """Return each row's segment index and the sorted segment names (``"all"`` without)."""
    if not segment:
        return np.zeros(len(df), dtype=int), pd.Index(["all"])
    per = df.groupby(subject, sort=False)[segment].nunique()
    if (per > 1).any():
        raise PanelError(
            f"subject {per.index[per > 1][0]!r} appears in more than one {segment!r}; a "
            "subject's segment must be fixed."
        )
    codes, names = pd.factorize(df[segment].astype(str), sort=True)
    return codes, names


def _check_sequences(
    df: pd.DataFrame,
    states: StateSpace,
    first: np.ndarray,
    dt: np.ndarray,
    *,
    subject: str,
    time: str,
) -> None:
    """Refuse two observations of a subject at one time, and observations after absorption."""
    if np.any(dt[~first] <= 0):
        i = np.flatnonzero(~first & (dt <= 0))[0]
        raise PanelError(
            f"subject {df[subject].iloc[i]!r} has two observations at {time}="
            f"{df[time].iloc[i]}; times within a subject must be distinct."
        )
    prev_abs = np.r_[False, df["_label"].isin(set(states.absorbing)).to_numpy()[:-1]]
    after = ~first & prev_abs
    if after.any():
        i = np.flatnonzero(after)[0]
        raise PanelError(
            f"subject {df[subject].iloc[i]!r} is observed at {time}={df[time].iloc[i]} after "
            "entering an absorbing state; drop observations after absorption."
        )


def _interval_covariates(
    df: pd.DataFrame, covariates: tuple[str, ...], tr: np.ndarray, *, subject: str, time: str
) -> np.ndarray | None:
    """Return the covariates at the start of each interval (rows ``tr``); None without any."""
    if not covariates:
        return None
    x: np.ndarray = df[list(covariates)].to_numpy()[np.flatnonzero(tr) - 1]
    bad_x = ~np.isfinite(x).all(axis=1)
    if bad_x.any():
        i = np.flatnonzero(tr)[np.flatnonzero(bad_x)[0]] - 1
        miss = [c for c, v in zip(covariates, x[bad_x][0], strict=True) if not np.isfinite(v)]
        raise PanelError(
            f"covariate(s) {miss} missing at the start of an interval: subject "
            f"{df[subject].iloc[i]!r} at {time}={df[time].iloc[i]} ({int(bad_x.sum())} "
            "interval(s) in all). Fill the column, or extend the macro series back to the "
            "panel's first dates."
        )
    return x
