"""The named exposures of a scenario: read (``portfolio: names``), checked, put beside cohorts.

`read_names` reads a names CSV (path relative to the scenario file, as ``portfolio: file``);
`named_portfolio` checks the names against the states and the parameters' segments and returns
the portfolio the engine runs: the cohorts followed by one single-customer cohort per name.
Everything cohort-based (exposures, memory estimates, segment outputs, the ``cohort``
coordinate) then counts the names; their own default probability multiplier and LGD enter the
kernel (`riskmodel.simulation.names`) and the exact expectations.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from riskmodel.config.scenario import ScenarioConfig
from riskmodel.data.files import resolve_input_path
from riskmodel.data.names import Names
from riskmodel.data.portfolio import Portfolio
from riskmodel.errors import ArgumentError, PortfolioError, UnsafeFileError
from riskmodel.scenarios.parameters import PosteriorDraws
from riskmodel.scenarios.stresses import fail
from riskmodel.states import StateSpace

__all__ = ["cohort_labels", "named_portfolio", "read_names", "read_table"]

T = TypeVar("T")

_WHERE = "portfolio -> names"


def read_table(
    name: str,
    read: Callable[[Path], T],
    *,
    where: str,
    what: str,
    file: Path | None,
    base_dir: Path,
    allow_outside: bool,
) -> tuple[T, Path]:
    """Read the CSV `name` that the field `where` names with `read`; return it and its path.

    The path is resolved relative to `base_dir` by the folder rule (`resolve_input_path`); a
    malformed table is reported as a problem of the scenario `file` at `where`.
    """
    path = resolve_input_path(
        name, base_dir=base_dir, file=file, field=where, allow_outside=allow_outside, what=what
    )
    try:
        table = read(path)
    except UnsafeFileError as exc:  # swapped for a FIFO or device since the check
        raise UnsafeFileError(file, [(where, str(exc))]) from None
    except PortfolioError as exc:
        raise fail(file, where, str(exc)) from None
    return table, path


def read_names(
    name: str, *, file: Path | None, base_dir: Path, allow_outside: bool
) -> tuple[Names, Path]:
    """Read the names CSV `name` of ``portfolio: names``; return it and its resolved path."""
    return read_table(
        name,
        Names.from_csv,
        where=_WHERE,
        what="names CSV",
        file=file,
        base_dir=base_dir,
        allow_outside=allow_outside,
    )


def cohort_labels(portfolio: Portfolio, names: Names | None) -> list[str]:
    """Labels of the results' ``cohort`` coordinate: ``segment/state``, a name's id for a name."""
    table = portfolio.table
    labels = [f"{seg}/{st}" for seg, st in zip(table["segment"], table["state"], strict=True)]
    if names is not None:
        labels[len(labels) - names.n :] = names.ids
    return labels


def named_portfolio(
    cfg: ScenarioConfig,
    states: StateSpace,
    cohorts: Portfolio | None,
    names: Names | None,
    draws: PosteriorDraws | None,
    file: Path | None,
) -> tuple[Portfolio, Names | None]:
    """Return the portfolio with the names appended, and the names (None without names).

    `names` is the table read from a names CSV (None for inline names or none); `cohorts` the
    checked cohorts (None for a book of names only).
    """
    given = cfg.portfolio.names
    if given is None or isinstance(given, list):
        if names is not None:
            raise ArgumentError(
                "the config has no names file (`portfolio: {names: names.csv}`), so no names "
                "table is used; pass names=None."
            )
        if given is None:
            if cohorts is None:  # the schema asks for cohorts, a file or names
                raise ArgumentError("a portfolio needs cohorts, a portfolio file or names.")
            return cohorts, None
        try:
            names = Names.from_records([n.model_dump() for n in given], source=_WHERE)
        except PortfolioError as exc:
            raise _problem(exc, file, inline=True) from None
    elif names is None:
        raise ArgumentError(
            f"the config reads names from `portfolio: {{names: {given!r}}}`; pass the names "
            "read from it (Names.from_csv), or use rm.load_scenario."
        )
    if cfg.parameters.transitions is not None:
        segments = tuple(cfg.parameters.transitions)
    else:
        segments = () if draws is None else tuple(draws.segments)
    labels = set() if cohorts is None else set(cohort_labels(cohorts, None))
    try:
        names.check(states, segments, labels)
    except PortfolioError as exc:
        raise _problem(exc, file, inline=isinstance(given, list)) from None
    return names.with_cohorts(cohorts), names


def _problem(exc: PortfolioError, file: Path | None, *, inline: bool) -> Exception:
    """Return the scenario error of a names problem: inline names by field path, a CSV by row."""
    if not inline:
        return fail(file, _WHERE, str(exc))
    field = _WHERE
    if exc.row is not None:
        field += f"[{exc.row}]"
    if exc.column is not None:
        field += f" -> {exc.column}"
    return fail(file, field, exc.problem)
