"""What riskmodel may delete or replace on disk, and how it proves it.

The rule: riskmodel deletes or replaces only files it wrote itself. Each report folder holds a
manifest, ``.riskmodel-manifest.json``, listing every file riskmodel wrote there with its SHA-256.
A folder may be replaced only if every entry in it is listed there with an unchanged hash; a
folder holding anything else (a file the user added or edited, a folder such as ``archive/``, a
symbolic link, a ``summary.json`` without a manifest) is refused and the refusal names the
entries. Some places are refused whatever they hold: the file system root, the home folder, the
current folder and its parents, a folder holding one of the run's input files (e.g. the
scenario's own folder), a mount point, and a symbolic link.

Also here: errors of the operating system turned into messages that say what to do
(`os_error`), and `deferred_signals`, which holds Ctrl-C and SIGTERM back while a few renames
must happen together.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from riskmodel.errors import OutputDirError

__all__ = [
    "MANIFEST",
    "REPORT_FILES",
    "check_place",
    "deferred_signals",
    "file_sha256",
    "foreign_entries",
    "os_error",
    "refuse_foreign",
    "write_manifest",
]

MANIFEST = ".riskmodel-manifest.json"
"""The manifest of a report folder: every file riskmodel wrote there, with its SHA-256."""

TMP_MARKER = ".riskmodel-tmp.json"
"""Marks a hidden temporary folder as riskmodel's (with the pid and host that made it)."""

REPORT_FILES = ("summary.json", "comparison.json", "sensitivity.json")
"""The main file of a run, comparison and sensitivity report."""

_SHOWN = 5  # entries named in a refusal; the rest are counted
_MAX_MANIFEST_BYTES = 16 * 2**20


# --------------------------------------------------------------------------- manifest
def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, kind: str) -> dict[str, str]:
    """Write ``folder/.riskmodel-manifest.json`` listing every file below `folder`.

    Parameters
    ----------
    folder : Path
        A finished report folder (still the temporary one).
    kind : str
        ``"run"``, ``"comparison"``, ``"sensitivity"`` or another report kind.

    Returns
    -------
    dict
        Relative POSIX path → SHA-256 of every file listed.
    """
    from riskmodel import __version__

    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if rel in (MANIFEST, TMP_MARKER) or path.is_dir():
            continue
        if path.is_symlink() or not path.is_file():
            raise OutputDirError(f"{path}: riskmodel only writes regular files into a report.")
        files[rel] = file_sha256(path)
    manifest = {
        "riskmodel_manifest": 1,
        "kind": kind,
        "riskmodel_version": __version__,
        "note": "Files riskmodel wrote into this folder. riskmodel replaces the folder only "
        "while it holds these files alone, unchanged; anything else makes it refuse.",
        "files": files,
    }
    text = json.dumps(manifest, indent=2)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")
    return files


def _read_manifest(folder: Path) -> dict[str, str] | None:
    """Return the ``files`` of a valid manifest in `folder`, or None (absent, link, damaged)."""
    path = folder / MANIFEST
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if data.get("riskmodel_manifest") != 1 or not isinstance(files, dict):
        return None
    ok = all(isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in files.items())
    return files if ok else None


def foreign_entries(
    folder: Path, *, hashes: bool = True, ignore: Iterable[str] = ()
) -> tuple[list[str], bool]:
    """Return the entries of `folder` that riskmodel cannot prove it wrote.

    Parameters
    ----------
    folder : Path
        An existing folder.
    hashes : bool
        Compare every listed file's SHA-256 with the manifest (else names and types only).
    ignore : iterable of str
        Top-level names to pass over.

    Returns
    -------
    foreign : list of str
        Relative paths (folders end in ``/``; changed files say so), sorted; empty if riskmodel
        may replace the folder.
    has_manifest : bool
        Whether `folder` holds a valid manifest.
    """
    files = _read_manifest(folder)
    listed = files or {}
    parents = {p.rsplit("/", i)[0] for p in listed for i in range(1, p.count("/") + 1)}
    foreign: list[str] = []
    skip = {*ignore, *([MANIFEST] if files is not None else [])}

    def walk(here: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError:
            foreign.append(f"{prefix or '.'}/ (unreadable)")
            return
        for entry in entries:
            rel = prefix + entry.name
            if not prefix and entry.name in skip:
                continue
            if entry.is_symlink():
                foreign.append(f"{rel} (a symbolic link)")
            elif entry.is_dir(follow_symlinks=False):
                if rel in parents:
                    walk(Path(entry.path), rel + "/")
                else:
                    foreign.append(rel + "/")
            elif not entry.is_file(follow_symlinks=False) or rel not in listed:
                foreign.append(rel)
            elif hashes and _sha_or_none(entry.path) != listed[rel]:
                foreign.append(f"{rel} (changed since riskmodel wrote it)")

    walk(folder, "")
    return foreign, files is not None


def _sha_or_none(path: str) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    more = len(names) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def refuse_foreign(folder: Path, shown: str, *, ignore: Iterable[str] = ()) -> None:
    """Raise `OutputDirError` unless riskmodel may replace the existing folder `folder`.

    An empty folder may be replaced; so may a folder whose every entry is listed, unchanged, in
    its manifest. The message names the foreign entries (the first few and a count) and the fix.
    """
    foreign, has_manifest = foreign_entries(folder, ignore=ignore)
    if not foreign:
        return
    fix = f"Choose another folder with --out, or move those files out of {shown} yourself."
    if has_manifest:
        raise OutputDirError(
            f"{shown}: the report folder holds {len(foreign)} entr"
            f"{'y' if len(foreign) == 1 else 'ies'} riskmodel did not write: "
            f"{_listing(foreign)}. riskmodel replaces a report folder only when everything in it "
            f"is its own, unchanged (listed in {MANIFEST}), so nothing of yours is lost. {fix}"
        )
    reports = [n for n in REPORT_FILES if n in foreign]
    if reports:
        raise OutputDirError(
            f"{shown}: the folder holds {reports[0]} but no {MANIFEST}: a report of an older "
            "riskmodel, or not a riskmodel report at all, so riskmodel cannot prove it wrote "
            f"the {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} there "
            f"({_listing(foreign)}) and will not replace it. Choose another folder with --out, "
            f"or move or delete {shown} yourself once you have kept what you need."
        )
    raise OutputDirError(
        f"{shown}: the output folder exists and is not a riskmodel report (it holds "
        f"{_listing(foreign)}); a run replaces its whole output folder, so riskmodel writes only "
        f"to a new or empty folder or to one of its own reports. {fix}"
    )


# --------------------------------------------------------------------------- places
def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def check_place(path: Path, shown: str, *, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse a report folder that must never be replaced, whatever it holds.

    Parameters
    ----------
    path : Path
        The absolute folder, its parents resolved (no symbolic links).
    shown : str
        The folder as the user wrote it, for messages.
    inputs : iterable of path
        Files the run reads (scenario, portfolio, posterior, configs): a folder holding one of
        them is refused (e.g. the scenario's own folder).
    """
    fix = "a report replaces its whole folder; choose a new, dedicated folder with --out"
    why = None
    if path == Path(path.anchor):
        why = "the root of the file system"
    else:
        try:
            home = Path.home().resolve()
        except (RuntimeError, KeyError, OSError):
            home = None
        try:
            cwd: Path | None = Path.cwd().resolve()
        except OSError:
            cwd = None
        if home is not None and _is_within(home, path):
            why = "your home folder" if home == path else f"a parent of your home folder {home}"
        elif cwd is not None and _is_within(cwd, path):
            why = "the current folder" if cwd == path else f"a parent of the current folder {cwd}"
        else:
            for item in inputs:
                file = Path(item).expanduser().resolve()
                if _is_within(file, path):
                    why = f"the folder holding the input file {file}"
                    break
    if why is not None:
        raise OutputDirError(f"{shown}: refusing to write a report there: it is {why}; {fix}.")
    if path.is_dir() and os.path.ismount(path):
        raise OutputDirError(
            f"{shown}: is a mount point; riskmodel replaces a report folder by renaming it, "
            f"which a mount point cannot be. Write into a folder below it, e.g. --out "
            f"{Path(shown) / 'report'}."
        )


# --------------------------------------------------------------------------- OS errors
_OS_HINTS = {
    errno.ENOSPC: "no space left on device; free space or choose another --out",
    errno.EDQUOT: "disk quota exceeded; free space or choose another --out",
    errno.EROFS: "the file system is read-only; choose another --out",
    errno.EACCES: "permission denied; choose a folder you can write to with --out",
    errno.EPERM: "operation not permitted; choose a folder you can write to with --out",
    errno.ENAMETOOLONG: "the path is longer than the file system allows; choose a shorter "
    "--out (or a shorter scenario `name:`)",
    errno.EXDEV: "the folder cannot be renamed into place (it is a mount point or on another "
    "file system than its parent); write into a folder below it or choose another --out",
    errno.EBUSY: "the folder is busy (a mount point, or open in another program) and cannot "
    "be replaced; write into a folder below it or choose another --out",
    errno.ELOOP: "a symbolic link is in the way; choose another --out",
    errno.ENOTDIR: "part of the path is a file, not a folder; choose another --out",
    errno.EIO: "the device reported an input/output error; check the disk or choose another --out",
}


def os_error(exc: BaseException, shown: str | Path) -> OutputDirError | None:
    """Return an `OutputDirError` for an operating-system error that the user can fix, else None."""
    if not isinstance(exc, OSError) or exc.errno not in _OS_HINTS:
        return None
    return OutputDirError(
        f"{shown}: could not write the output: {_OS_HINTS[exc.errno]} "
        f"({errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror or exc}). Nothing was "
        "left behind; an earlier report there is unchanged."
    )


# --------------------------------------------------------------------------- signals
@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back inside the block; deliver them when it ends.

    Used around the few renames that must happen together, and around cleanup. Outside the
    main thread (where handlers cannot be set) the block runs unguarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    kinds = [signal.SIGINT, signal.SIGTERM]
    previous = {s: signal.getsignal(s) for s in kinds}
    for s in kinds:
        if previous[s] not in (signal.SIG_IGN, None):
            signal.signal(s, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for s in kinds:
            if previous[s] not in (signal.SIG_IGN, None):
                signal.signal(s, previous[s])
        for signum in caught[:1]:
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, None)
            elif signum == signal.SIGINT:
                raise KeyboardInterrupt
            else:  # SIG_DFL: die as the signal would have
                signal.raise_signal(signum)
