"""Value at risk from churn and default: the lower tail of the discounted margin, weighted.

Value ``V`` is the discounted margin a path earns over the horizon; its risk is the *lower*
tail. With self-normalised weights ``w̃ = N w / Σ w`` (`riskmodel.metrics.weighted`; all ones
for plain Monte Carlo) and, per level ``q``, the tail probability ``a = 1 − q``:

- ``quantiles[a] = Q(a) = min{V_i : Ĝ(V_i) ≤ 1 − a}``, ``Ĝ(x) = (1/N) Σ w̃_i 1{V_i > x}``:
  the weighted quantile of `riskmodel.metrics.weighted_quantile`, the same definition as VaR;
- ``var[q] = E[V] − Q(a)``: how far value falls below its expectation in the worst ``a``;
- ``es[q] = E[V] − TM(a)`` with the lower tail mean
  ``TM(a) = Q(a) − (1/(N a)) Σ w̃_i (Q(a) − V_i)^+`` (Rockafellar–Uryasev form, the mean of the
  worst ``N a`` values when ``N a`` is an integer and the weights are one);
- ``std = sqrt((1/N) Σ w̃_i (V_i − V̂)²)`` about the self-normalised mean ``V̂``;
- ``tail_paths[q]``: Kish effective number of the paths with ``V_i ≤ Q(a)``.

``E[V]`` is the exact expectation when the run has one (then it carries no Monte Carlo error),
else ``V̂``. Standard errors are delta-method errors of the self-normalised estimators
(`riskmodel.metrics.risk`): with ``ψ(g)`` the influence of ``mean(w̃ g)``, ``s(a)`` the
sparsity ``1/f(Q(a))`` and ``ψ_E`` the influence of ``V̂`` (zero for an exact ``E[V]``),
``stderr_var = std(ψ_E − s(a) ψ(1{V > Q(a)}))/√N`` and
``stderr_es = std(ψ_E + ψ((Q(a) − V)^+)/a)/√N`` (the error of ``Q(a)`` drops out of ``TM``
to first order, as for ES).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from riskmodel.metrics.risk import MIN_TAIL_PATHS, format_level, warn_tail_resolution
from riskmodel.metrics.weighted import (
    as_levels,
    as_paths,
    influence,
    kish,
    sort_paths,
    sorted_quantile,
    sparsity,
    stderr_of_mean,
)

__all__ = ["ValueMeasures", "value_measures"]


@dataclass(frozen=True)
class ValueMeasures:
    """Lower-tail measures of per-path value; dictionaries keyed by level ``q`` (ascending).

    Attributes
    ----------
    expected : float
        ``E[V]``: the exact expectation if one was given, else the Monte Carlo mean.
    exact : bool
        Whether `expected` is exact.
    expected_mc, stderr_mc : float
        Self-normalised Monte Carlo mean and its standard error.
    std : float
        Standard deviation of the weighted distribution of value.
    quantiles : dict of float to float
        ``Q(a)`` keyed by ``a = 1 − q`` (ascending) and the median ``Q(0.5)``.
    var, es, stderr_var, stderr_es, tail_paths : dict of float to float
        Keyed by level ``q``; see the module docstring.
    n_paths : int
    """

    expected: float
    exact: bool
    expected_mc: float
    stderr_mc: float
    std: float
    quantiles: dict[float, float]
    var: dict[float, float]
    es: dict[float, float]
    stderr_var: dict[float, float]
    stderr_es: dict[float, float]
    tail_paths: dict[float, float]
    n_paths: int

    def to_dict(self) -> dict:
        """Return the JSON-ready content.

        ``std``, ``quantiles``, ``var``, ``es``, ``stderr`` (``var``, ``es``), ``tail_paths``,
        levels keyed as ``"0.99"`` (quantiles as ``"0.01"``, ``"0.5"``).
        """

        def by_level(d: dict[float, float]) -> dict[str, float]:
            return {format_level(q): float(v) for q, v in d.items()}

        return {
            "std": float(self.std),
            "quantiles": by_level(self.quantiles),
            "var": by_level(self.var),
            "es": by_level(self.es),
            "stderr": {"var": by_level(self.stderr_var), "es": by_level(self.stderr_es)},
            "tail_paths": by_level(self.tail_paths),
        }


def value_measures(
    values: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    levels: float | Sequence[float],
    expected: float | None = None,
    name: str = "value",
    min_tail_paths: float = MIN_TAIL_PATHS,
) -> ValueMeasures:
    """Std, lower quantiles, value at risk and expected shortfall of per-path value.

    Parameters
    ----------
    values : array_like, shape (N,)
        Per-path value (discounted margin over the horizon), finite.
    weights : array_like, shape (N,), optional
        Likelihood-ratio weights (self-normalised here). Default: all ones.
    levels : float or sequence of float
        Levels ``q`` in (0, 1) (e.g. 0.99: the worst 1% of value).
    expected : float, optional
        The exact ``E[V]``; default: the Monte Carlo mean (with its error in the standard
        errors of ``var`` and ``es``).
    name : str, default "value"
        For messages.
    min_tail_paths : float, default `MIN_TAIL_PATHS`
        Warn (`TailResolutionWarning`) below this many effective tail paths; 0 never warns.

    Returns
    -------
    ValueMeasures

    Raises
    ------
    ArgumentError
        For invalid values, weights or levels.

    Examples
    --------
    >>> vm = value_measures(np.arange(1.0, 101.0), levels=[0.95], min_tail_paths=0)
    >>> vm.quantiles[0.05], vm.var[0.95], vm.es[0.95], vm.tail_paths[0.95]
    (5.0, 45.5, 47.5, 5.0)
    """
    x, w = as_paths(values, weights, name=name)
    q = np.unique(as_levels(np.atleast_1d(levels)).ravel())
    low = np.array([round(1.0 - qi, 12) for qi in q.tolist()])  # 0.01, not 0.010000000000000009
    n = x.size
    wx = w * x
    mean_mc = float(np.mean(wx))
    psi_mean = influence(wx, w)
    exact = expected is not None
    centre = float(expected) if expected is not None else mean_mc
    psi_e = np.zeros(n) if exact else psi_mean
    xs, above = sort_paths(x, w)
    quants = sorted_quantile(xs, above, np.append(low, 0.5))
    sparse = sparsity(xs, above, low)
    out: dict[str, dict[float, float]] = {k: {} for k in ("var", "es", "se_var", "se_es", "tail")}
    per_level = zip(q.tolist(), low.tolist(), quants[:-1].tolist(), sparse.tolist(), strict=True)
    for qi, a, v, s in per_level:
        short = w * np.maximum(v - x, 0.0)
        tail_mean = v - float(short.sum()) / (n * a)
        out["var"][qi] = centre - v
        out["es"][qi] = centre - tail_mean
        out["se_var"][qi] = stderr_of_mean(psi_e - s * influence(w * (x > v), w))
        out["se_es"][qi] = stderr_of_mean(psi_e + influence(short, w) / a)
        out["tail"][qi] = kish(w[x <= v])
    warn_tail_resolution(out["tail"], n_paths=n, name=name, min_tail_paths=min_tail_paths)
    keys = [*low.tolist(), 0.5]
    return ValueMeasures(
        expected=centre,
        exact=exact,
        expected_mc=mean_mc,
        stderr_mc=stderr_of_mean(psi_mean),
        std=math.sqrt(max(float(np.mean(w * (x - mean_mc) ** 2)), 0.0)),
        quantiles=dict(zip(keys, quants.tolist(), strict=True)),
        var=out["var"],
        es=out["es"],
        stderr_var=out["se_var"],
        stderr_es=out["se_es"],
        tail_paths=out["tail"],
        n_paths=n,
    )
