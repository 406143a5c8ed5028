"""State spaces: ordered named states, some absorbing, one of them the default state."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LIFECYCLE", "StateSpace"]


def _did_you_mean(name: object, names: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(name), names, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class StateSpace:
    """An ordered list of named states.

    Nothing in riskmodel hard-codes state names: the same code serves customer lifecycles,
    rating grades, IFRS 9 stages and delinquency buckets.

    Parameters
    ----------
    names : sequence of str
        All states, in order. Transient states keep this order in every matrix row.
    absorbing : sequence of str
        States that are never left once entered. Must include ``default``.
    default : str
        The absorbing state whose entry is a credit loss.
    churn : str, optional
        The absorbing state whose entry ends revenue without a credit loss.

    Raises
    ------
    ValueError
        On duplicate or empty names, unknown absorbing/default/churn states, a default or churn
        state that is not absorbing, or no transient state at all.

    Examples
    --------
    >>> ss = StateSpace(["stage1", "stage2", "stage3"], absorbing=["stage3"], default="stage3")
    >>> ss.transient
    ('stage1', 'stage2')
    """

    names: tuple[str, ...]
    absorbing: tuple[str, ...]
    default: str
    churn: str | None = None

    def __init__(
        self,
        names: Sequence[str],
        *,
        absorbing: Iterable[str],
        default: str,
        churn: str | None = None,
    ) -> None:
        names = tuple(str(n) for n in names)
        absorbing = tuple(str(a) for a in absorbing)
        if not names:
            raise ValueError("a state space needs at least one state; got an empty list of names.")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"state names must be unique; got duplicates {dupes}.")
        if any(not n.strip() for n in names):
            raise ValueError("state names must be non-empty strings.")
        unknown = [a for a in absorbing if a not in names]
        if unknown:
            raise ValueError(
                f"absorbing states {unknown} are not in names {list(names)}; "
                "list only states that appear in `names`."
            )
        if default not in names:
            raise ValueError(
                f"default state {default!r} is not in names {list(names)}."
                + _did_you_mean(default, names)
            )
        if default not in absorbing:
            raise ValueError(f"default state {default!r} must be absorbing; add it to `absorbing`.")
        if churn is not None:
            if churn not in names:
                raise ValueError(
                    f"churn state {churn!r} is not in names {list(names)}."
                    + _did_you_mean(churn, names)
                )
            if churn not in absorbing:
                raise ValueError(f"churn state {churn!r} must be absorbing; add it to `absorbing`.")
            if churn == default:
                raise ValueError("the churn state and the default state must differ.")
        if len(set(absorbing)) == len(names):
            raise ValueError("a state space needs at least one transient (non-absorbing) state.")
        # keep absorbing states in `names` order
        absorbing = tuple(n for n in names if n in set(absorbing))
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "absorbing", absorbing)
        object.__setattr__(self, "default", str(default))
        object.__setattr__(self, "churn", None if churn is None else str(churn))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def lifecycle(cls) -> StateSpace:
        """Return the default customer lifecycle: four transient stages, churn and default."""
        return cls(
            ["new", "growing", "mature", "declining", "churned", "defaulted"],
            absorbing=["churned", "defaulted"],
            default="defaulted",
            churn="churned",
        )

    # ------------------------------------------------------------------ views
    @property
    def n(self) -> int:
        """Number of states."""
        return len(self.names)

    @property
    def transient(self) -> tuple[str, ...]:
        """Transient states, in `names` order."""
        return tuple(n for n in self.names if n not in self.absorbing)

    @property
    def transient_idx(self) -> np.ndarray:
        """Positions of the transient states in `names`."""
        return np.array([self.index(n) for n in self.transient], dtype=np.intp)

    @property
    def absorbing_idx(self) -> np.ndarray:
        """Positions of the absorbing states in `names`."""
        return np.array([self.index(n) for n in self.absorbing], dtype=np.intp)

    @property
    def default_idx(self) -> int:
        """Position of the default state in `names`."""
        return self.index(self.default)

    @property
    def churn_idx(self) -> int | None:
        """Position of the churn state in `names`, or None."""
        return None if self.churn is None else self.index(self.churn)

    def index(self, name: str) -> int:
        """Position of `name` in `names`.

        Raises
        ------
        KeyError
            If `name` is not a state; the message lists the known states.
        """
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(
                f"unknown state {name!r}; known states are {list(self.names)}."
            ) from None

    def is_absorbing(self, name: str) -> bool:
        """Whether `name` is an absorbing state."""
        self.index(name)
        return name in self.absorbing

    def full_matrix(self, transient_rows: np.ndarray) -> np.ndarray:
        """Complete transient rows with identity rows for the absorbing states.

        Parameters
        ----------
        transient_rows : array, shape (..., n_transient, n)
            Rows of the transient states, in `transient` order.

        Returns
        -------
        array, shape (..., n, n)
        """
        rows = np.asarray(transient_rows, dtype=float)
        if rows.shape[-2:] != (len(self.transient), self.n):
            raise ValueError(
                f"transient rows must have shape (..., {len(self.transient)}, {self.n}); "
                f"got {rows.shape}."
            )
        full = np.zeros((*rows.shape[:-2], self.n, self.n))
        full[..., self.transient_idx, :] = rows
        full[..., self.absorbing_idx, self.absorbing_idx] = 1.0
        return full

    def to_attrs(self) -> dict[str, str]:
        """Return a flat dict for netCDF attributes (see `from_attrs`)."""
        return {
            "states": ",".join(self.names),
            "absorbing": ",".join(self.absorbing),
            "default_state": self.default,
            "churn_state": self.churn or "",
        }

    @classmethod
    def from_attrs(cls, attrs: dict) -> StateSpace:
        """Rebuild a state space written by `to_attrs`."""
        absorbing = [a for a in str(attrs["absorbing"]).split(",") if a]
        return cls(
            str(attrs["states"]).split(","),
            absorbing=absorbing,
            default=str(attrs["default_state"]),
            churn=str(attrs.get("churn_state") or "") or None,
        )


LIFECYCLE = StateSpace.lifecycle()
