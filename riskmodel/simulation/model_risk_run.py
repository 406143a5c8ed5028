"""The posterior-mean counterfactual of a posterior run, on common random numbers.

A run with a posterior draws one parameter sample per path, so its loss distribution mixes
*process risk* (defaults, factor and LGD given the parameters) with *parameter risk* (not
knowing the parameters). To split the two (`riskmodel.metrics.model_risk`), the engine adds to
the run's dataset:

``exact_loss_by_draw`` (parameter_draw)
    The exact expected loss over the horizon of each draw, ``E[L | d]``
    (`riskmodel.simulation.expected.expected_loss_by_draw`): the inner expectation of the law of
    total variance, with no Monte Carlo error.
``posterior_mean_loss`` (path)
    Each path's total loss in a second run of the scenario at the posterior mean, on the same
    paths: the same seed entropy, blocks and factor sampling (importance-sampling tilt, mixture
    or shift and QMC), so path ``i`` of both runs shares its factor path and random stream.
``exact_loss_at_posterior_mean`` (scalar)
    The exact expected loss of that posterior-mean scenario.

The posterior mean
------------------
Per segment (and per period, for a posterior with macro covariates along the scenario's macro
path), the mean over the draws of the transition matrices the engine uses (after shocks and
macro paths), each row renormalised to sum to one; the asset correlation is the mean of the
correlation draws. This is the mean of the parameters the paths see. It differs from
``simulation: {parameter_uncertainty: false}`` (`ParameterDraws.mean`) in two ways: there,
shocks are applied to the mean matrices instead of averaged after them, and a covariate model
averages its logit parameters rather than the matrices.

Common random numbers
---------------------
The counterfactual keeps the run's ``D`` draws, each replaced by the posterior mean: the engine
then consumes its random numbers exactly as in the full run (the draw of each path, tilted or
not, takes the same uniforms), so every path keeps its factor path and its weight, and the
binomial and Beta draws come from the same stream position. The counterfactual is kept as
per-path totals only (``keep: totals``): memory grows by one float per path.

Cost: one more run of the engine at the same number of paths. Turn it off with
``rm.simulate(..., model_risk=False)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import xarray as xr

from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected import expected_loss_by_draw, expected_term_structure
from riskmodel.simulation.store import path_total

__all__ = ["MODEL_RISK_VARIABLES", "add_posterior_mean_run", "posterior_mean_scenario"]

MODEL_RISK_VARIABLES = (
    "exact_loss_by_draw",
    "posterior_mean_loss",
    "exact_loss_at_posterior_mean",
)
"""Variables `add_posterior_mean_run` adds to a run's dataset."""


def posterior_mean_scenario(scenario: Scenario, *, copies: int | None = None) -> Scenario:
    """Return the scenario at the posterior mean of its parameter draws (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
        With ``n_draws`` parameter draws.
    copies : int, optional
        Number of identical draws of the result (default ``scenario.n_draws``, so that the
        engine consumes its random numbers as in the full run; 1 for exact expectations).

    Returns
    -------
    Scenario
        Its ``transitions`` are `copies` copies of the mean matrices (rows renormalised) and its
        ``correlation`` `copies` copies of the mean correlation; the run keeps per-path totals.
    """
    n = scenario.n_draws if copies is None else int(copies)
    mean = np.asarray(scenario.transitions, dtype=float).mean(axis=0, keepdims=True)
    mean = mean / mean.sum(axis=-1, keepdims=True)
    transitions = np.repeat(mean, n, axis=0)
    corr = np.asarray(scenario.correlation, dtype=float)  # (D,), or (D, S) by sector factor
    correlation = np.repeat(corr.mean(axis=0, keepdims=True), n, axis=0)
    for arr in (transitions, correlation):
        arr.setflags(write=False)
    cfg = scenario.config
    config = cfg.model_copy(
        update={"simulation": cfg.simulation.model_copy(update={"keep": "totals"})}
    )
    return replace(scenario, config=config, transitions=transitions, correlation=correlation)


def add_posterior_mean_run(
    ds: xr.Dataset, scenario: Scenario, rerun: Callable[[Scenario], xr.Dataset]
) -> xr.Dataset:
    """Add the exact per-draw expected losses and the posterior-mean counterfactual to a run.

    Parameters
    ----------
    ds : xarray.Dataset
        The main run of `scenario` (``scenario.n_draws > 1``).
    scenario : Scenario
    rerun : callable
        ``rerun(variant) -> Dataset``: simulates a variant of the scenario on the same seed
        entropy, paths and factor sampling as `ds` (the engine passes its own runner).

    Returns
    -------
    xarray.Dataset
        `ds` with the variables of `MODEL_RISK_VARIABLES` (see the module docstring).

    Raises
    ------
    RuntimeError
        If the counterfactual's weights differ from the run's (a broken common-random-numbers
        contract; a bug, never bad input).
    """
    variant = posterior_mean_scenario(scenario)
    other = rerun(variant)
    if not np.array_equal(other["weight"].to_numpy(), ds["weight"].to_numpy()):
        raise RuntimeError(
            "the posterior-mean counterfactual did not reproduce the run's importance weights, "
            "so it is not on common random numbers; please report this as a bug."
        )
    out = ds.copy()
    out["exact_loss_by_draw"] = ("parameter_draw", expected_loss_by_draw(scenario))
    out["posterior_mean_loss"] = ("path", path_total(other, "loss").to_numpy())
    single = posterior_mean_scenario(scenario, copies=1)
    exact_mean = float(expected_term_structure(single)["loss"].sum("period"))
    out["exact_loss_at_posterior_mean"] = ((), exact_mean)
    out["exact_loss_by_draw"].attrs.update(
        units="currency",
        long_name="exact expected loss over the horizon of each parameter draw, E[L | d]",
    )
    out["posterior_mean_loss"].attrs.update(
        units="currency",
        long_name="total loss of the path in the run at the posterior mean (common random "
        "numbers: same factor path and weight)",
    )
    out["exact_loss_at_posterior_mean"].attrs.update(
        units="currency", long_name="exact expected loss over the horizon at the posterior mean"
    )
    return out
