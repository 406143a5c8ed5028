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

Each command lives in its own module of this package (`riskmodel.cli.run`, ...) with
``add_parser(sub)`` and ``run(args) -> int``; `riskmodel.cli.parser` lists them.
"""

from __future__ import annotations

import signal
import sys
import threading
import traceback
from collections.abc import Sequence

from riskmodel.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    message,
    paragraph,
)
from riskmodel.cli.fit import _sampler_logs
from riskmodel.cli.parser import build_parser
from riskmodel.errors import InputError, Terminated

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "Terminated",
    "_sampler_logs",
    "build_parser",
    "main",
]


def _on_sigterm(signum, frame) -> None:
    raise Terminated(f"signal {signum}")


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
        text = paragraph(message)
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
        print(f"riskmodel: error: {message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if args.traceback:
            traceback.print_exc()
        print(
            f"riskmodel: internal error: {type(exc).__name__}: {paragraph(exc)}\n"
            "This is a bug in riskmodel, not a problem with your input. Run the same command "
            "with --traceback (riskmodel --traceback run ...) to see where it happened, and "
            "include that output when you report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
