"""The exact engine against the RNG bound: count a run's variates, time them as bulk numpy calls.

The exact cohort engine is bound by the cost of its binomial and Beta draws. This module counts
every variate a run of a scenario draws — by running the run's own blocks through the kernel with
a `CountingGenerator`, which records the parameters of every draw and passes it on to the block's
real generator, so the counted run is the run itself (its losses are checked bit-identical to
the timed run's) — and then times the same number and kind of draws, with the same parameters, as
one bulk numpy call per kind and block, in the same process: the bound of exact sampling.
Efficiency is bound time / engine time, per repeat, with the engine run timed between two
bound timings (load on a shared machine moves both); the medians over repeats are printed.

With 2 threads the bound draws each half of the blocks in its own thread (numpy's generators
release the GIL for array draws), against the engine run with ``workers=2``.

What the bound holds: every variate drawn from a block's generator — the factor normals
(``standard_normal``, one per path and period), the uniforms of the importance-sampling
components and posterior draws (``random``/``integers``), the binomials and the LGD Betas — so
the factor draws are in it. Left out, because they are not draws: the tilt's inverse-CDF map of
the tilted paths and the likelihood ratios (`riskmodel.simulation.tilt`), and the quasi-random
(Sobol') innovations of a QMC run, which are computed, not drawn from the generator (B1 uses
pseudo-random innovations, so none of its normals is missing from the count).

The engine draws the exact chains with its compiled kernel when it is built
(`riskmodel.simulation.compiled`; bit-identical to the numpy code). Each repeat also times the
run with the numpy code (``RISKMODEL_KERNEL=numpy``), the baseline the kernel is compared with:
its efficiency and the compiled kernel's speed-up are printed beside the main lines.

Where the gap goes: the same blocks are run again with a `ReplayGenerator` handing back each
draw's recorded result, so the kernel does all its own work and draws nothing (the numpy code:
the compiled kernel draws from the bit generator itself and cannot be replayed); its CPU time,
the bound's and the engines' give the split printed on the line "where the CPU goes".

A run of B1 is the scenario as written, its own 20,000 paths; ``--paths`` times fewer or more
(at 8,192 paths the run's serial part, about 0.15 s of plan, tilt design and results that do not
grow with the paths, weighs 2.5 times as much against the draws).

Run:  python benchmarks/rng_bound.py [--scenario scenarios/baseline.yaml] [--paths N]
(``benchmarks/engine.py`` runs it first.)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import riskmodel as rm
from riskmodel.simulation.backends import block_innovations
from riskmodel.simulation.compiled import KERNEL_ENV, compiled_status
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.kernel import simulate_block
from riskmodel.simulation.plan import BLOCK_SIZE, plan_run, plan_sampling
from riskmodel.simulation.seeding import block_rng, seed_entropy

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BlockDraws:
    """Every variate one block drew: binomial (n, p), Beta (a, b) and counts of the others."""

    binomial_n: list[np.ndarray] = field(default_factory=list)
    binomial_p: list[np.ndarray] = field(default_factory=list)
    beta_a: list[np.ndarray] = field(default_factory=list)
    beta_b: list[np.ndarray] = field(default_factory=list)
    normals: int = 0
    uniforms: int = 0  # random(), integers() and choice() each take one uniform-like draw
    outputs: list[Any] = field(default_factory=list)  # every draw's result, in order (replay)

    def bulk(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The block's binomial and Beta parameters as flat arrays, in drawing order."""

        def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        return (
            cat(self.binomial_n, np.int64),
            cat(self.binomial_p, np.float64),
            cat(self.beta_a, np.float64),
            cat(self.beta_b, np.float64),
        )


class CountingGenerator:
    """A `numpy.random.Generator` stand-in that records each draw, then makes it with `rng`.

    Only the methods the engine uses exist; any other raises AttributeError, so a draw the
    benchmark does not know about cannot go uncounted.
    """

    def __init__(self, rng: np.random.Generator, record: BlockDraws) -> None:
        self._rng = rng
        self.record = record

    def binomial(self, n: Any, p: Any, size: Any = None) -> Any:
        n_b, p_b = np.broadcast_arrays(np.asarray(n), np.asarray(p))
        self.record.binomial_n.append(n_b.ravel().astype(np.int32))
        self.record.binomial_p.append(p_b.ravel().copy())
        return self._out(self._rng.binomial(n, p, size))

    def beta(self, a: Any, b: Any, size: Any = None) -> Any:
        a_b, b_b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
        self.record.beta_a.append(a_b.ravel().copy())
        self.record.beta_b.append(b_b.ravel().copy())
        return self._out(self._rng.beta(a, b, size))

    def standard_normal(self, size: Any = None) -> Any:
        self.record.normals += int(np.prod(size)) if size is not None else 1
        return self._out(self._rng.standard_normal(size))

    def random(self, size: Any = None) -> Any:
        self.record.uniforms += int(np.prod(size)) if size is not None else 1
        return self._out(self._rng.random(size))

    def integers(self, *args: Any, size: Any = None, **kwargs: Any) -> Any:
        self.record.uniforms += int(np.prod(size)) if size is not None else 1
        return self._out(self._rng.integers(*args, size=size, **kwargs))

    def choice(self, *args: Any, size: Any = None, **kwargs: Any) -> Any:
        self.record.uniforms += int(np.prod(size)) if size is not None else 1
        return self._out(self._rng.choice(*args, size=size, **kwargs))

    def _out(self, value: Any) -> Any:
        self.record.outputs.append(value)
        return value


class ReplayGenerator:
    """Hands back a block's recorded draws in order: the kernel's work without the draws."""

    def __init__(self, outputs: list[Any]) -> None:
        self._outputs = iter(outputs)

    def _next(self, *args: Any, **kwargs: Any) -> Any:
        return next(self._outputs)

    binomial = beta = standard_normal = random = integers = choice = _next


def replay_cpu(scenario: rm.Scenario, paths: int, draws: list[BlockDraws]) -> float:
    """CPU seconds of the run's blocks with every draw replayed (no random variate drawn).

    The same blocks as `count_draws`, given the recorded results of their draws: what the engine
    spends outside the generator, per block, between the factor innovations and the outputs.
    """
    inputs = build_kernel_inputs(scenario)
    sim = scenario.config.simulation
    sampling = plan_sampling(scenario, inputs, sim.importance_sampling, sim.qmc, None)
    entropy = seed_entropy(scenario.config.seed)
    plan = plan_run(paths, entropy, BLOCK_SIZE)
    eps = [block_innovations(inputs, entropy, b, n, sampling) for b, _, n in plan.blocks]
    c0 = time.process_time()
    for (_, _, n), e, record in zip(plan.blocks, eps, draws, strict=True):
        simulate_block(
            inputs,
            ReplayGenerator(record.outputs),  # type: ignore[arg-type]
            n,
            z_mean=sampling.z_mean,
            z_prob=sampling.z_prob,
            tilt=sampling.tilt,
            eps=e,
        )
    return time.process_time() - c0


def count_draws(scenario: rm.Scenario, paths: int) -> tuple[list[BlockDraws], np.ndarray]:
    """Run the scenario's blocks through the kernel with counting generators.

    Follows `riskmodel.simulation.backends.run_task` (same seed entropy, blocks, factor sampling,
    QMC innovations). Returns each block's draws and the total loss per path.
    """
    inputs = build_kernel_inputs(scenario)
    sim = scenario.config.simulation
    sampling = plan_sampling(scenario, inputs, sim.importance_sampling, sim.qmc, None)
    entropy = seed_entropy(scenario.config.seed)
    plan = plan_run(paths, entropy, BLOCK_SIZE)
    draws, loss = [], []
    for b, _, n in plan.blocks:
        eps = block_innovations(inputs, entropy, b, n, sampling)
        record = BlockDraws()
        rng = CountingGenerator(block_rng(entropy, b), record)
        out = simulate_block(
            inputs,
            rng,  # type: ignore[arg-type]
            n,
            z_mean=sampling.z_mean,
            z_prob=sampling.z_prob,
            tilt=sampling.tilt,
            eps=eps,
        )
        draws.append(record)
        loss.append(out.loss.sum(axis=1))
    return draws, np.concatenate(loss)


def bound_time(
    bulk: list[tuple[np.ndarray, ...]], counts: list[tuple[int, int]], threads: int
) -> tuple[float, float]:
    """Wall and CPU time of the blocks' draws as bulk numpy calls, blocks split over `threads`."""

    def draw(blocks: list[int]) -> None:
        rng = np.random.default_rng(12345 + blocks[0] if blocks else 0)
        for b in blocks:
            n, p, a, beta_b = bulk[b]
            normals, uniforms = counts[b]
            rng.standard_normal(normals)
            rng.random(uniforms)
            rng.binomial(n, p)
            if a.size:
                rng.beta(a, beta_b)

    share = [list(range(i, len(bulk), threads)) for i in range(threads)]
    t0, c0 = time.perf_counter(), time.process_time()
    if threads == 1:
        draw(share[0])
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(draw, share))
    return time.perf_counter() - t0, time.process_time() - c0


def describe(draws: list[BlockDraws], inputs_shape: tuple[int, int, int, int, int]) -> list[str]:
    """Lines counting the draws by kind, binomials by n and p range and numpy's algorithm."""
    n = np.concatenate([np.concatenate(d.binomial_n) for d in draws if d.binomial_n])
    p = np.concatenate([np.concatenate(d.binomial_p) for d in draws if d.binomial_p])
    betas = sum(sum(len(a) for a in d.beta_a) for d in draws)
    normals = sum(d.normals for d in draws)
    uniforms = sum(d.uniforms for d in draws)
    q = np.minimum(p, 1.0 - p)
    mean = n * q
    certain = (n == 0) | (p == 0)
    paths, cohorts, origins, steps, horizon = inputs_shape
    every = paths * cohorts * origins * (1 + steps) * horizon
    lines = [
        f"variates drawn: {n.size:,} binomials, {betas:,} Betas, {normals:,} normals, "
        f"{uniforms:,} uniforms",
        f"  binomials with a certain outcome (n = 0 or p = 0): {int(certain.sum()):,}",
        f"  a kernel drawing every (path, cohort, origin, step) would draw {every:,} binomials: "
        f"{every - n.size:,} ({1 - n.size / every:.1%}) skipped",
        f"  numpy's algorithm: inversion (n·min(p, 1−p) ≤ 30) "
        f"{int(((mean <= 30) & ~certain).sum()):,}, BTPE {int((mean > 30).sum()):,}",
    ]
    n_edges = [0, 1, 100, 1_000, 10_000, 100_000, np.inf]
    p_edges = [0, 1e-3, 1e-2, 0.05, 0.2, 1.0 + 1e-12]
    hist, _, _ = np.histogram2d(n, p, bins=[n_edges, p_edges])
    header = "  n \\ p        " + "".join(
        f"{f'[{lo:g},{hi:.2g})':>14s}" for lo, hi in itertools.pairwise(p_edges)
    )
    lines.append(header)
    for i, (lo, hi) in enumerate(itertools.pairwise(n_edges)):
        label = f"[{lo:g}, {hi:g})"
        lines.append(f"  {label:13s}" + "".join(f"{int(c):14,d}" for c in hist[i]))
    return lines


@contextlib.contextmanager
def numpy_kernel() -> Iterator[None]:
    """Run the exact chains with the numpy code instead of the compiled kernel."""
    before = os.environ.get(KERNEL_ENV)
    os.environ[KERNEL_ENV] = "numpy"
    try:
        yield
    finally:
        if before is None:
            del os.environ[KERNEL_ENV]
        else:
            os.environ[KERNEL_ENV] = before


def measure(scenario_path: Path, paths: int | None, repeats: int) -> dict[str, float]:
    """Print the draw counts and the efficiency of the engine against the RNG bound.

    `paths` None runs the scenario's own number of paths (20,000 for B1): a run of the scenario.
    """
    sc = rm.load_scenario(scenario_path)
    paths = paths or sc.config.paths
    inputs = build_kernel_inputs(sc)
    rm.simulate(sc, paths=BLOCK_SIZE, progress=False)  # warm-up (imports, caches)
    draws, counted_loss = count_draws(sc, paths)
    run = rm.simulate(sc, paths=paths, workers=1, progress=False)
    if not np.array_equal(run.data["loss"].sum("period").values, counted_loss):
        raise RuntimeError("the counted run and the engine run differ: the count is not the run's")
    shape = (
        paths,
        len(inputs.customers),
        len(inputs.transient_idx),
        inputs.dest.shape[1] - 1,
        inputs.horizon,
    )
    print(f"B1: {sc.name} ({scenario_path.name}), {paths} paths, {sc.horizon} periods")
    print(f"exact chains drawn by: {compiled_status()}")
    for line in describe(draws, shape):
        print(line)
    bulk = [d.bulk() for d in draws]
    counts = [(d.normals, d.uniforms) for d in draws]
    replay = statistics.median(replay_cpu(sc, paths, draws) for _ in range(repeats))
    bound_cpu = statistics.median(bound_time(bulk, counts, 1)[1] for _ in range(repeats))
    engine_cpu = statistics.median(_engine_cpu(sc, paths) for _ in range(repeats))
    with numpy_kernel():
        numpy_cpu = statistics.median(_engine_cpu(sc, paths) for _ in range(repeats))
    print(
        f"where the CPU goes, 1 thread (medians): draws (bound) {bound_cpu:.2f} s; engine "
        f"{engine_cpu:.2f} s, {engine_cpu - bound_cpu:.2f} s beyond the bound; with the numpy "
        f"code {numpy_cpu:.2f} s, of which its kernel without its draws (replayed) "
        f"{replay:.2f} s and the rest of the run (plan, tilt, results) "
        f"{max(numpy_cpu - bound_cpu - replay, 0.0):.2f} s"
    )
    del draws
    result: dict[str, float] = {}
    for threads in (1, 2):
        ratios, cpu_ratios, engine, bound, numpy_ratios, speedups = [], [], [], [], [], []
        for _ in range(repeats):
            b0, b0_cpu = bound_time(bulk, counts, threads)
            t0, c0 = time.perf_counter(), time.process_time()
            rm.simulate(sc, paths=paths, workers=threads, progress=False)
            t_engine, c_engine = time.perf_counter() - t0, time.process_time() - c0
            b1, b1_cpu = bound_time(bulk, counts, threads)
            with numpy_kernel():
                t0 = time.perf_counter()
                rm.simulate(sc, paths=paths, workers=threads, progress=False)
                t_numpy = time.perf_counter() - t0
            b2, _ = bound_time(bulk, counts, threads)
            ratios.append(0.5 * (b0 + b1) / t_engine)
            cpu_ratios.append(0.5 * (b0_cpu + b1_cpu) / c_engine)
            numpy_ratios.append(0.5 * (b1 + b2) / t_numpy)
            speedups.append(t_numpy / t_engine)
            engine.append(t_engine)
            bound.append(0.5 * (b0 + b1))
        eff = statistics.median(ratios)
        name = "thread" if threads == 1 else "threads"
        print(
            f"engine {threads} {name}: {paths / statistics.median(engine):8.0f} paths/s "
            f"(median {statistics.median(engine):.2f} s); bound {statistics.median(bound):.2f} s; "
            f"CPU-time ratio {statistics.median(cpu_ratios):.3f} (steadier on a loaded machine)"
        )
        print(
            f"  baseline, the numpy code instead of the compiled kernel: efficiency "
            f"{statistics.median(numpy_ratios):.3f}; time numpy code / engine "
            f"{statistics.median(speedups):.3f}"
        )
        print(f"efficiency vs RNG bound, {threads} {name}: {eff:.3f}")
        result[f"efficiency_{threads}"] = eff
        result[f"paths_per_s_{threads}"] = paths / statistics.median(engine)
    return result


def _engine_cpu(sc: rm.Scenario, paths: int) -> float:
    c0 = time.process_time()
    rm.simulate(sc, paths=paths, workers=1, progress=False)
    return time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "baseline.yaml")
    ap.add_argument("--paths", type=int, default=None, help="default: the scenario's own")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    measure(args.scenario, args.paths, args.repeats)


if __name__ == "__main__":
    main()
