"""``riskmodel ecl``: the exact loan-level IFRS 9 ECL of a loan tape."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from riskmodel.cli.common import EXIT_OK, BadInput, add_input_options, count, display


def _names(text: str) -> list[str]:
    """Argument type: comma-separated state names."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected state names separated by commas; got {text!r}")
    return names


def _number(text: str) -> float:
    """Argument type: a finite number (the library checks its range)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text}")
    return value


def _add_staging_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of the IFRS 9 staging rule (`riskmodel.ecl.staging`)."""
    parser.add_argument(
        "--sicr-threshold",
        type=_number,
        metavar="X",
        default=2.0,
        help="stage 2 when the PD exceeds X times origination_pd (default 2)",
    )
    parser.add_argument(
        "--sicr-min-increase",
        type=_number,
        metavar="D",
        default=0.0,
        help="... and exceeds it by more than D (absolute; default 0)",
    )
    parser.add_argument(
        "--sicr-measure",
        choices=("lifetime", "12m"),
        default="lifetime",
        help="the PD compared with origination_pd (default lifetime)",
    )
    parser.add_argument(
        "--stage2-states",
        type=_names,
        metavar="A,B",
        help="states that are stage 2 by themselves (the 30-days-past-due backstop); default: "
        "by name (stage2, dpd30, dpd60, ...)",
    )
    parser.add_argument(
        "--stage3-states",
        type=_names,
        metavar="A,B",
        help="states that are stage 3 besides the default state; default: by name (stage3, "
        "dpd90, ...)",
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ecl`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "ecl",
        help="exact loan-level IFRS 9 ECL of a loan tape",
        description="Compute every loan's 12-month and lifetime PD and ECL, its IFRS 9 stage with "
        "the reason and its booked ECL, exactly (no simulation), under a scenario, or under "
        "several with `weight:` in each (probability-weighted). Write DIR/ecl_by_loan.csv (and "
        ".parquet when pyarrow is installed), DIR/summary.json, DIR/totals.csv, DIR/figures/ "
        "and DIR/report.html. The tape format and the staging rule: docs/loan_ecl.md.",
    )
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml", help="scenario files")
    parser.add_argument(
        "--loans",
        metavar="LOANS.csv",
        required=True,
        help="loan tape: loan_id, segment, state, exposure [, maturity, amortisation or "
        "instalment, rate, lgd, origination_pd]",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="report folder (default: reports/ecl, relative to here)"
    )
    _add_staging_options(parser)
    parser.add_argument(
        "--truncate-maturity",
        action="store_true",
        help="allow maturities beyond the scenario horizon (their ECL stops at the horizon); "
        "default: refused",
    )
    parser.add_argument(
        "--chunk-rows",
        type=count(1),
        metavar="N",
        default=100_000,
        help="loans read and computed at a time (default 100000)",
    )
    parser.add_argument(
        "--no-parquet", action="store_true", help="no ecl_by_loan.parquet, even with pyarrow"
    )
    add_input_options(parser, network=False)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel ecl`` with parsed arguments; return the exit code."""
    import riskmodel as rm
    from riskmodel.ecl.api import plan_loan_ecl
    from riskmodel.report import check_output_dir
    from riskmodel.report.files import scenario_files
    from riskmodel.report.loans import write_loan_ecl_report

    start = time.perf_counter()
    try:  # everything here comes from the user: any ValueError is bad input
        scenarios = [
            rm.load_scenario(f, allow_outside_files=args.allow_outside_files)
            for f in args.scenarios
        ]
        inputs = [*scenario_files(*scenarios), args.loans]
        out_dir = args.out if args.out is not None else Path("reports") / "ecl"
        check_output_dir(out_dir, inputs=inputs)
        plan = plan_loan_ecl(
            scenarios,
            sicr_threshold=args.sicr_threshold,
            sicr_min_increase=args.sicr_min_increase,
            sicr_measure=args.sicr_measure,
            stage2_states=args.stage2_states,
            stage3_states=args.stage3_states,
            truncate_maturity=args.truncate_maturity,
        )
    except (ValueError, OSError) as exc:
        raise BadInput(str(exc)) from None
    written, summary = write_loan_ecl_report(
        plan,
        args.loans,
        out_dir,
        inputs=inputs,
        chunk_rows=args.chunk_rows,
        parquet=False if args.no_parquet else None,
        command=args.argv,
    )
    ecl = summary["ecl"]
    stages = summary["by_stage"]
    print(
        f"loan ECL of {summary['loans']:,} loans ({time.perf_counter() - start:.1f} s): booked "
        f"{ecl['booked']:,.0f} (stage 1 {stages['1']['ecl_booked']:,.0f}, stage 2 "
        f"{stages['2']['ecl_booked']:,.0f}, stage 3 {stages['3']['ecl_booked']:,.0f}); "
        f"12-month {ecl['12_month']:,.0f}, lifetime {ecl['lifetime']:,.0f}"
    )
    print(f"report written to {display(written)}/report.html")
    return EXIT_OK
