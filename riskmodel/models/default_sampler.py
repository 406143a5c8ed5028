"""The PyMC model of `DefaultModel` and its NUTS run.

The model and its reparameterisation are derived in the docstring of `riskmodel.models.default`:
the sampled quantities are ``v_t`` (centred) or ``Z_t`` (non-centred), the reference segment's
``probit(PD)``, the other segments' offsets ``d_s``, ``rho`` and, with covariates, ``gamma``; the
PDs, ``rho`` and ``Z_t`` are deterministic functions of them. PyMC is imported inside
`sample_default_model` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.data.macro import align_macro
from riskmodel.models import _common as C
from riskmodel.models.default_data import choose_parameterization
from riskmodel.models.model_cache import reusable_model

__all__ = ["sample_default_model"]


def _layout(df: pd.DataFrame, cfg: dict[str, Any]) -> dict[str, Any]:
    """Index the history by period and segment; record the fit's layout in `cfg`.

    Adds ``segments``, ``periods``, ``parameterization_used`` and ``reference_segment`` (the
    segment with most defaults) to `cfg`; returns the arrays the model needs.
    """
    periods = np.sort(df["period"].unique())
    segments = sorted(df["segment"].unique())
    t_idx = np.searchsorted(periods, df["period"].to_numpy())
    s_idx = np.searchsorted(segments, df["segment"].to_numpy())
    n = df["customers"].to_numpy()
    d = df["defaults"].to_numpy()
    param = cfg["parameterization"]
    if param == "auto":
        param = choose_parameterization(n, d, s_idx, t_idx, len(periods), cfg["prior"])
    cfg |= {"segments": segments, "periods": periods.tolist(), "parameterization_used": param}
    ref = int(np.argmax(np.bincount(s_idx, weights=d, minlength=len(segments))))
    cfg["reference_segment"] = segments[ref]
    others = np.array([s for s in range(len(segments)) if s != ref], dtype=np.intp)
    return {
        "periods": periods,
        "segments": segments,
        "t_idx": t_idx,
        "s_idx": s_idx,
        "n": n,
        "d": d,
        "param": param,
        "others": others,
    }


def _macro_data(macro: pd.DataFrame | None, periods: np.ndarray, cfg: dict[str, Any]) -> Any:
    """Return the standardised covariates per period, ``(x_tk − m_k) / sd_k``, or None.

    Records ``macro_mean`` and ``macro_sd`` in `cfg`.
    """
    covs = cfg["covariates"]
    if not covs:
        return None
    x = align_macro(macro, periods, covs)
    m, sd = x.mean(axis=0), x.std(axis=0)
    flat = [c for c, s in zip(covs, sd, strict=True) if not s > 0]
    if flat:
        raise ValueError(f"covariate(s) {flat} are constant over the fitted periods.")
    cfg |= {"macro_mean": m.tolist(), "macro_sd": sd.tolist()}
    return (x - m) / sd


def sample_default_model(
    df: pd.DataFrame, macro: pd.DataFrame | None, cfg: dict[str, Any], mc: dict[str, Any]
) -> Any:
    """Build the model on a checked history and sample it with NUTS; return the InferenceData.

    The model is kept per structure (`riskmodel.models.model_cache`): the counts, period and
    segment indices and standardised covariates are its ``pm.Data``; the numbers of periods and
    segments, the reference segment, the parameterization, the prior and the covariates' count
    are its key.

    Parameters
    ----------
    df : DataFrame
        From `riskmodel.models.default_data.prepare_default_data`.
    macro : DataFrame or None
        ``period`` and the covariates of `cfg` (None without covariates).
    cfg : dict
        The model's validated config; the fit's layout and macro scaling are added to it.
    mc : dict
        NUTS settings (`riskmodel.models._common.mcmc_settings`).
    """
    lay = _layout(df, cfg)
    data = {"n_customers": lay["n"], "n_defaults": lay["d"]}
    data |= {"period_index": lay["t_idx"], "segment_index": lay["s_idx"]}
    x = _macro_data(macro, lay["periods"], cfg)
    if x is not None:
        data["macro_std"] = x
    coords = {"segment": lay["segments"], "period": lay["periods"], "covariate": cfg["covariates"]}
    key = (
        "DefaultModel",
        len(lay["periods"]),
        len(lay["segments"]),
        tuple(lay["others"].tolist()),
        lay["param"],
        len(cfg["covariates"]),
        tuple(sorted(cfg["prior"].items())),
    )
    with reusable_model(key, lambda: _build(lay, cfg["prior"], data, coords), data, coords):
        return C.nuts(**mc)


def _build(
    lay: dict[str, Any], prior: dict[str, float], data: dict[str, np.ndarray], coords: dict
) -> Any:
    """Return the PyMC model of the layout `lay`, its data as ``pm.Data`` (named as in `data`)."""
    import pymc as pm
    import pytensor.tensor as pt

    others = lay["others"]
    with pm.Model(coords=coords) as model:
        # the covariates' shape is static (it is part of the key), so that PyTensor rewrites
        # their product with gamma as it would for a constant
        static = {"macro_std"}
        box = {k: pm.Data(k, v, shape=v.shape if k in static else None) for k, v in data.items()}
        mu0, sd0 = prior["probit_pd_mu"], prior["probit_pd_sigma"]
        c_ref = pm.Normal("probit_pd_ref", mu0, sd0)
        rho = pm.Beta("rho", prior["rho_alpha"], prior["rho_beta"])
        srho, k = pm.math.sqrt(rho), pm.math.sqrt(1.0 - rho)
        offset = pt.zeros(len(lay["segments"]))
        if others.size:
            # c_s = c_ref + k d_s ~ Normal(mu0, sd0)  <=>  d_s ~ Normal((mu0 - c_ref)/k, sd0/k)
            d_s = pm.Normal("probit_offset", (mu0 - c_ref) / k, sd0 / k, shape=others.size)
            offset = pt.set_subtensor(offset[others], d_s)
        probit_pd = pm.Deterministic("probit_pd", c_ref + k * offset, dims="segment")
        pm.Deterministic("pd", pm.math.invprobit(probit_pd), dims="segment")
        shift: Any = 0.0
        if "macro_std" in box:
            gamma = pm.Normal("gamma", 0.0, prior["gamma_sigma"], dims="covariate")
            shift = pm.math.dot(box["macro_std"], gamma)
        if lay["param"] == "centered":
            # v_t = (probit(PD_ref) - sqrt(rho) Z_t) / sqrt(1 - rho)
            v = pm.Normal("v", (c_ref - srho * shift) / k, srho / k, dims="period")
            pm.Deterministic("factor", (c_ref - k * v) / srho, dims="period")
        else:
            z = pm.Normal("factor", shift, 1.0, dims="period")
            v = (c_ref - srho * z) / k
        p = pm.math.invprobit(v[box["period_index"]] + offset[box["segment_index"]])
        p = pm.math.clip(p, 1e-15, 1 - 1e-15)
        pm.Binomial("defaults", n=box["n_customers"], p=p, observed=box["n_defaults"])
    return model
