"""IntensityModel: continuous-time multi-state models from panels observed at arbitrary times.

A time-homogeneous Markov process with generator ``Q`` per segment (only ``allowed`` transitions
have intensities); ``P(period) = expm(Q · period)`` is the transition matrix of any period length.
Likelihood: `riskmodel.models.intensity_likelihood`; MLE: `riskmodel.models.intensity_mle`; NUTS:
`riskmodel.models.intensity_bayes` (the only place importing PyMC, inside the fit). This module
holds the user's class; the steps of its fit are in `riskmodel.models.intensity_fit`, its point
summaries in `riskmodel.models.intensity_summaries` and its file in
`riskmodel.models.intensity_io`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.errors import ArgumentError
from riskmodel.models import _common as C
from riskmodel.models.draws import ParameterDraws
from riskmodel.models.intensity_config import model_config
from riskmodel.models.intensity_fit import check_fit_arguments, estimate, observations
from riskmodel.models.intensity_io import IntensityFit, read_fit, write_fit
from riskmodel.models.intensity_summaries import (
    allowed_index,
    coefficient_table,
    generator_summary,
    intensity_table,
    log_intensities,
    transition_summary,
)
from riskmodel.states import StateSpace

__all__ = ["IntensityModel"]


class IntensityModel:
    """Multi-state intensity (continuous-time Markov) model per segment.

    Parameters
    ----------
    states : StateSpace
        Absorbing states have no outgoing intensities.
    allowed : sequence of (from_state, to_state)
        The transitions with an intensity; every other off-diagonal is structurally zero.
    exact_states : sequence of str, default ()
        Absorbing states whose entry time is known exactly (death, default, closure): an
        observation of one is the density of jumping into it at that time, not a panel
        observation (see `riskmodel.models.intensity_likelihood`).
    pooling : {"none", "complete", "partial"}, default "none"
        ``"none"``: one generator per segment, estimated separately; ``"complete"``: one generator
        for all segments; ``"partial"`` (``method="nuts"`` only): segments' log intensities share
        a population mean and scale.
    covariates : list of str or mapping of str to spec, optional
        Log-linear effects on the intensities (see `riskmodel.models.intensity_covariates`):
        ``{"unemployment": "shared"}`` (one coefficient on every allowed intensity),
        ``{"gdp": "each"}`` (one per transition; a plain list of names means this) or
        ``{"gdp": [("well", "mild"), ...]}`` (one per listed transition). Values come from the
        panel's columns or from ``fit(macro=...)``, taken at each interval's start and held
        until the next observation. Coefficients are shared by the segments; ``log_intensity``
        is the baseline at the covariate means.
    exact_times : bool, default False
        Every transition time is observed exactly (continuous follow-up): a row is the jump
        out of the previous state at its time, or, in the same state, the end of follow-up.
    censored : mapping of str to sequence of str, optional
        Codes of the state column that mean "one of these states" (e.g. ``{"alive": ["well",
        "mild", "severe"]}``).

    Examples
    --------
    >>> import pandas as pd
    >>> ss = StateSpace(["well", "ill", "dead"], absorbing=["dead"], default="dead")
    >>> panel = pd.DataFrame({"id": [1, 1, 1, 2, 2, 3, 3], "t": [0, 1, 2.5, 0, 2, 0.5, 1.5],
    ...                       "s": ["well", "ill", "dead", "well", "well", "ill", "well"]})
    >>> m = IntensityModel(ss, allowed=[("well", "ill"), ("ill", "well"), ("ill", "dead")],
    ...                    exact_states=["dead"]).fit(panel, subject="id", time="t", state="s")
    >>> m.generator().dims
    ('segment', 'from_state', 'to_state')
    """

    def __init__(
        self,
        states: StateSpace,
        *,
        allowed: Sequence[tuple[str, str]],
        exact_states: Sequence[str] = (),
        pooling: str = "none",
        covariates: Sequence[str] | Mapping[str, Any] | None = None,
        censored: Mapping[str, Sequence[str]] | None = None,
        exact_times: bool = False,
    ) -> None:
        self.states = states
        self.allowed = allowed
        self.exact_states = exact_states
        self.pooling = pooling
        self.covariates = covariates
        self.censored = censored
        self.exact_times = exact_times
        self._fit: IntensityFit | None = None

    # ------------------------------------------------------------------ config
    def _config(self) -> dict[str, Any]:
        return model_config(
            self.states,
            allowed=self.allowed,
            exact_states=self.exact_states,
            pooling=self.pooling,
            covariates=self.covariates,
            censored=self.censored,
            exact_times=self.exact_times,
        )

    def _allowed_idx(self, cfg: dict) -> np.ndarray:
        return allowed_index(self.states, cfg)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        panel: pd.DataFrame,
        *,
        subject: str,
        time: str,
        state: str,
        segment: str | None = None,
        method: str = "mle",
        draws: int = 1000,
        chains: int = 4,
        tune: int = 1000,
        seed: int | np.random.Generator | None = None,
        target_accept: float | None = None,
        cores: int | None = None,
        progressbar: bool = False,
        time_unit: str | None = None,
        macro: pd.DataFrame | None = None,
    ) -> IntensityModel:
        """Fit to a long panel: one row per subject and observation time.

        Parameters
        ----------
        panel : DataFrame
            Columns named by `subject`, `time` (numeric, e.g. years; the unit of the intensities),
            `state` (state names or `censored` codes) and optionally `segment`.
        method : {"mle", "nuts"}, default "mle"
            Maximum likelihood with Hessian standard errors, or the Bayesian model with NUTS.
        draws, chains, tune, seed, target_accept, cores, progressbar
            NUTS settings (``method="nuts"``); `seed` seeds the sampler. `target_accept`
            defaults to 0.8 (PyMC's; the log-intensity posterior is smooth and nearly Gaussian:
            on cav, 0.9 took 1.5x the gradient evaluations per iteration for 15% more ESS) and
            to 0.9 with ``pooling="partial"`` (the hierarchy's funnel needs smaller steps).
        macro : DataFrame, optional
            Covariates by date: the panel's `time` column and covariate columns; each panel row
            gets the values of the latest date at or before its time (a macro series is
            piecewise constant between its dates). Covariates not in `macro` are read from the
            panel's own columns.
        time_unit : {"day", "month", "quarter", "year"}, optional
            The calendar unit of the `time` column, recorded with the fit: a scenario then
            converts the generator to its own period length by itself (``expm(Q · L)`` with the
            period length ``L`` in this unit). Without it a scenario must name the unit
            (``parameters: {time_unit: year}``).

        Returns ``self``, fitted.

        Raises
        ------
        PanelError
            On an invalid panel (see `riskmodel.models.intensity_panel.prepare_panel`).
        ArgumentError
            On bad arguments (unknown `method`, ``pooling="partial"`` with MLE).
        """
        cfg = self._config()
        check_fit_arguments(cfg, method, time_unit, time)
        obs = observations(
            panel, self.states, cfg, macro, subject=subject, time=time, state=state, segment=segment
        )
        cfg["method"] = method
        cfg["segments"] = list(obs.segments)
        if time_unit is not None:  # absent, not null, so configs of earlier fits read the same
            cfg["time_unit"] = time_unit
        mc = None
        if method == "nuts":
            C.check_sampling_args(draws, chains)
            if target_accept is None:
                target_accept = 0.9 if cfg["pooling"] == "partial" else 0.8
            mc = C.mcmc_settings(
                draws=draws,
                chains=chains,
                tune=tune,
                target_accept=target_accept,
                cores=cores,
                rng=C.split_seed(seed, 1)[0],
                progressbar=progressbar,
            )
        self._fit = estimate(obs, self._allowed_idx(cfg), self.states, cfg, mc)
        if self._fit.diagnostics:
            C.warn_on_diagnostics(self._fit.diagnostics, stacklevel=3)
        return self

    # ------------------------------------------------------------------ results
    def _require_fit(self) -> IntensityFit:
        if self._fit is None:
            raise C.NotFittedError(
                "this IntensityModel has no estimates yet; call .fit() first (or "
                "IntensityModel.load(path))."
            )
        return self._fit

    @property
    def method(self) -> str:
        """``"mle"`` or ``"nuts"``."""
        return self._require_fit().config["method"]

    @property
    def segments(self) -> tuple[str, ...]:
        """Segment names (``("all",)`` without a segment column or with complete pooling)."""
        return tuple(self._require_fit().config["segments"])

    @property
    def time_unit(self) -> str | None:
        """The calendar unit of the fitted panel's time column, if `fit` was told it."""
        return self._require_fit().config.get("time_unit")

    @property
    def minus2loglik(self) -> float:
        """−2 × the maximised log-likelihood (``method="mle"``)."""
        fit = self._require_fit()
        if "mle" not in fit.groups:
            raise ArgumentError("minus2loglik exists for method='mle' fits only.")
        return float(fit.groups["mle"].attrs["minus2loglik"])

    @property
    def diagnostics(self) -> dict[str, Any] | None:
        """R-hat, bulk ESS and divergences (NUTS fits; None for MLE)."""
        return self._require_fit().diagnostics

    def log_intensity_draws(self) -> xr.DataArray:
        """Log intensities per draw, dims ``(chain, draw, segment, transition)`` (NUTS only)."""
        fit = self._require_fit()
        if "posterior" not in fit.groups:
            raise ArgumentError("draws exist for method='nuts' fits only; this is an MLE fit.")
        return fit.groups["posterior"]["log_intensity"]

    def _log_q(self, covariates: Mapping[str, float] | None) -> tuple[np.ndarray, np.ndarray]:
        """Log intensities at `covariates` (see `riskmodel.models.intensity_summaries`)."""
        return log_intensities(self._require_fit(), covariates)

    def generator(
        self, stat: str | float = "mean", *, covariates: Mapping[str, float] | None = None
    ) -> xr.DataArray:
        """Return a point summary of the generator ``Q``, dims ``(segment, from_state, to_state)``.

        Parameters
        ----------
        stat : "mean", "median" or float in (0, 1)
            NUTS: posterior mean, median or quantile of each entry. MLE: ``"mean"`` and
            ``"median"`` give the estimate; a quantile ``q`` gives ``exp(log q̂ + z_q · se)`` per
            off-diagonal (the Wald interval on the log scale, as msm's ``ci="delta"`` bounds on
            intensities); the diagonal is then minus the row sum of those bounds.
        covariates : mapping of str to float, optional
            Covariate models: the generator at these values (one per covariate); default the
            covariate means of the fitted panel (the baseline ``log_intensity``).
        """
        return generator_summary(self._require_fit(), self.states, stat, covariates)

    def transition_matrix(
        self,
        period: float = 1.0,
        stat: str | float | None = "mean",
        *,
        covariates: Mapping[str, float] | None = None,
    ) -> xr.DataArray:
        """``P(period) = expm(Q · period)`` in the time unit of the fitted panel.

        Parameters
        ----------
        period : float, default 1.0
            Period length in the panel's time unit (``1/12`` for months when time is in years).
        stat : "mean", "median", float in (0, 1) or None
            NUTS: the statistic of ``P`` over draws (``expm`` per draw first), or None for every
            draw (dims ``chain, draw, segment, from_state, to_state``). MLE: ``"mean"`` gives
            ``expm`` of the estimated generator (the MLE of ``P`` by invariance).
        covariates : mapping of str to float, optional
            Covariate models: the covariate values in force over the period (default: means).
        """
        fit = self._require_fit()
        return transition_summary(fit, self.states, period, stat, covariates)

    def parameter_draws(
        self, period: float, *, covariates: Mapping[str, float] | None = None
    ) -> ParameterDraws:
        """Return the engine's parameters at one period length: ``expm(Q · period)`` per draw.

        NUTS: one matrix per posterior draw; MLE: the single point estimate. Write it with
        ``.to_netcdf(path)`` for a scenario's ``parameters: {posterior: path}``; `period` is in
        the panel's time unit (``1/12`` for a monthly engine when time is in years).
        `covariates`: the covariate values in force (covariate models; default the means).
        """
        stat = "mean" if self.method == "mle" else None
        P = self.transition_matrix(period, stat=stat, covariates=covariates)
        vals = np.asarray(P.values).reshape(-1, *P.shape[-3:])
        vals[..., self.states.absorbing_idx, :] = np.eye(self.states.n)[self.states.absorbing_idx]
        vals /= vals.sum(axis=-1, keepdims=True)  # rounding of expm (~1e-15)
        return ParameterDraws(self.states, self.segments, vals)

    def coefficients(self) -> pd.DataFrame:
        """Covariate coefficients (per unit of the covariate, on the log intensity).

        MLE: ``estimate``, ``se`` and 95% Wald bounds ``lower``/``upper``; NUTS:
        ``arviz.summary`` of the ``beta`` draws. Index: ``"name"`` for a shared
        coefficient, ``"name:from->to"`` per transition.
        """
        return coefficient_table(self._require_fit())

    def summary(self) -> pd.DataFrame:
        """One row per segment and allowed transition.

        MLE: ``estimate``, ``se_log`` (standard error of the log intensity) and the 95% bounds
        ``lower``/``upper`` (Wald on the log scale). NUTS: ``arviz.summary`` of the intensities.
        With covariates these are the baseline intensities (at the covariate means); see
        `coefficients` for the effects.
        """
        return intensity_table(self._require_fit())

    # ------------------------------------------------------------------ io
    def save(self, path: str | PathLike) -> None:
        """Write the estimates (or posterior) and the config to netCDF (ArviZ InferenceData)."""
        write_fit(path, self.states, self._require_fit())

    @classmethod
    def load(
        cls,
        path: str | PathLike,
        *,
        states: StateSpace | None = None,
        max_bytes: int | None = None,
    ) -> IntensityModel:
        """Load a model written by `save`; refuse an edited file or other `states`.

        Raises
        ------
        ModelFileError
            If the file is not a saved IntensityModel, its config was edited, or it was fitted on
            other `states`.
        ResourceLimitError
            If its arrays would take more memory than `max_bytes`.
        """
        stored, fit = read_fit(path, states=states, max_bytes=max_bytes)
        cfg = fit.config
        model = cls(
            stored,
            allowed=[tuple(p) for p in cfg["allowed"]],
            exact_states=cfg["exact_states"],
            pooling=cfg["pooling"],
            censored=cfg["censored"] or None,
            exact_times=cfg["exact_times"],
            covariates=dict(cfg.get("covariates") or []) or None,
        )
        model._fit = fit
        return model

    def __repr__(self) -> str:
        fitted = "fitted" if self._fit is not None else "not fitted"
        return (
            f"IntensityModel(states={list(self.states.names)}, pooling={self.pooling!r}; {fitted})"
        )
