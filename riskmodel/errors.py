"""Every error and warning class of riskmodel, in one place.

One base class marks bad input: anything the user can fix by changing a file, an argument or a
command-line option derives from `InputError` (itself a `ValueError`, so ``except ValueError``
keeps working). The command line maps `InputError` to exit code 2 and prints its message without
a traceback; any other exception is a bug (exit 1).

Classes
-------
RiskmodelError
    Base of every riskmodel exception.
InputError
    Bad input: a scenario, portfolio, panel, posterior, config, argument or output folder.
ScenarioError, PortfolioError, PanelError, MacroError, DefaultDataError, ModelFileError,
ComparisonError, OutputDirError, ArgumentError, ResourceLimitError, UnsafeFileError,
SchedulerError
    The kinds of bad input.
NotFittedError
    A model method that needs a posterior was called before ``.fit()`` (a usage error, not input).
Terminated
    SIGTERM turned into a `KeyboardInterrupt` by the command line, so cleanup runs.
RiskmodelWarning
    Base of every riskmodel warning: ConvergenceWarning, GapsSkippedWarning, ParetoKWarning,
    PeriodConversionWarning, SensitivityWarning, TailResolutionWarning.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

__all__ = [
    "ArgumentError",
    "ComparisonError",
    "ConvergenceWarning",
    "DefaultDataError",
    "GapsSkippedWarning",
    "InputError",
    "MacroError",
    "ModelFileError",
    "NotFittedError",
    "OutputDirError",
    "PanelError",
    "ParetoKWarning",
    "PeriodConversionWarning",
    "PortfolioError",
    "ResourceLimitError",
    "RiskmodelError",
    "RiskmodelWarning",
    "ScenarioError",
    "SchedulerError",
    "SensitivityWarning",
    "TailResolutionWarning",
    "Terminated",
    "UnsafeFileError",
]


# --------------------------------------------------------------------------- bases
class RiskmodelError(Exception):
    """Base class of every exception riskmodel raises on purpose."""


class InputError(RiskmodelError, ValueError):
    """Bad input that the user can fix; the message says what, got, and how to fix it."""


# --------------------------------------------------------------------------- bad input
class ScenarioError(InputError):
    """A scenario (or a file it points to) is invalid.

    Attributes
    ----------
    file : str
        The file at fault (or ``"<scenario>"`` for in-memory configs).
    problems : list of (field, message)
        Each problem with its field path, e.g. ``("systematic -> correlation", "must be ...")``.
    """

    def __init__(
        self, file: str | os.PathLike[str] | None, problems: Sequence[tuple[str, str]]
    ) -> None:
        self.file = str(file) if file is not None else "<scenario>"
        self.problems = list(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [f"{field}: {message}" if field else message for field, message in self.problems]
        head = f"{self.file}: "
        if len(parts) == 1:
            text = head + parts[0]
        else:
            numbered = " ".join(f"({i}) {p}" for i, p in enumerate(parts, 1))
            text = head + f"{len(parts)} problems: " + numbered
        return re.sub(r"\s*\n\s*", " ", text).strip()  # one paragraph


class PortfolioError(InputError):
    """A portfolio table is malformed. The message names the source, the row and the column.

    Attributes
    ----------
    source : str or None
        The file or config section the table came from.
    row : int or None
        0-based position of the offending row, if one row is at fault.
    column : str or None
        The offending column, if one column is at fault.
    problem : str
        The message without the source and row prefix.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.source = source
        self.row = row
        self.column = column
        self.problem = message
        where = [] if row is None else [f"row {row + 1}"]
        if column is not None:
            where.append(f"column {column!r}")
        prefix = "" if source is None else f"{source}: "
        if where:
            prefix += ", ".join(where) + ": "
        super().__init__(prefix + message)


class PanelError(InputError):
    """A panel table or a transition-count array that cannot be used as it is."""


class MacroError(InputError):
    """A macro table that cannot be aligned with the transitions."""


class DefaultDataError(InputError):
    """A default-count table that cannot be used."""


class ModelFileError(InputError):
    """A saved model file that is not of the expected kind or whose config does not match."""


class ComparisonError(InputError):
    """A scenario set cannot be compared (duplicate names, inconsistent weights)."""


class OutputDirError(InputError):
    """An output folder or file cannot be written without risking the user's own files."""


class ArgumentError(InputError, TypeError):
    """A public function was called with an argument of the wrong type or value.

    Derives from `TypeError` as well as `ValueError`, so callers catching either keep working.
    """


class ResourceLimitError(InputError):
    """A run or a file would need more memory or disk than is sensible; the message says why."""


class SchedulerError(InputError):
    """A Dask scheduler address that is malformed or does not answer; the message names it."""


class UnsafeFileError(ScenarioError):
    """A file a config points to is not a regular file, or lies outside the allowed folders.

    A `ScenarioError` (same ``file`` and ``problems``), so everything `load_scenario` refuses
    stays one kind of error; see `riskmodel.data.files` for the rules.
    """


# --------------------------------------------------------------------------- usage errors
class NotFittedError(RiskmodelError, RuntimeError):
    """A model method that needs a posterior was called before ``.fit()``."""


# --------------------------------------------------------------------------- signals
class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the command line.

    Every cleanup then runs as for Ctrl-C (exit code 143).
    """


# --------------------------------------------------------------------------- warnings
class RiskmodelWarning(UserWarning):
    """Base class of every riskmodel warning."""


class ConvergenceWarning(RiskmodelWarning):
    """MCMC diagnostics (R-hat, bulk ESS, divergences) show a problem; the message says the fix."""


class GapsSkippedWarning(RiskmodelWarning):
    """Pairs of rows across a gap in a customer's periods were skipped (``skip_gaps=True``)."""


class ParetoKWarning(RiskmodelWarning):
    """PSIS-LOO is unreliable for some cells (Pareto k > 0.7).

    Their leave-one-out densities are not to be trusted; the message names the cells and the fix
    (a time split, or more draws).
    """


class PeriodConversionWarning(RiskmodelWarning):
    """A period conversion is approximate.

    The 12-month ECL window is not a whole number of periods, or a matrix had no valid generator
    and was regularised far from itself.
    """


class SensitivityWarning(RiskmodelWarning):
    """A sensitivity result is less reliable than it looks (wide intervals, small samples)."""


class TailResolutionWarning(RiskmodelWarning):
    """A reported tail level rests on too few effective paths to be trusted."""
