"""netCDF posterior files: the engine to write them with, and their size measured from the header.

A posterior file is compressed on disk, so a few MB can hold millions of draws that take
gigabytes once loaded. Before loading anything, `riskmodel.models.draws.load_parameter_draws` (and
the models' ``load``) estimate the memory of the arrays from the file's header
(`netcdf_memory_estimate`: values × 8 bytes, the float64 they become) and refuse a file past
`MAX_POSTERIOR_BYTES` (1 GiB, configurable per call) with `ResourceLimitError`. Loading a scenario
on such a posterior peaks at about 3.5 times the estimate (measured: 110 MB of draws, 370 MB more
resident memory; the file's arrays, the reordered draws and the engine's copy live at once).

Imports numpy and the netCDF readers only (netCDF4, else h5py), never PyMC or ArviZ.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from os import PathLike
from typing import Any, Literal

from riskmodel.errors import ResourceLimitError

__all__ = [
    "MAX_POSTERIOR_BYTES",
    "check_netcdf_size",
    "netcdf_engine",
    "netcdf_memory_estimate",
]

MAX_POSTERIOR_BYTES = 2**30
"""Default limit on the in-memory size of a posterior file's arrays (1 GiB)."""
_Variable = tuple[str, tuple[str, ...], tuple[int, ...]]
"""A variable of a netCDF file: name, dimension names, shape."""
_BYTES_PER_VALUE = 8  # numbers become float64; text and other variable-length values: a pointer


def netcdf_engine() -> Literal["netcdf4", "h5netcdf"]:
    """Return the netCDF engine to write with: netCDF4 if installed, else h5netcdf (needs h5py)."""
    return "netcdf4" if importlib.util.find_spec("netCDF4") is not None else "h5netcdf"


def _variables_netcdf4(path: str, group: str | None) -> Iterator[_Variable]:
    import netCDF4

    with netCDF4.Dataset(path, "r") as root:
        if group is not None and group not in root.groups:
            raise OSError(f"no group {group!r}")
        todo = [root.groups[group]] if group is not None else [root]
        while todo:
            grp = todo.pop()
            todo.extend(grp.groups.values())
            for name, var in grp.variables.items():
                yield name, tuple(var.dimensions), tuple(int(n) for n in var.shape)


def _variables_h5py(path: str, group: str | None) -> list[_Variable]:
    import h5py

    found: list[_Variable] = []
    with h5py.File(path, "r") as root:
        start = root[group] if group is not None else root

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                found.append((name, (), tuple(int(n) for n in obj.shape)))

        start.visititems(visit)
    return found


def netcdf_memory_estimate(
    path: str | PathLike[str], *, group: str | None = None
) -> tuple[int, list[tuple[str, tuple[str, ...], tuple[int, ...]]]]:
    """Bytes the arrays of a netCDF file take once loaded, read from its header only.

    Parameters
    ----------
    path : path
    group : str, optional
        Only this group (and its subgroups); default: the whole file.

    Returns
    -------
    bytes : int
        The number of values of every variable × 8 (the float64 they become).
    variables : list of (name, dims, shape)
        Largest first.

    Raises
    ------
    OSError
        If the file is not netCDF/HDF5 or has no such group.
    """
    path = str(path)
    if netcdf_engine() == "netcdf4":
        variables = list(_variables_netcdf4(path, group))
    else:
        try:
            variables = _variables_h5py(path, group)
        except KeyError as err:
            raise OSError(f"no group {group!r}") from err
    variables.sort(key=lambda v: -math.prod(v[2]))
    return sum(math.prod(shape) for _, _, shape in variables) * _BYTES_PER_VALUE, variables


def check_netcdf_size(
    path: str | PathLike[str], *, max_bytes: int | None = None, group: str | None = None
) -> int:
    """Refuse a netCDF file whose arrays would take more than `max_bytes` once loaded.

    Returns the estimate (see `netcdf_memory_estimate`). `max_bytes` None means
    `MAX_POSTERIOR_BYTES`.

    Raises
    ------
    ResourceLimitError
        Naming the file, the estimate, the largest variable and the fix (thin the draws).
    OSError
        If the header cannot be read.
    """
    limit = MAX_POSTERIOR_BYTES if max_bytes is None else int(max_bytes)
    size, variables = netcdf_memory_estimate(path, group=group)
    if size <= limit:
        return size
    name, dims, shape = variables[0]
    names = dims if len(dims) == len(shape) else [f"dim{i}" for i in range(len(shape))]
    layout = " × ".join(f"{d} {n:,}" for d, n in zip(names, shape, strict=True))
    raise ResourceLimitError(
        f"{path}: its arrays would take about {size / 2**30:.2f} GiB in memory (estimated from "
        f"the file's header; the largest is {name!r}: {layout}), more than the limit of "
        f"{limit / 2**30:.2f} GiB. Thin the draws: refit with fewer `draws:`, or load it once "
        "with a higher max_bytes= on a machine with about 3.5 times that memory free and "
        "save every 10th draw (`draws.take(range(0, draws.n_draws, 10)).to_netcdf(PATH)`); "
        "a scenario takes the limit as load_scenario(..., max_posterior_bytes=...)."
    )
