"""The ``riskmodel`` command line: parse, call the library, write; nothing else.

Exit codes: 0 success; 1 internal error (a bug: rerun with ``--traceback``); 2 bad input (the
message on stderr names the file, the field and the fix; no traceback); 130 interrupted by Ctrl-C
(SIGINT), also while starting up; 143 stopped by SIGTERM (128 + 15, as a shell reports a process
killed by it). An interrupt or SIGTERM prints one line, never a traceback, and leaves no partial
output: files are written through temporary files that are removed, and an earlier report stays
as it was (`riskmodel.report.files`).

Output folders: riskmodel replaces only what it wrote itself, proven by the manifest
``.riskmodel-manifest.json`` in each report folder (every file with its SHA-256). A folder holding
anything else is refused with exit code 2 naming the foreign files; so are ``--out ""``, ``.``,
``/``, the home folder, the current folder's parents, the scenario's own folder, a mount point
and a symbolic link. ``fit --out FILE`` replaces only a posterior an earlier ``riskmodel fit``
wrote (and the ``.summary.csv``/``.diagnostics.json`` files it recorded).

Examples
--------
$ riskmodel run scenarios/baseline.yaml --paths 5000 --seed 3 --out reports/try
$ riskmodel compare scenarios/baseline.yaml scenarios/adverse.yaml --paths 5000
$ riskmodel validate scenarios/*.yaml
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskmodel.errors import InputError, Terminated

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "Terminated",
    "main",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


def _on_sigterm(signum, frame) -> None:
    raise Terminated(f"signal {signum}")


class _BadInput(InputError):
    """A user error found by the command line itself (exit code 2, like every `InputError`)."""


def _paragraph(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def _message(exc: BaseException) -> str:
    """Format an error's message for stderr.

    One paragraph, or, for a file with several problems, the file once and then one indented
    problem per line.
    """
    from riskmodel.errors import ScenarioError

    inner = exc.__context__  # `raise _BadInput(str(exc)) from None` keeps the original here
    if isinstance(exc, _BadInput) and isinstance(inner, ScenarioError) and str(inner) == str(exc):
        exc = inner
    if isinstance(exc, ScenarioError) and len(exc.problems) > 1:
        from riskmodel.scenarios.errors import problem_lines

        return "\n  ".join(problem_lines(exc))
    return _paragraph(exc)


def _count(minimum: int):
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


def _add_input_options(parser: argparse.ArgumentParser, *, network: bool = True) -> None:
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


def _network(args: argparse.Namespace) -> dict:
    return {
        "scheduler": args.scheduler,
        "trust_scenario_scheduler": args.scheduler_from_scenario,
    }


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number; got {text}")
    return value


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

    run = sub.add_parser(
        "run",
        help="simulate a scenario and write its report folder",
        description="Simulate a scenario file and write DIR/summary.json, DIR/results.nc, "
        "DIR/figures/*.png and DIR/report.html. An earlier report in DIR is replaced only "
        "once the new one is complete.",
    )
    run.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file")
    run.add_argument(
        "--out",
        metavar="DIR",
        help="report folder (default: reports/<scenario name>, relative to the current folder)",
    )
    run.add_argument("--paths", type=_count(1), metavar="N", help="override the path count")
    run.add_argument("--seed", type=_count(0), metavar="S", help="override the seed")
    run.add_argument(
        "--batch", type=_count(1), metavar="N", help="paths per task (never changes results)"
    )
    run.add_argument(
        "--no-progress", action="store_true", help="no progress bar (default: only on a terminal)"
    )
    _add_input_options(run)
    run.set_defaults(handler=_run)

    compare = sub.add_parser(
        "compare",
        help="run scenarios side by side on common random numbers",
        description="Simulate several scenario files with the same seed and number of paths "
        "(common random numbers) and write DIR/comparison.csv, DIR/comparison.json, "
        "DIR/figures/ and DIR/report.html, with each scenario's differences from the baseline "
        "and their paired standard errors. With `weight:` in every file (summing "
        "to 1) the probability-weighted ECL is reported too.",
    )
    compare.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml", help="scenario files")
    compare.add_argument(
        "--out",
        metavar="DIR",
        help="report folder (default: reports/compare, relative to the current folder)",
    )
    compare.add_argument(
        "--paths", type=_count(1), metavar="N", help="paths per scenario (default: the largest)"
    )
    compare.add_argument(
        "--seed", type=_count(0), metavar="S", help="common seed (default: the first file's)"
    )
    compare.add_argument(
        "--baseline",
        metavar="NAME",
        help="scenario name the others are differenced against (default: the first)",
    )
    compare.add_argument(
        "--no-progress", action="store_true", help="no progress bar (default: only on a terminal)"
    )
    _add_input_options(compare)
    compare.set_defaults(handler=_compare)

    fit = sub.add_parser(
        "fit",
        help="fit transition (and correlation) models from a panel CSV to a posterior file",
        description="Fit the Bayesian transition model configured in MODEL.yaml to a panel CSV "
        "(customer_id, period, state [, segment]) and write the posterior draws to OUT (netCDF), "
        "with OUT.summary.csv (posterior means and 94% intervals) and OUT.diagnostics.json "
        "beside it. Use the file in a scenario with `parameters: {posterior: OUT}`. Also write "
        "a fit report (convergence, posterior transition matrices, posterior predictive checks "
        "on the panel) to --report DIR, see docs/reports.md.",
    )
    fit.add_argument("panel", metavar="PANEL.csv", help="panel CSV")
    fit.add_argument("--config", required=True, metavar="MODEL.yaml", help="model config YAML")
    fit.add_argument(
        "--out",
        required=True,
        metavar="OUT.nc",
        help="posterior file to write (an existing one only if `riskmodel fit` wrote it)",
    )
    fit.add_argument("--draws", type=_count(10), metavar="N", help="override draws per chain")
    fit.add_argument("--seed", type=_count(0), metavar="S", help="override the seed")
    fit.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let the model config name a macro file outside its own folder and the current "
        "folder (default: refused)",
    )
    fit.add_argument(
        "--verbose", action="store_true", help="show PyMC's and PyTensor's log messages"
    )
    report = fit.add_mutually_exclusive_group()
    report.add_argument(
        "--report",
        metavar="DIR",
        help="fit report folder: report.html, fit.json, figures/*.png (default: "
        "reports/<OUT name without suffix>-fit)",
    )
    report.add_argument("--no-report", action="store_true", help="write no fit report")
    fit.set_defaults(handler=_fit)

    sens = sub.add_parser(
        "sensitivity",
        help="tornado and Sobol analyses of a scenario",
        description="Tornado (one factor at a time, common random numbers) and global Sobol "
        "indices (SALib) of a scenario's metrics. Factors and metrics come from --config, the "
        "scenario's `sensitivity:` section, or a default set. Writes DIR/sensitivity.json, "
        "DIR/sensitivity.csv, DIR/figures/{tornado,sobol}.png and DIR/report.html.",
    )
    sens.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file")
    sens.add_argument("--config", type=Path, metavar="SENS.yaml", help="sensitivity config")
    sens.add_argument(
        "--out", metavar="DIR", help="output folder (default reports/<name>-sensitivity)"
    )
    sens.add_argument("--paths", type=_count(1), metavar="N", help="paths per tornado run")
    sens.add_argument("--seed", type=_count(0), metavar="S", help="override the seed")
    sens.add_argument("--n", type=_count(1), metavar="N", help="Sobol base sample (power of 2)")
    _add_input_options(sens)
    sens.set_defaults(handler=_sensitivity)

    validate = sub.add_parser(
        "validate",
        help="check scenario files (and their portfolio/posterior files) without running",
        description="Check scenario files and the files they point to; print 'ok: FILE' for "
        "each valid file and a message for each invalid one (exit 2 if any is invalid).",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    _add_input_options(validate, network=False)
    validate.set_defaults(handler=_validate)

    backtest = sub.add_parser(
        "backtest",
        help="backtest a fitted posterior on an out-of-time panel",
        description="Test a posterior's transition and default probabilities against a panel "
        "it was not fitted on (see docs/backtesting.md); write backtest.json, backtest.csv, "
        "figures and report.html to DIR.",
    )
    backtest.add_argument("posterior", metavar="POSTERIOR.nc", help="posterior (riskmodel fit)")
    backtest.add_argument("panel", metavar="PANEL.csv", help="out-of-time panel CSV")
    backtest.add_argument("--out", metavar="DIR", required=True, help="output folder")
    backtest.add_argument("--seed", type=_count(0), metavar="S", help="seed (default 0)")
    backtest.add_argument(
        "--macro",
        metavar="MACRO.csv",
        help="macro series by period (`period` and the model's covariates); required for a "
        "posterior with macro covariates",
    )
    backtest.add_argument(
        "--period-length",
        type=_positive_float,
        metavar="X",
        help="length of one panel period in the intensity model's time unit (default 1; "
        "used only for continuous-time posteriors)",
    )
    backtest.set_defaults(handler=_backtest)
    _add_compare_models_parser(sub)
    return parser


def _add_compare_models_parser(sub) -> None:
    models = sub.add_parser(
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
    models.add_argument(
        "posteriors", nargs="+", metavar="POSTERIOR.nc", help="posterior files (riskmodel fit)"
    )
    models.add_argument("--panel", required=True, metavar="PANEL.csv", help="panel CSV")
    models.add_argument("--out", required=True, metavar="DIR", help="output folder")
    models.add_argument(
        "--method",
        choices=("loo", "time"),
        default="loo",
        help="loo: PSIS-LOO on the fitting panel (default); time: a held-out panel",
    )
    models.add_argument(
        "--macro",
        metavar="MACRO.csv",
        help="macro series by period (`period` and the covariates); required for posteriors "
        "with macro covariates",
    )
    models.add_argument(
        "--period-length",
        type=_positive_float,
        metavar="X",
        help="length of one panel period in an intensity model's time unit (default 1)",
    )
    models.set_defaults(handler=_compare_models)


# --------------------------------------------------------------------------- commands
def _run(args: argparse.Namespace) -> int:
    import riskmodel as rm
    from riskmodel.report import OutputDirError, check_output_dir, write_run_report
    from riskmodel.report.files import scenario_files
    from riskmodel.report.headline import run_headline

    try:  # everything here comes from the user: any ValueError is bad input
        scenario = rm.load_scenario(args.scenario, allow_outside_files=args.allow_outside_files)
        scenario = _with_overrides(scenario, args)
        out_dir = args.out if args.out is not None else Path("reports") / scenario.name
        check_output_dir(out_dir, inputs=scenario_files(scenario))  # before the (long) run
    except (ValueError, OSError) as exc:
        raise _BadInput(str(exc)) from None

    start = time.perf_counter()
    try:
        result = rm.simulate(
            scenario, progress=False if args.no_progress else None, **_network(args)
        )
        seconds = round(time.perf_counter() - start, 3)
        written = write_run_report(
            result, scenario, out_dir, extra={"run_seconds": seconds}, command=args.argv
        )
    except (rm.ScenarioError, rm.PortfolioError, OutputDirError) as exc:
        raise _BadInput(str(exc)) from None
    print(f"{scenario.name}: report written to {_display(written)}/report.html")
    print(run_headline(json.loads((Path(written) / "summary.json").read_text(encoding="utf-8"))))
    return EXIT_OK


def _fit(args: argparse.Namespace) -> int:
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
        raise _BadInput(f"{exc}") from None
    written = write_fit(outcome, args.out, inputs=inputs)
    line = f"fit: posterior written to {_display(written[0])} ({outcome.draws.n_draws} draws)"
    if report_dir is not None:
        try:
            report = report_for_config(outcome, panel, config, macro=macro)
            folder = report.write(report_dir, inputs=inputs, command=args.argv)
        except (ValueError, OSError) as exc:
            if isinstance(exc, OutputDirError):
                exc = report_flag_error(exc)
            raise _BadInput(f"{exc} (The posterior {written[0]} was written.)") from None
        line += f"; report written to {_display(folder)}/report.html"
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


def _compare(args: argparse.Namespace) -> int:
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
            scenarios = [_with_overrides(sc, args, only=("paths",)) for sc in scenarios]
        out_dir = args.out if args.out is not None else Path("reports") / "compare"
        check_output_dir(out_dir, inputs=scenario_files(*scenarios))  # before the (long) run
    except (ValueError, OSError) as exc:
        raise _BadInput(str(exc)) from None

    start = time.perf_counter()
    try:
        comparison = compare_scenarios(
            scenarios,
            paths=args.paths,
            seed=args.seed,
            progress=False if args.no_progress else None,
            baseline=args.baseline,
            **_network(args),
        )
        seconds = round(time.perf_counter() - start, 3)
        written = write_comparison_report(
            comparison, scenarios, out_dir, extra={"run_seconds": seconds}, command=args.argv
        )
    except (rm.ScenarioError, rm.PortfolioError, OutputDirError, ComparisonError) as exc:
        raise _BadInput(str(exc)) from None
    names = ", ".join(comparison.scenarios)
    print(f"compared {names}: report written to {_display(written)}/report.html")
    print(comparison_headline(comparison.to_dataframe(), comparison.levels))
    return EXIT_OK


def _with_overrides(scenario, args: argparse.Namespace, only: tuple[str, ...] | None = None):
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
        raise _BadInput(f"command-line option {flags}: {problems}") from None


def _sensitivity(args: argparse.Namespace) -> int:
    import riskmodel as rm
    from riskmodel.report import OutputDirError
    from riskmodel.report.sensitivity import run_sensitivity_cli

    try:
        out = run_sensitivity_cli(
            args.scenario,
            config=args.config,
            out_dir=args.out,
            paths=args.paths,
            seed=args.seed,
            n=args.n,
            allow_outside_files=args.allow_outside_files,
            **_network(args),
        )
    except (rm.ScenarioError, rm.PortfolioError, OutputDirError) as exc:
        raise _BadInput(str(exc)) from None
    print(f"sensitivity: report written to {_display(out)}/report.html")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    import riskmodel as rm
    from riskmodel.sensitivity.config import load_sensitivity_config
    from riskmodel.sensitivity.factors import resolve_factors

    bad = 0
    for file in args.files:
        try:
            scenario = rm.load_scenario(file, allow_outside_files=args.allow_outside_files)
            if scenario.config.sensitivity is not None:
                cfg = load_sensitivity_config(
                    {"sensitivity": scenario.config.sensitivity}, file=file
                )
                resolve_factors(scenario, cfg.factors, where="sensitivity -> factors", file=file)
        except (ValueError, OSError) as exc:
            bad += 1
            print(f"riskmodel: invalid: {_message(exc)}", file=sys.stderr)
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


def _backtest(args: argparse.Namespace) -> int:
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
        out = _write_report(args.out, result, fill_backtest_folder, "backtest", inputs)
    except (ValueError, OSError, OutputDirError) as exc:
        raise _BadInput(str(exc)) from None
    print(f"backtest: overall {result.overall}; report written to {_display(out)}/report.html")
    return EXIT_OK


def _write_report(out: str, result: Any, fill: Any, kind: str, inputs: Sequence[str]) -> Path:
    """Write `result`'s report folder with ``fill(result, folder, inputs=hashes)``, safely."""
    from riskmodel.report.files import write_folder_atomic
    from riskmodel.report.safety import file_sha256

    hashes = {str(p): file_sha256(p) for p in inputs}
    return write_folder_atomic(
        out, lambda folder: fill(result, folder, inputs=hashes), kind=kind, inputs=inputs
    )


def _model_names(paths: Sequence[str]) -> dict[str, str]:
    """File stem -> path of each posterior; unique stems, existing files."""
    named: dict[str, str] = {}
    for path in paths:
        if not Path(path).is_file():
            raise _BadInput(
                f"{path}: no such posterior file; pass files written by `riskmodel fit` (or "
                "TransitionModel.save)."
            )
        stem = Path(path).stem
        if stem in named:
            raise _BadInput(
                f"{named[stem]} and {path} would both be named {stem!r} (models are named by "
                "their file stems); rename or copy one of them so that every name is unique."
            )
        named[stem] = path
    return named


def _compare_models(args: argparse.Namespace) -> int:
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
        out = _write_report(args.out, result, fill_models_folder, "compare-models", inputs)
    except (ValueError, OSError, OutputDirError) as exc:
        raise _BadInput(str(exc)) from None
    print(f"compare-models: {result.summary()}")
    print(f"compare-models: report written to {_display(out)}/report.html")
    return EXIT_OK


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- entry point
def _catch_sigterm():
    """Turn SIGTERM into `Terminated` (main thread, default handler only); return the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return lambda: None  # an embedding program chose its own handling: keep it
    signal.signal(signal.SIGTERM, _on_sigterm)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupted(exc: KeyboardInterrupt) -> int:
    if isinstance(exc, Terminated):
        print("riskmodel: stopped by SIGTERM; no partial output was left.", file=sys.stderr)
        return EXIT_TERMINATED
    print("riskmodel: interrupted; no partial output was left.", file=sys.stderr)
    return EXIT_INTERRUPTED


_SHOWN: set[str] = set()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Show riskmodel's own warnings as one readable line; others in Python's usual format."""
    from riskmodel.errors import RiskmodelWarning

    stream = sys.stderr if file is None else file
    if issubclass(category, RiskmodelWarning):
        text = _paragraph(message)
        if text not in _SHOWN:  # the same figure is read by summary, report and figures
            _SHOWN.add(text)
            stream.write(f"riskmodel: warning: {text}\n")
    else:
        stream.write(_PYTHON_SHOWWARNING_FORMAT(message, category, filename, lineno, line))


def _PYTHON_SHOWWARNING_FORMAT(message, category, filename, lineno, line):
    import warnings

    return warnings.formatwarning(message, category, filename, lineno, line)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``riskmodel`` command line and return its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 on an internal error, 2 on bad input, 130 when interrupted (Ctrl-C, at
        any point, start-up included), 143 when stopped by SIGTERM. While it runs, SIGTERM raises
        `Terminated` (a `KeyboardInterrupt`) in the main thread, so temporary files are removed.

    Examples
    --------
    >>> main(["validate", "scenarios/baseline.yaml"])  # doctest: +SKIP
    ok: scenarios/baseline.yaml
    0
    """
    import warnings

    undo = lambda: None  # noqa: E731
    shown = warnings.showwarning
    try:
        undo = _catch_sigterm()
        warnings.showwarning = _show_warning
        _SHOWN.clear()
        return _main(argv)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM anywhere: parsing, imports, the run
        return _interrupted(exc)
    finally:
        warnings.showwarning = shown
        undo()


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help/--version (0) or a usage error (2); already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for the reports' provenance
    try:
        return args.handler(args)
    except InputError as exc:  # every bad-input error of riskmodel: exit 2, no traceback
        print(f"riskmodel: error: {_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        print(
            f"riskmodel: internal error: {type(exc).__name__}: {_paragraph(exc)}\n"
            "This is a bug in riskmodel, not a problem with your input. Run the same command "
            "with --traceback (riskmodel --traceback run ...) to see where it happened, and "
            "include that output when you report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
