"""The headline figures of one run, in the ``summary.json`` layout (`SimulationResult.summary`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from riskmodel.metrics.actions import actions_to_dict
from riskmodel.metrics.contributions import contributions_to_dict, risk_contributions
from riskmodel.metrics.expectations import expectation, expectations_section

if TYPE_CHECKING:
    import xarray as xr

    from riskmodel.metrics.result import SimulationResult
    from riskmodel.metrics.risk import RiskMeasures

__all__ = ["run_summary"]


def run_summary(
    result: SimulationResult,
    *,
    loss: RiskMeasures | None = None,
    contributions: xr.Dataset | None = None,
) -> dict[str, Any]:
    """Return `result`'s headline figures; see `SimulationResult.summary`."""
    attrs = result.data.attrs
    loss = loss if loss is not None else result.risk("loss")
    defaults = result.risk("defaults")
    loss_dict = loss.to_dict()
    loss_block = expectation(result.data, "loss")
    out = {
        "scenario": result.scenario,
        "paths": result.paths,
        "seed": result.seed,
        "horizon": result.horizon,
        "riskmodel_version": str(attrs.get("riskmodel_version", "")),
        "loss": {
            **loss_block,
            "std": loss_dict["std"],
            "var": loss_dict["var"],
            "es": loss_dict["es"],
            "stderr": {**loss_dict["stderr"], **loss_block["stderr"]},
            "tail_paths": loss_dict["tail_paths"],
        },
        "defaults": {
            **expectation(result.data, "defaults"),
            "var": defaults.to_dict()["var"],
            "tail_paths": defaults.to_dict()["tail_paths"],
        },
        "churn": expectation(result.data, "churn"),
        "ecl": result.ecl(),
        "value": result._value(),
    }
    lost = result._value_lost_to_churn()
    if lost is not None:
        out["value_lost_to_churn"] = lost
    out["expectations"] = expectations_section(result.data, period_stderr=False)
    if contributions is None:
        contributions = risk_contributions(result.data)
    out["contributions"] = contributions_to_dict(contributions)
    if "loss_by_cohort" in result.data:
        out["contributions_by_cohort"] = contributions_to_dict(
            risk_contributions(result.data, by="cohort")
        )
    out["stresses"] = result.stresses()
    out["period"] = result.period()
    if "posterior_mean_loss" in result.data:  # a posterior run with its posterior-mean run
        out["model_risk"] = result.model_risk().to_dict()
    if "action" in result.data.dims:
        out["actions"] = actions_to_dict(result.data)
    out["portfolio"] = {
        "customers": int(attrs.get("total_customers", 0)),
        "exposure": float(attrs.get("total_exposure", 0.0)),
    }
    out["diagnostics"] = {
        "effective_sample_size": loss.ess,
        "importance_sampling": bool(attrs.get("importance_sampling", 0)),
        "importance_method": str(attrs.get("importance_method", "")) or None,
        "parameter_draws": int(attrs.get("parameter_draws", 1)),
        "block_size": int(attrs.get("block_size", 0)),
    }
    return out
