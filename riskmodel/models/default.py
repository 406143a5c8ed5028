"""DefaultModel: PD and asset correlation of the one-factor Gaussian model from default counts.

Model (segments ``s``, periods ``t``)::

    probit(PD_s)  ~ Normal(probit_pd_mu, probit_pd_sigma)       default Normal(Φ⁻¹(0.01), 1.0)
    rho           ~ Beta(rho_alpha, rho_beta)                     default Beta(2, 14): mean 0.125
    gamma_k       ~ Normal(0, gamma_sigma)  (with covariates)     default sd 1 per sd of x_k
    Z_t           ~ Normal(sum_k gamma_k (x_tk - m_k) / sd_k, 1)  systematic factor, shared
    p_{s,t}       = Φ((Φ⁻¹(PD_s) − √rho Z_t) / √(1 − rho))
    defaults_{s,t} ~ Binomial(customers_{s,t}, p_{s,t})

``PD_s`` is the unconditional PD per period at average macro conditions, ``rho`` the asset
correlation, and a negative ``Z_t`` a downturn (the sign convention of the engine). The prior on
``probit(PD)`` puts 95% of its mass on PDs between about 1e-5 and 0.35 per period; the Beta(2, 14)
prior on ``rho`` covers the range regulators and practitioners see (0.02–0.35) and keeps ``rho``
away from 0, where the factor becomes unidentified.

Sampling uses what the data identify. With ``k = √(1 − rho)`` and a reference segment (the one
with most defaults), ``v_t = (Φ⁻¹(PD_ref) − √rho Z_t) / k`` is that segment's probit default rate
in period ``t`` and ``d_s = (Φ⁻¹(PD_s) − Φ⁻¹(PD_ref)) / k`` the other segments' offsets, so
``p_{s,t} = Φ(v_t + d_s)``. Their priors are the ones above, transformed exactly. With many
customers per period the data pin ``v_t`` down and the *centred* form (``v_t`` sampled) mixes
well; with few defaults the *non-centred* form (``Z_t`` sampled) does.
``parameterization="auto"`` compares the data's information on the factor with its prior scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from riskmodel._files import replace_own_file
from riskmodel.data.macro import align_macro
from riskmodel.errors import DefaultDataError
from riskmodel.models import _common as C
from riskmodel.models.netcdf_size import check_netcdf_size, netcdf_engine

__all__ = ["DefaultDataError", "DefaultModel"]

KIND = "DefaultModel"
DEFAULT_PRIOR = {
    "probit_pd_mu": float(special.ndtri(0.01)),
    "probit_pd_sigma": 1.0,
    "rho_alpha": 2.0,
    "rho_beta": 14.0,
    "gamma_sigma": 1.0,
}
PARAMETERIZATIONS = ("auto", "centered", "noncentered")


def _prepare(data: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            "data must be a DataFrame with columns period, [segment,] customers, defaults; "
            f"got {type(data).__name__}."
        )
    need = ["period", "customers", "defaults"]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise DefaultDataError(
            f"default data is missing column(s) {missing}; got {list(data.columns)}. It needs "
            "period, customers, defaults and optionally segment."
        )
    df = data[[*need, *(["segment"] if "segment" in data.columns else [])]].copy()
    if "segment" not in df.columns:
        df["segment"] = "all"
    df = df.reset_index(drop=True)
    na = df.isna().any(axis=1).to_numpy()
    if na.any():
        raise DefaultDataError(
            f"default data has missing values at rows {np.flatnonzero(na)[:5].tolist()} "
            "(0-based); drop or fill them."
        )
    for col in need:
        v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(v) | (v != np.round(v)) | (v < 0))
        if bad.size:
            raise DefaultDataError(
                f"column {col!r} must hold non-negative integers; rows {bad[:5].tolist()} "
                "(0-based) don't."
            )
        df[col] = v.astype(np.int64)
    over = np.flatnonzero(df["defaults"].to_numpy() > df["customers"].to_numpy())
    if over.size:
        raise DefaultDataError(
            f"defaults exceed customers at rows {over[:5].tolist()} (0-based); customers are "
            "those at risk at the start of the period."
        )
    df["segment"] = df["segment"].astype(str)
    dup = df.duplicated(["period", "segment"], keep=False).to_numpy()
    if dup.any():
        raise DefaultDataError(
            f"default data has duplicate (period, segment) rows {np.flatnonzero(dup)[:5].tolist()}"
            " (0-based); keep one row per period and segment."
        )
    return df


class DefaultModel:
    """Bayesian PD and asset correlation of the one-factor Gaussian default model.

    Parameters
    ----------
    covariates : sequence of str, optional
        Macro variables linked to the mean of the factor ``Z_t``.
    prior : mapping, optional
        Keys (defaults): ``probit_pd_mu`` (Φ⁻¹(0.01)), ``probit_pd_sigma`` (1.0),
        ``rho_alpha`` (2.0), ``rho_beta`` (14.0), ``gamma_sigma`` (1.0). See the module docstring.
    parameterization : {"auto", "centered", "noncentered"}
        How the latent factor is sampled (see the module docstring).

    Examples
    --------
    >>> from riskmodel.data.synthetic import simulate_default_history
    >>> hist = simulate_default_history(0.02, 0.1, customers=5000, n_periods=40, seed=1)
    >>> model = DefaultModel().fit(hist, draws=500, chains=2, seed=1)  # doctest: +SKIP
    >>> draws = transition_model.parameter_draws().with_correlation(
    ...     model.correlation_draws())  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        covariates: Sequence[str] | None = None,
        prior: Mapping[str, float] | None = None,
        parameterization: str = "auto",
    ) -> None:
        self.covariates = covariates
        self.prior = prior
        self.parameterization = parameterization
        self._fit: C.DefaultFit | None = None

    def _config(self) -> dict[str, Any]:
        if isinstance(self.covariates, str):
            raise TypeError(f"covariates must be a list of names; got {self.covariates!r}.")
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(
                f"parameterization must be one of {list(PARAMETERIZATIONS)}; "
                f"got {self.parameterization!r}."
            )
        return {
            "covariates": [str(c) for c in (self.covariates or [])],
            "prior": C.resolve_prior(self.prior, DEFAULT_PRIOR),
            "parameterization": self.parameterization,
        }

    def fit(
        self,
        data: pd.DataFrame,
        *,
        macro: pd.DataFrame | None = None,
        draws: int = 1000,
        chains: int = 4,
        seed: int | np.random.Generator | None = None,
        tune: int = 1000,
        target_accept: float = 0.9,
        cores: int | None = None,
        progressbar: bool = False,
    ) -> DefaultModel:
        """Fit to default counts.

        Parameters
        ----------
        data : DataFrame
            ``period, [segment,] customers, defaults``: customers at risk at the start of each
            period and defaults during it; one row per period (and segment).
        macro : DataFrame, optional
            ``period`` and the covariates; period ``t``'s values drive ``Z_t``.
        draws, chains, seed, tune, target_accept, cores, progressbar
            As in `TransitionModel.fit` (passed to ``pymc.sample``).

        Returns
        -------
        DefaultModel
            ``self``, fitted.

        Warns
        -----
        ConvergenceWarning
            On R-hat > 1.01, low bulk ESS or divergences, with the remedy.
        """
        import pymc as pm
        import pytensor.tensor as pt

        cfg = self._config()
        C.check_sampling_args(draws, chains)
        df = _prepare(data)
        covs = cfg["covariates"]
        if covs and macro is None:
            raise ValueError(f"this model has covariates {covs}; pass macro=DataFrame.")
        if not covs and macro is not None:
            raise ValueError("macro was given but the model has no covariates; pass covariates=.")
        periods = np.sort(df["period"].unique())
        segments = sorted(df["segment"].unique())
        t_idx = np.searchsorted(periods, df["period"].to_numpy())
        s_idx = np.searchsorted(segments, df["segment"].to_numpy())
        n = df["customers"].to_numpy()
        d = df["defaults"].to_numpy()
        prior = cfg["prior"]
        param = cfg["parameterization"]
        if param == "auto":
            param = _choose_parameterization(n, d, s_idx, t_idx, len(periods), prior)
        cfg |= {"segments": segments, "periods": periods.tolist(), "parameterization_used": param}
        coords = {"segment": segments, "period": periods, "covariate": covs}
        (sample_rng,) = C.split_seed(seed, 1)
        # Parameterised by what the data identify: v_t, the probit default rate of a reference
        # segment in period t, and d_s, the other segments' probit offsets from it (see
        # `_reparameterisation`). The PDs, rho and Z_t are deterministic functions of these.
        ref = int(np.argmax(np.bincount(s_idx, weights=d, minlength=len(segments))))
        cfg["reference_segment"] = segments[ref]
        others = np.array([s for s in range(len(segments)) if s != ref], dtype=np.intp)
        with pm.Model(coords=coords):
            mu0, sd0 = prior["probit_pd_mu"], prior["probit_pd_sigma"]
            c_ref = pm.Normal("probit_pd_ref", mu0, sd0)
            rho = pm.Beta("rho", prior["rho_alpha"], prior["rho_beta"])
            srho, k = pm.math.sqrt(rho), pm.math.sqrt(1.0 - rho)
            offset = pt.zeros(len(segments))
            if others.size:
                # c_s = c_ref + k d_s ~ Normal(mu0, sd0)  <=>  d_s ~ Normal((mu0 - c_ref)/k, sd0/k)
                d_s = pm.Normal("probit_offset", (mu0 - c_ref) / k, sd0 / k, shape=others.size)
                offset = pt.set_subtensor(offset[others], d_s)
            probit_pd = pm.Deterministic("probit_pd", c_ref + k * offset, dims="segment")
            pm.Deterministic("pd", pm.math.invprobit(probit_pd), dims="segment")
            shift = 0.0
            if covs:
                x = align_macro(macro, periods, covs)
                m, sd = x.mean(axis=0), x.std(axis=0)
                flat = [c for c, s in zip(covs, sd, strict=True) if not s > 0]
                if flat:
                    raise ValueError(f"covariate(s) {flat} are constant over the fitted periods.")
                cfg |= {"macro_mean": m.tolist(), "macro_sd": sd.tolist()}
                gamma = pm.Normal("gamma", 0.0, prior["gamma_sigma"], dims="covariate")
                shift = pm.math.dot((x - m) / sd, gamma)
            if param == "centered":
                # v_t = (probit(PD_ref) - sqrt(rho) Z_t) / sqrt(1 - rho)
                v = pm.Normal("v", (c_ref - srho * shift) / k, srho / k, dims="period")
                pm.Deterministic("factor", (c_ref - k * v) / srho, dims="period")
            else:
                z = pm.Normal("factor", shift, 1.0, dims="period")
                v = (c_ref - srho * z) / k
            p = pm.math.invprobit(v[t_idx] + offset[s_idx])
            pm.Binomial("defaults", n=n, p=pm.math.clip(p, 1e-15, 1 - 1e-15), observed=d)
            idata = C.nuts(
                draws=draws,
                tune=tune,
                chains=chains,
                cores=cores,
                target_accept=target_accept,
                random_seed=C.pymc_seed(sample_rng),
                progressbar=progressbar,
            )
        free = ["pd", "rho", *(["gamma"] if covs else [])]
        groups = {g: idata[g] for g in ("posterior", "sample_stats")}
        diag = C.convergence_diagnostics(
            groups["posterior"][[*free, "factor"]], groups["sample_stats"]
        )
        self._fit = C.DefaultFit(config=cfg, groups=groups, free=free, diagnostics=diag)
        C.warn_on_diagnostics(diag, stacklevel=3)
        return self

    # ------------------------------------------------------------------ results
    def _require_fit(self) -> C.DefaultFit:
        if self._fit is None:
            raise C.NotFittedError(
                "this DefaultModel has no posterior yet; call .fit() first (or DefaultModel.load)."
            )
        return self._fit

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group: ``pd`` (segment), ``rho``, ``factor`` (period), ``gamma``."""
        return self._require_fit().groups["posterior"]

    @property
    def diagnostics(self) -> dict[str, Any]:
        """R-hat, bulk ESS and divergences of the fit."""
        return self._require_fit().diagnostics

    @property
    def segments(self) -> tuple[str, ...]:
        """Segments of the fitted default-rate history, in the order of the draws."""
        return tuple(self._require_fit().config["segments"])

    def correlation_draws(self) -> np.ndarray:
        """Posterior draws of the asset correlation ρ, shape (chains * draws,)."""
        return np.asarray(self.posterior["rho"].values).reshape(-1)

    def pd_draws(self) -> xr.DataArray:
        """Posterior draws of the PD per period, dims ``(draw, segment)``."""
        pd_ = self.posterior["pd"].stack(sample=("chain", "draw")).transpose("sample", "segment")
        return xr.DataArray(
            pd_.values, dims=("draw", "segment"), coords={"segment": list(self.segments)}
        )

    def factor_shift(self, macro: Mapping[str, Sequence[float] | np.ndarray]) -> np.ndarray:
        """Mean of the factor ``Z_t`` along a macro path, per draw: shape (n_draws, n_periods).

        The engine's per-period ``shift`` for a scenario's macro path. Zero for a model without
        covariates (then the series only set the number of periods).
        """
        fit = self._require_fit()
        covs = fit.config["covariates"]
        lengths = {k: np.asarray(v).reshape(-1).size for k, v in macro.items()}
        n_draws = self.correlation_draws().size
        if not covs:
            if len(set(lengths.values())) != 1:
                raise ValueError("pass at least one macro series to set the number of periods.")
            return np.zeros((n_draws, next(iter(lengths.values()))))
        missing = [c for c in covs if c not in macro]
        if missing:
            raise ValueError(f"macro path lacks covariate(s) {missing}; the model uses {covs}.")
        x = np.column_stack([np.asarray(macro[c], dtype=float).reshape(-1) for c in covs])
        xs = (x - np.asarray(fit.config["macro_mean"])) / np.asarray(fit.config["macro_sd"])
        gamma = np.asarray(self.posterior["gamma"].values).reshape(n_draws, len(covs))
        return gamma @ xs.T

    def summary(self, **kwargs) -> pd.DataFrame:
        """ArviZ summary of ``pd``, ``rho`` (and ``gamma``)."""
        import arviz as az

        fit = self._require_fit()
        return az.summary(self.posterior[fit.free], **kwargs)

    # ------------------------------------------------------------------ io
    def save(self, path: str | PathLike) -> None:
        """Write the posterior and config to netCDF (``arviz.InferenceData``)."""
        import arviz as az

        fit = self._require_fit()
        groups = {k: v.copy() for k, v in fit.groups.items()}
        cfg = dict(fit.config, free=fit.free, diagnostics=fit.diagnostics)
        groups["posterior"].attrs.update(C.config_attrs(KIND, cfg))
        replace_own_file(
            path,
            lambda tmp: az.InferenceData(**groups).to_netcdf(str(tmp), engine=netcdf_engine()),
            kind="DefaultModel",
        )

    @classmethod
    def load(
        cls,
        path: str | PathLike,
        *,
        covariates: Sequence[str] | None = None,
        max_bytes: int | None = None,
    ) -> DefaultModel:
        """Load a model written by `save`; `covariates`, if given, must match the file.

        The file's in-memory size is estimated from its header first and refused past
        `max_bytes` (default `riskmodel.models.draws.MAX_POSTERIOR_BYTES`, 1 GiB).

        Raises
        ------
        ModelFileError
            If the file is not a saved DefaultModel, was edited, or its covariates differ.
        ResourceLimitError
            If the file's arrays would take more memory than `max_bytes`.
        """
        import arviz as az

        try:
            check_netcdf_size(path, max_bytes=max_bytes)
        except OSError:
            pass  # not netCDF: ArviZ says so below
        idata = az.from_netcdf(str(path), engine=netcdf_engine())
        if "posterior" not in idata.groups():
            raise C.ModelFileError(f"{path} has no posterior group; it is not a saved model.")
        cfg = C.read_config(idata.posterior.attrs, KIND, path)
        C.refuse_mismatch(
            path, "covariates", cfg["covariates"], None if covariates is None else list(covariates)
        )
        model = cls(
            covariates=cfg["covariates"] or None,
            prior=cfg["prior"],
            parameterization=cfg["parameterization"],
        )
        free, diag = cfg.pop("free"), cfg.pop("diagnostics")
        groups = {g: idata[g].load() for g in idata.groups()}
        model._fit = C.DefaultFit(config=cfg, groups=groups, free=free, diagnostics=diag)
        return model

    def __repr__(self) -> str:
        fitted = "fitted" if self._fit is not None else "not fitted"
        return f"DefaultModel(covariates={self.covariates!r}; {fitted})"


def _choose_parameterization(n, d, s_idx, t_idx, n_periods, prior) -> str:
    """Centred when the data's sd of ``w_t`` is below its prior scale ``sqrt(E[rho])``."""
    rate = np.zeros(s_idx.max() + 1)
    for s in range(rate.size):
        sel = s_idx == s
        rate[s] = (d[sel].sum() + 0.5) / (n[sel].sum() + 1.0)
    rate = np.clip(rate, 1e-6, 0.5)
    c = special.ndtri(rate)
    info_row = (
        n
        * (np.exp(-0.5 * c[s_idx] ** 2) / np.sqrt(2 * np.pi)) ** 2
        / (rate[s_idx] * (1 - rate[s_idx]))
    )
    info = np.bincount(t_idx, weights=info_row, minlength=n_periods)
    data_sd = np.median(1.0 / np.sqrt(np.maximum(info, 1e-12)))
    prior_sd = np.sqrt(prior["rho_alpha"] / (prior["rho_alpha"] + prior["rho_beta"]))
    return "centered" if data_sd < prior_sd else "noncentered"
