"""``riskmodel compare``: run scenario files side by side on common random numbers."""

from __future__ import annotations

import argparse
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
    """Add the ``compare`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "compare",
        help="run scenarios side by side on common random numbers",
        description="Simulate several scenario files with the same seed and number of paths "
        "(common random numbers) and write DIR/comparison.csv, DIR/comparison.json, "
        "DIR/figures/ and DIR/report.html, with each scenario's differences from the baseline "
        "and their paired standard errors. With `weight:` in every file (summing "
        "to 1) the probability-weighted ECL is reported too.",
    )
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml", help="scenario files")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="report folder (default: reports/compare, relative to the current folder)",
    )
    parser.add_argument(
        "--paths", type=count(1), metavar="N", help="paths per scenario (default: the largest)"
    )
    parser.add_argument(
        "--seed", type=count(0), metavar="S", help="common seed (default: the first file's)"
    )
    parser.add_argument(
        "--baseline",
        metavar="NAME",
        help="scenario name the others are differenced against (default: the first)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (default: only on a terminal)"
    )
    add_input_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel compare`` with parsed arguments; return the exit code."""
    import riskmodel as rm
    from riskmodel.api import compare_scenarios
    from riskmodel.metrics.compare import ComparisonError
    from riskmodel.report import OutputDirError, check_output_dir, write_comparison_report
    from riskmodel.report.files import scenario_files
    from riskmodel.report.headline import comparison_headline

    try:  # everything here comes from the user: any ValueError is bad input
        scenarios = [
            rm.load_scenario(f, allow_outside_files=args.allow_outside_files)
            for f in args.scenarios
        ]
        if args.paths is not None:  # validate against the schema's limits
            scenarios = [with_overrides(sc, args, only=("paths",)) for sc in scenarios]
        out_dir = args.out if args.out is not None else Path("reports") / "compare"
        check_output_dir(out_dir, inputs=scenario_files(*scenarios))  # before the (long) run
    except (ValueError, OSError) as exc:
        raise BadInput(str(exc)) from None

    start = time.perf_counter()
    try:
        comparison = compare_scenarios(
            scenarios,
            paths=args.paths,
            seed=args.seed,
            progress=False if args.no_progress else None,
            baseline=args.baseline,
            **network(args),
        )
        seconds = round(time.perf_counter() - start, 3)
        written = write_comparison_report(
            comparison, scenarios, out_dir, extra={"run_seconds": seconds}, command=args.argv
        )
    except (rm.ScenarioError, rm.PortfolioError, OutputDirError, ComparisonError) as exc:
        raise BadInput(str(exc)) from None
    names = ", ".join(comparison.scenarios)
    print(f"compared {names}: report written to {display(written)}/report.html")
    print(comparison_headline(comparison.to_dataframe(), comparison.levels))
    return EXIT_OK
