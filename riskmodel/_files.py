"""Saving a netCDF file to a path the caller names, replacing only a file riskmodel wrote.

Every ``save``/``to_netcdf`` of riskmodel's objects (results, comparisons, sensitivity results,
parameter draws, fitted models) goes through `replace_own_file`: the file is written to a
temporary file in the same folder, stamped with the global attribute ``riskmodel_file`` (the
kind of object), and renamed into place, so an error or Ctrl-C leaves the earlier file as it was
and no temporary file. An existing file at the path is replaced only if riskmodel wrote it: a
netCDF file whose global or group attributes carry a ``riskmodel_*`` key (the stamp, or the
attributes of files written before the stamp existed). Anything else — a file of the user's, a
symbolic link, a folder — is refused with `OutputDirError` and left untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from riskmodel.errors import OutputDirError

__all__ = ["STAMP", "replace_own_file", "written_by_riskmodel"]

STAMP = "riskmodel_file"
"""Global attribute that marks a netCDF file as written by riskmodel (value: the object kind)."""


def written_by_riskmodel(path: str | os.PathLike) -> bool:
    """Whether `path` is a netCDF file with riskmodel's attributes (in any group)."""
    try:
        import netCDF4
    except ImportError:  # pragma: no cover - netCDF4 is a dependency
        return False
    try:
        with netCDF4.Dataset(str(path), "r") as ds:
            stack = [ds]
            while stack:
                group = stack.pop()
                if any(str(k).startswith("riskmodel_") for k in group.ncattrs()):
                    return True
                stack.extend(group.groups.values())
    except OSError:  # not netCDF/HDF5, or unreadable
        return False
    return False


def _check_replaceable(path: Path) -> None:
    if not os.path.lexists(path):
        return
    if path.is_symlink():
        problem = "is a symbolic link"
    elif not path.is_file():
        problem = "exists and is not a regular file"
    elif not written_by_riskmodel(path):
        problem = "exists and riskmodel did not write it (no riskmodel attributes)"
    else:
        return
    raise OutputDirError(
        f"{path}: {problem}; riskmodel replaces only files it wrote itself. Choose another "
        "path, or move the file away first."
    )


def replace_own_file(
    path: str | os.PathLike, write: Callable[[Path], object], *, kind: str
) -> Path:
    """Write a netCDF file with ``write(tmp)`` and move it to `path`, stamped as riskmodel's.

    Parameters
    ----------
    path : str or path
        Where the file goes; parent folders are created.
    write : callable
        ``write(tmp)`` writes the whole file to the temporary path `tmp` (same folder).
    kind : str
        The object written (e.g. ``"SimulationResult"``), recorded in the ``riskmodel_file``
        global attribute.

    Returns
    -------
    Path

    Raises
    ------
    OutputDirError
        If something riskmodel did not write is at `path` (nothing is touched then).
    """
    path = Path(path)
    _check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        import netCDF4

        with netCDF4.Dataset(str(tmp), "a") as ds:
            ds.setncattr(STAMP, kind)
        _check_replaceable(path)  # again: something may have appeared while writing
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
