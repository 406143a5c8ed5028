"""The steps of `IntensityModel.fit`: check the arguments, read the panel, run the estimator.

`check_fit_arguments` refuses a bad method, time unit or method/pooling pair; `observations`
joins the macro covariates, prepares the panel (`riskmodel.models.intensity_likelihood
.prepare_panel`) and records the covariates' centre and scale in the config; `estimate` runs
maximum likelihood (`riskmodel.models.intensity_mle`) or NUTS (`riskmodel.models.intensity_bayes`,
the only one importing PyMC, when it runs) and returns the `IntensityFit` the model keeps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.data.calendar import UNITS
from riskmodel.errors import ArgumentError, PanelError
from riskmodel.models.intensity_io import IntensityFit
from riskmodel.models.intensity_panel import PanelObservations, prepare_panel
from riskmodel.states import StateSpace

__all__ = ["METHODS", "check_fit_arguments", "estimate", "observations"]

METHODS = ("mle", "nuts")


def check_fit_arguments(cfg: dict[str, Any], method: str, time_unit: str | None, time: str) -> None:
    """Refuse an unknown `method` or `time_unit`, and partial pooling with maximum likelihood.

    Raises
    ------
    ArgumentError
        Naming the argument, the value got and the values allowed.
    """
    if method not in METHODS:
        raise ArgumentError(f"method must be one of {list(METHODS)}; got {method!r}.")
    if time_unit is not None and time_unit not in UNITS:
        raise ArgumentError(
            f"time_unit must be one of {list(UNITS)} (the unit of the `{time}` column) or "
            f"None; got {time_unit!r}."
        )
    if method == "mle" and cfg["pooling"] == "partial":
        raise ArgumentError(
            "pooling='partial' needs method='nuts' (the population scale has no useful "
            "maximum likelihood); use pooling='none' or 'complete' with method='mle'."
        )


def observations(
    panel: pd.DataFrame,
    states: StateSpace,
    cfg: dict[str, Any],
    macro: pd.DataFrame | None,
    *,
    subject: str,
    time: str,
    state: str,
    segment: str | None,
) -> PanelObservations:
    """Prepare the panel for the likelihood, with its covariates (see `IntensityModel.fit`).

    A covariate model's centre and scale are recorded in `cfg`.

    Raises
    ------
    ArgumentError
        If `macro` is given to a model without covariates.
    PanelError
        On an invalid panel, or a covariate that does not vary.
    """
    covs = tuple(name for name, _ in cfg["covariates"])
    if covs:
        from riskmodel.models.intensity_covariates import join_macro

        panel = join_macro(panel, macro, covs, time)
    elif macro is not None:
        raise ArgumentError(
            "macro was given but the model has no covariates; pass covariates=... to "
            "IntensityModel or drop macro."
        )
    obs = prepare_panel(
        panel,
        states,
        subject=subject,
        time=time,
        state=state,
        segment=segment,
        exact_states=tuple(cfg["exact_states"]),
        censored={k: tuple(v) for k, v in cfg["censored"].items()},
        exact_times=cfg["exact_times"],
        covariates=covs,
    )
    if covs:
        assert obs.x is not None  # read with the covariates
        _set_centre(cfg, obs.x)
    return obs


def _set_centre(cfg: dict[str, Any], x: np.ndarray) -> None:
    """Record the covariates' mean and sd over the intervals (the baseline and the scale).

    Raises
    ------
    PanelError
        If a covariate does not vary over the intervals (its effect is not identified).
    """
    centre, scale = x.mean(axis=0), x.std(axis=0)
    names = [name for name, _ in cfg["covariates"]]
    flat = [n for n, v in zip(names, scale, strict=True) if not v > 0]
    if flat:
        raise PanelError(
            f"covariate(s) {flat} take one value at every interval start, so their effect is "
            "not identified; drop them from covariates (or fit segments instead)."
        )
    cfg["covariate_centre"] = [float(v) for v in centre]
    cfg["covariate_scale"] = [float(v) for v in scale]


def estimate(
    obs: PanelObservations,
    allowed: np.ndarray,
    states: StateSpace,
    cfg: dict[str, Any],
    mc: dict[str, Any] | None,
) -> IntensityFit:
    """Run maximum likelihood (`mc` None) or NUTS with the settings `mc`; return the fit.

    `cfg` is the validated config with the fit's ``method`` and ``segments``; NUTS with complete
    pooling sets ``segments`` to ``["all"]``.
    """
    if mc is None:
        from riskmodel.models.intensity_mle import fit_mle, fit_mle_covariates, mle_dataset

        pooled = cfg["pooling"] == "complete"
        if cfg["covariates"]:
            res = fit_mle_covariates(obs, allowed, states.n, cfg, pooled=pooled)
        else:
            res = fit_mle(obs, allowed, states.n, pooled=pooled)
        return IntensityFit(config=cfg, groups={"mle": mle_dataset(cfg, res)}, diagnostics=None)
    from riskmodel.models.intensity_bayes import fit_nuts

    groups, diag = fit_nuts(obs, allowed, states, cfg, mc)
    return IntensityFit(config=cfg, groups=groups, diagnostics=diag)
