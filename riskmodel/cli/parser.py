"""The ``riskmodel`` argument parser: the global options and one sub-command per module."""

from __future__ import annotations

import argparse

from riskmodel.cli import backtest, compare, ecl, fit, models, run, sensitivity, validate

# in the order `riskmodel --help` lists them; each module has add_parser(sub) and run(args)
COMMANDS = (run, compare, fit, sensitivity, validate, backtest, models, ecl)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``riskmodel`` (``run``, ``compare``, ``validate`` ...)."""
    from riskmodel import __version__

    parser = argparse.ArgumentParser(
        prog="riskmodel",
        description="Probabilistic customer-lifecycle risk: simulate scenario files and report.",
    )
    parser.add_argument("--version", action="version", version=f"riskmodel {__version__}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help="on an internal error, print the full traceback (for bug reports)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser
