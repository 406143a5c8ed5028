"""NUTS as every model here runs it: PyMC's sampler started the way ``pm.sample`` starts it.

`nuts` is re-exported by `riskmodel.models._common` (as ``C.nuts``), where the models call it.
Nothing here imports PyMC at module import time.
"""

from __future__ import annotations

import warnings
from typing import Any

from riskmodel.errors import ArgumentError

__all__ = ["NUTS_SAMPLERS", "nuts"]

NUTS_SAMPLERS = ("pymc", "numba", "nutpie", "numpyro", "blackjax")


def nuts(
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int | None,
    target_accept: float,
    random_seed: int,
    progressbar: bool,
    nuts_sampler: str = "pymc",
) -> Any:
    """``pm.sample`` with NUTS inside the current model context, the way every model here runs it.

    `nuts_sampler`: ``"pymc"`` (PyMC's NUTS on the default C backend), ``"numba"`` (PyMC's NUTS
    on PyTensor's numba backend), or an external sampler (``"nutpie"``, ``"numpyro"``,
    ``"blackjax"``; each needs its package; numpyro runs the chains vectorised). Convergence
    checks are ours (`convergence_diagnostics`), and no pointwise log-likelihood is stored.
    Returns the InferenceData.
    """
    import pymc as pm

    if nuts_sampler not in NUTS_SAMPLERS:
        raise ArgumentError(
            f"nuts_sampler must be one of {list(NUTS_SAMPLERS)}; got {nuts_sampler!r}."
        )
    kw: dict[str, Any] = {}
    if nuts_sampler == "numba":
        kw["compile_kwargs"] = {"mode": "NUMBA"}
    elif nuts_sampler != "pymc":
        kw["nuts_sampler"] = nuts_sampler
    if nuts_sampler == "numpyro":  # chains as one vectorised JAX program (one CPU device)
        kw["nuts_sampler_kwargs"] = {"chain_method": "vectorized"}
    if nuts_sampler in ("pymc", "numba"):
        kw.update(_nuts_step(chains, tune, target_accept, random_seed, kw.get("compile_kwargs")))
    else:
        kw["target_accept"] = target_accept
    with warnings.catch_warnings():  # JAX's note on buffer reuse (numpyro), not the user's
        warnings.filterwarnings("ignore", message="Some donated buffers were not usable")
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            random_seed=random_seed,
            progressbar=progressbar,
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": False},
            **kw,
        )


def _nuts_step(
    chains: int, tune: int, target_accept: float, random_seed: int, compile_kwargs: Any
) -> dict[str, Any]:
    """Return the NUTS step and start points ``pm.sample`` would make, as its `step`, `initvals`.

    Left to itself, ``pm.sample`` first takes the gradient of the model's log density with
    respect to each free variable in turn, only to find that NUTS can sample them all, and then
    initialises NUTS (``jitter+adapt_diag``). Every model here is continuous and sampled by NUTS
    alone, so this calls PyMC's ``init_nuts`` directly with the per-chain seeds ``pm.sample``
    derives from `random_seed`: the same start points, step and draws (bit-identical; checked by
    ``tests/models/test_nuts_start.py``), without those gradients (0.85 s of a 7.1 s fit of the
    default model, warm). ``init_nuts`` and the seed derivation are PyMC's internals (pinned to
    5.x): should a release change them, that test fails, while fits stay valid (other seeds).
    """
    import pymc as pm
    from pymc.sampling.mcmc import all_continuous, init_nuts
    from pymc.util import get_random_generator

    model = pm.modelcontext(None)
    if not all_continuous(model.value_vars):  # not the case for any model here
        return {"target_accept": target_accept}
    seeds = [int(g.integers(2**30)) for g in get_random_generator(random_seed).spawn(chains)]
    points, step = init_nuts(
        init="jitter+adapt_diag",
        chains=chains,
        random_seed=seeds,
        progressbar=False,
        tune=tune,
        compile_kwargs=compile_kwargs,
        target_accept=target_accept,
    )
    return {"step": step, "initvals": points}
