"""Posterior parameter draws in the form the simulation engine consumes.

This module is the contract between the models and the engine. It imports numpy, xarray and
the data layer only, never PyMC or ArviZ: a saved posterior can be loaded and simulated without
PyMC being imported.

File format (written by `TransitionModel.save` and `ParameterDraws.to_netcdf`, an ArviZ
InferenceData netCDF file): group ``posterior`` with dims ``(chain, draw, …)`` holding

- ``transition``: ``(chain, draw, segment, from_state, to_state)`` full row-stochastic matrices
  (for covariate models: at the macro reference, the mean of the macro values used in the fit),
- ``correlation`` (optional): ``(chain, draw)`` asset correlation,
- ``intercept``/``coefficient`` (covariate models): ``(chain, draw, segment, origin, to_state
  [, covariate])``, the multinomial-logit parameters per unit of the raw macro variables,

and attrs with the state space (`StateSpace.to_attrs`) and ``covariates`` (comma-separated).

Size limit: a posterior file is compressed on disk, so a few MB can hold millions of draws that
take gigabytes once loaded. Before loading anything, `load_parameter_draws` (and the models'
``load``) estimate the memory of the arrays from the file's header (`netcdf_memory_estimate`:
values × 8 bytes, the float64 they become) and refuse a file past `MAX_POSTERIOR_BYTES` (1 GiB,
configurable per call) with `ResourceLimitError`. Loading a scenario on such a posterior peaks
at about 3.5 times the estimate (measured: 110 MB of draws, 370 MB more resident memory; the
file's arrays, the reordered draws and the engine's copy live at once).
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from typing import Literal

import numpy as np
import xarray as xr

from riskmodel._files import replace_own_file
from riskmodel.data.macro import logit_transition_matrices
from riskmodel.errors import ResourceLimitError
from riskmodel.states import StateSpace

__all__ = [
    "MAX_POSTERIOR_BYTES",
    "ParameterDraws",
    "check_netcdf_size",
    "load_parameter_draws",
    "netcdf_memory_estimate",
]

_ROW_TOL = 1e-6
MAX_POSTERIOR_BYTES = 2**30
"""Default limit on the in-memory size of a posterior file's arrays (1 GiB)."""
_BYTES_PER_VALUE = 8  # numbers become float64; text and other variable-length values: a pointer


def netcdf_engine() -> Literal["netcdf4", "h5netcdf"]:
    """Return the netCDF engine to write with: netCDF4 if installed, else h5netcdf (needs h5py)."""
    return "netcdf4" if importlib.util.find_spec("netCDF4") is not None else "h5netcdf"


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
        self, correlation: float | Sequence[float] | np.ndarray, *, seed=None
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

    def to_netcdf(self, path: str | PathLike) -> None:
        """Write an InferenceData-compatible file that `load_parameter_draws` reads.

        Replaces an existing file only if riskmodel wrote it (`riskmodel._files`).
        """
        ds = self.to_dataset()
        replace_own_file(
            path,
            lambda tmp: ds.to_netcdf(tmp, group="posterior", mode="w", engine=netcdf_engine()),
            kind="ParameterDraws",
        )


def draws_from_posterior(posterior: xr.Dataset, states: StateSpace | None) -> ParameterDraws:
    """Build ParameterDraws from a posterior group (dims chain, draw)."""
    if "transition" not in posterior:
        kind = posterior.attrs.get("riskmodel_kind", "")
        hint = (
            " It holds a DefaultModel posterior: attach its ρ to transition draws with "
            "`draws.with_correlation(default_model.correlation_draws())`."
            if kind == "DefaultModel"
            else ""
        )
        raise ValueError(f"the posterior has no 'transition' variable.{hint}")
    if states is None:
        raise ValueError("the posterior's state space is needed to read its draws; got None.")
    tr = posterior["transition"].transpose("chain", "draw", "segment", "from_state", "to_state")
    tr = tr.sel(from_state=list(states.names), to_state=list(states.names))
    n = tr.sizes["chain"] * tr.sizes["draw"]
    covs = tuple(c for c in str(posterior.attrs.get("covariates", "")).split(",") if c)
    kw: dict[str, np.ndarray] = {}
    if covs:
        dims = ("chain", "draw", "segment", "origin", "to_state")
        a = posterior["intercept"].transpose(*dims).sel(to_state=list(states.names))
        b = (
            posterior["coefficient"]
            .transpose(*dims, "covariate")
            .sel(to_state=list(states.names), covariate=list(covs))
        )
        kw = {
            "intercepts": np.asarray(a.values).reshape(n, *a.shape[2:]),
            "coefficients": np.asarray(b.values).reshape(n, *b.shape[2:]),
        }
    corr = None
    if "correlation" in posterior:
        corr = np.asarray(posterior["correlation"].transpose("chain", "draw").values).reshape(n)
    return ParameterDraws(
        states=states,
        segments=tuple(str(s) for s in tr.segment.values),
        transitions=np.asarray(tr.values).reshape(n, *tr.shape[2:]),
        correlation=corr,
        covariates=covs,
        **kw,
    )


def _variables_netcdf4(path: str, group: str | None):
    import netCDF4

    with netCDF4.Dataset(path, "r") as root:
        if group is not None and group not in root.groups:
            raise OSError(f"no group {group!r}")
        todo = [root.groups[group]] if group is not None else [root]
        while todo:
            grp = todo.pop()
            todo.extend(grp.groups.values())
            for name, var in grp.variables.items():
                yield name, tuple(var.dimensions), tuple(int(n) for n in var.shape)


def _variables_h5py(path: str, group: str | None):
    import h5py

    found = []
    with h5py.File(path, "r") as root:
        start = root[group] if group is not None else root

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                found.append((name, (), tuple(int(n) for n in obj.shape)))

        start.visititems(visit)
    return found


def netcdf_memory_estimate(
    path: str | PathLike, *, group: str | None = None
) -> tuple[int, list[tuple[str, tuple[str, ...], tuple[int, ...]]]]:
    """Bytes the arrays of a netCDF file take once loaded, read from its header only.

    Parameters
    ----------
    path : path
    group : str, optional
        Only this group (and its subgroups); default: the whole file.

    Returns
    -------
    bytes : int
        The number of values of every variable × 8 (the float64 they become).
    variables : list of (name, dims, shape)
        Largest first.

    Raises
    ------
    OSError
        If the file is not netCDF/HDF5 or has no such group.
    """
    path = str(path)
    if netcdf_engine() == "netcdf4":
        variables = list(_variables_netcdf4(path, group))
    else:
        try:
            variables = _variables_h5py(path, group)
        except KeyError as err:
            raise OSError(f"no group {group!r}") from err
    variables.sort(key=lambda v: -math.prod(v[2]))
    return sum(math.prod(shape) for _, _, shape in variables) * _BYTES_PER_VALUE, variables


def check_netcdf_size(
    path: str | PathLike, *, max_bytes: int | None = None, group: str | None = None
) -> int:
    """Refuse a netCDF file whose arrays would take more than `max_bytes` once loaded.

    Returns the estimate (see `netcdf_memory_estimate`). `max_bytes` None means
    `MAX_POSTERIOR_BYTES`.

    Raises
    ------
    ResourceLimitError
        Naming the file, the estimate, the largest variable and the fix (thin the draws).
    OSError
        If the header cannot be read.
    """
    limit = MAX_POSTERIOR_BYTES if max_bytes is None else int(max_bytes)
    size, variables = netcdf_memory_estimate(path, group=group)
    if size <= limit:
        return size
    name, dims, shape = variables[0]
    names = dims if len(dims) == len(shape) else [f"dim{i}" for i in range(len(shape))]
    layout = " × ".join(f"{d} {n:,}" for d, n in zip(names, shape, strict=True))
    raise ResourceLimitError(
        f"{path}: its arrays would take about {size / 2**30:.2f} GiB in memory (estimated from "
        f"the file's header; the largest is {name!r}: {layout}), more than the limit of "
        f"{limit / 2**30:.2f} GiB. Thin the draws: refit with fewer `draws:`, or load it once "
        "with a higher max_bytes= on a machine with about 3.5 times that memory free and "
        "save every 10th draw (`draws.take(range(0, draws.n_draws, 10)).to_netcdf(PATH)`); "
        "a scenario takes the limit as load_scenario(..., max_posterior_bytes=...)."
    )


def load_parameter_draws(path: str | PathLike, *, max_bytes: int | None = None) -> ParameterDraws:
    """Read parameter draws from a file written by `TransitionModel.save` or `.to_netcdf`.

    Uses xarray only (no PyMC, no ArviZ). The memory the draws need is estimated from the file's
    header first; nothing is loaded from a file past the limit.

    Parameters
    ----------
    path : path
    max_bytes : int, optional
        Refuse a posterior group whose arrays would take more than this many bytes in memory
        (default `MAX_POSTERIOR_BYTES`, 1 GiB; loading peaks at about 3.5 times this).

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ResourceLimitError
        If the draws would take more memory than `max_bytes`; the message says how to thin them.
    ValueError
        If the file has no posterior group, no state space in its attrs, or no transitions
        (e.g. a DefaultModel file: combine with `ParameterDraws.with_correlation`).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        check_netcdf_size(path, max_bytes=max_bytes, group="posterior")
    except OSError as err:
        raise ValueError(
            f"{path} has no readable 'posterior' group ({err}); pass a file written by "
            "TransitionModel.save or ParameterDraws.to_netcdf."
        ) from None
    try:
        posterior = xr.load_dataset(path, group="posterior")
    except FileNotFoundError:
        raise
    except OSError as err:
        raise ValueError(
            f"{path} has no readable 'posterior' group ({err}); pass a file written by "
            "TransitionModel.save or ParameterDraws.to_netcdf."
        ) from None
    if "transition" not in posterior:
        try:
            draws_from_posterior(posterior, None)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
    if "states" not in posterior.attrs:
        raise ValueError(
            f"{path} has no state space in its attrs; it was not written by riskmodel."
        )
    states = StateSpace.from_attrs(posterior.attrs)
    try:
        return draws_from_posterior(posterior, states)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
