"""``riskmodel backtest``: backtest a fitted posterior on an out-of-time panel."""

from __future__ import annotations

import argparse
from typing import Any

from riskmodel.cli.common import (
    EXIT_OK,
    BadInput,
    count,
    display,
    positive_float,
    write_report,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "backtest",
        help="backtest a fitted posterior on an out-of-time panel",
        description="Test a posterior's transition and default probabilities against a panel "
        "it was not fitted on (see docs/backtesting.md); write backtest.json, backtest.csv, "
        "figures and report.html to DIR.",
    )
    parser.add_argument("posterior", metavar="POSTERIOR.nc", help="posterior (riskmodel fit)")
    parser.add_argument("panel", metavar="PANEL.csv", help="out-of-time panel CSV")
    parser.add_argument("--out", metavar="DIR", required=True, help="output folder")
    parser.add_argument("--seed", type=count(0), metavar="S", help="seed (default 0)")
    parser.add_argument(
        "--macro",
        metavar="MACRO.csv",
        help="macro series by period (`period` and the model's covariates); required for a "
        "posterior with macro covariates",
    )
    parser.add_argument(
        "--period-length",
        type=positive_float,
        metavar="X",
        help="length of one panel period in the intensity model's time unit (default 1; "
        "used only for continuous-time posteriors)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel backtest`` with parsed arguments; return the exit code."""
    import riskmodel as rm
    from riskmodel.data.files import read_csv
    from riskmodel.errors import MacroError
    from riskmodel.report import OutputDirError, check_output_dir
    from riskmodel.report.backtest import fill_backtest_folder

    inputs = [args.posterior, args.panel, *([args.macro] if args.macro else [])]
    try:  # everything here comes from the user: any ValueError is bad input
        check_output_dir(args.out, inputs=inputs)
        seed = 0 if args.seed is None else args.seed
        macro = None
        if args.macro:
            macro = read_csv(args.macro, what="macro CSV", error=MacroError)
        options: dict[str, Any] = {"seed": seed, "macro": macro}
        if args.period_length is not None:
            options["period_length"] = args.period_length
        result = rm.backtest(args.posterior, args.panel, **options)
        out = write_report(args.out, result, fill_backtest_folder, "backtest", inputs)
    except (ValueError, OSError, OutputDirError) as exc:
        raise BadInput(str(exc)) from None
    print(f"backtest: overall {result.overall}; report written to {display(out)}/report.html")
    return EXIT_OK
