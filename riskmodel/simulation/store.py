"""Per-path results of a run: preallocated arrays filled block by block, then one xarray Dataset.

`ResultStore` holds what a run keeps (``simulation.keep``: every path's per-period outputs, or
per-path totals only) and `assemble` labels it; `path_total` reads a per-path total from either
kind of result. The memory these arrays take is estimated up front by
`riskmodel.simulation.resources`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from riskmodel._version import __version__
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.kernel import BlockOutput
from riskmodel.simulation.kpi import kpi_array

if TYPE_CHECKING:  # the engine imports this module
    from riskmodel.simulation.plan import Sampling

__all__ = ["PER_PERIOD", "ResultStore", "assemble", "path_total"]


PER_PERIOD = ("loss", "defaults", "churn", "margin")
"""Per-path, per-period outputs; with ``simulation.keep: totals`` only their per-path totals
(plain and discounted) and per-period weighted means are kept."""


class ResultStore:
    """Preallocated per-path arrays; each block writes its own slice (no concatenation copy).

    With ``keep="totals"`` the (path, period) outputs are reduced block by block to per-path
    totals and discounted totals and to per-period weighted sums, so memory beyond the per-path
    totals is bounded by the blocks in flight, whatever the number of paths.
    """

    PER_PATH = (
        "loss_by_segment",
        "loss_by_cohort",
        "weight",
        "draw",
        "churn_value_lost",
    )

    def __init__(
        self,
        paths: int,
        horizon: int,
        n_segments: int,
        n_states: int,
        n_cohorts: int,
        *,
        discount: np.ndarray,
        keep: str = "paths",
        alerts: Sequence[tuple[str, str, float]] = (),
        total_customers: float = 0.0,
    ) -> None:
        self.keep = keep
        self.discount = discount
        # (name, metric, threshold) of the scenario's alerts: a totals run evaluates them here
        self.alerts = list(alerts) if keep == "totals" else []
        self.total_customers = total_customers
        self.alert_blocks: dict[int, np.ndarray] = {}  # (alert, 2, period): Σ w·1{…}, Σ (w·1{…})²
        shape = (paths, horizon) if keep == "paths" else (paths,)
        for name in PER_PERIOD:
            setattr(self, name, np.empty(shape))
            if keep == "totals":
                setattr(self, f"{name}_discounted", np.empty(paths))
        self.loss_by_segment = np.empty((paths, n_segments))
        self.loss_by_cohort = np.empty((paths, n_cohorts))
        self.weight = np.empty(paths)
        self.draw = np.empty(paths, dtype=np.int64)
        self.churn_value_lost = np.empty(paths)
        self.occupancy_blocks: dict[int, np.ndarray] = {}
        self.period_sum_blocks: dict[int, np.ndarray] = {}  # (variable, period) weighted sums

    def put(self, block: tuple[int, int, int], out: BlockOutput) -> None:
        """Store the outputs of block ``(index, first path, paths)``, in any block order."""
        b, start, n = block
        for name in self.PER_PATH:
            getattr(self, name)[start : start + n] = getattr(out, name)
        if self.keep == "paths":
            for name in PER_PERIOD:
                getattr(self, name)[start : start + n] = getattr(out, name)
        else:
            for name in PER_PERIOD:
                values = getattr(out, name)
                getattr(self, name)[start : start + n] = values.sum(axis=1)
                getattr(self, f"{name}_discounted")[start : start + n] = values @ self.discount
            self.period_sum_blocks[b] = np.stack(
                [out.weight @ getattr(out, name) for name in PER_PERIOD]
            )
            if self.alerts:
                self.alert_blocks[b] = np.stack(
                    [self._alert_sums(out, *a[1:]) for a in self.alerts]
                )
        self.occupancy_blocks[b] = out.occupancy

    def occupancy_sum(self) -> np.ndarray:
        """Return the summed state occupancy over all blocks, added in block order."""
        # sum in block order so the float result does not depend on completion order
        return np.asarray(sum(self.occupancy_blocks[b] for b in sorted(self.occupancy_blocks)))

    def _alert_sums(self, out: BlockOutput, metric: str, threshold: float) -> np.ndarray:
        kpi = kpi_array(metric, out.loss, out.defaults, out.churn, self.total_customers)
        hit = out.weight[:, None] * (kpi > threshold)
        return np.stack([hit.sum(axis=0), np.square(hit).sum(axis=0)])

    def alert_sums(self) -> np.ndarray:
        """(alert, 2, period) sums of ``w·1{breach}`` and its square, in block order."""
        return np.asarray(sum(self.alert_blocks[b] for b in sorted(self.alert_blocks)))

    def period_sums(self) -> np.ndarray:
        """Weighted sums over paths per variable of `PER_PERIOD` and period, in block order."""
        return np.asarray(sum(self.period_sum_blocks[b] for b in sorted(self.period_sum_blocks)))


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
    seed,
    entropy: int,
    sampling: Sampling,
    block_size: int,
) -> xr.Dataset:
    """Build the run's result Dataset from the stored outputs (variables, coords and attrs)."""
    z_mean = sampling.z_mean
    mixture = z_mean is not None and sampling.z_prob is not None
    broad = z_mean[1] if mixture and z_mean is not None else z_mean
    tilt = sampling.tilt
    if tilt is not None:
        broad = tilt.mean()  # the mean innovation under the tilt, per period
        method = "tilt"
    else:
        method = "mixture" if mixture else ("shift" if z_mean is not None else "")

    cat = lambda name: getattr(store, name)  # noqa: E731
    h = scenario.horizon
    periods = np.arange(1, h + 1)
    discount = store.discount
    occupancy = store.occupancy_sum() / paths
    pf = scenario.portfolio.table
    exposure_by_segment = [
        float(pf.loc[pf.segment == s, "exposure"].sum()) for s in scenario.segments
    ]
    cfg = scenario.config
    per_period = ("path", "period") if store.keep == "paths" else ("path",)
    ds = xr.Dataset(
        {
            **{name: (per_period, cat(name)) for name in PER_PERIOD},
            "loss_by_segment": (("path", "segment"), cat("loss_by_segment")),
            "loss_by_cohort": (("path", "cohort"), cat("loss_by_cohort")),
            "weight": ("path", cat("weight")),
            "draw": ("path", cat("draw")),
            "churn_value_lost": ("path", cat("churn_value_lost")),
            "occupancy": (("period", "state"), occupancy),
            "discount_factor": ("period", discount),
            "exposure": ("segment", np.array(exposure_by_segment)),
            "is_shift": ("period", np.zeros(h) if broad is None else np.asarray(broad, float)),
        },
        coords={
            "path": np.arange(paths),
            "period": periods,
            "segment": list(scenario.segments),
            "state": list(scenario.states.names),
            "cohort": [f"{seg}/{st}" for seg, st in zip(pf["segment"], pf["state"], strict=True)],
        },
        attrs={
            "scenario": scenario.name,
            "seed": "" if seed is None else str(seed),
            "entropy": str(entropy),
            "paths": paths,
            "horizon": h,
            "block_size": block_size,
            "riskmodel_version": __version__,
            "levels": list(cfg.outputs.levels),
            "total_customers": scenario.portfolio.total_customers,
            "total_exposure": scenario.portfolio.total_exposure,
            "parameter_draws": scenario.n_draws,
            "importance_sampling": int(
                tilt is not None or (z_mean is not None and bool(np.any(z_mean != 0)))
            ),
            "importance_method": method,
            "keep": store.keep,
            "stresses": json.dumps(dict(scenario.stresses)),
            **scenario.period_attrs,
            **scenario.states.to_attrs(),
        },
    )
    described = {
        "loss": ("currency", "credit loss (EAD × LGD)"),
        "defaults": ("customers", "customers defaulting"),
        "churn": ("customers", "customers churning"),
        "margin": ("currency", "margin earned"),
    }
    for name, (units, what) in described.items():
        if store.keep == "paths":
            ds[name].attrs.update(units=units, long_name=f"{what} in the period")
            continue
        ds[name].attrs.update(units=units, long_name=f"{what} over the horizon, per path")
        ds[f"{name}_discounted"] = ("path", cat(f"{name}_discounted"))
        ds[f"{name}_discounted"].attrs.update(
            units=units, long_name=f"{what}, discounted and summed over the horizon, per path"
        )
    if store.alerts:
        sums = store.alert_sums() / paths
        ds = ds.assign_coords(engine_alert=[a[0] for a in store.alerts])
        ds["engine_alert_metric"] = ("engine_alert", [a[1] for a in store.alerts])
        ds["engine_alert_threshold"] = ("engine_alert", [float(a[2]) for a in store.alerts])
        ds["engine_alert_mean"] = (("engine_alert", "period"), sums[:, 0])
        ds["engine_alert_square"] = (("engine_alert", "period"), sums[:, 1])
        ds["engine_alert_mean"].attrs.update(
            long_name="mean over paths of weight × 1{KPI > threshold} (alerts of a totals run)"
        )
    if store.keep == "totals":
        sums = store.period_sums() / paths
        for k, name in enumerate(PER_PERIOD):
            ds[f"mc_mean_{name}"] = ("period", sums[k])
            ds[f"mc_mean_{name}"].attrs.update(
                units=described[name][0],
                long_name=f"Monte Carlo estimate of the expected {described[name][1]} per period",
            )
    ds["churn_value_lost"].attrs.update(
        units="currency",
        long_name="discounted margin the path's churners would have earned to the horizon",
    )
    ds["weight"].attrs.update(long_name="importance-sampling likelihood ratio (1 = plain MC)")
    ds["is_shift"].attrs.update(long_name="importance-sampling mean shift of the factor (0 = off)")
    if tilt is not None:
        ds["is_shift"].attrs.update(
            long_name="mean factor innovation under the importance-sampling tilt (0 = off)"
        )
        ds.attrs.update(
            importance_theta=tilt.theta / tilt.loss_scale,
            importance_target=tilt.target,
            importance_p_plain=tilt.p_plain,
        )
    if mixture:
        ds["is_means"] = (("is_component", "period"), np.asarray(z_mean, float))
        ds["is_probs"] = ("is_component", np.asarray(sampling.z_prob, float))
        ds["is_means"].attrs.update(
            long_name="defensive-mixture components: none, broad downturn, one crash per period"
        )
    ds["occupancy"].attrs.update(
        units="customers", long_name="expected customers per state at period end"
    )
    return ds
