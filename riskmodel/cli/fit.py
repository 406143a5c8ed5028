"""``riskmodel fit``: fit a Bayesian model to a panel CSV; write the posterior and report."""

from __future__ import annotations

import argparse
from pathlib import Path

from riskmodel.cli.common import (
    EXIT_OK,
    BadInput,
    count,
    display,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``fit`` command to the ``riskmodel`` parser."""
    parser = sub.add_parser(
        "fit",
        help="fit transition (and correlation) models from a panel CSV to a posterior file",
        description="Fit the Bayesian transition model configured in MODEL.yaml to a panel CSV "
        "(customer_id, period, state [, segment]) and write the posterior draws to OUT (netCDF; "
        "with `model: sector` also the sector-factor correlations from the panel's default "
        "history by segment, with `model: intensity` a panel observed at arbitrary times), "
        "with OUT.summary.csv (posterior means and 94% intervals) and OUT.diagnostics.json "
        "beside it. Use the file in a scenario with `parameters: {posterior: OUT}`. Also write "
        "a fit report (convergence, posterior transition matrices, posterior predictive checks "
        "on the panel) to --report DIR, see docs/reports.md.",
    )
    parser.add_argument("panel", metavar="PANEL.csv", help="panel CSV")
    parser.add_argument("--config", required=True, metavar="MODEL.yaml", help="model config YAML")
    parser.add_argument(
        "--out",
        required=True,
        metavar="OUT.nc",
        help="posterior file to write (an existing one only if `riskmodel fit` wrote it)",
    )
    parser.add_argument("--draws", type=count(10), metavar="N", help="override draws per chain")
    parser.add_argument("--seed", type=count(0), metavar="S", help="override the seed")
    parser.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let the model config name a macro file outside its own folder and the current "
        "folder (default: refused)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show PyMC's and PyTensor's log messages"
    )
    report = parser.add_mutually_exclusive_group()
    report.add_argument(
        "--report",
        metavar="DIR",
        help="fit report folder: report.html, fit.json, figures/*.png (default: "
        "reports/<OUT name without suffix>-fit)",
    )
    report.add_argument("--no-report", action="store_true", help="write no fit report")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``riskmodel fit`` with parsed arguments; return the exit code."""
    from riskmodel.data.files import read_csv, resolve_input_path
    from riskmodel.data.panel import read_panel_csv
    from riskmodel.errors import MacroError, OutputDirError, PanelError
    from riskmodel.fitting import check_fit_output, fit_panel, load_fit_config, write_fit
    from riskmodel.report.fit import check_report_dir, report_flag_error, report_for_config
    from riskmodel.report.headline import fit_headline

    inputs = [args.panel, args.config]
    report_dir = None
    if not args.no_report:
        report_dir = args.report if args.report is not None else _fit_report_dir(args.out)
    try:  # reading and validating the inputs: any ValueError is bad input
        check_fit_output(args.out, inputs=inputs)  # before the (long) fit
        if report_dir is not None:
            check_report_dir(report_dir, posterior=args.out, inputs=inputs)
        config = load_fit_config(args.config)
        updates = {k: v for k, v in (("draws", args.draws), ("seed", args.seed)) if v is not None}
        config = config.model_copy(update=updates)
        panel = read_panel_csv(args.panel)
        macro = None
        if config.macro is not None:
            macro_path = resolve_input_path(
                config.macro,
                base_dir=Path(args.config).parent,
                file=args.config,
                field="macro",
                allow_outside=args.allow_outside_files,
                what="macro CSV",
            )
            inputs.append(macro_path)
            check_fit_output(args.out, inputs=inputs)
            if report_dir is not None:
                check_report_dir(report_dir, posterior=args.out, inputs=inputs)
            macro = read_csv(macro_path, what="macro CSV", error=MacroError)
        try:
            with _sampler_logs(verbose=args.verbose):
                outcome = fit_panel(panel, config, macro=macro)
        except PanelError as exc:
            raise PanelError(f"{args.panel}: {exc}") from None
    except (ValueError, OSError) as exc:
        raise BadInput(f"{exc}") from None
    written = write_fit(outcome, args.out, inputs=inputs)
    line = f"fit: posterior written to {display(written[0])} ({outcome.draws.n_draws} draws)"
    if report_dir is not None:
        try:
            report = report_for_config(outcome, panel, config, macro=macro)
            folder = report.write(report_dir, inputs=inputs, command=args.argv)
        except (ValueError, OSError) as exc:
            if isinstance(exc, OutputDirError):
                exc = report_flag_error(exc)
            raise BadInput(f"{exc} (The posterior {written[0]} was written.)") from None
        line += f"; report written to {display(folder)}/report.html"
    print(line)
    print(fit_headline(outcome.diagnostics))
    return EXIT_OK


def _fit_report_dir(out: str) -> Path:
    """Default fit report folder: ``reports/<OUT stem>-fit``."""
    return Path("reports") / f"{Path(out).stem or 'posterior'}-fit"


def _sampler_logs(*, verbose: bool):
    """PyMC's and PyTensor's log messages only with ``--verbose`` (see `models._common`)."""
    from riskmodel.models._common import sampler_logs

    return sampler_logs(verbose=verbose)
