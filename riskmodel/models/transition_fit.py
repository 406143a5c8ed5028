"""The estimators behind `TransitionModel.fit`: which one runs, and what it leaves.

A covariate model runs the multinomial-logit NUTS fit (`riskmodel.models.covariate`), partial
pooling the hierarchical Dirichlet–multinomial NUTS fit (`riskmodel.models.hierarchical`), and
``pooling="none"``/``"complete"`` the exact conjugate posterior (`riskmodel.models.conjugate`).
`estimate` runs the one the config names and returns the `TransitionFit` the model keeps. PyMC
is imported by the MCMC estimators only, when they run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.models.conjugate import conjugate_fit
from riskmodel.models.transition_config import allowed_mask
from riskmodel.models.transition_io import TransitionFit
from riskmodel.states import StateSpace

__all__ = ["PARTIAL_SAMPLER", "estimate"]

PARTIAL_SAMPLER = "numpyro"
"""NUTS implementation of partial-pooling fits: NumPyro's kernel in a JAX program compiled once
per model structure and reused by later fits (`riskmodel.models.partial_jax`), the fastest
measured in ``benchmarks/fit.py``."""


def estimate(
    ss: StateSpace,
    cfg: dict[str, Any],
    counts: xr.DataArray,
    macro: pd.DataFrame | None,
    mc: dict[str, Any],
    draw_rng: np.random.Generator,
    nuts_sampler: str | None,
) -> TransitionFit:
    """Run the fit the config asks for (covariate, partially pooled or conjugate) on `counts`.

    Parameters
    ----------
    ss : StateSpace
    cfg : dict
        The validated config with the fitted ``segments``; a covariate fit adds its macro means.
    counts : DataArray
        From `riskmodel.models.transition_config.fit_counts`.
    macro : DataFrame or None
        The macro table of a covariate model.
    mc : dict
        MCMC settings (`riskmodel.models._common.mcmc_settings`); unused by conjugate fits.
    draw_rng : Generator
        Draws the conjugate posterior and the partial-pooling draws.
    nuts_sampler : str or None
        Partial pooling only: the NUTS implementation (default `PARTIAL_SAMPLER`).
    """
    allowed = allowed_mask(ss, cfg["structural_zeros"])
    y = np.asarray(counts.values)[..., ss.transient_idx, :]
    if cfg["covariates"]:
        from riskmodel.models.covariate import covariate_fit

        periods = np.asarray(counts.period.values)
        est = covariate_fit(ss, cfg, periods, y, allowed, macro, mc)
    elif cfg["pooling"] == "partial":
        from riskmodel.models.hierarchical import partial_fit

        mc = {**mc, "nuts_sampler": nuts_sampler or PARTIAL_SAMPLER}
        est = partial_fit(ss, y, allowed, cfg["segments"], cfg["prior"], mc, draw_rng)
    else:
        est = conjugate_fit(
            ss,
            y,
            allowed,
            cfg["segments"],
            pooling=cfg["pooling"],
            concentration=cfg["prior"]["concentration"],
            draws=mc["draws"],
            chains=mc["chains"],
            rng=draw_rng,
        )
    return TransitionFit(
        config=cfg, groups=est.groups, free=est.free, diagnostics=est.diagnostics, counts=counts
    )
