"""Report folders on disk: the atomic write shared by every report, and ``summary.json``.

`write_folder_atomic` builds a folder in a hidden temporary sibling and then renames it into
place, so a failed or interrupted run leaves no trace and an earlier complete report in the same
place stays untouched until the new one is complete. `check_output_dir` decides whether a folder
may receive a report (new, empty, or an earlier report). `build_summary` turns a run into the
JSON-ready contents of ``summary.json``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from riskmodel.errors import OutputDirError
from riskmodel.metrics.alerts import alerts_to_dict, evaluate_alerts
from riskmodel.metrics.result import SimulationResult
from riskmodel.scenarios.load import Scenario

__all__ = ["OutputDirError", "build_summary", "check_output_dir", "write_folder_atomic"]

# a folder holding one of these files is a riskmodel report that may be replaced
_MARKERS = ("summary.json", "comparison.json", "sensitivity.json")


# --------------------------------------------------------------------------- output folder
def check_output_dir(out_dir: str | Path) -> Path:
    """Check that a report can be written to `out_dir` and return its absolute path.

    The folder may not exist yet (its parents are created when writing), may be empty, or may
    hold an earlier report (a ``summary.json`` or ``comparison.json``), which a new run replaces.
    Nothing is created.

    Raises
    ------
    OutputDirError
        If `out_dir` is a file, a folder with other contents, or under a path that cannot be
        created or written.
    """
    path = Path(out_dir).expanduser()
    path = path.resolve() if path.is_symlink() else Path(os.path.normpath(path.absolute()))
    if path.exists() and not path.is_dir():
        raise OutputDirError(
            f"{out_dir}: the output path exists and is not a folder; pass --out with a folder."
        )
    is_report = any((path / m).is_file() for m in _MARKERS)
    if path.is_dir() and any(path.iterdir()) and not is_report:
        raise OutputDirError(
            f"{out_dir}: the output folder exists and is not a riskmodel report (no "
            f"{' or '.join(_MARKERS)}); "
            "a run replaces its output folder, so choose a new or empty folder with --out."
        )
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"{out_dir}: cannot create the output folder under {ancestor} (not a writable "
            "folder); choose another place with --out."
        )
    return path


def _umask() -> int:
    try:  # Linux: read it without changing process state
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished `tmp` folder to `out_dir`, replacing an earlier report."""
    umask = _umask()  # mkdtemp/mkstemp make private (0700/0600) entries: use the usual modes
    for path in [tmp, *tmp.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_folder_atomic(out_dir: str | Path, fill: Callable[[Path], None]) -> Path:
    """Build a report folder with `fill` in a temporary sibling, then swap it into place.

    Parameters
    ----------
    out_dir : str or Path
        The folder to write; checked with `check_output_dir`. Parents are created.
    fill : callable
        ``fill(folder)`` writes every file into the (empty, temporary) `folder`.

    Returns
    -------
    Path
        The absolute path of the folder.

    Raises
    ------
    OutputDirError
        If `out_dir` cannot hold a report. Any error of `fill` propagates; then nothing is left
        behind and an earlier report at `out_dir` is untouched.
    """
    out_dir = check_output_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        fill(tmp)
        _swap_into_place(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# --------------------------------------------------------------------------- summary.json
def _json_ready(value: Any) -> Any:
    """Plain JSON types; NaN/inf become null (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def build_summary(
    result: SimulationResult, scenario: Scenario, extra: Mapping[str, Any] | None = None
) -> dict:
    """``result.summary()`` plus ``alerts`` (if the scenario has any), ``scenario_file``,
    ``inputs`` (file → SHA-256) and `extra`."""
    summary = result.summary()
    if scenario.config.alerts:
        summary["alerts"] = alerts_to_dict(evaluate_alerts(result, scenario.config.alerts))
    summary["scenario_file"] = None if scenario.source is None else str(scenario.source)
    summary["inputs"] = dict(scenario.inputs)
    summary.update(extra or {})
    return _json_ready(summary)


def _write_summary(folder: Path, summary: dict) -> None:
    text = json.dumps(summary, indent=2, allow_nan=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")
