"""Partial pooling of transition rows across segments (PyMC, imported lazily).

Model, per transient origin state ``i`` with allowed destinations ``A_i`` (structural zeros
dropped)::

    mu_i        ~ Dirichlet(c · 1)                     population mean row
    log kappa_i ~ Normal(log_kappa_mu, log_kappa_sigma)  concentration: how alike segments are
    p_{s,i}     ~ Dirichlet(kappa_i · mu_i)             segment row (marginalised out)
    y_{s,i}     ~ Multinomial(n_{s,i}, p_{s,i})

Integrating ``p_{s,i}`` out gives ``y_{s,i} ~ DirichletMultinomial(n_{s,i}, kappa_i mu_i)``: NUTS
only sees ``mu`` and ``kappa``, so the cost depends on the number of segments and states, not
on the number of customers. Segment rows are then drawn exactly from their conditional
``Dirichlet(kappa_i mu_i + y_{s,i})`` for each posterior draw.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from riskmodel.models._common import (
    Estimate,
    convergence_diagnostics,
    mcmc_groups,
    nuts,
    transition_dataarray,
)
from riskmodel.models.conjugate import dirichlet_draws

__all__ = [
    "build_partial_model",
    "conditional_rows",
    "diagnostic_dataset",
    "fit_partial",
    "partial_fit",
]


def _groups(allowed: np.ndarray) -> dict[int, list[int]]:
    """Origin rows grouped by their number of allowed destinations (one Dirichlet per group)."""
    groups: dict[int, list[int]] = {}
    for r in range(allowed.shape[0]):
        groups.setdefault(int(allowed[r].sum()), []).append(r)
    return groups


def _group_name(k: int, groups: dict) -> str:
    return "mu_free" if len(groups) == 1 else f"mu_free_{k}"


def build_partial_model(
    counts: np.ndarray,
    allowed: np.ndarray,
    transient: tuple[str, ...],
    segments: list[str],
    prior: dict,
):
    """Return the PyMC model; ``counts`` has shape (n_segments, n_transient, n_states).

    Origins with the same number of allowed destinations share one batched Dirichlet and one
    vectorised ``DirichletMultinomial`` (a handful of graph nodes, whatever the state space).
    Parameter checks are compiled out (``check_bounds=False``): the transforms keep ``mu`` on
    the simplex and ``kappa`` positive, and it halves the cost of a gradient.
    """
    import pymc as pm
    import pytensor.tensor as pt

    groups = _groups(allowed)
    coords = {"origin": list(transient), "segment": list(segments)}
    with pm.Model(coords=coords, check_bounds=False) as model:
        log_kappa = pm.Normal(
            "log_kappa", prior["log_kappa_mu"], prior["log_kappa_sigma"], dims="origin"
        )
        kappa = pm.Deterministic("kappa", pt.exp(log_kappa), dims="origin")
        for k, rows in groups.items():
            if k == 1:  # a single allowed destination: nothing to estimate
                continue
            name = _group_name(k, groups)
            mu = pm.Dirichlet(name, a=np.full((len(rows), k), prior["concentration"]))
            cols = np.array([np.flatnonzero(allowed[r]) for r in rows])  # (n_rows, k)
            y = counts[:, np.array(rows)[:, None], cols]  # (S, n_rows, k)
            a = kappa[np.array(rows)][:, None] * mu
            pm.DirichletMultinomial(
                f"y_{k}", n=y.sum(-1), a=pt.broadcast_to(a, y.shape), observed=y
            )
    return model


def fit_partial(
    counts: np.ndarray,
    allowed: np.ndarray,
    transient: tuple[str, ...],
    segments: list[str],
    prior: dict,
    *,
    draws: int,
    chains: int,
    tune: int,
    target_accept: float,
    cores: int | None,
    random_seed: int,
    progressbar: bool,
    nuts_sampler: str = "pymc",
):
    """Sample ``mu`` and ``kappa`` with NUTS; returns the ``posterior`` and ``sample_stats``.

    ``nuts_sampler="numpyro"``: the compiled program of `riskmodel.models.partial_jax`, reused
    by every fit of the same structure (no PyMC involved); ``"pymc-numpyro"``: PyMC's own
    conversion to NumPyro (compiled anew for every fit; kept for ``benchmarks/fit.py``); any
    other name goes to ``pm.sample`` through `riskmodel.models._common.nuts`.
    """
    if nuts_sampler == "numpyro":
        from riskmodel.models.partial_jax import sample_partial

        return sample_partial(
            counts,
            allowed,
            transient,
            prior,
            draws=draws,
            chains=chains,
            tune=tune,
            target_accept=target_accept,
            random_seed=random_seed,
        )
    sampler = "numpyro" if nuts_sampler == "pymc-numpyro" else nuts_sampler
    model = build_partial_model(counts, allowed, transient, segments, prior)
    with model:
        idata = nuts(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            target_accept=target_accept,
            random_seed=random_seed,
            progressbar=progressbar,
            nuts_sampler=sampler,
        )
    return mcmc_groups(idata)


def population_mean(posterior: xr.Dataset, allowed: np.ndarray) -> np.ndarray:
    """``mu`` as a full array (chain, draw, n_transient, n_states), zeros at structural zeros."""
    groups = _groups(allowed)
    n_c, n_d = posterior.sizes["chain"], posterior.sizes["draw"]
    mu = np.zeros((n_c, n_d, *allowed.shape))
    for k, rows in groups.items():
        for g, r in enumerate(rows):
            cols = np.flatnonzero(allowed[r])
            if k == 1:
                mu[:, :, r, cols] = 1.0
            else:
                mu[:, :, r, cols] = posterior[_group_name(k, groups)].values[:, :, g, :]
    return mu


def diagnostic_dataset(posterior: xr.Dataset, allowed, transient, names) -> xr.Dataset:
    """``kappa`` per origin and ``mu`` per allowed cell ("from->to"): what users read."""
    mu = np.asarray(posterior["mu"].transpose("chain", "draw", "origin", "to_state").values)
    rows, cols = np.nonzero(allowed & (allowed.sum(axis=1, keepdims=True) > 1))
    labels = [f"{transient[r]}->{names[j]}" for r, j in zip(rows, cols, strict=True)]
    return xr.Dataset(
        {
            "kappa": posterior["kappa"],
            "mu": xr.DataArray(
                mu[:, :, rows, cols],
                dims=("chain", "draw", "cell"),
                coords={
                    "chain": posterior.chain.values,
                    "draw": posterior.draw.values,
                    "cell": labels,
                },
            ),
        }
    )


def conditional_rows(
    mu: np.ndarray,
    kappa: np.ndarray,
    counts: np.ndarray,
    allowed: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Segment rows drawn from ``Dirichlet(kappa mu + y)`` for every posterior draw.

    Parameters
    ----------
    mu : (chain, draw, n_transient, n_states)
    kappa : (chain, draw, n_transient)
    counts : (n_segments, n_transient, n_states)
    allowed : bool (n_transient, n_states), False at structural zeros

    Returns
    -------
    ndarray, shape (chain, draw, n_segments, n_transient, n_states)
    """
    alpha = kappa[:, :, None, :, None] * mu[:, :, None] + counts[None, None]
    alpha = np.where(allowed, alpha, 0.0)
    return dirichlet_draws(alpha, 1, rng)[0]


def partial_fit(states, y, allowed, segments, prior, mc: dict, rng) -> Estimate:
    """Posterior groups of a partial-pooling fit: ``mu``, ``kappa`` and segment ``transition``."""
    groups = fit_partial(y, allowed, states.transient, segments, prior, **mc)
    post = groups["posterior"]
    mu = population_mean(post, allowed)
    kappa = np.asarray(post["kappa"].transpose("chain", "draw", "origin").values)
    rows = conditional_rows(mu, kappa, y, allowed, rng)
    post["mu"] = xr.DataArray(
        mu,
        dims=("chain", "draw", "origin", "to_state"),
        coords={"origin": list(states.transient), "to_state": list(states.names)},
    )
    post["transition"] = transition_dataarray(states, rows, segments)
    params = diagnostic_dataset(groups["posterior"], allowed, states.transient, states.names)
    diag = convergence_diagnostics(params, groups["sample_stats"])
    return Estimate(groups=groups, free=["kappa", "mu"], diagnostics=diag)
