"""Report folders on disk: the safe atomic write shared by every report.

`write_folder_atomic` builds a folder in a hidden temporary sibling (``.NAME.tmp-XXXXXXXX``) and
then renames it into place, so a failed or interrupted run leaves no trace and an earlier
complete report in the same place stays untouched until the new one is complete. It writes a
manifest (``.riskmodel-manifest.json``: every file with its SHA-256) into the folder, and
replaces an existing folder only if that folder holds riskmodel's own files alone, unchanged
(`riskmodel.report.safety`). `check_output_dir` applies the same rules without writing, so the
command line can refuse a folder before a long run. The lock and the stale-folder cleanup live
in `riskmodel.report.locks`; the contents of ``summary.json`` in `riskmodel.report.summary`.

Notes
-----
Writing a report into ``DIR`` takes these steps:

1. Check ``DIR`` (`check_output_dir`): not a symbolic link, not a protected place, a name the
   file system can hold, and either absent, empty, or a riskmodel report whose manifest lists
   every entry with an unchanged hash.
2. Lock ``.DIR.riskmodel-lock`` beside it (``fcntl.flock``), so concurrent writers take turns;
   a writer that waits longer than `LOCK_TIMEOUT` seconds gives up with `OutputDirError`.
3. Remove stale temporary folders of ``DIR`` left by a killed run: hidden siblings named
   ``.DIR.tmp-*``/``.DIR.old-*`` holding riskmodel's marker file whose process is gone on this
   host (an old report moved aside and not yet replaced is moved back instead).
4. Fill the temporary folder, write the manifest, check ``DIR`` again (the user may have added a
   file meanwhile), and swap: ``DIR`` → ``.DIR.old-*`` (checked once more) → temporary →
   ``DIR``, then delete the old one. Ctrl-C and SIGTERM are held back during the swap and the
   cleanup, so an interrupt leaves either the earlier report or the new one, never a mix.
5. Remove the lock file. Errors of the operating system that the user can fix (no space left,
   read-only, permission, name too long, a mount point) become `OutputDirError` (exit code 2).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from riskmodel.errors import OutputDirError
from riskmodel.report.locks import (  # noqa: F401
    LOCK_TIMEOUT,
    _pid_alive,
    _same_file,
    _stale,
    _write_marker,
    clean_stale,
    folder_lock,
)
from riskmodel.report.safety import (
    TMP_MARKER,
    check_place,
    deferred_signals,
    foreign_entries,
    os_error,
    refuse_foreign,
    write_manifest,
)
from riskmodel.scenarios.load import Scenario

__all__ = [
    "LOCK_TIMEOUT",
    "OutputDirError",
    "check_new_path",
    "check_output_dir",
    "clean_stale",
    "folder_lock",
    "scenario_files",
    "write_folder_atomic",
]


_OVERHEAD = len("..riskmodel-lock")  # what riskmodel adds to a folder's name for its siblings
_LONGEST_INSIDE = 64  # room for the longest relative path inside a report
_KINDS = {"summary.json": "run", "comparison.json": "comparison", "sensitivity.json": "sensitivity"}


# --------------------------------------------------------------------------- output folder
def scenario_files(*scenarios: Scenario) -> list[str]:
    """Every file the scenarios were read from (scenario files, portfolios, posteriors)."""
    files = [str(sc.source) for sc in scenarios if sc.source is not None]
    return files + [f for sc in scenarios for f in sc.inputs]


def _shown(out_dir: str | Path) -> str:
    return str(out_dir) if str(out_dir) else '""'


def _nearest_existing(path: Path) -> Path:
    ancestor = path
    while not os.path.lexists(ancestor):
        ancestor = ancestor.parent
    return ancestor


def _check_name_length(path: Path, ancestor: Path, shown: str) -> None:
    try:
        name_max = os.pathconf(ancestor, "PC_NAME_MAX")
        path_max = os.pathconf(ancestor, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    fix = "choose a shorter --out (or a shorter scenario `name:`)"
    for part in path.relative_to(ancestor).parts:
        size = len(os.fsencode(part)) + (_OVERHEAD if part == path.name else 0)
        if size > name_max:
            raise OutputDirError(
                f"{shown}: the name {part[:40]!r}... is {len(os.fsencode(part))} bytes long; the "
                f"file system allows {name_max} bytes per name and riskmodel needs "
                f"{_OVERHEAD} more for its temporary folder; {fix}."
            )
    if len(os.fsencode(str(path))) + _OVERHEAD + _LONGEST_INSIDE > path_max:
        raise OutputDirError(
            f"{shown}: the path is {len(os.fsencode(str(path)))} bytes long; with the files of a "
            f"report inside it would pass the file system's limit of {path_max} bytes; {fix}."
        )


def check_new_path(path: Path, shown: str, *, what: str = "output folder") -> None:
    """Refuse an absolute `path` that cannot be created.

    No writable folder above it, or a name too long for the file system once riskmodel adds its
    temporary suffix.
    """
    ancestor = _nearest_existing(path.parent)
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"{shown}: cannot create the {what} under {ancestor} (not a writable folder); "
            "choose another place with --out."
        )
    _check_name_length(path, ancestor, shown)


def check_output_dir(out_dir: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Check that a report can be written to `out_dir` and return its absolute path.

    The folder may not exist yet (its parents are created when writing), may be empty, or may
    hold an earlier riskmodel report whose manifest lists every entry in it, unchanged; that
    report is replaced once the new one is complete. Nothing is left behind (the folder's lock
    file exists only while the contents of an existing folder are read).

    Parameters
    ----------
    out_dir : str or Path
        The report folder.
    inputs : iterable of path, optional
        Files the run reads: a folder holding one of them (e.g. the scenario's folder) is refused.

    Returns
    -------
    Path
        The absolute folder, its parent folders resolved.

    Raises
    ------
    OutputDirError
        If `out_dir` is empty, a symbolic link, a file, the file-system root, the home folder,
        the current folder or one of its parents, a folder holding an input, a mount point, a
        name too long for the file system, a folder holding anything riskmodel did not write
        (the message names those entries), or under a path that cannot be created or written.
    """
    shown = _shown(out_dir)
    path = _check_path(out_dir, inputs)
    if path.is_dir():  # read its contents while no riskmodel writer is changing them
        try:
            with folder_lock(path.parent, path.name, shown):
                refuse_foreign(path, shown)
        except OSError as exc:
            raise os_error(exc, shown) or exc from None
    return path


def _check_path(out_dir: str | Path, inputs: Iterable[str | Path]) -> Path:
    """`check_output_dir` without looking inside an existing folder."""
    shown = _shown(out_dir)
    if not str(out_dir).strip():
        raise OutputDirError(
            '--out "": the output folder is empty (an unset shell variable?); pass a folder, '
            "e.g. --out reports/NAME."
        )
    absolute = Path(os.path.abspath(Path(out_dir).expanduser()))
    _check_name_length(absolute, _nearest_existing(absolute.parent), shown)  # before any stat
    try:
        return _check_place_and_parent(absolute, shown, inputs)
    except OSError as exc:
        raise os_error(exc, shown) or exc from None


def _check_place_and_parent(absolute: Path, shown: str, inputs: Iterable[str | Path]) -> Path:
    if absolute.is_symlink():
        raise OutputDirError(
            f"{shown}: is a symbolic link (to {os.readlink(absolute)}); riskmodel does not "
            "write reports through links. Pass the real folder with --out, or another folder."
        )
    path = Path(os.path.realpath(absolute.parent)) / absolute.name if absolute.name else absolute
    check_place(path, shown, inputs=inputs)
    if path.exists() and not path.is_dir():
        raise OutputDirError(
            f"{shown}: the output path exists and is not a folder; pass --out with a folder."
        )
    check_new_path(path, shown)
    return path


# --------------------------------------------------------------------------- lock, stale


# --------------------------------------------------------------------------- atomic write
def _umask() -> int:
    try:  # Linux: read it without changing process state
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _swap_into_place(tmp: Path, out_dir: Path, shown: str) -> None:
    """Rename the finished `tmp` folder to `out_dir`, replacing riskmodel's earlier report."""
    umask = _umask()  # mkdtemp/mkstemp make private (0700/0600) entries: use the usual modes
    for path in [tmp, *tmp.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)
    if not os.path.lexists(out_dir):
        os.rename(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(out_dir, old)
    try:
        _write_marker(old)  # a kill from here on: the next run moves it back or removes it
        foreign, _ = foreign_entries(old, hashes=False, ignore=[TMP_MARKER])
        if foreign:  # added since the check moments ago
            raise OutputDirError(
                f"{shown}: {', '.join(foreign[:5])} appeared in the folder while riskmodel was "
                "replacing it; nothing was changed. Move those files away or choose another --out."
            )
        os.rename(tmp, out_dir)
    except BaseException:
        (old / TMP_MARKER).unlink(missing_ok=True)
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _kind(folder: Path) -> str:
    return next((k for f, k in _KINDS.items() if (folder / f).is_file()), "report")


def _build_and_swap(out: Path, fill: Callable[[Path], None], kind: str | None, shown: str) -> None:
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        _write_marker(tmp)
        fill(tmp)
        write_manifest(tmp, kind or _kind(tmp))
        if out.is_dir():
            refuse_foreign(out, shown)  # the user may have added a file during the fill
        with deferred_signals():
            (tmp / TMP_MARKER).unlink()
            _swap_into_place(tmp, out, shown)
    except BaseException:
        with deferred_signals():
            shutil.rmtree(tmp, ignore_errors=True)
        raise


def _no_space(exc: BaseException, parent: Path, shown: str) -> OutputDirError | None:
    """Libraries (HDF5, PNG writers) may hide ENOSPC in their own errors: look at the disk."""
    if not isinstance(exc, Exception) or isinstance(exc, OutputDirError):
        return None
    try:
        free = shutil.disk_usage(parent).free
    except OSError:
        return None
    if free >= 2**20:
        return None
    return OutputDirError(
        f"{shown}: could not write the output: no space left on device ({free} bytes free); "
        "free space or choose another --out. Nothing was left behind; an earlier report there "
        "is unchanged."
    )


def fill_report_folder(
    folder: Path,
    *,
    content: Mapping[str, Any],
    json_name: str,
    figures: Mapping[str, bytes],
    html: str,
    table: Any = None,
    table_name: str | None = None,
) -> None:
    """Write a report's files into `folder` (a fresh folder of `write_folder_atomic`).

    ``<json_name>`` (`content`, JSON-ready, no NaN), ``<table_name>`` (a DataFrame `table` as
    CSV, when given), ``figures/<name>.png`` and ``report.html``.
    """
    text = json.dumps(_json_ready(content), indent=2, allow_nan=False, ensure_ascii=False)
    (folder / json_name).write_text(text + "\n", encoding="utf-8")
    if table is not None and table_name is not None:
        table.to_csv(folder / table_name, index=False)
    (folder / "figures").mkdir(exist_ok=True)
    for name, png in figures.items():
        (folder / "figures" / f"{name}.png").write_bytes(png)
    (folder / "report.html").write_text(html, encoding="utf-8")


def write_folder_atomic(
    out_dir: str | Path,
    fill: Callable[[Path], None],
    *,
    kind: str | None = None,
    inputs: Iterable[str | Path] = (),
    lock_timeout: float | None = None,
) -> Path:
    """Build a report folder with `fill` in a temporary sibling, then swap it into place.

    Parameters
    ----------
    out_dir : str or Path
        The folder to write; checked with `check_output_dir`. Parents are created.
    fill : callable
        ``fill(folder)`` writes every file into the (temporary) `folder`; regular files and
        folders only.
    kind : str, optional
        The report kind recorded in the manifest (default: from the main file's name).
    inputs : iterable of path, optional
        Files the report was made from; a folder holding one of them is refused.
    lock_timeout : float, optional
        Seconds to wait for another writer of the same folder (default `LOCK_TIMEOUT`).

    Returns
    -------
    Path
        The absolute path of the folder.

    Raises
    ------
    OutputDirError
        If `out_dir` cannot hold a report (see `check_output_dir`), another writer holds it too
        long, or the operating system refuses the write for a reason the user can fix (no space
        left, read-only, permissions, name too long, mount point). Any other error of `fill`
        propagates. In every case nothing is left behind and an earlier report at `out_dir` is
        untouched.
    """
    inputs = list(inputs)
    shown = _shown(out_dir)
    out = _check_path(out_dir, inputs)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(out.parent, out.name, shown, lock_timeout):
            clean_stale(out.parent, out.name)
            out = _check_path(out_dir, inputs)  # again, now that no writer can interfere
            if out.is_dir():
                refuse_foreign(out, shown)
            _build_and_swap(out, fill, kind, shown)
    except BaseException as exc:
        mapped = os_error(exc, shown) or _no_space(exc, out.parent, shown)
        if mapped is not None:
            raise mapped from exc
        raise
    return out


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


def shown_path(path: str | Path | None) -> str | None:
    """Return a file as a report names it.

    Relative to the current folder when inside it, else its file name (no absolute path leaks
    into a report).
    """
    if path is None:
        return None
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.name
