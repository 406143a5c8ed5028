"""``riskmodel validate``: check scenario files without running them."""

from __future__ import annotations

import argparse
import sys

from riskmodel.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    add_input_options,
    message,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``validate`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "validate",
        help="check scenario files (and their portfolio/posterior files) without running",
        description="Check scenario files and the files they point to; print 'ok: FILE' for "
        "each valid file and a message for each invalid one (exit 2 if any is invalid).",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    add_input_options(parser, network=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel validate`` with parsed arguments; return the exit code."""
    import riskmodel as rm

    bad = 0
    for file in args.files:
        try:
            scenario = rm.load_scenario(file, allow_outside_files=args.allow_outside_files)
            if scenario.config.sensitivity is not None:  # the sensitivity modules only then
                from riskmodel.sensitivity.config import load_sensitivity_config
                from riskmodel.sensitivity.factors import resolve_factors

                cfg = load_sensitivity_config(
                    {"sensitivity": scenario.config.sensitivity}, file=file
                )
                resolve_factors(scenario, cfg.factors, where="sensitivity -> factors", file=file)
        except (ValueError, OSError) as exc:
            bad += 1
            print(f"riskmodel: invalid: {message(exc)}", file=sys.stderr)
        else:
            print(f"ok: {file}")
            sim = scenario.config.simulation
            if sim.scheduler and sim.backend == "dask":
                print(
                    f"note: {file}: simulation.scheduler {sim.scheduler!r} is not contacted "
                    "unless you pass --scheduler (or --scheduler-from-scenario) to run/compare",
                    file=sys.stderr,
                )
    return EXIT_BAD_INPUT if bad else EXIT_OK
