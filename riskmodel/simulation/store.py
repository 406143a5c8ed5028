"""Per-path results of a run: preallocated arrays filled block by block, then one xarray Dataset.

`ResultStore` holds what a run keeps (``simulation.keep``: every path's per-period outputs, or
per-path totals only; each block reduced by `riskmodel.simulation.reduction.reduce_block`, whose
names are re-exported here) and `assemble` labels it; `path_total` reads a per-path total from
either kind of result. The memory these arrays take is estimated up front by
`riskmodel.simulation.resources`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from riskmodel._version import __version__
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.block_output import BlockOutput
from riskmodel.simulation.reduction import (
    PER_PATH,
    PER_PERIOD,
    BlockSummary,
    FloatArray,
    Reduction,
    reduce_block,
)

if TYPE_CHECKING:  # the engine imports this module
    from riskmodel.simulation.plan import Sampling

__all__ = [
    "PER_PATH",
    "PER_PERIOD",
    "BlockSummary",
    "Reduction",
    "ResultStore",
    "assemble",
    "path_total",
    "reduce_block",
]


class ResultStore:
    """Preallocated per-path arrays; each block writes its own slice (no concatenation copy).

    With ``keep="totals"`` the (path, period) outputs are reduced block by block to per-path
    totals and discounted totals and to per-period weighted sums, so memory beyond the per-path
    totals is bounded by the blocks in flight, whatever the number of paths. A backend either
    hands whole blocks to `put`, or reduces them itself with `reduce_block` and `reduction` (in
    a Dask worker) and hands the summaries to `put_summary`: the same numbers either way.
    """

    def __init__(
        self,
        paths: int,
        horizon: int,
        n_segments: int,
        n_states: int,
        n_cohorts: int,
        *,
        discount: FloatArray,
        keep: str = "paths",
        alerts: Sequence[tuple[str, str, float]] = (),
        total_customers: float = 0.0,
    ) -> None:
        self.keep = keep
        self.discount = discount
        # (name, metric, threshold) of the scenario's alerts: a totals run evaluates them here
        self.alerts = list(alerts) if keep == "totals" else []
        self.total_customers = total_customers
        self.reduction = Reduction(
            keep=keep,
            discount=np.asarray(discount, dtype=float),
            alerts=tuple(self.alerts),
            total_customers=float(total_customers),
        )
        self.alert_blocks: dict[int, FloatArray] = {}  # (alert, 2, period) per block
        self.arrays: dict[str, NDArray[Any]] = {}
        shape = (paths, horizon) if keep == "paths" else (paths,)
        for name in PER_PERIOD:
            self.arrays[name] = np.empty(shape)
            if keep == "totals":
                self.arrays[f"{name}_discounted"] = np.empty(paths)
        self.arrays["loss_by_segment"] = np.empty((paths, n_segments))
        self.arrays["loss_by_cohort"] = np.empty((paths, n_cohorts))
        self.arrays["weight"] = np.empty(paths)
        self.arrays["draw"] = np.empty(paths, dtype=np.int64)
        self.arrays["churn_value_lost"] = np.empty(paths)
        self.occupancy_blocks: dict[int, FloatArray] = {}
        self.period_sum_blocks: dict[int, FloatArray] = {}  # (variable, period) weighted sums

    def put(self, block: tuple[int, int, int], out: BlockOutput) -> None:
        """Store the outputs of block ``(index, first path, paths)``, in any block order."""
        self.put_summary(block, reduce_block(out, self.reduction))

    def put_summary(self, block: tuple[int, int, int], summary: BlockSummary) -> None:
        """Store a block reduced by `reduce_block` with this store's `reduction`."""
        b, start, n = block
        for name, rows in summary.per_path.items():
            self.arrays[name][start : start + n] = rows
        if summary.period_sums is not None:
            self.period_sum_blocks[b] = summary.period_sums
        if summary.alert_sums is not None:
            self.alert_blocks[b] = summary.alert_sums
        self.occupancy_blocks[b] = summary.occupancy

    def occupancy_sum(self) -> FloatArray:
        """Return the summed state occupancy over all blocks, added in block order."""
        return _in_block_order(self.occupancy_blocks)

    def alert_sums(self) -> FloatArray:
        """(alert, 2, period) sums of ``w·1{breach}`` and its square, in block order."""
        return _in_block_order(self.alert_blocks)

    def period_sums(self) -> FloatArray:
        """Weighted sums over paths per variable of `PER_PERIOD` and period, in block order."""
        return _in_block_order(self.period_sum_blocks)


def _in_block_order(blocks: dict[int, FloatArray]) -> FloatArray:
    """Sum per-block arrays in block order, so the bits do not depend on completion order."""
    total: Any = sum(blocks[b] for b in sorted(blocks))
    return np.asarray(total)


def path_total(ds: xr.Dataset, variable: str, *, discounted: bool = False) -> xr.DataArray:
    """Per-path total over the horizon of a per-period output (dims: path).

    Works on both kinds of result: with (path, period) outputs it sums (or discounts and sums)
    them; a ``keep: totals`` run stored the totals themselves.
    """
    da = ds[variable]
    if "period" not in da.dims:
        return ds[f"{variable}_discounted"] if discounted else da
    if discounted:
        return _discounted_total(da, ds["discount_factor"])
    return da.sum("period", skipna=False)  # no NaNs; avoids nansum's full-size copy


def _discounted_total(da: xr.DataArray, discount: xr.DataArray) -> xr.DataArray:
    """``sum_t da[:, t] * discount[t]``, accumulated period by period.

    Not ``xr.dot``: its BLAS product gave last-bit differences between two processes running the
    same seeded job, so the same seed did not always give the same bits. This loop adds in a
    fixed order, element by element, and makes no (path, period) temporary at 10^6 paths.
    """
    factors = np.asarray(discount.to_numpy(), dtype=float)
    values = da.to_numpy()
    axis = da.dims.index("period")
    total = np.zeros(values.shape[:axis] + values.shape[axis + 1 :])
    for t, factor in enumerate(factors):
        total += np.take(values, t, axis=axis) * factor
    return da.isel(period=0, drop=True).copy(data=total)


def assemble(
    scenario: Scenario,
    store: ResultStore,
    *,
    paths: int,
    seed: int | None,
    entropy: int,
    sampling: Sampling,
    block_size: int,
) -> xr.Dataset:
    """Build the run's result Dataset from the stored outputs (variables, coords and attrs)."""
    importance = _ImportanceDesign.of(sampling)
    ds = _base_dataset(scenario, store, paths=paths, broad=importance.broad)
    ds.attrs.update(
        _run_attrs(
            scenario,
            store,
            paths=paths,
            seed=seed,
            entropy=entropy,
            block_size=block_size,
            importance=importance,
        )
    )
    _add_outputs_labels(ds, store)
    if store.alerts:
        ds = _add_engine_alerts(ds, store, paths=paths)
    if store.keep == "totals":
        _add_period_means(ds, store, paths=paths)
    _add_importance_design(ds, importance)
    ds["occupancy"].attrs.update(
        units="customers", long_name="expected customers per state at period end"
    )
    return ds


_DESCRIBED = {
    "loss": ("currency", "credit loss (EAD × LGD)"),
    "defaults": ("customers", "customers defaulting"),
    "churn": ("customers", "customers churning"),
    "margin": ("currency", "margin earned"),
}
"""Units and description of each variable of `PER_PERIOD`."""


@dataclass(frozen=True)
class _ImportanceDesign:
    """What the result records of the factor's importance-sampling design."""

    sampling: Sampling
    broad: Any  # (H,) mean innovation recorded as ``is_shift``, or None (no shift)
    method: str  # "tilt", "mixture", "shift" or "" (plain Monte Carlo)
    mixture: bool

    @classmethod
    def of(cls, sampling: Sampling) -> _ImportanceDesign:
        z_mean = sampling.z_mean
        mixture = z_mean is not None and sampling.z_prob is not None
        broad = z_mean[1] if mixture and z_mean is not None else z_mean
        if broad is not None and np.ndim(broad) == 2:  # sector factors: (H, F) shift of ε
            broad = _along(broad, sampling.direction)
        if sampling.tilt is not None:
            broad = sampling.tilt.mean()  # the mean innovation under the tilt, per period
            method = "tilt"
        else:
            method = "mixture" if mixture else ("shift" if z_mean is not None else "")
        return cls(sampling=sampling, broad=broad, method=method, mixture=mixture)

    @property
    def active(self) -> bool:
        """Whether paths were drawn from anything but the scenario's own factor law."""
        z_mean = self.sampling.z_mean
        return self.sampling.tilt is not None or (z_mean is not None and bool(np.any(z_mean != 0)))


def _along(shift: np.ndarray, direction: np.ndarray | None) -> np.ndarray:
    """Sector factors: the innovation shifts (…, H, F) along the design direction ``v``, (…, H).

    Without a direction (the loss does not move with the factors), along the unit vector with
    equal components.
    """
    shift = np.asarray(shift, dtype=float)
    f = shift.shape[-1]
    v = np.full(f, 1.0 / np.sqrt(f)) if direction is None else np.asarray(direction, dtype=float)
    out: np.ndarray = shift @ v
    return out


def _base_dataset(scenario: Scenario, store: ResultStore, *, paths: int, broad: Any) -> xr.Dataset:
    """Label the stored per-path outputs, occupancy, discount and exposure with coordinates."""
    cat = store.arrays.__getitem__
    h = scenario.horizon
    pf = scenario.portfolio.table
    exposure_by_segment = [
        float(pf.loc[pf.segment == s, "exposure"].sum()) for s in scenario.segments
    ]
    per_period = ("path", "period") if store.keep == "paths" else ("path",)
    return xr.Dataset(
        {
            **{name: (per_period, cat(name)) for name in PER_PERIOD},
            "loss_by_segment": (("path", "segment"), cat("loss_by_segment")),
            "loss_by_cohort": (("path", "cohort"), cat("loss_by_cohort")),
            "weight": ("path", cat("weight")),
            "draw": ("path", cat("draw")),
            "churn_value_lost": ("path", cat("churn_value_lost")),
            "occupancy": (("period", "state"), store.occupancy_sum() / paths),
            "discount_factor": ("period", store.discount),
            "exposure": ("segment", np.array(exposure_by_segment)),
            "is_shift": ("period", np.zeros(h) if broad is None else np.asarray(broad, float)),
        },
        coords={
            "path": np.arange(paths),
            "period": np.arange(1, h + 1),
            "segment": list(scenario.segments),
            "state": list(scenario.states.names),
            "cohort": scenario.cohort_labels,  # segment/state, or a named exposure's id
        },
    )


def _run_attrs(
    scenario: Scenario,
    store: ResultStore,
    *,
    paths: int,
    seed: int | None,
    entropy: int,
    block_size: int,
    importance: _ImportanceDesign,
) -> dict[str, Any]:
    """Collect the run's attributes: scenario, seeding, sizes, version, sampling design, states."""
    return {
        "scenario": scenario.name,
        "seed": "" if seed is None else str(seed),
        "entropy": str(entropy),
        "paths": paths,
        "horizon": scenario.horizon,
        "block_size": block_size,
        "riskmodel_version": __version__,
        "levels": list(scenario.config.outputs.levels),
        "total_customers": scenario.portfolio.total_customers,
        "total_exposure": scenario.portfolio.total_exposure,
        "parameter_draws": scenario.n_draws,
        "importance_sampling": int(importance.active),
        "importance_method": importance.method,
        "keep": store.keep,
        "stresses": json.dumps(dict(scenario.stresses)),
        **scenario.period_attrs,
        **scenario.states.to_attrs(),
    }


def _add_outputs_labels(ds: xr.Dataset, store: ResultStore) -> None:
    """Units and long names of the outputs; a totals run also gets its discounted totals."""
    for name, (units, what) in _DESCRIBED.items():
        if store.keep == "paths":
            ds[name].attrs.update(units=units, long_name=f"{what} in the period")
            continue
        ds[name].attrs.update(units=units, long_name=f"{what} over the horizon, per path")
        ds[f"{name}_discounted"] = ("path", store.arrays[f"{name}_discounted"])
        ds[f"{name}_discounted"].attrs.update(
            units=units, long_name=f"{what}, discounted and summed over the horizon, per path"
        )


def _add_engine_alerts(ds: xr.Dataset, store: ResultStore, *, paths: int) -> xr.Dataset:
    """Add the alert sums a totals run evaluated per block (a new Dataset: adds a coordinate)."""
    sums = store.alert_sums() / paths
    ds = ds.assign_coords(engine_alert=[a[0] for a in store.alerts])
    ds["engine_alert_metric"] = ("engine_alert", [a[1] for a in store.alerts])
    ds["engine_alert_threshold"] = ("engine_alert", [float(a[2]) for a in store.alerts])
    ds["engine_alert_mean"] = (("engine_alert", "period"), sums[:, 0])
    ds["engine_alert_square"] = (("engine_alert", "period"), sums[:, 1])
    ds["engine_alert_mean"].attrs.update(
        long_name="mean over paths of weight × 1{KPI > threshold} (alerts of a totals run)"
    )
    return ds


def _add_period_means(ds: xr.Dataset, store: ResultStore, *, paths: int) -> None:
    """Per-period weighted means of a totals run (its per-period outputs were not kept)."""
    sums = store.period_sums() / paths
    for k, name in enumerate(PER_PERIOD):
        units, what = _DESCRIBED[name]
        ds[f"mc_mean_{name}"] = ("period", sums[k])
        ds[f"mc_mean_{name}"].attrs.update(
            units=units, long_name=f"Monte Carlo estimate of the expected {what} per period"
        )


def _add_importance_design(ds: xr.Dataset, importance: _ImportanceDesign) -> None:
    """Labels of the per-path weights and the factor's sampling design (tilt or mixture)."""
    ds["churn_value_lost"].attrs.update(
        units="currency",
        long_name="discounted margin the path's churners would have earned to the horizon",
    )
    ds["weight"].attrs.update(long_name="importance-sampling likelihood ratio (1 = plain MC)")
    ds["is_shift"].attrs.update(long_name="importance-sampling mean shift of the factor (0 = off)")
    tilt = importance.sampling.tilt
    if tilt is not None:
        ds["is_shift"].attrs.update(
            long_name="mean factor innovation under the importance-sampling tilt (0 = off)"
        )
        ds.attrs.update(
            importance_theta=tilt.theta / tilt.loss_scale,
            importance_target=tilt.target,
            importance_p_plain=tilt.p_plain,
        )
    if importance.mixture:
        means = np.asarray(importance.sampling.z_mean, float)
        if means.ndim == 3:  # sector factors: along the design direction, as `is_shift`
            means = _along(means, importance.sampling.direction)
        ds["is_means"] = (("is_component", "period"), means)
        ds["is_probs"] = ("is_component", np.asarray(importance.sampling.z_prob, float))
        ds["is_means"].attrs.update(
            long_name="defensive-mixture components: none, broad downturn, one crash per period"
        )
