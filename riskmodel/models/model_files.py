"""Saved model files: ArviZ InferenceData written over our own files only, opened size-checked.

`write_idata` writes a model's groups with `riskmodel._files.replace_own_file` (it never replaces a
file riskmodel did not write); `open_idata` estimates the file's memory from its header first
(`riskmodel.models.netcdf_size.check_netcdf_size`) and opens it; the caller then verifies the
config in the attrs of its main group (`riskmodel.models._common.read_config`). ArviZ is
imported inside the functions only.
"""

from __future__ import annotations

import warnings
from os import PathLike
from typing import Any

import xarray as xr

from riskmodel._files import replace_own_file
from riskmodel.models.netcdf_size import check_netcdf_size, netcdf_engine

__all__ = ["open_idata", "write_idata"]


def write_idata(path: str | PathLike[str], groups: dict[str, xr.Dataset], *, kind: str) -> None:
    """Write `groups` as an InferenceData netCDF file at `path`, stamped as a riskmodel `kind`."""
    import arviz as az

    with warnings.catch_warnings():  # ArviZ warns of group names it does not know ("mle")
        warnings.filterwarnings("ignore", message=".*group.*", category=UserWarning)
        replace_own_file(
            path,
            lambda tmp: az.InferenceData(**groups).to_netcdf(  # type: ignore[arg-type]
                str(tmp), engine=netcdf_engine()
            ),  # (ArviZ annotates InferenceData's **kwargs as bool)
            kind=kind,
        )


def open_idata(path: str | PathLike[str], *, max_bytes: int | None) -> Any:
    """Open a saved model's InferenceData, after refusing one too large for memory.

    Raises
    ------
    ResourceLimitError
        If the file's arrays would take more memory than `max_bytes` (estimated from its header).
    """
    import arviz as az

    try:
        check_netcdf_size(path, max_bytes=max_bytes)
    except OSError:
        pass  # not netCDF: ArviZ says so below
    with warnings.catch_warnings():  # ArviZ warns of group names it does not know ("mle")
        warnings.filterwarnings("ignore", message=".*group.*", category=UserWarning)
        return az.from_netcdf(str(path), engine=netcdf_engine())
