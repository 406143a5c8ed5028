"""Maximum likelihood for `IntensityModel`: optimise log intensities, Hessian standard errors.

The parameters are the log intensities of the allowed transitions, one vector per segment (or one
shared vector with ``pooling="complete"``). Segments are independent under ``pooling="none"``, so
each is optimised on its own (a few parameters each). BFGS runs on the negative log-likelihood of
`riskmodel.models.intensity_likelihood` with a finite-difference gradient, started from crude
intensities (transitions counted between consecutive observations over the time at risk, as R's
msm ``crudeinits``). The covariance of the log intensities is the inverse of the observed
information, the Hessian of the negative log-likelihood by central differences (step 1e-4 on the
log scale: truncation error ~1e-8 relative, rounding ~1e-12 · |loglik| / 1e-8 — both far below
the information's size), as msm does with ``optimHess``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.optimize as so
import scipy.stats as st
import xarray as xr

from riskmodel.errors import ConvergenceWarning
from riskmodel.models.intensity_likelihood import generator_matrix, loglik
from riskmodel.models.intensity_panel import PanelObservations

__all__ = [
    "crude_log_intensities",
    "fit_mle",
    "fit_mle_covariates",
    "mle_dataset",
    "mle_summary",
    "numerical_hessian",
    "observed_covariance",
]

HESS_STEP = 1e-4


def crude_log_intensities(obs: PanelObservations, allowed: np.ndarray, n: int) -> np.ndarray:
    """Compute crude starting values per segment.

    (transitions a→b + 0.5) / (time at risk in a), per segment (one per median gap for a state
    never at risk).

    "Transitions" and "time at risk" use the observed states at consecutive observations
    (censored observations count for none), as if the process moved only at observation times.
    """
    n_seg = len(obs.segments)
    prev = np.zeros((obs.subject.shape[0], n))
    # previous observation's mask for each row
    last = obs.init.copy()
    for j in range(1, int(obs.step.max(initial=0)) + 1):
        rows = np.flatnonzero(obs.step == j)
        prev[rows] = last[obs.subject[rows]]
        last[obs.subject[rows]] = obs.mask[rows]
    certain = (prev.sum(1) == 1) & (obs.mask.sum(1) == 1)
    a = prev.argmax(1)
    b = obs.mask.argmax(1)
    out = np.empty((n_seg, allowed.shape[0]))
    for s in range(n_seg):
        m = certain & (obs.segment == s)
        risk = np.bincount(a[m], weights=obs.dt[m], minlength=n)
        counts = np.zeros((n, n))
        np.add.at(counts, (a[m], b[m]), 1.0)
        rate = (counts[allowed[:, 0], allowed[:, 1]] + 0.5) / np.maximum(risk[allowed[:, 0]], 1e-12)
        # a state never seen at risk: one transition per typical gap
        typical = 1.0 / np.median(obs.dt) if obs.dt.size else 1.0
        out[s] = np.log(np.where(risk[allowed[:, 0]] > 0, rate, typical))
    return out


def numerical_hessian(f, x: np.ndarray, h: float = HESS_STEP) -> np.ndarray:
    """Central-difference Hessian of scalar `f` at `x`."""
    k = x.size
    H = np.empty((k, k))
    f0 = f(x)
    E = np.eye(k) * h
    fp = np.array([f(x + E[i]) for i in range(k)])
    fm = np.array([f(x - E[i]) for i in range(k)])
    for i in range(k):
        H[i, i] = (fp[i] - 2 * f0 + fm[i]) / h**2
        for j in range(i + 1, k):
            v = f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j]) + f(x - E[i] - E[j])
            H[i, j] = H[j, i] = v / (4 * h**2)
    return H


def observed_covariance(H: np.ndarray) -> tuple[np.ndarray, bool]:
    """Covariance of the estimates from the Hessian `H` of −log L; and whether all are identified.

    Flat directions of the likelihood show as eigenvalues at rounding level (|f| 1e-16 / h² ≈
    |f| 1e-8), so an eigenvalue at or below ``1e-6 × max(λ_max, 1)`` counts as flat. Without a
    flat direction the covariance is ``H⁻¹``. With one, inverting `H` would amplify rounding
    noise into every entry, so the covariance is the inverse on the identified eigenspace and
    the parameters that load on a flat direction (|loading| > 1e-4) get NaN rows and columns:
    their standard errors are unknown, the others' remain those of the identified block. A
    negative variance (a saddle) is reported as NaN too.
    """
    sym = (H + H.T) / 2
    eig, vec = np.linalg.eigh(sym)
    flat = eig <= 1e-6 * max(float(eig.max()), 1.0)
    if not flat.any():
        cov = np.linalg.inv(H)
    else:
        inv = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, eig))
        cov = (vec * inv) @ vec.T
        lost = (np.abs(vec[:, flat]) > 1e-4).any(axis=1)
        cov[lost, :] = np.nan
        cov[:, lost] = np.nan
    diag = np.diag(cov)
    cov[np.diag_indices_from(cov)] = np.where(diag > 0, diag, np.nan)  # negative: unknown
    return cov, not bool(flat.any())


def fit_mle(
    obs: PanelObservations, allowed: np.ndarray, n: int, *, pooled: bool
) -> dict[str, np.ndarray | float | list]:
    """Maximise the likelihood; return estimates, covariances and −2 log-likelihood.

    Returns
    -------
    dict
        ``log_q`` (n_groups, k), ``cov`` (n_groups, k, k), ``minus2loglik`` (float, total),
        ``converged`` (list of bool) where ``n_groups`` is 1 when `pooled` else the number of
        segments.
    """
    if pooled:
        obs = _pool(obs)
    start = crude_log_intensities(obs, allowed, n)
    est, covs, m2ll, ok = [], [], 0.0, []
    for s in range(len(obs.segments)):
        sub = _segment(obs, s)

        def nll(x, sub=sub):
            # line searches may try huge log intensities: overflow means "far too large"
            with np.errstate(over="ignore", invalid="ignore"):
                val = -loglik(generator_matrix(x, allowed, n)[None], sub)
            return val if np.isfinite(val) else 1e300

        res = so.minimize(nll, start[s], method="BFGS", options={"gtol": 1e-6, "maxiter": 2000})
        x = res.x
        H = numerical_hessian(nll, x)
        cov, identified = observed_covariance(H)
        est.append(x)
        covs.append(cov)
        m2ll += 2.0 * float(nll(x))
        ok.append(identified)
        if not ok[-1]:
            warnings.warn(
                f"segment {obs.segments[s]!r}: the log-likelihood is flat or not concave at the "
                "optimum (Hessian not positive definite), so some intensities are not "
                "identified by the data and their standard errors are meaningless. Remove "
                "transitions the panel cannot inform from `allowed`, or pool segments.",
                ConvergenceWarning,
                stacklevel=4,
            )
    return {"log_q": np.array(est), "cov": np.array(covs), "minus2loglik": m2ll, "converged": ok}


def fit_mle_covariates(
    obs: PanelObservations, allowed: np.ndarray, n: int, cfg: dict, *, pooled: bool
) -> dict[str, np.ndarray | float | list]:
    """Maximise the likelihood of a model with covariates.

    Baseline log intensities per segment (at the covariate means) and coefficients shared by
    the segments, optimised jointly.

    The gradient is exact (`riskmodel.models.intensity_bayes.panel_loglik_and_grad` chained to
    the parameters by `riskmodel.models.intensity_covariates.params_gradient`), so BFGS needs
    one likelihood pass per step; the observed information is the central difference of that
    gradient (step 1e-5 on unit-scale parameters: the coefficients act on standardised
    covariates), symmetrised.

    Returns
    -------
    dict
        As `fit_mle`, plus ``beta`` (m,) per unit of the covariates, ``cov_beta`` (m, m) and the
        joint covariance ``cov_all`` of (baseline log intensities, coefficients).
    """
    from riskmodel.models.intensity_bayes import panel_loglik_and_grad
    from riskmodel.models.intensity_covariates import (
        CovariateDesign,
        group_rows,
        grouped,
        params_gradient,
    )

    if pooled:
        obs = _pool(obs)
    design = CovariateDesign.from_config(cfg)
    assert obs.x is not None  # a model with covariates reads them per row
    group, g_seg, g_xs = group_rows(obs.segment, design.standardise(obs.x))
    gobs = grouped(obs, group)
    both = panel_loglik_and_grad(gobs, len(g_seg))
    S, k, m = len(obs.segments), allowed.shape[0], len(design.coef_names)
    start = np.r_[crude_log_intensities(obs, allowed, n).ravel(), np.zeros(m)]

    def unpack(theta):
        return theta[: S * k].reshape(S, k), theta[S * k :]

    def nll_grad(theta):
        base, b = unpack(theta)
        log_q = base[g_seg] + design.shift(g_xs, b)
        with np.errstate(over="ignore", invalid="ignore"):
            value, dQ = both(generator_matrix(log_q, allowed, n))
        if not np.isfinite(value):
            return 1e300, np.zeros_like(theta)
        d_base, d_b = params_gradient(dQ, log_q, allowed, design, g_seg, g_xs, S)
        return -value, -np.r_[d_base.ravel(), d_b]

    res = so.minimize(nll_grad, start, jac=True, method="BFGS", options={"gtol": 1e-6})
    x = res.x
    cov, ok = _gradient_information(lambda theta: nll_grad(theta)[1], x)
    if not ok:
        warnings.warn(
            "the log-likelihood is flat or not concave at the optimum (Hessian not positive "
            "definite): some intensities or coefficients are not identified by the data. Drop "
            "transitions or covariates the panel cannot inform.",
            ConvergenceWarning,
            stacklevel=4,
        )
    base, b = unpack(x)
    scale = np.r_[np.ones(S * k), design.scale[design.coef_cov]]  # β = β_std / sd
    cov_all = cov / np.outer(scale, scale)
    blocks = np.stack([cov_all[s * k : (s + 1) * k, s * k : (s + 1) * k] for s in range(S)])
    return {
        "log_q": base,
        "cov": blocks,
        "beta": b / design.scale[design.coef_cov],
        "cov_beta": cov_all[S * k :, S * k :],
        "cov_all": cov_all,
        "minus2loglik": 2.0 * float(nll_grad(x)[0]),
        "converged": [ok and bool(res.success)],
        "coef_names": list(design.coef_names),
    }


def _gradient_information(grad, x: np.ndarray, h: float = 1e-5) -> tuple[np.ndarray, bool]:
    """Return the inverse of the observed information at `x`, and whether it is well defined.

    The information is the central difference of the gradient `grad` (step `h`), symmetrised,
    and inverted by `observed_covariance` (NaN for the parameters on a flat direction). The
    bool says it is positive definite.
    """
    H = np.empty((x.size, x.size))
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        H[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
    return observed_covariance((H + H.T) / 2)


def mle_dataset(cfg: dict, res: dict) -> xr.Dataset:
    """Return the estimates as the ``mle`` group of a saved model (sets ``cfg["segments"]``)."""
    names = [f"{f}->{t}" for f, t in cfg["allowed"]]
    segs = cfg["segments"] if cfg["pooling"] != "complete" else ["all"]
    cfg["segments"] = segs
    ds = xr.Dataset(
        {
            "log_intensity": (("segment", "transition"), res["log_q"]),
            "covariance": (("segment", "transition", "transition_"), res["cov"]),
        },
        coords={"segment": segs, "transition": names, "transition_": names},
        attrs={"minus2loglik": res["minus2loglik"], "converged": int(all(res["converged"]))},
    )
    if "beta" in res:  # covariates: coefficients and the joint covariance
        coefs = res["coef_names"]
        params = [f"{s}:{t}" for s in segs for t in names] + coefs
        ds["beta"] = ("coefficient", res["beta"])
        ds["coefficient_covariance"] = (("coefficient", "coefficient_"), res["cov_beta"])
        ds["parameter_covariance"] = (("parameter", "parameter_"), res["cov_all"])
        ds = ds.assign_coords(
            coefficient=coefs, coefficient_=coefs, parameter=params, parameter_=params
        )
    return ds


def mle_summary(ds: xr.Dataset) -> pd.DataFrame:
    """Estimate, log-scale standard error and 95% Wald bounds per segment and transition."""
    lq = ds["log_intensity"].to_series()
    cov = np.asarray(ds["covariance"].values)
    se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2)).ravel()
    z = st.norm.ppf(0.975)
    with np.errstate(over="ignore"):  # unidentified: an infinite upper bound
        lower, upper = np.exp(lq.values - z * se), np.exp(lq.values + z * se)
    return pd.DataFrame(
        {
            "estimate": np.exp(lq.values),
            "se_log": se,
            "lower": lower,
            "upper": upper,
        },
        index=lq.index,
    )


def _segment(obs: PanelObservations, s: int) -> PanelObservations:
    """Return the rows of segment `s` as a one-segment panel (subjects keep their indices)."""
    m = obs.segment == s
    return PanelObservations(
        init=obs.init,
        subject=obs.subject[m],
        segment=np.zeros(int(m.sum()), dtype=int),
        step=obs.step[m],
        dt=obs.dt[m],
        mask=obs.mask[m],
        exact=obs.exact[m],
        segments=(obs.segments[s],),
        n_subjects_by_segment=obs.n_subjects_by_segment[s : s + 1],
        prev=None if obs.prev is None else obs.prev[m],
        cur=None if obs.cur is None else obs.cur[m],
        jump=None if obs.jump is None else obs.jump[m],
        x=None if obs.x is None else obs.x[m],
    )


def _pool(obs: PanelObservations) -> PanelObservations:
    return PanelObservations(
        init=obs.init,
        subject=obs.subject,
        segment=np.zeros_like(obs.segment),
        step=obs.step,
        dt=obs.dt,
        mask=obs.mask,
        exact=obs.exact,
        segments=("all",),
        n_subjects_by_segment=np.array([obs.n_subjects_by_segment.sum()]),
        prev=obs.prev,
        cur=obs.cur,
        jump=obs.jump,
        x=obs.x,
    )
