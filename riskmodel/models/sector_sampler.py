"""The PyMC model of `SectorDefaultModel` and its NUTS run.

The model is stated in the docstring of `riskmodel.models.sector`; this module builds it on a
checked history, in the centred or the non-centred form of the factors (`_build_model`). PyMC
is imported inside the functions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskmodel.models import _common as C
from riskmodel.models.correlation import cholesky_from_cpc, lkj_cpc_shapes
from riskmodel.models.default_data import choose_parameterization

__all__ = ["sample_sector_model"]


def sample_sector_model(df: pd.DataFrame, cfg: dict[str, Any], mc: dict[str, Any]) -> Any:
    """Build the model on a checked history and sample it with NUTS; return the InferenceData.

    Parameters
    ----------
    df : DataFrame
        ``period, segment, customers, defaults``, checked.
    cfg : dict
        The model's validated config; the fit's periods, reference segments and the form used
        are added to it.
    mc : dict
        NUTS settings (`riskmodel.models._common.mcmc_settings`).
    """
    import pymc as pm

    lay = _layout(df, cfg)
    with pm.Model(coords=lay["coords"]):
        _build_model(lay, cfg["prior"], cfg["parameterization_used"])
        return C.nuts(**mc)


def _layout(df: pd.DataFrame, cfg: dict[str, Any]) -> dict[str, Any]:
    """Index the rows by period, segment and factor; record periods, references, form in `cfg`.

    A factor's reference segment is its segment with most defaults. ``"auto"`` is centred when
    `choose_parameterization` (`DefaultModel`'s rule) says so for the rows of every factor.
    """
    segments, factors = cfg["segments"], cfg["factors"]
    periods = np.sort(df["period"].unique())
    t_idx = np.searchsorted(periods, df["period"].to_numpy())
    s_idx = np.array([segments.index(s) for s in df["segment"]], dtype=np.intp)
    seg_factor = np.array([factors.index(f) for _, f in cfg["segment_factors"]], dtype=np.intp)
    n, d = df["customers"].to_numpy(), df["defaults"].to_numpy()
    by_segment = np.bincount(s_idx, weights=d, minlength=len(segments))
    ref = [
        max(np.flatnonzero(seg_factor == f), key=lambda s: by_segment[s])
        for f in range(len(factors))
    ]
    param = cfg["parameterization"]
    if param == "auto":
        votes = []
        for f in range(len(factors)):
            rows = seg_factor[s_idx] == f
            votes.append(
                choose_parameterization(
                    n[rows], d[rows], s_idx[rows], t_idx[rows], len(periods), cfg["prior"]
                )
            )
        param = "centered" if set(votes) == {"centered"} else "noncentered"
    cfg |= {
        "periods": periods.tolist(),
        "parameterization_used": param,
        "reference_segments": [segments[r] for r in ref],
    }
    coords = {"segment": segments, "factor": factors, "period": periods}
    coords |= {"factor_i": factors, "factor_j": factors}
    return {
        "coords": coords,
        "t_idx": t_idx,
        "s_idx": s_idx,
        "seg_factor": seg_factor,
        "n": n,
        "d": d,
        "ref": np.array(ref, dtype=np.intp),
    }


def _build_model(lay: dict[str, Any], prior: dict[str, float], param: str) -> None:
    """Build the model of the module docstring in the current PyMC model context.

    Non-centred: ``ε_t ~ N(0, I)``, ``Z_t = L ε_t``. Centred (`DefaultModel`'s form per factor):
    ``v_{t,f}``, the probit default rate of factor ``f``'s reference segment ``r``, is sampled
    from its exact prior ``MVN(c_r / k_r, D R D)`` with ``D = diag(√ρ_r / k_r)``,
    ``k = √(1 − ρ)``, ``c = Φ⁻¹(p)``; then ``Z_{t,f} = (c_r − k_r v_{t,f}) / √ρ_r``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    mu0, sd0 = prior["probit_pd_mu"], prior["probit_pd_sigma"]
    probit_pd = pm.Normal("probit_pd", mu0, sd0, dims="segment")
    pm.Deterministic("pd", pm.math.invprobit(probit_pd), dims="segment")
    rho = pm.Beta("rho", prior["rho_alpha"], prior["rho_beta"], dims="segment")
    sqrt_rho, k = pm.math.sqrt(rho), pm.math.sqrt(1.0 - rho)
    n_factors = len(lay["coords"]["factor"])
    chol = _factor_cholesky(n_factors, prior["lkj_eta"])
    pm.Deterministic("factor_correlation", chol @ chol.T, dims=("factor_i", "factor_j"))
    dims = ("period", "factor")
    if param == "noncentered":
        eps = pm.Normal("factor_innovation", 0.0, 1.0, dims=dims)
        z = pm.Deterministic("z", pt.dot(eps, chol.T), dims=dims)
    else:
        r = lay["ref"]
        mean, scale = probit_pd[r] / k[r], sqrt_rho[r] / k[r]
        v = pm.Normal("v", mu=mean, sigma=scale, dims=dims)
        if n_factors > 1:
            # MVN(mean, D R D) = Normal(mean, D²) × MVN(0, R)(ε) / Normal(0, I)(ε) with
            # ε = (v − mean) / D; w = L⁻¹ ε by forward substitution over the few factors
            # (elementwise over periods: far faster than pm.MvNormal's batched solves)
            eps = (v - mean) / scale
            w: list[Any] = []
            for i in range(n_factors):
                acc = eps[:, i] - sum(chol[i, j] * w[j] for j in range(i))
                w.append(acc / chol[i, i])
            log_ratio = 0.5 * (pt.sum(eps**2) - sum(pt.sum(wi**2) for wi in w))
            log_det = eps.shape[0] * pt.sum(pt.log(pt.diag(chol)))
            pm.Potential("factor_correlation_prior", log_ratio - log_det)
        z = pm.Deterministic("z", (probit_pd[r] - k[r] * v) / sqrt_rho[r], dims=dims)
    s = lay["s_idx"]
    zs = z[lay["t_idx"], lay["seg_factor"][s]]
    p = pm.math.invprobit((probit_pd[s] - sqrt_rho[s] * zs) / k[s])
    pm.Binomial("defaults", n=lay["n"], p=pm.math.clip(p, 1e-15, 1 - 1e-15), observed=lay["d"])


def _factor_cholesky(n_factors: int, eta: float) -> Any:
    """Cholesky factor of ``R ~ LKJ(eta)`` in the current model, sampled through its CPCs."""
    import pymc as pm
    import pytensor.tensor as pt

    if n_factors == 1:
        return pt.ones((1, 1))
    shapes = lkj_cpc_shapes(n_factors, eta)
    # c = 2 w − 1 with w ~ Beta(β, β): the CPC's law on (−1, 1) (see models.correlation)
    w = pm.Beta("factor_cpc_unit", shapes, shapes, shape=shapes.size)
    return cholesky_from_cpc(2.0 * w - 1.0, n_factors, xp=pt)
