"""`ParameterDraws`: posterior draws of the engine's parameters, and their transforms.

The container the simulation engine consumes: per-draw transition matrices (with the logit
parameters of a covariate model, evaluated along a macro path by `transitions_for_macro`) and
optional asset-correlation draws, with the transforms a run needs (posterior mean, a subset of
draws, attaching ρ) and the writer of the file format that `riskmodel.models.draws` documents and
reads. Imports numpy, xarray and the data layer only, never PyMC or ArviZ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from os import PathLike

import numpy as np
import xarray as xr

from riskmodel._files import replace_own_file
from riskmodel.data.macro import logit_transition_matrices
from riskmodel.models.netcdf_size import netcdf_engine
from riskmodel.states import StateSpace

__all__ = ["ParameterDraws"]

_ROW_TOL = 1e-6


@dataclass(frozen=True)
class ParameterDraws:
    """Posterior draws of the engine's parameters.

    Parameters
    ----------
    states : StateSpace
    segments : tuple of str
    transitions : ndarray, shape (n_draws, n_segments, n_states, n_states)
        Full row-stochastic matrices; absorbing rows are identity. For a covariate model, the
        matrices at the macro reference (the average macro values of the fit).
    correlation : ndarray, shape (n_draws,), optional
        Asset correlation draws, or None (the scenario then gives ρ).
    covariates : tuple of str
        Macro variable names of a covariate transition model; empty otherwise.
    intercepts : ndarray, shape (n_draws, n_segments, n_transient, n_states), optional
        Multinomial-logit intercepts (``0`` at each row's reference destination, ``-inf`` at
        structural zeros); required iff `covariates`.
    coefficients : ndarray, shape (n_draws, n_segments, n_transient, n_states, n_covariates)
        Logit coefficients per unit of each raw macro variable; required iff `covariates`.

    Examples
    --------
    >>> ss = StateSpace(["a", "d"], absorbing=["d"], default="d")
    >>> P = np.array([[[[0.9, 0.1], [0.0, 1.0]]]])            # 1 draw, 1 segment
    >>> draws = ParameterDraws(ss, ("retail",), P)
    >>> draws.n_draws, draws.mean().transitions.shape
    (1, (1, 1, 2, 2))
    """

    states: StateSpace
    segments: tuple[str, ...]
    transitions: np.ndarray
    _: KW_ONLY  # the options below are keyword-only
    correlation: np.ndarray | None = None
    covariates: tuple[str, ...] = ()
    intercepts: np.ndarray | None = field(default=None, repr=False)
    coefficients: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        ss = self.states
        object.__setattr__(self, "segments", tuple(str(s) for s in self.segments))
        object.__setattr__(self, "covariates", tuple(str(c) for c in self.covariates))
        t = np.asarray(self.transitions, dtype=float)
        want = (len(self.segments), ss.n, ss.n)
        if t.ndim != 4 or t.shape[1:] != want:
            raise ValueError(
                f"transitions must have shape (n_draws, {', '.join(map(str, want))}) for "
                f"{len(self.segments)} segment(s) and {ss.n} states; got {t.shape}."
            )
        if t.shape[0] < 1:
            raise ValueError("transitions need at least one draw.")
        sums = t.sum(-1)
        if (t < -_ROW_TOL).any() or not np.allclose(sums, 1.0, atol=_ROW_TOL):
            raise ValueError(
                "transition matrices must be non-negative and each row must sum to 1; got "
                f"entries down to {t.min():.3g} and row sums in [{sums.min():.6g}, "
                f"{sums.max():.6g}]. Renormalise the rows."
            )
        eye = np.eye(ss.n)[ss.absorbing_idx]
        if not np.allclose(t[..., ss.absorbing_idx, :], eye):
            raise ValueError(f"rows of absorbing states {list(ss.absorbing)} must be identity.")
        object.__setattr__(self, "transitions", t)
        if self.correlation is not None:
            c = np.asarray(self.correlation, dtype=float).reshape(-1)
            if c.shape != (t.shape[0],):
                raise ValueError(
                    f"correlation must have shape ({t.shape[0]},), one per draw; got {c.shape}."
                )
            if not ((c >= 0) & (c < 1)).all():
                raise ValueError("correlation draws must lie in [0, 1).")
            object.__setattr__(self, "correlation", c)
        if self.covariates:
            if self.intercepts is None or self.coefficients is None:
                raise ValueError("a covariate model needs `intercepts` and `coefficients`.")
            a = np.asarray(self.intercepts, dtype=float)
            b = np.asarray(self.coefficients, dtype=float)
            shape_a = (t.shape[0], len(self.segments), len(ss.transient), ss.n)
            if a.shape != shape_a or b.shape != (*shape_a, len(self.covariates)):
                raise ValueError(
                    f"intercepts must have shape {shape_a} and coefficients "
                    f"{(*shape_a, len(self.covariates))}; got {a.shape} and {b.shape}."
                )
            object.__setattr__(self, "intercepts", a)
            object.__setattr__(self, "coefficients", b)
        elif self.intercepts is not None or self.coefficients is not None:
            raise ValueError("intercepts/coefficients were given but `covariates` is empty.")

    # ------------------------------------------------------------------ views
    def _logit_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(intercepts, coefficients)`` of a covariate model (checked at construction)."""
        if self.intercepts is None or self.coefficients is None:
            raise ValueError("a covariate model needs `intercepts` and `coefficients`.")
        return self.intercepts, self.coefficients

    @property
    def n_draws(self) -> int:
        """Number of posterior draws."""
        return int(self.transitions.shape[0])

    def to_dataarray(self) -> xr.DataArray:
        """`transitions` as a DataArray with dims ``(draw, segment, from_state, to_state)``."""
        names = list(self.states.names)
        return xr.DataArray(
            self.transitions,
            dims=("draw", "segment", "from_state", "to_state"),
            coords={"segment": list(self.segments), "from_state": names, "to_state": names},
        )

    def transitions_for_macro(
        self, macro: Mapping[str, Sequence[float] | np.ndarray]
    ) -> np.ndarray:
        """Transition matrices along a macro path.

        Parameters
        ----------
        macro : mapping name -> array of shape (n_periods,)
            Values per period of every variable in `covariates` (other keys are ignored), in the
            variables' raw units. The matrix of period ``t`` moves customers from ``t`` to
            ``t + 1``.

        Returns
        -------
        ndarray, shape (n_draws, n_periods, n_segments, n_states, n_states)
            For a model without covariates, `transitions` broadcast over the periods (a read-only
            view; the macro arrays only set ``n_periods``).

        Raises
        ------
        ValueError
            If a covariate is missing, the series differ in length, or (no covariates) no
            series is given to set the number of periods.
        """
        lengths = {k: np.asarray(v, dtype=float).reshape(-1).size for k, v in macro.items()}
        if not self.covariates:
            if len(set(lengths.values())) != 1:
                raise ValueError(
                    "these draws have no macro covariates; transitions_for_macro needs at least "
                    "one macro series of the horizon's length to broadcast over (got "
                    f"{lengths or 'none'}). Use `.transitions` directly."
                )
            n_p = next(iter(lengths.values()))
            return np.broadcast_to(
                self.transitions[:, None], (self.n_draws, n_p, *self.transitions.shape[1:])
            )
        missing = [c for c in self.covariates if c not in macro]
        if missing:
            raise ValueError(
                f"macro path lacks covariate(s) {missing}; the transition model uses "
                f"{list(self.covariates)}. Add them to the scenario's macro section."
            )
        used = {c: lengths[c] for c in self.covariates}
        if len(set(used.values())) != 1:
            raise ValueError(f"macro series must have the same length; got {used}.")
        x = np.column_stack(
            [np.asarray(macro[c], dtype=float).reshape(-1) for c in self.covariates]
        )
        if not np.isfinite(x).all():
            raise ValueError("macro series must be finite numbers.")
        return logit_transition_matrices(*self._logit_parameters(), x, self.states)

    # ------------------------------------------------------------------ transforms
    def mean(self) -> ParameterDraws:
        """One draw: the posterior mean (rows renormalised; logit parameters averaged)."""
        t = self.transitions.mean(axis=0, keepdims=True)
        t = t / t.sum(axis=-1, keepdims=True)
        a_mean, b_mean = self.intercepts, self.coefficients  # None without covariates
        if self.covariates:
            a, b = self._logit_parameters()
            finite = np.isfinite(a).all(axis=0, keepdims=True)
            a_mean = np.where(
                finite, np.where(np.isfinite(a), a, 0.0).mean(0, keepdims=True), -np.inf
            )
            b_mean = b.mean(axis=0, keepdims=True)
        corr = None if self.correlation is None else np.array([self.correlation.mean()])
        return replace(
            self, transitions=t, correlation=corr, intercepts=a_mean, coefficients=b_mean
        )

    def take(self, indices: Sequence[int] | np.ndarray) -> ParameterDraws:
        """Return a subset of the draws, in the given order (e.g. those a batch of paths uses)."""
        idx = np.asarray(indices, dtype=np.intp).reshape(-1)
        return replace(
            self,
            transitions=self.transitions[idx],
            correlation=None if self.correlation is None else self.correlation[idx],
            intercepts=None if self.intercepts is None else self.intercepts[idx],
            coefficients=None if self.coefficients is None else self.coefficients[idx],
        )

    def with_correlation(
        self,
        correlation: float | Sequence[float] | np.ndarray,
        *,
        seed: int | np.random.Generator | None = None,
    ) -> ParameterDraws:
        """Attach asset-correlation draws (e.g. ``DefaultModel.correlation_draws()``).

        A scalar is used for every draw. An array with one value per draw is paired as it is.
        Otherwise (the two models have different numbers of draws) ``n_draws`` values are
        resampled with replacement using `seed`; the models were fitted separately, so pairing
        draws at random is exact for their independent posteriors.
        """
        c = np.asarray(correlation, dtype=float).reshape(-1)
        if c.size == 1:
            c = np.full(self.n_draws, c[0])
        elif c.size != self.n_draws:
            c = np.random.default_rng(seed).choice(c, size=self.n_draws, replace=True)
        return replace(self, correlation=c)

    # ------------------------------------------------------------------ io
    def to_dataset(self) -> xr.Dataset:
        """Return the posterior group (dims ``chain=1, draw``) as written to netCDF."""
        names, trans = list(self.states.names), list(self.states.transient)
        coords = {
            "chain": [0],
            "draw": np.arange(self.n_draws),
            "segment": list(self.segments),
            "from_state": names,
            "to_state": names,
        }
        data: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
            "transition": (
                ("chain", "draw", "segment", "from_state", "to_state"),
                self.transitions[None],
            )
        }
        if self.correlation is not None:
            data["correlation"] = (("chain", "draw"), self.correlation[None])
        if self.covariates:
            coords |= {"origin": trans, "covariate": list(self.covariates)}
            dims = ("chain", "draw", "segment", "origin", "to_state")
            a, b = self._logit_parameters()
            data["intercept"] = (dims, a[None])
            data["coefficient"] = ((*dims, "covariate"), b[None])
        attrs = {
            **self.states.to_attrs(),
            "covariates": ",".join(self.covariates),
            "riskmodel_kind": "ParameterDraws",
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def to_netcdf(self, path: str | PathLike[str]) -> None:
        """Write an InferenceData-compatible file that `load_parameter_draws` reads.

        Replaces an existing file only if riskmodel wrote it (`riskmodel._files`).
        """
        ds = self.to_dataset()
        replace_own_file(
            path,
            lambda tmp: ds.to_netcdf(tmp, group="posterior", mode="w", engine=netcdf_engine()),
            kind="ParameterDraws",
        )
