"""Covariate effects on the intensities of `IntensityModel` (log-linear, piecewise constant).

Model. For an interval of one subject that starts at ``t`` in segment ``s``, with covariate
values ``x(t)`` (the values in force at the interval's *start*, held constant until the next
observation, as R's msm does),

    log q_k(x) = log q_{s,k} + Σ_j β_j (x_{c(j)} − x̄_{c(j)}) · [k ∈ K_j]

where ``log q_{s,k}`` is the baseline log intensity of transition ``k`` in segment ``s`` *at the
covariate means* ``x̄`` (the mean over the panel's intervals), and coefficient ``j`` belongs to
covariate ``c(j)`` and acts on the transitions ``K_j``. The coefficients are shared by all
segments. A covariate is declared

- ``"shared"``: one coefficient for every allowed transition (``K_j`` = all);
- ``"each"``: one coefficient per allowed transition;
- a list of ``(from, to)`` pairs: one coefficient per listed transition, no effect elsewhere.

Covariate values come from the panel's own columns (a subject attribute or a time-varying
value recorded at each observation) or from a macro series by date, joined to each row by the
last date at or before the row's time (``pandas.merge_asof``, backward).

Computation. Intervals are grouped by (segment, covariate values): every group has one
generator, so the likelihood costs one eigendecomposition per distinct (segment, x) — a macro
series by quarter gives a few dozen groups, not one per row. Internally the coefficients act on
standardised values ``(x − x̄) / sd(x)`` (so NUTS and the optimiser see unit-scale parameters);
reported coefficients are per unit of the covariate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import ndtri

from riskmodel.errors import ArgumentError, MacroError, PanelError

__all__ = [
    "CovariateDesign",
    "group_rows",
    "join_macro",
    "mle_coefficients",
    "mle_log_intensity",
    "normalise_covariates",
    "params_gradient",
]

SPECS = ("shared", "each")


def normalise_covariates(covariates, allowed_names: list[list[str]]) -> list[list]:
    """Return the canonical covariate config.

    ``[[name, "shared" | [[from, to], ...]], ...]`` in the user's order (a list, not a
    mapping: saved configs are JSON with sorted keys, and the order of the covariates must
    survive the round trip).

    Parameters
    ----------
    covariates : None, sequence of str or mapping of str to spec
        A list of names means ``"each"`` for every name. A spec is ``"shared"``, ``"each"`` or
        a list of allowed ``(from, to)`` pairs.
    allowed_names : list of [from, to]
        The model's allowed transitions in their canonical (sorted) order.

    Raises
    ------
    ArgumentError
        Naming the covariate and what is wrong with its spec.
    """
    if covariates is None:
        return []
    if isinstance(covariates, str):
        raise ArgumentError(
            f"covariates must be a list of names or a mapping name -> spec; got the string "
            f"{covariates!r}. Write covariates=[{covariates!r}] or {{{covariates!r}: 'shared'}}."
        )
    if not isinstance(covariates, Mapping):
        covariates = dict.fromkeys(covariates, "each")
    allowed = [tuple(p) for p in allowed_names]
    out: dict[str, object] = {}
    for name, spec in covariates.items():
        if not isinstance(name, str) or not name:
            raise ArgumentError(f"covariate names must be non-empty strings; got {name!r}.")
        if isinstance(spec, str):
            if spec not in SPECS:
                raise ArgumentError(
                    f"covariate {name!r}: spec must be 'shared', 'each' or a list of allowed "
                    f"(from, to) pairs; got {spec!r}."
                )
            out[name] = "shared" if spec == "shared" else [list(p) for p in allowed]
            continue
        pairs = []
        for pair in spec:
            p = tuple(str(v) for v in pair) if not isinstance(pair, str) else (pair,)
            if p not in allowed:
                raise ArgumentError(
                    f"covariate {name!r} lists transition {pair!r}, which is not an allowed "
                    f"transition; allowed: {[list(a) for a in allowed]}."
                )
            pairs.append(p)
        if not pairs or len(set(pairs)) != len(pairs):
            raise ArgumentError(
                f"covariate {name!r}: the list of transitions must be non-empty without "
                f"repeats; got {list(spec)!r}."
            )
        out[name] = [list(p) for p in allowed if p in pairs]  # canonical order
    return [[name, spec] for name, spec in out.items()]


@dataclass(frozen=True)
class CovariateDesign:
    """Which coefficient acts on which transition, and the covariates' centre and scale.

    Attributes
    ----------
    names : tuple of str
        Covariate names.
    coef_names : tuple of str
        ``"name"`` for a shared coefficient, ``"name:from->to"`` per transition.
    coef_cov : (m,) int
        Covariate index of each coefficient.
    effect : (m, k) float
        1 where coefficient ``j`` acts on allowed transition ``k``.
    centre, scale : (c,) float
        Mean and standard deviation of each covariate over the panel's intervals.
    """

    names: tuple[str, ...]
    coef_names: tuple[str, ...]
    coef_cov: np.ndarray
    effect: np.ndarray
    centre: np.ndarray
    scale: np.ndarray

    @classmethod
    def from_config(cls, cfg: dict) -> CovariateDesign:
        """Build the design of a fitted config (``covariate_centre``/``covariate_scale`` set)."""
        trans = [tuple(p) for p in cfg["allowed"]]
        names = tuple(name for name, _ in cfg["covariates"])
        coef_names, coef_cov, rows = [], [], []
        for c, (name, spec) in enumerate(cfg["covariates"]):
            targets = [[1.0] * len(trans)] if spec == "shared" else []
            labels = [name] if spec == "shared" else []
            if spec != "shared":
                for f, t in spec:
                    targets.append([float(tr == (f, t)) for tr in trans])
                    labels.append(f"{name}:{f}->{t}")
            coef_names += labels
            coef_cov += [c] * len(labels)
            rows += targets
        return cls(
            names=names,
            coef_names=tuple(coef_names),
            coef_cov=np.array(coef_cov, dtype=np.intp),
            effect=np.array(rows, dtype=float).reshape(len(coef_names), len(trans)),
            centre=np.asarray(cfg.get("covariate_centre", [0.0] * len(names)), dtype=float),
            scale=np.asarray(cfg.get("covariate_scale", [1.0] * len(names)), dtype=float),
        )

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """``(x − x̄) / sd`` per covariate (last axis)."""
        return (np.asarray(x, dtype=float) - self.centre) / self.scale

    def shift(self, xs: np.ndarray, beta_std: np.ndarray) -> np.ndarray:
        """Return log-intensity shifts, shape ``(..., g, k)``.

        For standardised values ``xs`` ``(g, c)`` and standardised coefficients ``beta_std``
        ``(..., m)``.
        """
        z = np.asarray(xs)[:, self.coef_cov]  # (g, m)
        b = np.asarray(beta_std)[..., None, :]  # (..., 1, m)
        return (z * b) @ self.effect

    def values(self, covariates: Mapping[str, float] | None) -> np.ndarray:
        """Standardised values ``(1, c)`` at user-given covariate values (the means if None).

        Raises
        ------
        ArgumentError
            If a name is unknown or a covariate is missing.
        """
        if covariates is None:
            return np.zeros((1, len(self.names)))
        if not isinstance(covariates, Mapping):
            raise ArgumentError(
                f"covariates must be a mapping name -> value; got {type(covariates).__name__}."
            )
        unknown = sorted(set(covariates) - set(self.names))
        missing = [n for n in self.names if n not in covariates]
        if unknown or missing:
            raise ArgumentError(
                f"covariates must give a value for each of {list(self.names)}; got unknown "
                f"{unknown} and missing {missing}."
            )
        x = np.array([[float(covariates[n]) for n in self.names]])
        if not np.isfinite(x).all():
            raise ArgumentError(f"covariate values must be finite; got {dict(covariates)}.")
        return self.standardise(x)


def join_macro(
    panel: pd.DataFrame, macro: pd.DataFrame | None, names: tuple[str, ...], time: str
) -> pd.DataFrame:
    """Return the panel with a column per covariate: its own column, or the macro value in force.

    A covariate in `macro` gets, for each panel row, the macro row with the latest ``time`` at
    or before the panel row's time (missing before the macro series starts). A covariate must
    be in the panel or in `macro`, not both.

    Raises
    ------
    MacroError
        Naming the column: no time column, non-numeric or duplicated dates, missing values.
    PanelError
        A covariate found in neither table.
    """
    macro_names = [n for n in names if macro is not None and n in macro.columns]
    for n in names:
        if n not in macro_names and n not in panel.columns:
            where = "" if macro is None else f" nor in macro (columns {list(macro.columns)})"
            raise PanelError(
                f"covariate {n!r} is neither a column of the panel (columns "
                f"{list(panel.columns)}){where}; add it or pass macro=DataFrame with {time!r} "
                f"and {n!r}."
            )
        if n in macro_names and n in panel.columns:
            raise PanelError(
                f"covariate {n!r} is both a panel column and a macro column; keep one."
            )
    if not macro_names:
        return panel
    assert macro is not None  # macro covariates come from the macro table
    if time not in macro.columns:
        raise MacroError(
            f"the macro table needs the panel's time column {time!r} (the date from which "
            f"each row's values hold); its columns are {list(macro.columns)}."
        )
    m = macro[[time, *macro_names]].copy()
    try:
        m = m.astype(float)
    except (TypeError, ValueError) as exc:
        raise MacroError(
            f"the macro table's columns {[time, *macro_names]} must be numeric; {exc}"
        ) from None
    if m.isna().any().any():
        col = m.columns[m.isna().any()].tolist()[0]
        raise MacroError(f"the macro table's column {col!r} has missing values; fill them.")
    if m[time].duplicated().any():
        t = m[time][m[time].duplicated()].iloc[0]
        raise MacroError(f"the macro table has two rows at {time}={t}; dates must be unique.")
    out = panel.copy()
    out["_row"] = np.arange(len(out))
    left = out.assign(**{time: pd.to_numeric(out[time], errors="coerce").astype(float)})
    joined = pd.merge_asof(
        left.sort_values(time, kind="stable"), m.sort_values(time), on=time, direction="backward"
    ).sort_values("_row")
    for n in macro_names:
        out[n] = joined[n].to_numpy()
    return out.drop(columns="_row")


def group_rows(segment: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group rows with the same segment and covariate values.

    Returns
    -------
    group : (n_rows,) int
        Group of each row.
    g_segment : (G,) int
        Segment of each group.
    g_x : (G, c) float
        Covariate values of each group.
    """
    key = np.column_stack([segment.astype(float), xs])
    uniq, group = np.unique(key, axis=0, return_inverse=True)
    return group.ravel(), uniq[:, 0].astype(np.intp), uniq[:, 1:]


def grouped(obs, group: np.ndarray):
    """`obs` with the row's group as its "segment" (one generator per group)."""
    n_groups = int(group.max(initial=-1)) + 1
    return replace(
        obs,
        segment=group,
        segments=tuple(str(g) for g in range(n_groups)),
        n_subjects_by_segment=np.zeros(n_groups, dtype=int),
    )


def generators(
    base: np.ndarray,
    beta_std: np.ndarray,
    design: CovariateDesign,
    g_segment: np.ndarray,
    g_xs: np.ndarray,
) -> np.ndarray:
    """Log intensities of every group, ``(G, k)``: ``base[g_segment] + shift``."""
    return base[g_segment] + design.shift(g_xs, beta_std)


def params_gradient(
    dQ: np.ndarray,
    log_q: np.ndarray,
    allowed: np.ndarray,
    design: CovariateDesign,
    g_segment: np.ndarray,
    g_xs: np.ndarray,
    n_base: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Chain rule from ``∂ℓ/∂Q_g`` to the baseline log intensities and the coefficients.

    ``Q_g[a, b] = exp(log q_gk)`` and ``Q_g[a, a] = −Σ_k q_gk`` give
    ``∂ℓ/∂log q_gk = q_gk (∂ℓ/∂Q_g[a_k, b_k] − ∂ℓ/∂Q_g[a_k, a_k])``.

    Returns
    -------
    d_base : (n_base, k)
    d_beta_std : (m,)
    """
    a, b = allowed[:, 0], allowed[:, 1]
    d_log = np.exp(log_q) * (dQ[:, a, b] - dQ[:, a, a])  # (G, k)
    d_base = np.zeros((n_base, log_q.shape[1]))
    np.add.at(d_base, g_segment, d_log)
    z = g_xs[:, design.coef_cov]  # (G, m)
    d_beta = np.einsum("gk,gj,jk->j", d_log, z, design.effect)
    return d_base, d_beta


def mle_log_intensity(
    ds: xr.Dataset, design: CovariateDesign | None, covariates: Mapping[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return MLE log intensities ``(S, k)`` and their standard errors at `covariates`.

    The baseline when None; ``log q_sk(x) = log q_sk + Σ_j β_j (x − x̄)_c(j) effect[j, k]``, with the
    delta-method variance ``dᵀ Σ d``, ``d = e_sk + Σ_j (x − x̄)_c(j) effect[j, k] e_j`` over the
    joint covariance of (baseline, coefficients).
    """
    lq = np.asarray(ds["log_intensity"].values)
    se = np.sqrt(np.diagonal(np.asarray(ds["covariance"].values), axis1=1, axis2=2))
    if design is None or covariates is None:
        return lq, se
    xs = design.values(covariates)
    beta = np.asarray(ds["beta"].values)
    lq = lq + design.shift(xs, beta * design.scale[design.coef_cov])
    S, k = lq.shape
    z = (xs[0] * design.scale)[design.coef_cov][:, None] * design.effect  # (m, k)
    grads = np.zeros((S, k, S * k + z.shape[0]))
    grads[np.arange(S)[:, None], np.arange(k), np.arange(S * k).reshape(S, k)] = 1.0
    grads[:, :, S * k :] = z.T[None]
    cov = np.asarray(ds["parameter_covariance"].values)
    return lq, np.sqrt(np.einsum("skp,pq,skq->sk", grads, cov, grads))


def mle_coefficients(ds: xr.Dataset) -> pd.DataFrame:
    """Estimate, standard error and 95% Wald bounds of each coefficient (per unit)."""
    est = ds["beta"].to_series()
    se = np.sqrt(np.diag(np.asarray(ds["coefficient_covariance"].values)))
    z = ndtri(0.975)  # the normal quantile (scipy.stats' norm.ppf, without importing it)
    return pd.DataFrame(
        {
            "estimate": est.values,
            "se": se,
            "lower": est.values - z * se,
            "upper": est.values + z * se,
        },
        index=est.index,
    )
