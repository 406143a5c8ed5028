"""NUTS for the partial-pooling transition model, compiled once per model structure.

Why this module exists: ``pm.sample(nuts_sampler="numpyro")`` converts PyMC's graph to JAX on
every fit, with the counts baked into the program as constants, so every fit — the second one
in a process too — pays for tracing and XLA compilation; on 10 segments × 6 states that was
most of a warm fit (7.9 s). Here the log density of `riskmodel.models.hierarchical`'s model is
written in JAX with the counts and the prior values as *arguments*, and the whole sampler
(NumPyro's NUTS kernel: initialisation, warm-up with step-size and diagonal mass-matrix
adaptation, draws; chains one after another) is one ``jax.jit`` function, cached per structure:
the pattern of allowed transitions, the number of segments, draws, tuning steps, chains,
target acceptance and chain method. A second fit of the same structure — new counts, a new
prior, a new seed — reuses the compiled program and only runs it.

What is sampled is exactly PyMC's model, in PyMC's unconstrained coordinates: ``log_kappa`` as
it is, and each Dirichlet row ``mu`` through PyMC's ``simplex`` transform (centred log-ratio
of the first ``k − 1`` entries, with its log-Jacobian), started where PyMC starts (the initial
point jittered by ``Uniform(−1, 1)``). Only the implementation differs (NumPyro's NUTS here and
under ``pm.sample``), so draws are statistically the same as before;
``tests/models/test_partial_jax.py`` checks the log density against PyMC's compiled one at
random points and the posterior against the PyMC-driven fit. JAX runs in 64-bit mode, as under
PyMC's JAX backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from riskmodel.errors import ArgumentError

__all__ = ["CHAIN_METHOD", "Layout", "log_density", "sample_partial"]

CHAIN_METHOD = "sequential"
"""How chains run inside the compiled program: ``"sequential"`` (one after another, the
default) or ``"vectorized"`` (one batched program). On the shared 2-core machine sequential
chains took 7–20% less CPU per warm fit (2.9–3.4 s against 3.6 s; vectorised NUTS runs each
iteration until the longest chain's trajectory ends) and compiled faster (``benchmarks/fit.py``)."""


class Layout(NamedTuple):
    """The structure the compiled program depends on (hashable: part of the cache key)."""

    n_origin: int
    groups: tuple[tuple[int, tuple[int, ...], tuple[tuple[int, ...], ...]], ...]
    """Per group of origins with ``k > 1`` allowed destinations: ``(k, rows, cols per row)``."""

    @property
    def size(self) -> int:
        """Length of the flat unconstrained vector."""
        return self.n_origin + sum(len(rows) * (k - 1) for k, rows, _ in self.groups)


_RUNNERS: dict[tuple, Callable[..., Any]] = {}
_RUNNERS_MAX = 8


def layout_of(allowed: np.ndarray) -> Layout:
    """Group origin rows by their number of allowed destinations (as `hierarchical._groups`)."""
    groups: dict[int, list[int]] = {}
    for r in range(allowed.shape[0]):
        groups.setdefault(int(allowed[r].sum()), []).append(r)
    return Layout(
        int(allowed.shape[0]),
        tuple(
            (k, tuple(rows), tuple(tuple(int(c) for c in np.flatnonzero(allowed[r])) for r in rows))
            for k, rows in groups.items()
            if k > 1
        ),
    )


def group_counts(counts: np.ndarray, layout: Layout) -> tuple[tuple[np.ndarray, ...], float]:
    """Return each group's counts of allowed cells, ``(n_segments, n_rows, k)``, and a constant.

    The constant is ``Σ log n! − Σ log y!`` over the multinomials, the part of the log density
    that depends on the counts only.
    """
    from scipy.special import gammaln

    data = tuple(
        np.asarray(counts[:, np.array(rows)[:, None], np.array(cols)], dtype=np.float64)
        for _, rows, cols in layout.groups
    )
    const = sum(float(gammaln(y.sum(-1) + 1).sum() - gammaln(y + 1).sum()) for y in data)
    return data, const


def unpack(z, layout: Layout) -> dict:
    """Split the flat unconstrained vector into ``log_kappa`` and ``x_<k>`` per group.

    Works on numpy and JAX arrays; leading (chain, draw) axes are kept.
    """
    out = {"log_kappa": z[..., : layout.n_origin]}
    start = layout.n_origin
    for k, rows, _ in layout.groups:
        size = len(rows) * (k - 1)
        out[f"x_{k}"] = z[..., start : start + size].reshape(*z.shape[:-1], len(rows), k - 1)
        start += size
    return out


def _simplex(x):
    """PyMC's ``simplex`` backward transform and its log-Jacobian, rows of ``x`` (…, k − 1)."""
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    v = jnp.concatenate([x, -jnp.sum(x, -1, keepdims=True)], -1)
    log_mu = v - logsumexp(v, -1, keepdims=True)
    n = x.shape[-1] + 1
    s = jnp.sum(x, -1, keepdims=True)
    expanded = jnp.concatenate([x + s, jnp.zeros_like(s)], -1)
    jac = jnp.log(n) + n * s - n * logsumexp(expanded, -1, keepdims=True)
    return log_mu, jnp.sum(jac)


def log_density(z, data: tuple, prior, layout: Layout):
    """Log density of the partial-pooling model at unconstrained `z` (Jacobians included).

    Terms that depend on the counts only (``log n! − Σ log y!`` of the multinomials) are left
    out: they do not move NUTS; `sample_partial` adds them to the reported ``lp``.

    Parameters
    ----------
    z : array (n_origin + Σ n_rows (k − 1),)
        ``log_kappa`` then each group's ``x`` (see `unpack`): one flat vector, so NUTS's tree
        bookkeeping handles one array, not one per parameter.
    data : tuple of arrays
        `group_counts` of the data.
    prior : array (3,)
        ``concentration, log_kappa_mu, log_kappa_sigma``.
    layout : Layout
    """
    import jax.numpy as jnp
    from jax.scipy.special import gammaln

    conc, m, s = prior[0], prior[1], prior[2]
    z = unpack(z, layout)
    lk = z["log_kappa"]
    lp = jnp.sum(-0.5 * ((lk - m) / s) ** 2 - jnp.log(s) - 0.5 * jnp.log(2 * jnp.pi))
    kappa = jnp.exp(lk)
    for (k, rows, _), y in zip(layout.groups, data, strict=True):
        log_mu, jac = _simplex(z[f"x_{k}"])
        n_rows = len(rows)
        lp += jac + jnp.sum((conc - 1.0) * log_mu)
        lp += n_rows * (gammaln(k * conc) - k * gammaln(conc))
        a = kappa[np.array(rows)][:, None] * jnp.exp(log_mu)  # (n_rows, k)
        n = jnp.sum(y, -1)  # (S, n_rows)
        a0 = jnp.sum(a, -1)
        lp += jnp.sum(gammaln(a0) - gammaln(n + a0)) + jnp.sum(gammaln(y + a) - gammaln(a))
    return lp


def _runner(key: tuple) -> Callable[..., Any]:
    """Return the compiled sampler of one structure (built on first use, then reused)."""
    fn = _RUNNERS.get(key)
    if fn is not None:
        return fn
    import jax
    from jax import lax
    from numpyro.infer.hmc import hmc  # type: ignore[import-untyped]

    layout, _, draws, tune, _, target_accept, chain_method = key

    def potential_gen(data, prior):
        return lambda z: -log_density(z, data, prior, layout)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def chain(rng_key, z0, data, prior):
        args = (data, prior)
        state = init_kernel(
            z0, num_warmup=tune, target_accept_prob=target_accept, model_args=args, rng_key=rng_key
        )
        state = lax.fori_loop(0, tune, lambda _, st: sample_kernel(st, model_args=args), state)

        def step(st, _):
            st = sample_kernel(st, model_args=args)
            stats = (st.diverging, st.potential_energy, st.energy, st.num_steps, st.accept_prob)
            return st, (st.z, (*stats, st.adapt_state.step_size))

        return lax.scan(step, state, None, length=draws)[1]

    if chain_method == "vectorized":
        run = jax.vmap(chain, in_axes=(0, 0, None, None))
    else:

        def run(keys, z0, data, prior):
            return lax.map(lambda kz: chain(kz[0], kz[1], data, prior), (keys, z0))

    fn = jax.jit(run)
    if len(_RUNNERS) >= _RUNNERS_MAX:
        _RUNNERS.pop(next(iter(_RUNNERS)))
    _RUNNERS[key] = fn
    return fn


def _initial_points(layout: Layout, prior: dict, chains: int, seed: int) -> np.ndarray:
    """Return PyMC's starting points, ``(chains, layout.size)``.

    The prior mean of ``log_kappa`` and the uniform row (``x = 0``), jittered by U(−1, 1).
    """
    rng = np.random.default_rng(seed)
    z = rng.uniform(-1.0, 1.0, (chains, layout.size))
    z[:, : layout.n_origin] += prior["log_kappa_mu"]
    return z


def sample_partial(
    counts: np.ndarray,
    allowed: np.ndarray,
    transient: tuple[str, ...],
    prior: dict,
    *,
    draws: int,
    chains: int,
    tune: int,
    target_accept: float,
    random_seed: int,
    chain_method: str | None = None,
) -> dict[str, xr.Dataset]:
    """Sample ``log_kappa`` and ``mu`` of the partial-pooling model with the cached program.

    Parameters
    ----------
    counts : ndarray (n_segments, n_transient, n_states)
    allowed : bool ndarray (n_transient, n_states)
    transient : tuple of str
        Origin names (the ``origin`` coordinate).
    prior : dict
        ``concentration``, ``log_kappa_mu``, ``log_kappa_sigma`` (other keys ignored).
    draws, chains, tune, target_accept, random_seed
        As for ``pm.sample``.
    chain_method : {"vectorized", "sequential"}, optional
        Default `CHAIN_METHOD`.

    Returns
    -------
    dict
        ``posterior`` (``log_kappa``, ``mu_free``/``mu_free_<k>``, ``kappa``; the variables,
        dims and coords PyMC gave) and ``sample_stats`` (``diverging``, ``lp``, ``energy``,
        ``n_steps``, ``tree_depth``, ``acceptance_rate``, ``step_size``).
    """
    import jax
    import numpyro  # type: ignore[import-untyped]

    jax.config.update("jax_enable_x64", True)
    method = chain_method or CHAIN_METHOD
    if method not in ("vectorized", "sequential"):
        raise ArgumentError(f"chain_method must be 'vectorized' or 'sequential'; got {method!r}.")
    layout = layout_of(allowed)
    n_seg = counts.shape[0]
    key = (layout, n_seg, draws, tune, chains, float(target_accept), method)
    run = _runner(key)
    data, const = group_counts(counts, layout)
    prior_arr = np.array(
        [prior["concentration"], prior["log_kappa_mu"], prior["log_kappa_sigma"]], dtype=float
    )
    z0 = _initial_points(layout, prior, chains, random_seed)
    keys = jax.random.split(jax.random.PRNGKey(random_seed), chains)
    t0 = time.perf_counter()
    z, stats = jax.device_get(run(keys, z0, data, prior_arr))
    elapsed = time.perf_counter() - t0
    single = len({int(n) for n in allowed.sum(axis=1)}) == 1  # PyMC's names: see hierarchical
    posterior = _posterior(unpack(np.asarray(z, dtype=float), layout), transient, single=single)
    posterior.attrs.update(
        inference_library="numpyro",
        inference_library_version=numpyro.__version__,
        sampling_time=elapsed,
        tuning_steps=tune,
    )
    return {"posterior": posterior, "sample_stats": _sample_stats(stats, const)}


def _posterior(z: dict, transient: tuple[str, ...], *, single: bool) -> xr.Dataset:
    """Build the posterior Dataset with PyMC's variable names, dims and coords.

    `z`: `unpack`-ed draws; `single`: all origins have the same number of allowed destinations
    (PyMC's one ``mu_free`` then, else ``mu_free_<k>``).
    """
    lk = z["log_kappa"]
    chains, draws = lk.shape[:2]
    coords: dict[str, Any] = {
        "chain": np.arange(chains),
        "draw": np.arange(draws),
        "origin": list(transient),
    }
    out: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
        "log_kappa": (("chain", "draw", "origin"), lk)
    }
    for key, x in z.items():
        if key == "log_kappa":
            continue
        v = np.concatenate([x, -x.sum(-1, keepdims=True)], -1)  # PyMC's simplex backward
        e = np.exp(v - v.max(-1, keepdims=True))
        name = "mu_free" if single else f"mu_free_{key[2:]}"
        dims = (f"{name}_dim_0", f"{name}_dim_1")
        mu = e / e.sum(-1, keepdims=True)
        out[name] = (("chain", "draw", *dims), mu)
        coords.update({d: np.arange(n) for d, n in zip(dims, mu.shape[2:], strict=True)})
    out["kappa"] = (("chain", "draw", "origin"), np.exp(lk))
    return xr.Dataset(out, coords=coords)


def _sample_stats(stats: tuple, const: float) -> xr.Dataset:
    """NumPyro's per-draw statistics under PyMC's names.

    ``lp`` is the log density (the potential energy's negative plus the counts' `const`).
    """
    diverging, potential, energy, n_steps, accept, step = (np.asarray(s) for s in stats)
    dims = ("chain", "draw")
    n_steps = n_steps.astype(np.int64)
    return xr.Dataset(
        {
            "acceptance_rate": (dims, accept.astype(float)),
            "step_size": (dims, step.astype(float)),
            "diverging": (dims, diverging.astype(bool)),
            "energy": (dims, energy.astype(float)),
            "n_steps": (dims, n_steps),
            "tree_depth": (dims, np.log2(np.maximum(n_steps, 1)).astype(np.int64) + 1),
            "lp": (dims, const - potential.astype(float)),
        },
        coords={"chain": np.arange(diverging.shape[0]), "draw": np.arange(diverging.shape[1])},
    )
