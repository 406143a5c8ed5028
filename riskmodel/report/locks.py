"""Report folders' locks and stale temporary folders.

One writer at a time per output folder (`folder_lock`, a lock file beside it), and the temporary
folders of writers killed mid-write recognised (a marker with host and PID) and cleaned up
(`clean_stale`) by the next writer.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskmodel.errors import OutputDirError
from riskmodel.report.safety import TMP_MARKER, deferred_signals

LOCK_TIMEOUT = 300.0
"""Seconds a writer waits for another riskmodel process writing the same folder."""


@contextmanager
def folder_lock(parent: Path, name: str, shown: str, timeout: float | None = None) -> Iterator:
    """Hold the lock file ``parent/.NAME.riskmodel-lock`` (``fcntl.flock``) inside the block.

    Waits up to `timeout` seconds (default `LOCK_TIMEOUT`) for another writer; the lock file is
    removed on the way out. A file of that name that riskmodel did not write is refused.
    """
    path = parent / f".{name}.riskmodel-lock"
    deadline = time.monotonic() + (LOCK_TIMEOUT if timeout is None else timeout)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").split()
            os.close(fd)
            if time.monotonic() > deadline:
                pid = holder[-1] if holder else "?"
                raise OutputDirError(
                    f"{shown}: another riskmodel process (pid {pid}) is writing this folder; "
                    "wait for it to finish and run again, or choose another --out."
                ) from None
            time.sleep(0.05)
            continue
        if _same_file(path, fd):  # the holder before us may have removed the file
            break
        os.close(fd)
    owned = False
    try:
        content = os.pread(fd, 64, 0)
        if content and not content.startswith(b"riskmodel-lock"):
            raise OutputDirError(
                f"{path}: a file of this name exists and riskmodel did not write it; riskmodel "
                "uses it to lock the output folder. Move it away or choose another --out."
            )
        owned = True
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"riskmodel-lock pid {os.getpid()}\n".encode(), 0)
        yield
    finally:
        with deferred_signals():
            if owned and _same_file(path, fd):  # remove it first, then release the lock
                path.unlink(missing_ok=True)
            os.close(fd)


def _same_file(path: Path, fd: int) -> bool:
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _write_marker(folder: Path) -> None:
    marker = {"riskmodel_tmp": 1, "pid": os.getpid(), "host": socket.gethostname()}
    (folder / TMP_MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")


def _stale(folder: Path) -> bool:
    """Whether `folder` holds riskmodel's marker naming a process of this host that is gone."""
    marker = folder / TMP_MARKER
    try:
        if folder.is_symlink() or marker.is_symlink() or marker.stat().st_size > 4096:
            return False
        data = json.loads(marker.read_text(encoding="utf-8"))
        pid, host = int(data["pid"]), str(data["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return data.get("riskmodel_tmp") == 1 and host == socket.gethostname() and not _pid_alive(pid)


def clean_stale(parent: Path, name: str) -> list[Path]:
    """Remove what a killed riskmodel run left beside ``parent/name``; return what was removed.

    Only hidden folders named ``.NAME.tmp-XXXXXXXX`` or ``.NAME.old-XXXXXXXX`` that hold
    riskmodel's marker file naming a process of this host that no longer runs. An earlier report
    moved aside (``.old-``) while ``NAME`` itself is missing is moved back instead of removed.
    """
    pattern = re.compile(rf"\.{re.escape(name)}\.(tmp|old)-[a-z0-9_]{{8}}")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        if not _stale(folder):
            continue
        target = parent / name
        with deferred_signals():
            if match.group(1) == "old" and not os.path.lexists(target):
                (folder / TMP_MARKER).unlink()
                os.rename(folder, target)
            else:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed
