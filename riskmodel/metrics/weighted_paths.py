"""Weighted access to per-path results: the paths with their probabilities, and the file note.

Every path of a run carries a likelihood-ratio ``weight`` (1 for plain Monte Carlo). Under
importance sampling the paths come from a tilted distribution, so unweighted means and
quantiles over ``path`` are wrong. `WeightedPaths` (a base of `SimulationResult`) gives the
correct, self-normalised statistics; `with_weighting_note` writes the warning into a results
file's attributes, where a user reading ``ncdump -h`` sees it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

from riskmodel.errors import ArgumentError
from riskmodel.metrics.risk import weighted_quantile

if TYPE_CHECKING:
    from xarray.computation.weighted import DatasetWeighted

__all__ = ["WEIGHTING_NOTE", "WeightedPaths", "with_weighting_note"]

WEIGHTING_NOTE = (
    "paths are importance-sampled; every statistic must use the `weight` variable "
    "(ds.weighted(ds.weight) in xarray, or riskmodel's SimulationResult.from_netcdf(path) with "
    ".risk(), .weighted_mean(), .weighted_quantile()); unweighted means/quantiles are wrong"
)
"""What a results file says about its weights when they are not all one (netCDF attribute)."""

_PLAIN_NOTE = (
    "plain Monte Carlo: `weight` is 1 on every path, so weighted (ds.weighted(ds.weight)) and "
    "unweighted statistics agree"
)


def with_weighting_note(ds: xr.Dataset) -> xr.Dataset:
    """Return a shallow copy of `ds` with the ``weighting`` attribute, global and on ``weight``."""
    if "weight" not in ds:
        return ds
    note = _PLAIN_NOTE if bool(np.all(ds["weight"].values == 1.0)) else WEIGHTING_NOTE
    out = ds.copy()
    out.attrs["weighting"] = note
    out["weight"].attrs["weighting"] = note
    return out


class WeightedPaths:
    """Weighted statistics over the ``path`` dimension of ``self.data`` (uses its ``weight``)."""

    data: xr.Dataset

    @property
    def probabilities(self) -> xr.DataArray:
        """Per-path probabilities ``w / Σ w`` (dims: path; they sum to one).

        The self-normalised weights every riskmodel statistic uses: the paths of a run, each
        with its probability, are the simulated distribution.
        """
        w = self.data["weight"]
        return (w / float(w.sum())).rename("probability")

    @property
    def weighted(self) -> DatasetWeighted:
        """The dataset weighted by `probabilities`: xarray's own weighted statistics.

        ``res.weighted.mean("path")``, ``.std("path")``, ``.quantile(q, dim="path")`` …
        are correct for importance-sampled runs. xarray's weighted quantile interpolates
        between paths; `weighted_quantile` gives riskmodel's VaR definition (an actual path
        value). Variables without a ``path`` dimension pass through unchanged.

        Examples
        --------
        >>> res.weighted.mean("path")["loss"]  # doctest: +SKIP
        """
        return self.data.weighted(self.probabilities)

    def _per_path(self, variable: str | xr.DataArray, dim: str) -> xr.DataArray:
        if dim != "path":
            raise ArgumentError(
                f"`dim` must be 'path' (the weights are per path); got {dim!r}. Reduce other "
                "dimensions with xarray after the weighted statistic."
            )
        da = self.data[variable] if isinstance(variable, str) and variable in self.data else None
        if isinstance(variable, xr.DataArray):
            da = variable
        if da is None or "path" not in da.dims:
            per_path = sorted(str(k) for k, v in self.data.data_vars.items() if "path" in v.dims)
            raise ArgumentError(
                f"`variable` must name a per-path variable of the result or be a DataArray with "
                f"a 'path' dimension; got {variable!r}. Per-path variables: {per_path}; for "
                "totals over the horizon pass e.g. res.total('loss')."
            )
        return da

    def weighted_mean(
        self, variable: str | xr.DataArray = "loss", *, dim: str = "path"
    ) -> xr.DataArray:
        """Self-normalised mean ``Σ w x / Σ w`` over the paths (other dims kept).

        Parameters
        ----------
        variable : str or xarray.DataArray, default "loss"
            A per-path variable of the result (``loss`` is per period: a mean per period), or
            an array with a ``path`` dimension such as ``res.total("loss")``.
        dim : {"path"}
            The dimension the weights live on.

        Returns
        -------
        xarray.DataArray

        Raises
        ------
        ArgumentError
            If `variable` has no ``path`` dimension or `dim` is not ``"path"``.

        Examples
        --------
        >>> res.weighted_mean(res.total("loss"))  # doctest: +SKIP
        """
        da = self._per_path(variable, dim)
        return xr.dot(da, self.data["weight"], dim="path") / float(self.data["weight"].sum())

    def weighted_quantile(
        self,
        variable: str | xr.DataArray = "loss",
        q: float | ArrayLike = 0.5,
        *,
        dim: str = "path",
    ) -> xr.DataArray:
        """Weighted quantile over the paths: `riskmodel.metrics.weighted_quantile` per cell.

        ``Q(q) = min{x_i : Σ_{x_j > x_i} w_j / Σ w ≤ 1 − q}``, the definition of VaR, in both
        tails (self-normalised, so lower levels are as right as upper ones).

        Parameters
        ----------
        variable : str or xarray.DataArray, default "loss"
            As in `weighted_mean`.
        q : float or array_like of float
            Level(s) in (0, 1).
        dim : {"path"}

        Returns
        -------
        xarray.DataArray
            Dims of `variable` without ``path``, plus ``quantile`` for a list of levels (a
            scalar ``quantile`` coordinate for one level), as `xarray.DataArray.quantile`.

        Examples
        --------
        >>> res.weighted_quantile(res.total("loss"), [0.01, 0.99])  # doctest: +SKIP
        """
        da = self._per_path(variable, dim)
        levels = np.atleast_1d(np.asarray(q, dtype=float))
        w = self.data["weight"].to_numpy()
        out = xr.apply_ufunc(
            lambda x: weighted_quantile(x, levels, weights=w),
            da,
            input_core_dims=[["path"]],
            output_core_dims=[["quantile"]],
            vectorize=True,
        ).assign_coords(quantile=levels)
        return out.isel(quantile=0) if np.ndim(q) == 0 else out
