"""The metrics at a set of factor points: exact, by the engine, or on the large-pool model.

Every analysis (tornado, Sobol) evaluates its metrics at a set of points, each a variant of the
base scenario (`riskmodel.sensitivity.factors.apply_factors`). How each metric is obtained is
recorded as its *method*:

``exact``
    The exact expectations (``expected_loss``, ``ecl_lifetime``, ``value`` …), vectorised over
    all points (`riskmodel.simulation.variant_batch.exact_batch`): no simulation, no Monte Carlo
    error.
``engine``
    Simulated metrics (VaR, ES …) from the exact engine, every point on the same seed and factor
    sampling (`riskmodel.simulation.variants.simulate_variants` with ``totals=True``).
``large_pool``
    Simulated metrics from the large-pool model (`large_pool_batch`): the loss given the factor
    path with the idiosyncratic noise averaged out, on the engine's own factor paths. Its error
    is *measured*: `large_pool_check` runs the engine at the tornado points on ``check_paths``
    paths and compares each metric with the large-pool one on the same paths (paired, so the
    difference is the approximation's, not Monte Carlo noise). The analyses report the largest
    relative difference and feed the spread of the differences into the Sobol intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskmodel.errors import ArgumentError
from riskmodel.scenarios.load import Scenario
from riskmodel.sensitivity.measures import MetricSpec, simulated_metrics
from riskmodel.simulation.plan import Sampling
from riskmodel.simulation.variant_batch import exact_batch, large_pool_batch
from riskmodel.simulation.variants import PathTotals, simulate_variants

__all__ = ["APPROXIMATIONS", "Evaluation", "LargePoolCheck", "evaluate_points", "large_pool_check"]

APPROXIMATIONS = ("none", "large_pool")
"""``none``: simulated metrics from the engine; ``large_pool``: from the large-pool model."""


@dataclass
class Evaluation:
    """Metrics at a set of points.

    ``values[name]`` has one value per point; ``totals`` the per-path totals of each point
    (simulated metrics only, for paired standard errors); ``groups[name]`` (points, G) the
    simulated metric on each of G disjoint sets of paths (when asked for).
    """

    values: dict[str, np.ndarray]
    totals: list[PathTotals] | None = None
    groups: dict[str, np.ndarray] = field(default_factory=dict)


def _method(spec: MetricSpec, approximation: str) -> str:
    if spec.exact:
        return "exact"
    return "large_pool" if approximation == "large_pool" else "engine"


def methods(specs: Sequence[MetricSpec], approximation: str) -> list[str]:
    """Return the method of each metric (``exact``, ``engine`` or ``large_pool``)."""
    return [_method(s, approximation) for s in specs]


def evaluate_points(
    variants: Sequence[Scenario],
    specs: Sequence[MetricSpec],
    *,
    approximation: str,
    paths: int,
    entropy: int,
    sampling: Sampling | None,
    groups: int = 0,
    engine: dict[str, Any] | None = None,
) -> Evaluation:
    """Evaluate `specs` at every variant (see the module docstring for the methods).

    Parameters
    ----------
    variants : sequence of Scenario
        The points, as variants of one base scenario.
    specs : sequence of MetricSpec
    approximation : {"none", "large_pool"}
    paths : int
        Paths per point for simulated metrics.
    entropy : int
        The common seed entropy.
    sampling : Sampling or None
        The shared factor sampling (needed for simulated metrics).
    groups : int, default 0
        Also compute each simulated metric on `groups` disjoint sets of paths.
    engine : dict, optional
        Keywords for `simulate_variants` (``client``, ``scheduler`` …).
    """
    exact = [s.name for s in specs if s.exact]
    if variants and variants[0].names is not None and (exact or approximation == "large_pool"):
        raise ArgumentError(
            "the batched exact expectations and large-pool model of a sensitivity analysis "
            "treat every cohort of a segment alike, so they cannot take `portfolio: names` "
            f"(own PD multipliers and LGDs); metrics {exact or 'simulated'} need them. Use "
            "simulated metrics (e.g. var/es) with `approximation: none`, or drop the names."
        )
    out: dict[str, np.ndarray] = {}
    if exact:
        batch = exact_batch(variants)
        out.update({name: batch[name] for name in exact})
    sim = [s for s in specs if not s.exact]
    if not sim:
        return Evaluation(values=out)
    if sampling is None:
        raise ArgumentError("simulated metrics need the shared `sampling` plan; got None.")
    if approximation == "large_pool":
        lp = large_pool_batch(variants, paths=paths, entropy=entropy, sampling=sampling)
        totals = [PathTotals(loss=lp.loss[p], weight=lp.weight[p]) for p in range(len(variants))]
    else:
        totals = simulate_variants(
            variants, paths=paths, entropy=entropy, totals=True, sampling=sampling, **(engine or {})
        )
    rows = [simulated_metrics(t.loss, t.weight, sim) for t in totals]
    out.update({s.name: np.array([r[s.name] for r in rows]) for s in sim})
    parts: dict[str, np.ndarray] = {}
    if groups > 1:
        cut = np.array_split(np.arange(paths), groups)
        per = [[simulated_metrics(t.loss[c], t.weight[c], sim) for c in cut] for t in totals]
        parts = {s.name: np.array([[g[s.name] for g in p] for p in per]) for s in sim}
    return Evaluation(values=out, totals=totals, groups=parts)


@dataclass(frozen=True)
class LargePoolCheck:
    """The large-pool model against the engine at a few points, on the same paths.

    ``engine[name]`` and ``large_pool[name]`` hold the metric at each point (same paths, same
    factor paths); ``paths`` the paths per point.
    """

    engine: dict[str, np.ndarray]
    large_pool: dict[str, np.ndarray]
    paths: int

    def relative_error(self, name: str) -> float:
        """Largest ``|large_pool − engine| / |engine|`` over the points."""
        e, lp = self.engine[name], self.large_pool[name]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.abs(lp - e) / np.abs(e)
        return float(np.nanmax(rel)) if np.any(np.isfinite(rel)) else math.nan

    def spread(self, name: str) -> float:
        """Return the standard deviation over the points of the difference (metric units).

        What moves Sobol indices: a constant error leaves them unchanged.
        """
        d = self.large_pool[name] - self.engine[name]
        return float(np.std(d, ddof=1)) if d.size > 1 else float(abs(d[0]))


def large_pool_check(
    variants: Sequence[Scenario],
    specs: Sequence[MetricSpec],
    *,
    paths: int,
    entropy: int,
    sampling: Sampling,
    engine: dict[str, Any] | None = None,
) -> LargePoolCheck:
    """Measure the large-pool error of the simulated metrics at `variants` (module docstring)."""
    sim = [s for s in specs if not s.exact]
    ref = evaluate_points(
        variants,
        sim,
        approximation="none",
        paths=paths,
        entropy=entropy,
        sampling=sampling,
        engine=engine,
    )
    lp = evaluate_points(
        variants, sim, approximation="large_pool", paths=paths, entropy=entropy, sampling=sampling
    )
    return LargePoolCheck(engine=ref.values, large_pool=lp.values, paths=paths)
