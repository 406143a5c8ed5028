"""Reading the files a user's config names, safely.

A scenario (or a fit config) names other files: ``portfolio.file``, ``parameters.posterior``,
``macro:``. A scenario may come from someone else, so three rules hold wherever riskmodel reads
such a file:

1. **Regular files only.** A folder, a FIFO (named pipe), a device such as ``/dev/zero`` or a
   socket is refused as what it is (`UnsafeFileError`), never opened for reading: a FIFO would
   block and ``/dev/zero`` never ends.
2. **The folder rule.** A path is resolved relative to the folder of the file that names it,
   symlinks followed, and must land inside that folder's tree or inside the current working
   folder's tree (the working folder does not count when it is the file-system root ``/``).
   Anything else (``../../etc/shadow``, an absolute path elsewhere, a symlink pointing out) is
   refused with `UnsafeFileError` before the file is even looked at, unless the caller opts in
   (``allow_outside_files=True``; ``--allow-outside-files`` on the command line).
3. **Short excerpts.** Messages about a file's contents quote at most `MAX_EXCERPT` characters
   of it, printable ASCII only, through `excerpt`.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from riskmodel.errors import InputError, ScenarioError, UnsafeFileError

__all__ = [
    "MAX_EXCERPT",
    "allowed_roots",
    "excerpt",
    "file_kind",
    "open_regular",
    "read_csv",
    "resolve_input_path",
]

MAX_EXCERPT = 40
"""Most characters of a file's contents an error message quotes."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def excerpt(value: object, limit: int = MAX_EXCERPT) -> str:
    r"""Return a short, sanitised quote of text read from a file, for error messages.

    Characters other than printable ASCII become ``?``; text longer than `limit` is cut and
    marked. The result is quoted, so it cannot be mistaken for the message around it.

    Examples
    --------
    >>> excerpt("retail")
    "'retail'"
    >>> excerpt("root:$6$" + "x" * 60)
    "'root:$6$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (cut at 40 characters)"
    >>> excerpt("a\tb\x00")
    "'a?b?' (non-ASCII, control and quote characters shown as ?)"
    """
    text = value if isinstance(value, str) else str(value)
    head = text[:limit]
    clean = "".join(c if " " <= c <= "~" else "?" for c in head)
    out = "'" + clean.replace("'", "?") + "'"
    if len(text) > limit:
        return out + f"... (cut at {limit} characters)"
    if clean != head:
        return out + " (non-ASCII, control and quote characters shown as ?)"
    return out


def file_kind(path: str | os.PathLike) -> str | None:
    """Describe what `path` is: None for a regular file (symlinks followed), else a phrase.

    Returns ``"missing"`` when nothing is there (or the name is unusable: too long, NUL bytes,
    a symlink loop), else e.g. ``"a FIFO (named pipe)"`` or ``"a folder"``.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return "missing"
    if stat.S_ISREG(mode):
        return None
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


def _not_regular(kind: str, what: str) -> str:
    fix = (
        "name a file inside it"
        if kind == "a folder"
        else f"save the {what} to an ordinary file and name that"
    )
    return f"is {kind}, not a regular file; {fix}."


def open_regular(path: str | os.PathLike, *, what: str = "file") -> BinaryIO:
    """Open a regular file for binary reading; refuse anything else without blocking.

    The file is opened non-blocking (a FIFO without a writer would otherwise hang the open) and
    checked on the open descriptor, so a file swapped between a check and the open is caught.

    Raises
    ------
    FileNotFoundError
        If nothing is at `path`.
    UnsafeFileError
        If `path` is a folder, FIFO, device or socket.
    OSError
        If the file cannot be read (permissions, ...).
    """
    kind = file_kind(path)
    if kind == "missing":
        raise FileNotFoundError(2, "No such file or directory", str(path))
    if kind is not None:
        raise UnsafeFileError(path, [("", _not_regular(kind, what))])
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((text for test, text in _KINDS if test(mode)), "not a regular file")
            raise UnsafeFileError(path, [("", _not_regular(kind, what))])
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def allowed_roots(base_dir: str | os.PathLike) -> list[Path]:
    """Return the folders a config in `base_dir` may read from: its own and the working folder.

    The working folder is left out when it is the file-system root.
    """
    roots = [Path(base_dir).resolve()]
    cwd = Path.cwd().resolve()
    if cwd != Path(cwd.anchor) and cwd not in roots:
        roots.append(cwd)
    return roots


def resolve_input_path(
    name: str | os.PathLike,
    *,
    base_dir: str | os.PathLike,
    file: str | os.PathLike | None,
    field: str,
    allow_outside: bool = False,
    what: str = "file",
) -> Path:
    """Resolve a file named in a config and check it may be read (see the module docstring).

    Parameters
    ----------
    name : str or path
        The path as written in the config; relative paths are relative to `base_dir`.
    base_dir : path
        The folder of the config file that names `name`.
    file : path or None
        The config file, for messages (None: ``<scenario>``).
    field : str
        The config field, for messages (``"portfolio -> file"``).
    allow_outside : bool, default False
        Read files outside `allowed_roots` too (for configs the user trusts).
    what : str
        What the file is, for messages ("portfolio CSV").

    Returns
    -------
    Path
        The resolved path of an existing regular file.

    Raises
    ------
    UnsafeFileError
        If the path leads outside the allowed folders (checked before the file is looked at, so
        nothing is learnt about files there), or is a folder, FIFO, device or socket.
    ScenarioError
        If the path is empty or nothing is there.
    """
    if not str(name).strip():
        raise ScenarioError(file, [(field, f"is empty; name the {what}.")])
    try:
        resolved = (Path(base_dir) / name).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loop, NUL byte
        raise ScenarioError(
            file, [(field, f"cannot resolve {str(name)!r} ({type(exc).__name__}); fix the path.")]
        ) from None
    if not allow_outside:
        roots = allowed_roots(base_dir)
        if not any(resolved.is_relative_to(root) for root in roots):
            where = " or ".join(str(r) for r in roots)
            raise UnsafeFileError(
                file,
                [
                    (
                        field,
                        f"{str(name)!r} resolves to {str(resolved)!r}, outside the folders a "
                        f"config may read from ({where}). Copy the {what} next to the config "
                        "file, or, if you trust this config, allow it with "
                        "allow_outside_files=True (command line: --allow-outside-files).",
                    )
                ],
            )
    kind = file_kind(resolved)
    if kind == "missing":
        hint = "check the path."
        if what == "posterior file":
            hint = (
                "check the path, or make it with `riskmodel fit PANEL.csv --config MODEL.yaml "
                f"--out {name}` (run from the config's folder; see docs/scenario_format.md)."
            )
        raise ScenarioError(file, [(field, f"file {str(name)!r} not found; {hint}")])
    if kind is not None:
        raise UnsafeFileError(file, [(field, f"{str(resolved)!r} " + _not_regular(kind, what))])
    return resolved


def read_csv(
    path: str | os.PathLike,
    *,
    what: str = "CSV file",
    error: type[InputError] = InputError,
    **kwargs: Any,
) -> pd.DataFrame:
    """`pandas.read_csv` of a regular file, every failure an `InputError` naming the file.

    Parameters
    ----------
    path : path
    what : str
        What the file is, for messages ("panel CSV").
    error : InputError subclass
        The class raised for a missing, empty or unparsable file (e.g. `PanelError`).
    **kwargs
        Passed to `pandas.read_csv`.

    Raises
    ------
    error
        If the file is missing, unreadable, empty or not CSV; the message quotes no contents.
    UnsafeFileError
        If `path` is a folder, FIFO, device or socket.
    """
    try:
        with open_regular(path, what=what) as fh:
            return pd.read_csv(fh, **kwargs)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found; check the path.") from None
    except UnsafeFileError:
        raise
    except pd.errors.EmptyDataError:
        raise error(f"{path}: the {what} is empty; it needs a header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:100]
        raise error(
            f"{path}: not a readable {what} ({first}); save it as comma-separated UTF-8 text "
            "with a header row."
        ) from None
    except OSError as exc:
        raise error(
            f"{path}: cannot read the {what} ({exc.strerror or exc}); check its permissions."
        ) from None
