"""Multinomial-logit transition model with macro covariates (PyMC, imported lazily).

Parameterisation (per segment ``s``, transient origin ``i``, allowed destination ``j``, period
``t`` with macro vector ``x_t``)::

    eta[t, s, i, j] = a[s, i, j] + sum_k beta[i, j, k] * (x[t, k] - m_k) / sd_k
    p[t, s, i, :]   = softmax_j(eta[t, s, i, :])
    y[t, s, i, :]   ~ Multinomial(n[t, s, i], p[t, s, i, :])

- Reference destination: "stay" (``j = i``) when allowed, else the first allowed destination;
  its ``a`` and ``beta`` are 0. ``beta[i, j, k]`` is then the change in the log-odds of moving
  to ``j`` rather than staying per standard deviation of variable ``k``: ``exp(beta)`` is an
  odds ratio, which is how credit analysts read macro sensitivities. Any other reference gives
  the same likelihood; "stay" makes the coefficients interpretable and their priors symmetric.
- Macro variables are standardised with the mean ``m`` and sd of the fitted periods, so the
  intercepts are log-odds at average conditions and one prior scale fits all variables. Results
  are converted back to raw units (``intercept``/``coefficient`` in the posterior) for the engine.
- ``beta`` is shared by the segments: sensitivities are identified from time variation, which
  all segments share, and per-segment slopes would need long histories per segment. Intercepts
  are per segment (``pooling="none"``), shared (``"complete"``) or hierarchical
  (``"partial"``: ``a[s] ~ Normal(a_pop, tau_i)``, sampled centred for cells with data and
  non-centred for sparse ones, so thin and thick segments both mix).
- Structural zeros get no parameter and probability exactly 0.
- Priors: ``a ~ Normal(0, intercept_sigma)`` (default 5: monthly rates of 1e-4 .. 0.5 against
  staying are within 2 sd), ``beta ~ Normal(0, coef_sigma)`` per sd (default 1: an odds ratio of
  e² per sd is already extreme), ``tau_i ~ LogNormal(log_tau_mu, log_tau_sigma)`` (default
  log 0.5 and 0.75: between-segment sds of logits of about 0.1–2). The prior avoids 0 on
  purpose: with few segments a half-normal's mass near 0 makes a funnel that NUTS cannot cross.

The multinomial coefficient is constant and omitted; the log-likelihood is a ``pm.Potential``
on the counts, so the cost depends on periods × segments × states, not on customers.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import xarray as xr

from riskmodel.data.macro import align_macro
from riskmodel.models._common import (
    Estimate,
    convergence_diagnostics,
    mcmc_groups,
    nuts,
    transition_dataarray,
)
from riskmodel.models.model_cache import reusable_model

__all__ = ["CellLayout", "covariate_fit", "fit_covariate", "raw_parameters"]

NEG = -1e3  # logit of a structural zero inside the sampler (exp underflows to exactly 0)
CENTRED_MIN_COUNT = 20
"""Partial pooling: a segment's intercept of a cell with at least this many observed
transitions is sampled centred, otherwise non-centred."""


class CellLayout:
    """Free (origin, destination) cells of the logit model."""

    def __init__(self, allowed: np.ndarray, transient_idx: np.ndarray, names: tuple[str, ...]):
        n_tr, n = allowed.shape
        self.allowed = allowed
        self.ref = np.empty(n_tr, dtype=np.intp)
        cells = []
        for r in range(n_tr):
            stay = int(transient_idx[r])
            self.ref[r] = stay if allowed[r, stay] else int(np.flatnonzero(allowed[r])[0])
            cells += [(r, j) for j in np.flatnonzero(allowed[r]) if j != self.ref[r]]
        self.rows = np.array([c[0] for c in cells], dtype=np.intp)
        self.cols = np.array([c[1] for c in cells], dtype=np.intp)
        self.labels = [f"{names[transient_idx[r]]}->{names[j]}" for r, j in cells]
        self.n_tr, self.n = n_tr, n
        self.scatter = np.zeros((len(cells), n_tr * n))
        self.scatter[np.arange(len(cells)), self.rows * n + self.cols] = 1.0
        self.base = np.where(allowed, 0.0, NEG).reshape(-1)

    @property
    def m(self) -> int:
        """Number of free cells (one per label, reference cells excluded)."""
        return len(self.labels)


def fit_covariate(
    counts: np.ndarray,
    xs: np.ndarray,
    layout: CellLayout,
    pooling: str,
    transient: tuple[str, ...],
    segments: list[str],
    covariates: tuple[str, ...],
    prior: dict,
    *,
    draws: int,
    chains: int,
    tune: int,
    target_accept: float,
    cores: int | None,
    random_seed: int,
    progressbar: bool,
):
    """Sample the logit model; ``counts`` (T, S, n_transient, n), ``xs`` (T, K) standardised.

    The model is kept per structure (`riskmodel.models.model_cache`): `counts` and `xs` are its
    ``pm.Data``; the sizes, the allowed cells, the pooling, the prior and (partial pooling) which
    intercepts are centred are its key.
    """
    coords = {
        "cell": layout.labels,
        "covariate": list(covariates),
        "segment": list(segments),
        "origin": list(transient),
    }
    # partial pooling: centred where a segment's cell has data (the likelihood pins it down),
    # non-centred where it has little (the funnel in tau would stall NUTS)
    centred = counts.sum(axis=0)[:, layout.rows, layout.cols] >= CENTRED_MIN_COUNT  # (S, M)
    key = (
        "TransitionModel/covariates",
        counts.shape,
        xs.shape[1],
        layout.allowed.tobytes(),
        pooling,
        tuple(centred.ravel().tolist()) if pooling == "partial" else (),
        tuple(sorted(prior.items())),
    )
    data = {"counts": counts, "macro_std": xs}
    free = {"none": ["a", "beta"], "complete": ["a_pop", "beta"]}.get(
        pooling, ["a_pop", "tau", "a", "beta"]
    )
    build = partial(_build, data, layout, pooling, centred, prior, coords)
    with reusable_model(key, build, data, coords) as model:
        idata = nuts(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            target_accept=target_accept,
            random_seed=random_seed,
            progressbar=progressbar,
        )
    return model, idata, free


def _build(
    data: dict[str, np.ndarray],
    layout: CellLayout,
    pooling: str,
    centred: np.ndarray,
    prior: dict,
    coords: dict,
):
    """Return the PyMC model of `fit_covariate`, its data as ``pm.Data`` (named as in `data`)."""
    import pymc as pm
    import pytensor.tensor as pt

    T, S = data["counts"].shape[:2]
    with pm.Model(coords=coords) as model:
        counts, xs = pm.Data("counts", data["counts"]), pm.Data("macro_std", data["macro_std"])
        beta = pm.Normal("beta", 0.0, prior["coef_sigma"], dims=("cell", "covariate"))
        if pooling == "none":
            a = pm.Normal("a", 0.0, prior["intercept_sigma"], dims=("segment", "cell"))
        elif pooling == "complete":
            a_pop = pm.Normal("a_pop", 0.0, prior["intercept_sigma"], dims="cell")
            a = pt.broadcast_to(a_pop, (S, layout.m))
        else:
            a_pop = pm.Normal("a_pop", 0.0, prior["intercept_sigma"], dims="cell")
            tau = pm.LogNormal("tau", prior["log_tau_mu"], prior["log_tau_sigma"], dims="origin")
            tau_c = tau[layout.rows][None, :]
            raw = pm.Normal(
                "a_raw",
                pt.where(centred, a_pop[None, :], 0.0),
                pt.where(centred, tau_c, 1.0),
                dims=("segment", "cell"),
            )
            a = pm.Deterministic(
                "a",
                pt.where(centred, raw, a_pop[None, :] + tau_c * raw),
                dims=("segment", "cell"),
            )
        eta_free = a[None, :, :] + pt.dot(xs, beta.T)[:, None, :]  # (T, S, M)
        eta = (pt.dot(eta_free, layout.scatter) + layout.base).reshape(
            (T, S, layout.n_tr, layout.n)
        )
        logp = eta - pt.logsumexp(eta, axis=-1, keepdims=True)
        pm.Potential("loglik", pt.sum(counts * logp))
    return model


def raw_parameters(
    posterior, layout: CellLayout, mean: np.ndarray, sd: np.ndarray, n_segments: int
) -> tuple[np.ndarray, np.ndarray]:
    """Logit parameters per raw macro unit, full arrays with reference 0 and zeros at -inf.

    Returns intercepts (chain, draw, S, n_tr, n) and coefficients (chain, draw, S, n_tr, n, K).
    """
    beta = np.asarray(posterior["beta"].transpose("chain", "draw", "cell", "covariate").values)
    if "a" in posterior:
        a = np.asarray(posterior["a"].transpose("chain", "draw", "segment", "cell").values)
    else:
        a_pop = np.asarray(posterior["a_pop"].transpose("chain", "draw", "cell").values)
        a = np.broadcast_to(a_pop[:, :, None, :], (*a_pop.shape[:2], n_segments, layout.m))
    b_raw = beta / sd  # (c, d, M, K)
    a_raw = a - (beta * (mean / sd)).sum(-1)[:, :, None, :]  # (c, d, S, M)
    c, d = beta.shape[:2]
    K = beta.shape[-1]
    intercept = np.where(layout.allowed, 0.0, -np.inf)
    intercept = np.broadcast_to(intercept, (c, d, n_segments, layout.n_tr, layout.n)).copy()
    intercept[:, :, :, layout.rows, layout.cols] = a_raw
    coef = np.zeros((c, d, n_segments, layout.n_tr, layout.n, K))
    coef[:, :, :, layout.rows, layout.cols, :] = b_raw[:, :, None]
    return intercept, coef


def covariate_fit(states, cfg: dict, periods, y, allowed, macro, mc: dict) -> Estimate:
    """Posterior groups of a covariate fit; adds ``macro_mean``/``macro_sd`` to `cfg`.

    ``y`` has shape (n_periods, n_segments, n_transient, n_states); ``periods`` are the
    periods the transitions start from.
    """
    covs = tuple(cfg["covariates"])
    x = align_macro(macro, periods, covs)
    mean, sd = x.mean(axis=0), x.std(axis=0)
    flat = [c for c, s in zip(covs, sd, strict=True) if not s > 0]
    if flat:
        raise ValueError(
            f"covariate(s) {flat} are constant over the fitted periods; their effect cannot "
            "be estimated. Drop them or fit a longer history."
        )
    cfg["macro_mean"], cfg["macro_sd"] = mean.tolist(), sd.tolist()
    layout = CellLayout(allowed, states.transient_idx, states.names)
    segments = cfg["segments"]
    _, idata, free = fit_covariate(
        y,
        (x - mean) / sd,
        layout,
        cfg["pooling"],
        states.transient,
        segments,
        covs,
        cfg["prior"],
        **mc,
    )
    post = idata.posterior
    a, b = raw_parameters(post, layout, mean, sd, len(segments))
    dims = ("chain", "draw", "segment", "origin", "to_state")
    coords = {
        "segment": segments,
        "origin": list(states.transient),
        "to_state": list(states.names),
    }
    post["intercept"] = xr.DataArray(a, dims=dims, coords=coords)
    post["coefficient"] = xr.DataArray(
        b, dims=(*dims, "covariate"), coords={**coords, "covariate": list(covs)}
    )
    eta = np.where(allowed, a + (b * mean).sum(-1), -np.inf)  # at the macro reference
    eta = eta - eta.max(axis=-1, keepdims=True)
    rows = np.exp(eta)
    rows /= rows.sum(axis=-1, keepdims=True)
    post["transition"] = transition_dataarray(states, rows, segments)
    groups = mcmc_groups(idata)
    diag = convergence_diagnostics(groups["posterior"][free], groups["sample_stats"])
    return Estimate(groups=groups, free=free, diagnostics=diag)
