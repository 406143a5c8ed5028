"""``riskmodel run``: simulate one scenario file and write its report folder."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from riskmodel.cli.common import (
    EXIT_OK,
    BadInput,
    add_input_options,
    count,
    display,
    network,
    with_overrides,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "run",
        help="simulate a scenario and write its report folder",
        description="Simulate a scenario file and write DIR/summary.json, DIR/results.nc, "
        "DIR/figures/*.png and DIR/report.html. An earlier report in DIR is replaced only "
        "once the new one is complete.",
    )
    parser.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="report folder (default: reports/<scenario name>, relative to the current folder)",
    )
    parser.add_argument("--paths", type=count(1), metavar="N", help="override the path count")
    parser.add_argument("--seed", type=count(0), metavar="S", help="override the seed")
    parser.add_argument(
        "--batch", type=count(1), metavar="N", help="paths per task (never changes results)"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (default: only on a terminal)"
    )
    add_input_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel run`` with parsed arguments; return the exit code."""
    import riskmodel as rm
    from riskmodel.report import OutputDirError, check_output_dir, write_run_report
    from riskmodel.report.files import scenario_files
    from riskmodel.report.headline import run_headline

    try:  # everything here comes from the user: any ValueError is bad input
        scenario = rm.load_scenario(args.scenario, allow_outside_files=args.allow_outside_files)
        scenario = with_overrides(scenario, args)
        out_dir = args.out if args.out is not None else Path("reports") / scenario.name
        check_output_dir(out_dir, inputs=scenario_files(scenario))  # before the (long) run
    except (ValueError, OSError) as exc:
        raise BadInput(str(exc)) from None

    start = time.perf_counter()
    try:
        result = rm.simulate(
            scenario, progress=False if args.no_progress else None, **network(args)
        )
        seconds = round(time.perf_counter() - start, 3)
        written = write_run_report(
            result, scenario, out_dir, extra={"run_seconds": seconds}, command=args.argv
        )
    except (rm.ScenarioError, rm.PortfolioError, OutputDirError) as exc:
        raise BadInput(str(exc)) from None
    print(f"{scenario.name}: report written to {display(written)}/report.html")
    print(run_headline(json.loads((Path(written) / "summary.json").read_text(encoding="utf-8"))))
    return EXIT_OK
