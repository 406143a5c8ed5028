"""``riskmodel compare-models``: rank fitted posteriors by expected log predictive density."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from riskmodel.cli.common import EXIT_OK, BadInput, display, positive_float, write_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare-models`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "compare-models",
        help="rank fitted posteriors by expected log predictive density (PSIS-LOO or time split)",
        description="Score each posterior on the panel's period x segment x origin cells and "
        "rank them by expected log predictive density (elpd), with paired standard errors of "
        "the differences and Pareto-k diagnostics; say which pooling the data prefer. "
        "--method loo (default): PSIS-LOO on the panel the models were FITTED on; --method "
        "time: a held-out (out-of-time) panel. Models are named by their file stems. Writes "
        "DIR/models.json, DIR/models.csv, DIR/figures/*.png and DIR/report.html (see "
        "docs/backtesting.md).",
    )
    parser.add_argument(
        "posteriors", nargs="+", metavar="POSTERIOR.nc", help="posterior files (riskmodel fit)"
    )
    parser.add_argument("--panel", required=True, metavar="PANEL.csv", help="panel CSV")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--method",
        choices=("loo", "time"),
        default="loo",
        help="loo: PSIS-LOO on the fitting panel (default); time: a held-out panel",
    )
    parser.add_argument(
        "--macro",
        metavar="MACRO.csv",
        help="macro series by period (`period` and the covariates); required for posteriors "
        "with macro covariates",
    )
    parser.add_argument(
        "--period-length",
        type=positive_float,
        metavar="X",
        help="length of one panel period in an intensity model's time unit (default 1)",
    )
    parser.set_defaults(handler=run)


def _model_names(paths: Sequence[str]) -> dict[str, str]:
    """File stem -> path of each posterior; unique stems, existing files."""
    named: dict[str, str] = {}
    for path in paths:
        if not Path(path).is_file():
            raise BadInput(
                f"{path}: no such posterior file; pass files written by `riskmodel fit` (or "
                "TransitionModel.save)."
            )
        stem = Path(path).stem
        if stem in named:
            raise BadInput(
                f"{named[stem]} and {path} would both be named {stem!r} (models are named by "
                "their file stems); rename or copy one of them so that every name is unique."
            )
        named[stem] = path
    return named


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel compare-models`` with parsed arguments; return the exit code."""
    import riskmodel as rm
    from riskmodel.data.files import read_csv
    from riskmodel.data.panel import read_panel_csv
    from riskmodel.errors import MacroError, PanelError
    from riskmodel.report import OutputDirError, check_output_dir
    from riskmodel.report.models import fill_models_folder

    inputs = [*args.posteriors, args.panel, *([args.macro] if args.macro else [])]
    try:  # everything here comes from the user: any ValueError is bad input
        named = _model_names(args.posteriors)
        check_output_dir(args.out, inputs=inputs)
        try:
            panel = read_panel_csv(args.panel)
        except PanelError as exc:
            raise PanelError(f"{args.panel}: {exc}") from None
        macro = read_csv(args.macro, what="macro CSV", error=MacroError) if args.macro else None
        options = {"method": args.method, "macro": macro}
        if args.period_length is not None:
            options["period_length"] = args.period_length
        try:
            result = rm.compare_models(named, panel, **options)
        except PanelError as exc:
            raise PanelError(f"{args.panel}: {exc}") from None
        out = write_report(args.out, result, fill_models_folder, "compare-models", inputs)
    except (ValueError, OSError, OutputDirError) as exc:
        raise BadInput(str(exc)) from None
    print(f"compare-models: {result.summary()}")
    print(f"compare-models: report written to {display(out)}/report.html")
    return EXIT_OK
