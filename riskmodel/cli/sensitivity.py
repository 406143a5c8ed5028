"""``riskmodel sensitivity``: tornado and Sobol analyses of a scenario."""

from __future__ import annotations

import argparse
from pathlib import Path

from riskmodel.cli.common import (
    EXIT_OK,
    BadInput,
    add_input_options,
    count,
    display,
    network,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``sensitivity`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "sensitivity",
        help="tornado and Sobol analyses of a scenario",
        description="Tornado (one factor at a time, common random numbers) and global Sobol "
        "indices (SALib) of a scenario's metrics. Factors and metrics come from --config, the "
        "scenario's `sensitivity:` section, or a default set. Writes DIR/sensitivity.json, "
        "DIR/sensitivity.csv, DIR/figures/{tornado,sobol}.png and DIR/report.html.",
    )
    parser.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file")
    parser.add_argument("--config", type=Path, metavar="SENS.yaml", help="sensitivity config")
    parser.add_argument(
        "--out", metavar="DIR", help="output folder (default reports/<name>-sensitivity)"
    )
    parser.add_argument("--paths", type=count(1), metavar="N", help="paths per tornado run")
    parser.add_argument("--seed", type=count(0), metavar="S", help="override the seed")
    parser.add_argument("--n", type=count(1), metavar="N", help="Sobol base sample (power of 2)")
    add_input_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel sensitivity`` with parsed arguments; return the exit code."""
    import riskmodel as rm
    from riskmodel.api import run_sensitivity_report
    from riskmodel.report import OutputDirError

    try:
        out = run_sensitivity_report(
            args.scenario,
            config=args.config,
            out_dir=args.out,
            paths=args.paths,
            seed=args.seed,
            n=args.n,
            allow_outside_files=args.allow_outside_files,
            **network(args),
        )
    except (rm.ScenarioError, rm.PortfolioError, OutputDirError) as exc:
        raise BadInput(str(exc)) from None
    print(f"sensitivity: report written to {display(out)}/report.html")
    return EXIT_OK
