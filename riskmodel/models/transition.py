"""TransitionModel: Bayesian transition matrices per segment.

The class is the user's entry point: it stores its options, and its methods delegate to the
modules that hold each responsibility: `riskmodel.models.transition_config` (the validated config
and the checks of fitted data), `riskmodel.models.transition_fit` (which estimator runs),
`riskmodel.models.transition_summaries` (point summaries) and `riskmodel.models.transition_io`
(the fitted state, `TransitionFit`, and its netCDF file). PyMC and ArviZ are imported only inside
the methods that need them (MCMC fits, ``summary``, ``save``/``load``), so
``import riskmodel.models`` stays light and PyMC-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.models import _common as C
from riskmodel.models.draws import ParameterDraws, draws_from_posterior
from riskmodel.models.transition_config import (
    DEFAULT_PRIOR,
    fit_counts,
    transition_config,
)
from riskmodel.models.transition_fit import estimate
from riskmodel.models.transition_io import TransitionFit, read_fit, write_fit
from riskmodel.models.transition_summaries import (
    posterior_matrix,
    prior_matrix,
    summary_parameters,
)
from riskmodel.states import StateSpace

__all__ = ["TransitionModel"]


class TransitionModel:
    """Bayesian model of per-segment transition matrices.

    Parameters
    ----------
    states : StateSpace
        Absorbing rows are fixed identity rows and are never estimated.
    pooling : {"none", "partial", "complete"}, default "none"
        ``"none"``: each segment's rows get an independent conjugate Dirichlet posterior (exact,
        no MCMC). ``"complete"``: one conjugate matrix for all segments. ``"partial"``:
        hierarchical; segment rows ``~ Dirichlet(kappa_i mu_i)`` around a population row
        ``mu_i``, fitted with NUTS on the Dirichlet–multinomial marginal likelihood, so thin
        segments shrink toward the population (see `riskmodel.models.hierarchical`).
    covariates : sequence of str, optional
        Macro variables for a multinomial-logit model (see `riskmodel.models.covariate` for the
        parameterisation and its justification); `pooling` then applies to the intercepts.
    prior : float or mapping, optional
        A number sets ``concentration``. Keys (defaults): ``concentration`` (1.0; Dirichlet
        parameter of every allowed destination, for the rows or, with partial pooling, for
        ``mu``), ``log_kappa_mu`` (log 200) and ``log_kappa_sigma`` (1.5) for the log-normal
        prior on ``kappa``, ``intercept_sigma`` (5.0), ``coef_sigma`` (1.0, per sd of a macro
        variable), ``log_tau_mu`` (log 0.5) and ``log_tau_sigma`` (0.75) for covariate models (see
        `riskmodel.models.covariate`).
    structural_zeros : sequence of (from_state, to_state), optional
        Transitions that can never happen; their probability stays exactly zero.

    Examples
    --------
    >>> import xarray as xr
    >>> from riskmodel.states import StateSpace
    >>> ss = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")
    >>> counts = xr.DataArray([[[90, 8, 2], [30, 60, 10], [0, 0, 0]]],
    ...     dims=("segment", "from_state", "to_state"),
    ...     coords={"segment": ["retail"], "from_state": list(ss.names),
    ...             "to_state": list(ss.names)})
    >>> model = TransitionModel(ss).fit(counts, seed=0)
    >>> float(model.transition_matrix().sel(segment="retail", from_state="good",
    ...                                     to_state="bad").round(4))
    0.0874
    """

    def __init__(
        self,
        states: StateSpace,
        *,
        pooling: str = "none",
        covariates: Sequence[str] | None = None,
        prior: float | Mapping[str, float] | None = None,
        structural_zeros: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        self.states = states
        self.pooling = pooling
        self.covariates = covariates
        self.prior = prior
        self.structural_zeros = structural_zeros
        self._fit: TransitionFit | None = None

    # ------------------------------------------------------------------ config
    def _config(self) -> dict[str, Any]:
        """Return the validated config (raises on bad constructor arguments)."""
        return transition_config(
            self.states,
            pooling=self.pooling,
            covariates=self.covariates,
            prior=self.prior,
            structural_zeros=self.structural_zeros,
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        data: pd.DataFrame | xr.DataArray,
        *,
        macro: pd.DataFrame | None = None,
        draws: int = 1000,
        chains: int = 4,
        seed: int | np.random.Generator | None = None,
        tune: int = 1000,
        target_accept: float | None = None,
        cores: int | None = None,
        progressbar: bool = False,
        nuts_sampler: str | None = None,
    ) -> TransitionModel:
        """Fit the model to a panel or to transition counts.

        Parameters
        ----------
        data : DataFrame or xarray.DataArray
            A panel (``customer_id, period, state`` [, ``segment``]; see
            `riskmodel.data.panel.panel_to_counts`) or counts with dims ``(segment, from_state,
            to_state)`` (covariate models: ``(period, segment, from_state, to_state)``).
        macro : DataFrame, optional
            ``period`` and the covariates; required iff the model has covariates. Transition
            ``t -> t+1`` uses period ``t``'s values.
        draws, chains : int
            Posterior draws per chain and number of chains. For conjugate models the draws are
            sampled directly (independent) from the Dirichlet posterior.
        seed : int, Generator or None
            Seeds everything random in the fit (NUTS and posterior draws).
        tune, cores, progressbar
            Passed to ``pymc.sample`` (MCMC models only).
        nuts_sampler : str, optional
            Partial pooling only: ``"numpyro"`` (default: NumPyro's NUTS in a JAX program
            compiled once per structure and reused by the next fits; see
            `riskmodel.models.partial_jax`), ``"pymc-numpyro"`` (PyMC's own conversion to
            NumPyro, compiled anew for every fit), ``"pymc"`` (PyMC's NUTS, C backend),
            ``"numba"``, ``"nutpie"`` or ``"blackjax"`` (the last two need their package); see
            ``benchmarks/fit.py`` for their speed.
        target_accept : float, optional
            NUTS target acceptance rate. Default: 0.8 for partial pooling (the marginalised
            model is well conditioned), 0.9 for covariate models and 0.95 for covariate models
            with partially pooled intercepts (a hierarchy over few segments needs small steps).

        Returns
        -------
        TransitionModel
            ``self``, fitted.

        Raises
        ------
        PanelError, MacroError
            On invalid data (see the data layer) or observed structural zeros.

        Warns
        -----
        ConvergenceWarning
            When R-hat > 1.01, bulk ESS < 100 per chain or any divergence; the message says how
            to refit.
        """
        cfg = self._config()
        C.check_sampling_args(draws, chains)
        counts = fit_counts(data, self.states, cfg, macro)
        cfg["segments"] = [str(s) for s in counts.segment.values]
        if target_accept is None:
            covs = bool(cfg["covariates"])
            target_accept = 0.8 if not covs else 0.95 if cfg["pooling"] == "partial" else 0.9
        sample_rng, draw_rng = C.split_seed(seed, 2)
        mc = C.mcmc_settings(
            draws=draws,
            chains=chains,
            tune=tune,
            target_accept=target_accept,
            cores=cores,
            rng=sample_rng,
            progressbar=progressbar,
        )
        self._fit = estimate(self.states, cfg, counts, macro, mc, draw_rng, nuts_sampler)
        if self._fit.diagnostics:
            C.warn_on_diagnostics(self._fit.diagnostics, stacklevel=3)
        return self

    # ------------------------------------------------------------------ results
    def _require_fit(self) -> TransitionFit:
        if self._fit is None:
            raise C.NotFittedError(
                "this TransitionModel has no posterior yet; call .fit() first (or "
                "TransitionModel.load(path))."
            )
        return self._fit

    @property
    def segments(self) -> tuple[str, ...]:
        """Segment names of the fitted data."""
        return tuple(self._require_fit().config["segments"])

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group (dims ``chain, draw, …``)."""
        return self._require_fit().groups["posterior"]

    @property
    def idata(self):
        """The posterior as ``arviz.InferenceData`` (built on first use for conjugate fits)."""
        import arviz as az

        fit = self._require_fit()
        return az.InferenceData(**fit.groups)

    @property
    def diagnostics(self) -> dict[str, Any] | None:
        """R-hat, bulk ESS and divergences of the MCMC fit (None for conjugate fits)."""
        return self._require_fit().diagnostics

    @property
    def macro_reference(self) -> dict[str, float]:
        """Return the macro values at which a covariate model's matrices are evaluated.

        The means over the fitted transition periods, used by `transition_matrix` and
        ``parameter_draws().transitions``.
        """
        cfg = self._require_fit().config
        return dict(zip(cfg["covariates"], cfg.get("macro_mean", []), strict=True))

    @property
    def counts(self) -> xr.DataArray | None:
        """The transition counts the model was fitted to (None if the file had none)."""
        return self._require_fit().counts

    def prior_matrix(self, stat: str | float = "mean") -> xr.DataArray:
        """Return the same summary as `transition_matrix`, of the prior instead of the posterior.

        Analytic for conjugate models (``pooling="none"`` or ``"complete"`` without covariates):
        every allowed destination of a row has the prior Dirichlet parameter ``concentration``,
        so each entry's prior marginal is ``Beta(c, (k − 1) c)`` with ``k`` allowed destinations.
        Comparing it with `transition_matrix` shows how much the data moved each entry.

        Raises
        ------
        NotFittedError
            Before `fit`.
        ValueError
            For hierarchical or covariate models, whose prior on a segment row is not a fixed
            Dirichlet (compare segment rows with the population row instead).
        """
        fit = self._require_fit()
        concentration = float(C.resolve_prior(self.prior, DEFAULT_PRIOR)["concentration"])
        return prior_matrix(fit, self.states, concentration, stat)

    def transition_matrix(self, stat: str | float = "mean") -> xr.DataArray:
        """Return a point summary of the posterior transition matrices.

        Parameters
        ----------
        stat : "mean", "median" or float in (0, 1)
            Posterior mean, median or quantile of each entry. For conjugate models these are
            the analytic Beta marginals ``Beta(alpha_j, alpha_0 - alpha_j)``; otherwise they are
            computed from the draws. Medians and quantiles are per entry, so their rows need
            not sum to one. For covariate models: at the average macro of the fit.

        Returns
        -------
        xarray.DataArray
            Dims ``(segment, from_state, to_state)`` over all states; absorbing rows identity.

        Raises
        ------
        NotFittedError
            Before `fit`.
        ValueError
            For an unknown `stat`.
        """
        return posterior_matrix(self._require_fit(), self.states, stat)

    def parameter_draws(self) -> ParameterDraws:
        """All posterior draws in the engine's format (see `riskmodel.models.draws`)."""
        fit = self._require_fit()
        post = self.posterior.copy()
        post.attrs = {
            **self.states.to_attrs(),
            "covariates": ",".join(fit.config["covariates"]),
        }
        return draws_from_posterior(post, self.states)

    def _parameters(self) -> xr.Dataset:
        """Return the sampled parameters users read (and diagnostics check), dims (chain, draw)."""
        return summary_parameters(self._require_fit(), self.states)

    def summary(self, **kwargs) -> pd.DataFrame:
        """ArviZ summary table of the model's parameters (``arviz.summary`` keyword arguments).

        Conjugate models: the transient rows' transition probabilities. Partial pooling:
        ``kappa`` per origin and ``mu`` per allowed transition. Covariate models: the logit
        parameters on the standardised macro scale (``a``/``a_pop``, ``tau``, ``beta``).
        """
        import arviz as az

        return az.summary(self._parameters(), **kwargs)

    # ------------------------------------------------------------------ io
    def save(self, path: str | PathLike) -> None:
        """Write the posterior and the config to a netCDF file (``arviz.InferenceData``)."""
        write_fit(path, self.states, self._require_fit())

    @classmethod
    def load(
        cls,
        path: str | PathLike,
        *,
        states: StateSpace | None = None,
        pooling: str | None = None,
        covariates: Sequence[str] | None = None,
        structural_zeros: Sequence[tuple[str, str]] | None = None,
        max_bytes: int | None = None,
    ) -> TransitionModel:
        """Load a model written by `save`.

        Keyword arguments given are checked against the stored config; a mismatch (e.g. a file
        fitted on another state space) is refused. The file's in-memory size is estimated from
        its header first and refused past `max_bytes` (default
        `riskmodel.models.draws.MAX_POSTERIOR_BYTES`, 1 GiB).

        Raises
        ------
        ModelFileError
            If the file is not a saved TransitionModel, its config was edited or does not match
            the posterior inside, or it differs from the expected `states`/`pooling`/….
        ResourceLimitError
            If the file's arrays would take more memory than `max_bytes`.
        """
        stored_states, fit = read_fit(
            path,
            states=states,
            pooling=pooling,
            covariates=covariates,
            structural_zeros=structural_zeros,
            max_bytes=max_bytes,
        )
        cfg = fit.config
        model = cls(
            stored_states,
            pooling=cfg["pooling"],
            covariates=cfg["covariates"] or None,
            prior=cfg["prior"],
            structural_zeros=[tuple(z) for z in cfg["structural_zeros"]] or None,
        )
        model._fit = fit
        return model

    def __repr__(self) -> str:
        fitted = "fitted" if self._fit is not None else "not fitted"
        return (
            f"TransitionModel(states={list(self.states.names)}, pooling={self.pooling!r}, "
            f"covariates={self.covariates!r}; {fitted})"
        )
