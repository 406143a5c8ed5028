"""What the ``riskmodel`` commands share.

Exit codes, the bad-input error, argument types, the options of commands that read scenario
files, and the safe report-folder writer.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskmodel.errors import InputError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class BadInput(InputError):
    """A user error found by the command line itself (exit code 2, like every `InputError`)."""


def paragraph(text: object) -> str:
    """One line: runs of whitespace (newlines included) become single spaces."""
    return re.sub(r"\s+", " ", str(text)).strip()


def message(exc: BaseException) -> str:
    """Format an error's message for stderr.

    One paragraph, or, for a file with several problems, the file once and then one indented
    problem per line.
    """
    from riskmodel.errors import ScenarioError

    inner = exc.__context__  # `raise BadInput(str(exc)) from None` keeps the original here
    if isinstance(exc, BadInput) and isinstance(inner, ScenarioError) and str(inner) == str(exc):
        exc = inner
    if isinstance(exc, ScenarioError) and len(exc.problems) > 1:
        from riskmodel.scenarios.errors import problem_lines

        return "\n  ".join(problem_lines(exc))
    return paragraph(exc)


def count(minimum: int):
    """Argument type: a whole number (underscores allowed) of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}; got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def add_input_options(parser: argparse.ArgumentParser, *, network: bool = True) -> None:
    """Options shared by the commands that read scenario files (and may run on Dask)."""
    parser.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let scenario files read portfolio/posterior files outside their own folder and "
        "the current folder (default: refused, so a scenario from elsewhere cannot read "
        "arbitrary files)",
    )
    if not network:
        return
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler to run on (e.g. tcp://host:8786); a scenario file's own "
        "`simulation.scheduler` is never contacted unless you pass it here",
    )
    parser.add_argument(
        "--scheduler-from-scenario",
        action="store_true",
        help="trust the scenario file's `simulation.scheduler` address and connect to it",
    )


def network(args: argparse.Namespace) -> dict:
    """Return the Dask scheduler options of the command, as keywords of `simulate`."""
    return {
        "scheduler": args.scheduler,
        "trust_scenario_scheduler": args.scheduler_from_scenario,
    }


def positive_float(text: str) -> float:
    """Argument type: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number; got {text}")
    return value


def with_overrides(scenario, args: argparse.Namespace, only: tuple[str, ...] | None = None):
    """Apply ``--paths``/``--seed``/``--batch`` to a scenario, validated by its schema."""
    from riskmodel import ScenarioError

    updates: dict = {}
    if args.paths is not None:
        updates["paths"] = args.paths
    if args.seed is not None:
        updates["seed"] = args.seed
    if getattr(args, "batch", None) is not None:
        updates["simulation"] = {"batch": args.batch}
    if only is not None:
        updates = {k: v for k, v in updates.items() if k in only}
    if not updates:
        return scenario
    try:
        return scenario.with_options(**updates)
    except ScenarioError as exc:
        problems = "; ".join(f"{f}: {m}" if f else m for f, m in exc.problems)
        flags = ", ".join(f"--{k}" if k != "simulation" else "--batch" for k in updates)
        raise BadInput(f"command-line option {flags}: {problems}") from None


def write_report(out: str, result: Any, fill: Any, kind: str, inputs: Sequence[str]) -> Path:
    """Write `result`'s report folder with ``fill(result, folder, inputs=hashes)``, safely."""
    from riskmodel.report.files import write_folder_atomic
    from riskmodel.report.safety import file_sha256

    hashes = {str(p): file_sha256(p) for p in inputs}
    return write_folder_atomic(
        out, lambda folder: fill(result, folder, inputs=hashes), kind=kind, inputs=inputs
    )


def display(path: Path) -> str:
    """Show `path` relative to the current folder when it is inside it, else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
