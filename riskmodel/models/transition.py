"""TransitionModel: Bayesian transition matrices per segment.

PyMC and ArviZ are imported only inside the methods that need them (MCMC fits, ``summary``,
``save``/``load``), so ``import riskmodel.models`` stays light and PyMC-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel._files import replace_own_file
from riskmodel.data.panel import PanelError, panel_to_counts, validate_counts
from riskmodel.models import _common as C
from riskmodel.models.conjugate import beta_marginal_stat, conjugate_fit
from riskmodel.models.draws import (
    ParameterDraws,
    check_netcdf_size,
    draws_from_posterior,
    netcdf_engine,
)
from riskmodel.states import StateSpace

__all__ = ["TransitionModel"]

POOLINGS = ("none", "partial", "complete")
PARTIAL_SAMPLER = "numpyro"
"""NUTS implementation of partial-pooling fits: NumPyro's kernel in a JAX program compiled once
per model structure and reused by later fits (`riskmodel.models.partial_jax`), the fastest
measured in ``benchmarks/fit.py``."""
DEFAULT_PRIOR = {
    "concentration": 1.0,
    "log_kappa_mu": float(np.log(200.0)),
    "log_kappa_sigma": 1.5,
    "intercept_sigma": 5.0,
    "coef_sigma": 1.0,
    "log_tau_mu": float(np.log(0.5)),
    "log_tau_sigma": 0.75,
}
KIND = "TransitionModel"


@dataclass
class TransitionFit:
    """What `TransitionModel.fit` (or `load`) leaves on the model.

    Attributes
    ----------
    config : dict
        The validated config, with the fitted ``segments`` (and ``macro_mean`` for covariate
        models); saved as JSON in the file's attrs.
    groups : dict of str to Dataset
        InferenceData groups: ``posterior`` (and ``sample_stats`` or ``constant_data``).
    free : list of str
        The sampled parameters users read (``["transition"]`` for conjugate fits).
    diagnostics : dict or None
        R-hat, ESS and divergences of an MCMC fit (None for conjugate fits).
    counts : DataArray or None
        The transition counts fitted (None for a file saved without them).
    """

    config: dict[str, Any]
    groups: dict[str, xr.Dataset]
    free: list[str]
    diagnostics: dict[str, Any] | None
    counts: xr.DataArray | None


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
        ss = self.states
        if not isinstance(ss, StateSpace):
            raise TypeError(f"states must be a StateSpace; got {type(ss).__name__}.")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {list(POOLINGS)}; got {self.pooling!r}.")
        covs = [] if self.covariates is None else [str(c) for c in self.covariates]
        if isinstance(self.covariates, str):
            raise TypeError(f"covariates must be a list of names; got the string {covs!r}.")
        if len(set(covs)) != len(covs):
            raise ValueError(f"covariates must be unique; got {covs}.")
        zeros: list[tuple[str, str]] = []
        for pair in self.structural_zeros or ():
            if len(pair) != 2:
                raise ValueError(
                    f"structural_zeros entries must be (from_state, to_state) pairs; got {pair!r}."
                )
            f, t = str(pair[0]), str(pair[1])
            for s in (f, t):
                if s not in ss.names:
                    raise ValueError(
                        f"structural zero ({f!r}, {t!r}) names unknown state {s!r}; known "
                        f"states are {list(ss.names)}."
                    )
            if f in ss.absorbing:
                raise ValueError(
                    f"structural zero ({f!r}, {t!r}) starts in absorbing state {f!r}, whose "
                    "row is fixed; declare zeros only in rows of transient states."
                )
            zeros.append((f, t))
        zeros = sorted(set(zeros))
        cfg = {
            "states": ss.to_attrs(),
            "pooling": self.pooling,
            "covariates": covs,
            "prior": C.resolve_prior(self.prior, DEFAULT_PRIOR),
            "structural_zeros": [list(z) for z in zeros],
        }
        allowed = self._allowed(cfg)
        empty = [ss.transient[r] for r in range(allowed.shape[0]) if not allowed[r].any()]
        if empty:
            raise ValueError(
                f"structural zeros leave no possible destination for state(s) {empty}; "
                "every transient row needs at least one allowed transition."
            )
        return cfg

    def _allowed(self, cfg) -> np.ndarray:
        ss = self.states
        allowed = np.ones((len(ss.transient), ss.n), dtype=bool)
        tr = list(ss.transient)
        for f, t in cfg["structural_zeros"]:
            allowed[tr.index(f), ss.index(t)] = False
        return allowed

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
        ss = self.states
        covs = tuple(cfg["covariates"])
        if isinstance(data, pd.DataFrame):
            counts = panel_to_counts(data, ss, by_period=bool(covs))
        else:
            counts = validate_counts(data, ss)
        if covs and "period" not in counts.dims:
            raise PanelError(
                "a covariate model needs counts per period, dims (period, segment, from_state, "
                "to_state); pass the panel itself or panel_to_counts(..., by_period=True)."
            )
        if not covs and "period" in counts.dims:
            counts = counts.sum("period")
        if covs and macro is None:
            raise ValueError(
                f"this model has covariates {list(covs)}; pass macro=DataFrame with 'period' and "
                "those columns."
            )
        if not covs and macro is not None:
            raise ValueError(
                "macro was given but the model has no covariates; pass covariates=[...] to "
                "TransitionModel or drop macro."
            )
        allowed = self._allowed(cfg)
        y = np.asarray(counts.values)[..., ss.transient_idx, :]
        bad = (y > 0) & ~allowed
        if bad.any():
            r, j = np.argwhere(bad.reshape(-1, *allowed.shape).any(0))[0]
            raise PanelError(
                f"the data contain {int(y[..., r, j].sum())} transition(s) "
                f"{ss.transient[r]} -> {ss.names[j]}, which were declared structural zeros; "
                "remove that declaration or fix the data."
            )
        segments = [str(s) for s in counts.segment.values]
        if target_accept is None:
            target_accept = 0.8 if not covs else 0.95 if cfg["pooling"] == "partial" else 0.9
        sample_rng, draw_rng = C.split_seed(seed, 2)
        mc: dict[str, Any] = {
            "draws": draws,
            "chains": chains,
            "tune": tune,
            "target_accept": target_accept,
            "cores": cores,
            "random_seed": C.pymc_seed(sample_rng),
            "progressbar": progressbar,
        }
        cfg["segments"] = segments
        if covs:
            from riskmodel.models.covariate import covariate_fit

            periods = np.asarray(counts.period.values)
            state = covariate_fit(ss, cfg, periods, y, allowed, macro, mc)
        elif cfg["pooling"] == "partial":
            from riskmodel.models.hierarchical import partial_fit

            mc["nuts_sampler"] = nuts_sampler or PARTIAL_SAMPLER
            state = partial_fit(ss, y, allowed, segments, cfg["prior"], mc, draw_rng)
        else:
            state = conjugate_fit(
                ss,
                y,
                allowed,
                segments,
                pooling=cfg["pooling"],
                concentration=cfg["prior"]["concentration"],
                draws=draws,
                chains=chains,
                rng=draw_rng,
            )
        self._fit = TransitionFit(
            config=cfg,
            groups=state["groups"],
            free=state["free"],
            diagnostics=state["diagnostics"],
            counts=counts,
        )
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
        q = C.check_stat(stat)
        consts = fit.groups.get("constant_data")
        if consts is None or "alpha" not in consts:
            raise ValueError(
                "prior_matrix is analytic only for conjugate models (pooling 'none' or "
                "'complete' without covariates); this model's segment rows have a hierarchical "
                "or covariate prior. Use transition_matrix and the posterior's population row."
            )
        alpha = consts["alpha"].transpose("segment", "origin", "to_state").values
        concentration = float(C.resolve_prior(self.prior, DEFAULT_PRIOR)["concentration"])
        prior_alpha = np.where(alpha > 0, concentration, 0.0)
        rows = beta_marginal_stat(prior_alpha, stat if q is None else q)
        ss = self.states
        return xr.DataArray(
            ss.full_matrix(rows),
            dims=("segment", "from_state", "to_state"),
            coords={
                "segment": [str(x) for x in consts.segment.values],
                "from_state": list(ss.names),
                "to_state": list(ss.names),
            },
            name="prior_transition_probability",
            attrs={"stat": str(stat)},
        )

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
        fit = self._require_fit()
        q = C.check_stat(stat)
        ss = self.states
        consts = fit.groups.get("constant_data")
        if consts is not None and "alpha" in consts:
            alpha = consts["alpha"].transpose("segment", "origin", "to_state").values
            rows = beta_marginal_stat(alpha, stat if q is None else q)
            full = ss.full_matrix(rows)
            segs = [str(s) for s in consts.segment.values]
        else:
            tr = self.posterior["transition"].transpose(
                "chain", "draw", "segment", "from_state", "to_state"
            )
            vals = np.asarray(tr.values).reshape(-1, *tr.shape[2:])
            full = vals.mean(axis=0) if q is None else np.quantile(vals, q, axis=0)
            full[..., ss.absorbing_idx, :] = np.eye(ss.n)[ss.absorbing_idx]
            segs = [str(s) for s in tr.segment.values]
        return xr.DataArray(
            full,
            dims=("segment", "from_state", "to_state"),
            coords={"segment": segs, "from_state": list(ss.names), "to_state": list(ss.names)},
            name="transition_probability",
            attrs={"stat": str(stat)},
        )

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
        fit = self._require_fit()
        post = self.posterior
        if fit.free == ["transition"]:  # conjugate: the transient rows themselves
            return post[["transition"]].sel(from_state=list(self.states.transient))
        if fit.free == ["kappa", "mu"]:
            from riskmodel.models.hierarchical import diagnostic_dataset

            allowed = self._allowed(fit.config)
            return diagnostic_dataset(post, allowed, self.states.transient, self.states.names)
        return post[fit.free]

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
        import arviz as az

        fit = self._require_fit()
        groups = {k: v.copy() for k, v in fit.groups.items()}
        groups["observed_data"] = xr.Dataset({"transition_counts": fit.counts})
        groups["observed_data"]["transition_counts"].attrs = {}
        cfg = dict(fit.config, free=fit.free, diagnostics=fit.diagnostics)
        groups["posterior"].attrs.update(
            {
                **self.states.to_attrs(),
                "covariates": ",".join(cfg["covariates"]),
                **C.config_attrs(KIND, cfg),
            }
        )
        replace_own_file(
            path,
            lambda tmp: az.InferenceData(**groups).to_netcdf(  # type: ignore[arg-type]
                str(tmp), engine=netcdf_engine()
            ),  # (ArviZ annotates InferenceData's **kwargs as bool)
            kind="TransitionModel",
        )

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
        import arviz as az

        try:
            check_netcdf_size(path, max_bytes=max_bytes)
        except OSError:
            pass  # not netCDF: ArviZ says so below
        idata = az.from_netcdf(str(path), engine=netcdf_engine())
        if "posterior" not in idata.groups():
            raise C.ModelFileError(f"{path} has no posterior group; it is not a saved model.")
        post = idata.posterior
        cfg = C.read_config(post.attrs, KIND, path)
        stored_states = StateSpace.from_attrs(cfg["states"])
        C.refuse_mismatch(path, "states", stored_states, states)
        C.refuse_mismatch(path, "pooling", cfg["pooling"], pooling)
        C.refuse_mismatch(
            path, "covariates", cfg["covariates"], None if covariates is None else list(covariates)
        )
        if structural_zeros is not None:
            want = sorted([str(f), str(t)] for f, t in structural_zeros)
            C.refuse_mismatch(path, "structural_zeros", cfg["structural_zeros"], want)
        tr = post.get("transition")
        if (
            tr is None
            or [str(s) for s in tr.from_state.values] != list(stored_states.names)
            or [str(s) for s in tr.segment.values] != cfg["segments"]
        ):
            raise C.ModelFileError(
                f"{path}: the posterior's states or segments do not match the stored config "
                f"(states {list(stored_states.names)}, segments {cfg['segments']}); the file "
                "was altered. Refit and save the model."
            )
        model = cls(
            stored_states,
            pooling=cfg["pooling"],
            covariates=cfg["covariates"] or None,
            prior=cfg["prior"],
            structural_zeros=[tuple(z) for z in cfg["structural_zeros"]] or None,
        )
        groups = {g: idata[g].load() for g in idata.groups() if g != "observed_data"}
        counts = None
        if "observed_data" in idata.groups():
            counts = idata.observed_data["transition_counts"].load()
        free, diag = cfg.pop("free"), cfg.pop("diagnostics")
        model._fit = TransitionFit(
            config=cfg, groups=groups, free=free, diagnostics=diag, counts=counts
        )
        return model

    def __repr__(self) -> str:
        fitted = "fitted" if self._fit is not None else "not fitted"
        return (
            f"TransitionModel(states={list(self.states.names)}, pooling={self.pooling!r}, "
            f"covariates={self.covariates!r}; {fitted})"
        )
