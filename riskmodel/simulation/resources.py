"""Memory a run will need, estimated before anything is allocated, and the limit it must fit.

A run keeps per-path results (`riskmodel.simulation.engine`): with ``simulation.keep: paths``
four (path, period) arrays (loss, defaults, churn, margin) plus per-path arrays (loss per segment
and per cohort, weight, draw, churn value lost); with ``keep: totals`` the four outputs shrink to
per-path totals and discounted totals. All are float64 or int64, 8 bytes a value. Metrics then
sort and sum per-path totals, which takes a few more per-path arrays (`WORKING_ARRAYS`).

So, for ``N`` paths, ``H`` periods, ``S`` segments and ``C`` cohorts::

    keep: paths   8 N (4 H + S + C + 3 + WORKING_ARRAYS) bytes
    keep: totals  8 N (8     + S + C + 3 + WORKING_ARRAYS) bytes

Blocks in flight add the kernel's working arrays, which do not grow with ``N`` but with the
paths of the blocks simulated at once (one block of at most `BLOCK_SIZE` paths per worker) times
the cohorts: about `KERNEL_BYTES_PER_PATH_COHORT` bytes per path and cohort (counts per state,
moves and defaults, as (path, cohort, state) arrays; measured: a block of 1,000 paths of 10⁵
cohorts was killed by the system at 23 GB). A book of many small cohorts can therefore need
far more than its results: the check counts both, so such a run is refused with the fix
instead of exhausting the machine.

The limit is a fraction (`MEMORY_FRACTION`) of this machine's physical memory (or of the
container's memory limit, when smaller). ``RISKMODEL_MEMORY_LIMIT`` (bytes, or e.g. ``8G``,
``512M``) or the ``memory_limit=`` argument of the entry points override it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from riskmodel.errors import ArgumentError, ResourceLimitError
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.plan import BLOCK_SIZE
from riskmodel.simulation.pooled import POOL_MIN_COHORTS
from riskmodel.simulation.sub_blocks import sub_block_paths

__all__ = [
    "KERNEL_BYTES_PER_PATH_COHORT",
    "MEMORY_FRACTION",
    "POOLED_BYTES_PER_PATH_COHORT",
    "WORKING_ARRAYS",
    "check_run_memory",
    "check_scenarios_memory",
    "format_bytes",
    "kernel_bytes",
    "memory_limit",
    "run_bytes",
]

MEMORY_FRACTION = 0.5
"""Share of physical memory a run may plan to use by default."""

WORKING_ARRAYS = 6
"""Per-path float arrays the metrics need beside the stored results (totals, sort order, ...)."""

KERNEL_BYTES_PER_PATH_COHORT = 256
"""Kernel working memory per path in flight and cohort (about 30 float64 arrays of that shape)."""

POOLED_BYTES_PER_PATH_COHORT = 24
"""Kernel memory per path in flight and large-pool cohort when a block pools them into units
(`riskmodel.simulation.pooled`): only the block's loss per cohort (three float64 arrays)."""

PER_PERIOD_OUTPUTS = 4  # loss, defaults, churn, margin
PER_PATH_FIXED = 3  # weight, draw, churn_value_lost

_ENV = "RISKMODEL_MEMORY_LIMIT"
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def run_bytes(paths: int, horizon: int, n_segments: int, n_cohorts: int, keep: str) -> int:
    """Bytes a run of `paths` paths keeps in memory (see the module docstring for the formula).

    Examples
    --------
    >>> run_bytes(1000, 12, 1, 1, "paths")
    472000
    """
    per_output = horizon if keep == "paths" else 2  # totals: plain and discounted
    per_path = PER_PERIOD_OUTPUTS * per_output + n_segments + n_cohorts + PER_PATH_FIXED
    return 8 * int(paths) * (per_path + WORKING_ARRAYS)


def format_bytes(n: float) -> str:
    """``1.5 GB``-style size (powers of 1024)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PB"  # pragma: no cover - unreachable


def _physical_memory() -> int | None:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # not a POSIX system
        total = None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) > 0:
            total = int(text) if total is None else min(total, int(text))
    return total


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, flags=re.IGNORECASE)
    if not match:
        raise ArgumentError(
            f"{_ENV} must be a size in bytes, or a number with K, M, G or T (e.g. 8G); got "
            f"{text[:40]!r}."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def memory_limit(override: int | None = None) -> int | None:
    """Return the memory a run may plan to use, in bytes; None when it cannot be determined.

    Parameters
    ----------
    override : int, optional
        An explicit limit in bytes (the ``memory_limit=`` argument); wins over the environment.
    """
    if override is not None:
        return int(override)
    env = os.environ.get(_ENV)
    if env:
        return _parse_size(env)
    total = _physical_memory()
    return None if total is None else int(total * MEMORY_FRACTION)


def check_run_memory(
    paths: int,
    horizon: int,
    n_segments: int,
    n_cohorts: int,
    keep: str,
    *,
    copies: int = 1,
    limit: int | None = None,
    what: str = "the run",
    suggest_totals: bool = True,
    in_flight_paths: int = 0,
    kernel_bytes: int | None = None,
) -> int:
    """Refuse a run whose results would not fit in memory, before allocating anything.

    Parameters
    ----------
    paths, horizon, n_segments, n_cohorts, keep
        The run's shape (see `run_bytes`).
    copies : int, default 1
        Runs of this shape held at once (scenarios of a comparison, action counterfactuals).
    limit : int, optional
        Bytes allowed; default `memory_limit()`.
    what : str
        Names the run in the message, e.g. ``"scenario 'adverse'"``.
    suggest_totals : bool, default True
        Offer ``keep: totals`` as a fix (not for analyses that ignore it).
    in_flight_paths : int, default 0
        Paths the kernel simulates at once (blocks times workers); their working arrays,
        `KERNEL_BYTES_PER_PATH_COHORT` per path and cohort, count too.
    kernel_bytes : int, optional
        The kernel's working memory for the paths in flight (`kernel_bytes`); default
        `KERNEL_BYTES_PER_PATH_COHORT` per path in flight and cohort.

    Returns
    -------
    int
        The estimate in bytes.

    Raises
    ------
    ResourceLimitError
        With the estimate, the limit and the fix (fewer paths, or ``keep: totals``).
    """
    if kernel_bytes is None:
        kernel_bytes = KERNEL_BYTES_PER_PATH_COHORT * int(n_cohorts) * int(in_flight_paths)
    kernel = int(kernel_bytes)
    need = copies * run_bytes(paths, horizon, n_segments, n_cohorts, keep) + kernel
    allowed = memory_limit(limit)
    if allowed is None or need <= allowed:
        return need
    source = "a `memory_limit=` argument" if limit is not None else _limit_source()
    if kernel > need - kernel:  # the blocks in flight, not the kept results, are the problem
        raise ResourceLimitError(
            f"{what} simulates {in_flight_paths:,} paths at once over {n_cohorts:,} cohorts: "
            f"the engine's working arrays would need about {format_bytes(kernel)} of memory "
            f"(plus {format_bytes(need - kernel)} for the results), more than the "
            f"{format_bytes(allowed)} allowed ({source}). To fix: merge cohorts that share "
            "segment, state and exposure per customer (the portfolio file), or run on fewer "
            "workers (`simulation: {workers: 1}`); the paths per block are fixed."
        )
    room = allowed - kernel  # what the kept results may use
    fixes = [f"run at most {_paths_that_fit(room, (need - kernel) / paths):,} paths"]
    if keep == "paths" and suggest_totals:
        totals = copies * run_bytes(paths, horizon, n_segments, n_cohorts, "totals")
        fixes.append(
            "or set `simulation: {keep: totals}` to keep per-path totals only (it fits "
            f"{_paths_that_fit(room, totals / paths):,} paths)"
        )
    raise ResourceLimitError(
        f"{what} with {paths:,} paths over {horizon} periods would need about "
        f"{format_bytes(need)} of memory for its results (keep: {keep}), more than the "
        f"{format_bytes(allowed)} allowed ({source}). To fix: " + " ".join(fixes) + "."
    )


def kernel_bytes(scenario: Scenario, in_flight_paths: int) -> int:
    """Return the kernel's working memory for `in_flight_paths` paths of `scenario`, bytes.

    `KERNEL_BYTES_PER_PATH_COHORT` per path and cohort the kernel keeps arrays for, in whole
    blocks of at most `BLOCK_SIZE` paths, or in sub-blocks when a block would hold too many
    (`riskmodel.simulation.sub_blocks`); large-pool cohorts that a block pools into units
    (``approximation: large_pool`` with `riskmodel.simulation.pooled.POOL_MIN_COHORTS` of them
    or more) cost `POOLED_BYTES_PER_PATH_COHORT` per path instead, and a cut block its loss
    per cohort (8 bytes per path and cohort).
    """
    sim = scenario.config.simulation
    n = scenario.portfolio.n_cohorts
    n_pool = 0
    if sim.approximation == "large_pool" and getattr(scenario, "names", None) is None:
        customers = scenario.portfolio.per_customer()["customers"].to_numpy()
        n_pool = int(np.count_nonzero(customers >= sim.large_pool_min_customers))
    if n_pool < POOL_MIN_COHORTS:
        n_pool = 0
    paths = int(in_flight_paths)
    block = min(paths, BLOCK_SIZE)
    blocks = -(-paths // BLOCK_SIZE)
    step = sub_block_paths(n - n_pool, block)
    kept = KERNEL_BYTES_PER_PATH_COHORT * (n - n_pool) * step * blocks
    if step < block:
        kept += 8 * n * paths
    return kept + POOLED_BYTES_PER_PATH_COHORT * n_pool * paths


def _paths_that_fit(allowed: int, bytes_per_path: float) -> int:
    return int(allowed // bytes_per_path)


def _limit_source() -> str:
    if os.environ.get(_ENV):
        return f"{_ENV}"
    return (
        f"{MEMORY_FRACTION:.0%} of this machine's memory; raise it with {_ENV}, e.g. "
        f"{_ENV}=64G, if you know the run fits"
    )


def check_scenarios_memory(
    scenarios: Sequence[Scenario],
    paths: int,
    *,
    limit: int | None = None,
    what: str = "the run",
    in_flight_paths: int = 0,
) -> int:
    """`check_run_memory` for several scenarios whose results are all kept at once.

    The bound is conservative: every scenario is counted with the largest horizon, segment and
    cohort count of the set, twice if it has management actions (a counterfactual run). The
    scenarios run one after another, so the kernel's blocks in flight count once (those of the
    scenario that needs most, `kernel_bytes`).
    """
    keep = "paths" if any(sc.config.simulation.keep == "paths" for sc in scenarios) else "totals"
    copies = sum(2 if sc.config.actions else 1 for sc in scenarios)
    return check_run_memory(
        paths,
        max(sc.horizon for sc in scenarios),
        max(len(sc.segments) for sc in scenarios),
        max(sc.portfolio.n_cohorts for sc in scenarios),
        keep,
        copies=copies,
        limit=limit,
        what=what,
        in_flight_paths=in_flight_paths,
        kernel_bytes=max(kernel_bytes(sc, in_flight_paths) for sc in scenarios),
    )
