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

The data checks and that choice live in `riskmodel.models.default_data`, the PyMC model in
`riskmodel.models.default_sampler`; this module holds the user's class, its results and its file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from riskmodel.errors import DefaultDataError
from riskmodel.models import _common as C
from riskmodel.models.default_data import prepare_default_data
from riskmodel.models.default_sampler import sample_default_model
from riskmodel.models.fitted import FittedDefaults

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


class DefaultModel(FittedDefaults):
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

    KIND = KIND

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
        self._fit = None

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
        cfg = self._config()
        C.check_sampling_args(draws, chains)
        df = prepare_default_data(data)
        covs = cfg["covariates"]
        if covs and macro is None:
            raise ValueError(f"this model has covariates {covs}; pass macro=DataFrame.")
        if not covs and macro is not None:
            raise ValueError("macro was given but the model has no covariates; pass covariates=.")
        (sample_rng,) = C.split_seed(seed, 1)
        mc = C.mcmc_settings(
            draws=draws,
            chains=chains,
            tune=tune,
            target_accept=target_accept,
            cores=cores,
            rng=sample_rng,
            progressbar=progressbar,
        )
        idata = sample_default_model(df, macro, cfg, mc)
        free = ["pd", "rho", *(["gamma"] if covs else [])]
        self._keep_fit(idata, cfg, free, idata["posterior"][[*free, "factor"]])
        return self

    # ------------------------------------------------------------------ results
    # `posterior`, `diagnostics`, `segments` and `save` come from `FittedDefaults`.
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
        cfg, idata = cls._read_saved(path, max_bytes)
        C.refuse_mismatch(
            path, "covariates", cfg["covariates"], None if covariates is None else list(covariates)
        )
        model = cls(
            covariates=cfg["covariates"] or None,
            prior=cfg["prior"],
            parameterization=cfg["parameterization"],
        )
        model._restore(cfg, idata)
        return model

    def __repr__(self) -> str:
        fitted = "fitted" if self._fit is not None else "not fitted"
        return f"DefaultModel(covariates={self.covariates!r}; {fitted})"
