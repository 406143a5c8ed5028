"""Sobol' indices of any vectorised model by Saltelli's scheme, through SALib.

SALib does the design and the analysis: `SALib.sample.sobol.sample` (Saltelli's scheme on a
scrambled Sobol' sequence, ``calc_second_order=False``, so ``N (k + 2)`` model evaluations for
``k`` factors) and `SALib.analyze.sobol.analyze` (first-order ``S1`` and total ``ST`` indices with
bootstrap confidence intervals). `sobol_indices` builds SALib's ``problem`` from factor bounds,
evaluates the model at the design points in batches, checks what it returns and analyses each
metric; `riskmodel.sensitivity.variance.sobol` is its scenario front end (the checks and the
seeding are documented there).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from riskmodel.config.sensitivity import MIN_N
from riskmodel.sensitivity.result import SensitivityResult, SensitivityWarning, empty_dataset
from riskmodel.sensitivity.surrogate_sobol import warn_wide_intervals
from riskmodel.simulation.seeding import ANALYSIS_KEY, DESIGN_KEY
from riskmodel.simulation.seeding import seed_entropy as entropy_of

__all__ = ["DEFAULT_BATCH", "RECOMMENDED_N", "check_sample_size", "sobol_indices"]

RECOMMENDED_N = 64
"""Base sample size below which `check_sample_size` warns that the indices are rough."""
DEFAULT_BATCH = 64
"""Design points per call of the model."""


def check_sample_size(n: int) -> None:
    """Raise `ValueError` unless `n` is a power of 2 and >= `MIN_N`; warn below `RECOMMENDED_N`."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ValueError(f"`n` must be a whole number, a power of 2 such as 64; got {n!r}.")
    n = int(n)
    if n < MIN_N or n & (n - 1):
        lower = 2 ** max(int(math.log2(max(n, 1))), 3)
        upper = max(lower * 2 if lower < n else lower, MIN_N)
        raise ValueError(
            f"`n` must be a power of 2 and at least {MIN_N} (Sobol' sequences are balanced only "
            f"at powers of 2); got {n}. Use {lower if lower != upper else upper}"
            + (f" or {upper}." if lower != upper else ".")
        )
    if n < RECOMMENDED_N:
        warnings.warn(
            f"Sobol sample size n = {n} is small; indices and their intervals are rough below "
            f"n = {RECOMMENDED_N}. Increase `n` (cost grows as n (k + 2) evaluations).",
            SensitivityWarning,
            stacklevel=3,
        )


def _salib_seed(entropy: int, key: int) -> int:
    """Derive a non-zero 63-bit integer seed for SALib statelessly from the entropy."""
    state = np.random.SeedSequence(entropy, spawn_key=(key,)).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1 | 1


def sobol_indices(
    evaluate: Callable[[np.ndarray], np.ndarray],
    bounds: Mapping[str, tuple[float, float]],
    metrics: Sequence[str] = ("y",),
    *,
    n: int = RECOMMENDED_N,
    seed: int | None = None,
    conf_level: float = 0.95,
    resamples: int = 100,
    batch: int = DEFAULT_BATCH,
    attrs: Mapping[str, Any] | None = None,
) -> SensitivityResult:
    """Sobol indices of any vectorised model (the evaluation hook under `sobol`).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(X) -> Y`` with ``X`` of shape (points, k) in the order of `bounds` and ``Y``
        of shape (points, len(metrics)) (or (points,) for one metric). Called once per batch.
    bounds : mapping of str to (low, high)
        Factors and their uniform ranges.
    metrics : sequence of str
        Names of the output columns.
    n : int, default 64
        Base sample size, a power of 2; ``n (k + 2)`` evaluations.
    seed : int, optional
        Seed of the design and of SALib's bootstrap.
    conf_level : float, default 0.95
        Level of the confidence intervals (``*_conf`` are half-widths).
    resamples : int, default 100
        SALib's bootstrap resamples for the intervals.
    batch : int, default 64
        Design points per call of `evaluate`.
    attrs : mapping, optional
        Extra attributes for the result.

    Returns
    -------
    SensitivityResult
        ``S1``, ``S1_conf``, ``ST``, ``ST_conf``, ``low``, ``high``, ``X`` and ``Y`` filled.

    Raises
    ------
    ValueError
        For a bad `n`, bounds or an `evaluate` returning the wrong shape or non-finite values.

    Warns
    -----
    SensitivityWarning
        If ``n`` is below `RECOMMENDED_N` or an interval is wider than its index (see module).

    Examples
    --------
    >>> res = sobol_indices(lambda x: 2 * x[:, 0] + x[:, 1], {"a": (0, 1), "b": (0, 1)},
    ...                     n=256, seed=1)
    >>> round(float(res.data["S1"].sel(metric="y", factor="a")), 1)
    0.8
    """
    from SALib.sample import sobol as sobol_sample

    check_sample_size(n)
    names, lows, highs = _check_design(bounds, conf_level, resamples)
    metrics = list(metrics)
    entropy = entropy_of(seed)
    problem = {
        "num_vars": len(names),
        "names": names,
        "bounds": [list(b) for b in zip(lows, highs, strict=True)],
    }
    design_rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(DESIGN_KEY,)))
    x = sobol_sample.sample(problem, int(n), calc_second_order=False, seed=design_rng)
    y = _evaluate_design(evaluate, x, len(metrics), batch)
    ds = empty_dataset(metrics, names)
    ds["low"][:] = lows
    ds["high"][:] = highs
    constant = _analyze(ds, problem, y, metrics, entropy, conf_level, resamples)
    ds["X"] = (("sample", "factor"), x)
    ds["Y"] = (("sample", "metric"), y)
    ds = ds.assign_coords(sample=np.arange(x.shape[0]))
    ds.attrs.update(
        {
            "methods": ["sobol"],
            "sobol_n": int(n),
            "sobol_evaluations": int(x.shape[0]),
            "sobol_seed": "" if seed is None else str(seed),
            "sobol_entropy": str(entropy),
            "sobol_conf_level": float(conf_level),
            "sobol_resamples": int(resamples),
            "constant_metrics": constant,
        }
    )
    ds.attrs.update(attrs or {})
    warn_wide_intervals(ds)
    return SensitivityResult(ds)


def _check_design(
    bounds: Mapping[str, tuple[float, float]], conf_level: float, resamples: int
) -> tuple[list[str], list[float], list[float]]:
    """Return the factor names, lows and highs of `bounds`, checking them and the analysis."""
    names = list(bounds)
    if not names:
        raise ValueError("give at least one factor with its bounds.")
    lows = [float(bounds[k][0]) for k in names]
    highs = [float(bounds[k][1]) for k in names]
    bad = [k for k, lo, hi in zip(names, lows, highs, strict=True) if not lo < hi]
    if bad:
        raise ValueError(f"bounds must have low < high; not so for {bad}.")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"`conf_level` must be in (0, 1); got {conf_level}.")
    if resamples < 10:
        raise ValueError(f"`resamples` must be >= 10; got {resamples}.")
    return names, lows, highs


def _evaluate_design(
    evaluate: Callable[[np.ndarray], np.ndarray], x: np.ndarray, n_metrics: int, batch: int
) -> np.ndarray:
    """Evaluate the model at the design points `x`, `batch` points a call; check its output."""
    y = np.empty((x.shape[0], n_metrics))
    step = max(1, int(batch))
    for start in range(0, x.shape[0], step):
        out = np.asarray(evaluate(x[start : start + step]), dtype=float)
        if out.ndim == 1:
            out = out[:, None]
        if out.shape != (min(step, x.shape[0] - start), n_metrics):
            raise ValueError(
                f"`evaluate` must return shape (points, {n_metrics}); got {out.shape}."
            )
        y[start : start + step] = out
    if not np.all(np.isfinite(y)):
        raise ValueError("the model returned NaN or inf at some design points.")
    return y


def _analyze(
    ds: xr.Dataset,
    problem: dict[str, Any],
    y: np.ndarray,
    metrics: list[str],
    entropy: int,
    conf_level: float,
    resamples: int,
) -> list[str]:
    """Fill ``S1``, ``ST`` and their intervals of `ds` per metric; return the constant metrics."""
    from SALib.analyze import sobol as sobol_analyze

    constant = []
    analysis_seed = _salib_seed(entropy, ANALYSIS_KEY)
    for m, name in enumerate(metrics):
        col = y[:, m]
        if np.ptp(col) <= 1e-12 * max(1.0, float(np.max(np.abs(col)))):
            constant.append(name)
            continue
        si = sobol_analyze.analyze(
            problem,
            col,
            calc_second_order=False,
            num_resamples=int(resamples),
            conf_level=float(conf_level),
            print_to_console=False,
            seed=analysis_seed,
        )
        for v in ("S1", "S1_conf", "ST", "ST_conf"):
            ds[v][m, :] = np.asarray(si[v], dtype=float)
    return constant
