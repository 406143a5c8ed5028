"""IFRS 9 staging of loans: the rule, and its application to PDs and states.

The rule, in order (the first that applies sets the stage):

1. **Stage 3 by state**: a loan in the scenario's default state, or in a state named a stage-3
   state (``stage3``, a 90-days-past-due bucket such as ``dpd90``, or as configured), is credit
   impaired.
2. **Stage 2 by state (backstop)**: a loan in a stage-2 state (``stage2``, a 30-days-past-due
   bucket such as ``dpd30`` or ``dpd60``, or as configured): IFRS 9's rebuttable presumption that
   credit risk has increased significantly when payments are more than 30 days past due.
3. **Stage 2 by a significant increase in credit risk (SICR)**: the loan's PD now is more than
   `StagingRule.threshold` times its PD at origination (``origination_pd``) *and* higher by more
   than `StagingRule.min_increase` (absolute). The PD compared is the lifetime PD over the
   loan's remaining life (``measure="lifetime"``, IFRS 9 B5.5.11: ``origination_pd`` is then the
   lifetime PD for the same remaining period as expected at initial recognition), or the 12-month
   PD (``measure="12m"``, the practical expedient of B5.5.13).
4. **Stage 1** otherwise: ``no_increase`` when the SICR test ran, ``no_origination_pd`` when
   the loan gives no ``origination_pd`` (it is staged by its state alone).

Reasons are short codes (``default_state``, ``stage3_state``, ``stage2_state``,
``pd_increase``, ``no_increase``, ``no_origination_pd``), one per loan in ``ecl_by_loan.csv``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from riskmodel.errors import ArgumentError
from riskmodel.states import StateSpace

__all__ = ["REASONS", "StagingRule", "stage_loans"]

REASONS = (
    "default_state",
    "stage3_state",
    "stage2_state",
    "pd_increase",
    "no_increase",
    "no_origination_pd",
)
"""Reason codes, in the order of their integer codes."""
_STAGE_OF_REASON = np.array([3, 3, 2, 2, 1, 1], dtype=np.int8)

_DPD = re.compile(r"^(?:dpd_?(\d+)|(\d+)_?dpd|(\d+)_?days?(?:_past_due)?)$", re.IGNORECASE)
_STAGE = re.compile(r"^stage_?([123])$", re.IGNORECASE)


@dataclass(frozen=True)
class StagingRule:
    """The significant-increase rule and the states that set a stage by themselves.

    Parameters
    ----------
    threshold : float, default 2.0
        Stage 2 when ``PD / origination_pd`` exceeds this ratio (> 1).
    min_increase : float, default 0.0
        ... and ``PD − origination_pd`` exceeds this (absolute, in [0, 1)).
    measure : {"lifetime", "12m"}, default "lifetime"
        Which PD is compared with ``origination_pd``.
    stage2_states, stage3_states : sequence of str, optional
        States that are stage 2 (the past-due backstop) or stage 3 by themselves. Default: by
        name, ``stage2`` and past-due buckets of 30 to 89 days (``dpd30``, ``dpd60``,
        ``30dpd``, ``60_days`` ...) are stage 2; ``stage3`` and buckets of 90 days or more are
        stage 3. The default state is always stage 3.

    Examples
    --------
    >>> import riskmodel as rm
    >>> ss = rm.StateSpace(["current", "dpd30", "dpd90", "default"], absorbing=["default"],
    ...                    default="default")
    >>> StagingRule().state_stages(ss)
    {'current': 1, 'dpd30': 2, 'dpd90': 3, 'default': 3}
    """

    threshold: float = 2.0
    min_increase: float = 0.0
    measure: str = "lifetime"
    stage2_states: Sequence[str] | None = None
    stage3_states: Sequence[str] | None = None

    def __post_init__(self) -> None:
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, int | float) or not (1 < t < math.inf):
            raise ArgumentError(
                "the SICR threshold (`sicr_threshold`, --sicr-threshold: the ratio of PD to "
                f"origination PD) must be a number > 1; got {t!r}. A common choice is 2 (the PD "
                "has doubled)."
            )
        m = self.min_increase
        if isinstance(m, bool) or not isinstance(m, int | float) or not (0 <= m < 1):
            raise ArgumentError(
                "the SICR minimum increase (`sicr_min_increase`, --sicr-min-increase: an "
                f"absolute PD increase) must be in [0, 1); got {m!r}."
            )
        if self.measure not in ("lifetime", "12m"):
            raise ArgumentError(
                f"`sicr_measure` must be 'lifetime' or '12m'; got {self.measure!r}."
            )
        for name in ("stage2_states", "stage3_states"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise ArgumentError(f"`{name}` must be a list of state names; got {value!r}.")
            object.__setattr__(self, name, tuple(str(v) for v in value))

    def state_stages(self, states: StateSpace) -> dict[str, int]:
        """Stage each state sets by itself (1: none), for the loans in it."""
        for name in ("stage2_states", "stage3_states"):
            unknown = [s for s in getattr(self, name) or () if s not in states.names]
            if unknown:
                raise ArgumentError(
                    f"`{name}` names {unknown}, which the scenario does not have; its states "
                    f"are {list(states.names)}."
                )
        out = {}
        for s in states.names:
            if s == states.default:
                out[s] = 3
            elif self.stage3_states is not None or self.stage2_states is not None:
                out[s] = (
                    3
                    if s in (self.stage3_states or ())
                    else (2 if s in (self.stage2_states or ()) else 1)
                )
            else:
                out[s] = _stage_by_name(s)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return the rule, JSON-ready (for ``summary.json``)."""
        return {
            "threshold": float(self.threshold),
            "min_increase": float(self.min_increase),
            "measure": self.measure,
            "stage2_states": None if self.stage2_states is None else list(self.stage2_states),
            "stage3_states": None if self.stage3_states is None else list(self.stage3_states),
        }


def _stage_by_name(name: str) -> int:
    m = _STAGE.match(name)
    if m:
        return int(m.group(1))
    m = _DPD.match(name)
    if m:
        days = int(next(g for g in m.groups() if g is not None))
        return 3 if days >= 90 else 2 if days >= 30 else 1
    return 1


def stage_loans(
    rule: StagingRule,
    *,
    state_stage: np.ndarray,
    is_default: np.ndarray,
    pd_12m: np.ndarray,
    pd_lifetime: np.ndarray,
    origination_pd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage loans by `rule`.

    Parameters
    ----------
    rule : StagingRule
    state_stage : ndarray of int
        Stage each loan's state sets by itself (`StagingRule.state_stages`).
    is_default : ndarray of bool
        Loans in the default state.
    pd_12m, pd_lifetime : ndarray of float
        The loans' PDs now.
    origination_pd : ndarray of float
        PD at origination, NaN where not given.

    Returns
    -------
    stage : ndarray of int8
        1, 2 or 3.
    reason : ndarray of int8
        Position in `REASONS`.
    ratio : ndarray of float
        ``PD / origination_pd`` (NaN without an origination PD).
    """
    pd_now = pd_lifetime if rule.measure == "lifetime" else pd_12m
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = pd_now / origination_pd
        sicr = (ratio > rule.threshold) & (pd_now - origination_pd > rule.min_increase)
    reason = np.where(np.isnan(origination_pd), 5, np.where(sicr, 3, 4)).astype(np.int8)
    reason[state_stage == 2] = 2
    reason[state_stage == 3] = 1
    reason[is_default] = 0
    return _STAGE_OF_REASON[reason], reason, ratio
