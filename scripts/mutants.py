"""A curated catalogue of domain mutants: plant one plausible bug at a time, see a test fail.

Each mutant replaces one exact source snippet of the numerical core with a plausible wrong
version (a flipped sign, a missing likelihood-ratio weight, an off-by-one period, a dropped
correction term, an ignored option) and names the test files that should catch it. The script
copies the repository once per worker into a temporary folder (the working tree is never
touched, so other people can keep working in it), applies one mutant in that copy, runs the
named tests with a timeout, restores the file, and reports killed / survived with timings.

Usage::

    python scripts/mutants.py --list
    python scripts/mutants.py                 # every mutant, one worker
    python scripts/mutants.py --jobs 2        # two private copies in parallel
    python scripts/mutants.py --only risk-std-weight-correction --only kernel-sqrt-rho-sign
    python scripts/mutants.py --from-head     # mutate the last commit instead of the work tree

Statuses: ``killed`` (a test failed), ``timeout`` (the tests ran past ``--timeout``; counted as
killed), ``survived`` (every test passed: a gap in the suite), ``stale`` (the snippet no longer
occurs exactly once in the file: refresh the catalogue), ``error`` (pytest could not run, e.g. a
collection error of the unmutated tests). Exit status: 0 if no mutant survived, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPIED = ("riskmodel", "tests", "scenarios", "pyproject.toml", "README.md")
O_SUMMARY = "tests/oracles/test_summary_oracles.py"
O_CONTRIB = "tests/oracles/test_contribution_oracles.py"
O_SENS = "tests/oracles/test_sensitivity_oracles.py"
O_COVER = "tests/oracles/test_coverage.py"
O_DYN = "tests/oracles/test_dynamics_oracles.py"


@dataclass(frozen=True)
class Mutant:
    """One planted bug: replace `old` (must occur exactly once in `file`) by `new`."""

    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str


def _m(name: str, file: str, old: str, new: str, tests: Sequence[str], why: str) -> Mutant:
    return Mutant(name, f"riskmodel/{file}", old, new, tuple(tests), why)


# Test files run in this order with -x: fast, likely killers first.
RISK_T = ("tests/metrics/test_risk.py", O_CONTRIB, O_SUMMARY, O_COVER)
CONTRIB_T = ("tests/metrics/test_contributions.py", O_CONTRIB, O_SUMMARY)
ENGINE_T = (
    "tests/simulation/test_engine.py",
    O_DYN,
    "tests/simulation/test_importance.py",
    O_SUMMARY,
    O_CONTRIB,
)
EXPECTED_T = ("tests/simulation/test_expected.py", "tests/simulation/test_ecl.py", O_SUMMARY)
VALUE_T = (O_SUMMARY, "tests/test_report.py", O_COVER)

CATALOGUE: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- metrics/risk.py
    _m(
        "weights-self-normalisation-dropped",
        "metrics/weighted.py",
        "return x, w * (w.size / total)",
        "return x, w",
        RISK_T,
        "weights not rescaled to mean one (std, ES and quantiles of an unnormalised measure)",
    ),
    _m(
        "risk-es-denominator",
        "metrics/risk.py",
        'res["es"][qi] = v + float(excess.sum()) / (n * (1.0 - qi))',
        'res["es"][qi] = v + float(excess.sum()) / (n * qi)',
        RISK_T,
        "ES excess divided by N q instead of N(1 - q) (dividing by the weight sum instead of N "
        "is equivalent since the weights are self-normalised)",
    ),
    _m(
        "risk-es-excess-unweighted",
        "metrics/risk.py",
        "excess = w * np.maximum(x - v, 0.0)",
        "excess = np.maximum(x - v, 0.0)",
        RISK_T,
        "ES excess over VaR without the likelihood-ratio weights",
    ),
    _m(
        "risk-quantile-unweighted",
        "metrics/weighted.py",
        "return sorted_quantile(*sort_paths(x, w), levels)",
        "return sorted_quantile(*sort_paths(x, np.ones_like(w)), levels)",
        RISK_T,
        "weighted_quantile ignores its weights (value quantiles, contribution VaR)",
    ),
    _m(
        "risk-quantile-off-by-one",
        "metrics/weighted.py",
        'return xs[np.searchsorted(-above, -threshold, side="left")]',
        'return xs[np.minimum(np.searchsorted(-above, -threshold, side="left") + 1, n - 1)]',
        RISK_T,
        "VaR one order statistic too high",
    ),
    _m(
        "risk-var-stderr-unweighted",
        "metrics/risk.py",
        'res["se_var"][qi] = stderr_ratio(w * (x > v), w) * s',
        'res["se_var"][qi] = stderr_ratio(1.0 * (x > v), np.ones_like(w)) * s',
        RISK_T,
        "VaR standard error of plain Monte Carlo under importance sampling",
    ),
    _m(
        "risk-es-stderr-level",
        "metrics/risk.py",
        'res["se_es"][qi] = stderr_ratio(excess, w) / (1.0 - qi)',
        'res["se_es"][qi] = stderr_ratio(excess, w)',
        RISK_T,
        "ES standard error without the 1/(1 - q) factor",
    ),
    _m(
        "risk-el-stderr-unweighted",
        "metrics/risk.py",
        "stderr_expected=stderr_ratio(wx, w),",
        "stderr_expected=stderr_ratio(x, np.ones_like(w)),",
        RISK_T,
        "EL standard error from the unweighted losses",
    ),
    _m(
        "risk-exceedance-unweighted",
        "metrics/weighted.py",
        "hit = w * (x > threshold)",
        "hit = 1.0 * (x > threshold)",
        ("tests/metrics/test_risk.py", "tests/metrics/test_alerts.py", O_SUMMARY),
        "exceedance probability (alerts) without weights",
    ),
    # ---------------------------------------------------------------- metrics/euler_columns.py
    _m(
        "contrib-var-kernel-unweighted",
        "metrics/euler_columns.py",
        "kern = w * np.exp(-0.5 * u**2)",
        "kern = np.exp(-0.5 * u**2)",
        CONTRIB_T,
        "Euler VaR contributions without the likelihood-ratio weights",
    ),
    _m(
        "contrib-es-tail-unweighted",
        "metrics/euler_columns.py",
        "a = w * (total > v) / (n * (1.0 - q))",
        "a = 1.0 * (total > v) / (n * (1.0 - q))",
        CONTRIB_T,
        "Euler ES tail weights without w (still additive: the total moves with them)",
    ),
    _m(
        "contrib-el-unweighted",
        "metrics/euler_columns.py",
        'out["expected"][:] = wx.mean(axis=0)',
        'out["expected"][:] = x.mean(axis=0)',
        CONTRIB_T,
        "EL contributions as plain means of the segment losses",
    ),
    _m(
        "contrib-var-no-rescale",
        "metrics/euler_columns.py",
        "    return c * scale, se, c_tot",
        "    return c, se, c_tot",
        CONTRIB_T,
        "kernel VaR contributions not rescaled to add up to VaR",
    ),
    _m(
        "contrib-es-stderr-level",
        "metrics/euler_columns.py",
        'out["stderr_es"][j, cols] = se_of_mean(tail, w) / (1.0 - lev.q)',
        'out["stderr_es"][j, cols] = se_of_mean(tail, w)',
        CONTRIB_T,
        "ES contribution standard error without 1/(1 - q)",
    ),
    # ---------------------------------------------------------------- metrics/result.py
    _m(
        "value-quantiles-unweighted",
        "metrics/value.py",
        "xs, above = sort_paths(x, w)",
        "xs, above = sort_paths(x, np.ones_like(w))",
        VALUE_T,
        "value quantiles and value.var without the importance-sampling weights",
    ),
    _m(
        "value-var-sign",
        "metrics/value.py",
        'out["var"][qi] = centre - v',
        'out["var"][qi] = v - centre',
        VALUE_T,
        "value at risk with the sign flipped",
    ),
    _m(
        "value-low-levels",
        "metrics/value.py",
        "low = np.array([round(1.0 - qi, 12) for qi in q.tolist()])",
        "low = np.array([round(qi, 12) for qi in q.tolist()])",
        VALUE_T,
        "value VaR read at the upper instead of the lower quantile",
    ),
    _m(
        "expectation-mc-unweighted",
        "metrics/expectations.py",
        "pairs = [expected_value(x[:, k], weights=w) for k in range(x.shape[1])]",
        "pairs = [expected_value(x[:, k], weights=None) for k in range(x.shape[1])]",
        (O_SUMMARY, O_COVER),
        "the Monte Carlo cross-check of every expectation ignores the weights",
    ),
    _m(
        "value-std-unweighted",
        "metrics/value.py",
        "std=math.sqrt(max(float(np.mean(w * (x - mean_mc) ** 2)), 0.0)),",
        "std=math.sqrt(max(float(np.mean((x - mean_mc) ** 2)), 0.0)),",
        VALUE_T,
        "value std without the importance-sampling weights",
    ),
    _m(
        "value-es-denominator",
        "metrics/value.py",
        "tail_mean = v - float(short.sum()) / (n * a)",
        "tail_mean = v - float(short.sum()) / n",
        VALUE_T,
        "value ES: mean shortfall divided by N instead of N(1 - q)",
    ),
    _m(
        "expected-by-period-unweighted",
        "metrics/result.py",
        'return xr.dot(self.data[variable], w, dim="path") / float(w.sum())',
        'return self.data[variable].mean("path")',
        (O_DYN, "tests/simulation/test_engine.py", O_SUMMARY),
        "Monte Carlo term structure ignores the weights",
    ),
    _m(
        "qmc-stderr-root",
        "metrics/replicates.py",
        "root = np.sqrt(len(per))",
        "root = np.sqrt(len(per) - 1)",
        (O_DYN, "tests/simulation/test_qmc.py"),
        "QMC standard error divides by sqrt(R - 1) replicates",
    ),
    # ---------------------------------------------------------------- metrics/ecl.py
    _m(
        "ecl-12-period-window",
        "scenarios/period.py",
        "total = values[:whole].sum()",
        "total = values[: whole - 1].sum()",
        EXPECTED_T,
        "12-period ECL over 11 periods (off by one)",
    ),
    # ---------------------------------------------------------------- simulation/kernel.py
    _m(
        "kernel-sqrt-rho-sign",
        "dynamics.py",
        "out: NDArray[np.float64] = ndtr((probit_pd - sqrt_rho * z) * inv_sqrt_1mrho)",
        "out: NDArray[np.float64] = ndtr((probit_pd + sqrt_rho * z) * inv_sqrt_1mrho)",
        ENGINE_T,
        "Vasicek conditional PD with +sqrt(rho) Z (a downturn lowers defaults)",
    ),
    _m(
        "kernel-drop-1mrho",
        "simulation/kernel.py",
        "inv_sqrt_1mrho=(1.0 / np.sqrt(1.0 - rho))[:, None],",
        "inv_sqrt_1mrho=np.ones_like(rho)[:, None],",
        ENGINE_T,
        "conditional PD without the 1/sqrt(1 - rho) scaling",
    ),
    _m(
        "kernel-shift-weight-sign",
        "simulation/factors.py",
        "weight: Floats = np.exp(-(eps @ mu) - 0.5 * float(mu @ mu))",
        "weight: Floats = np.exp(-(eps @ mu) + 0.5 * float(mu @ mu))",
        ENGINE_T,
        "mean-shift likelihood ratio with the wrong sign of |mu|^2/2",
    ),
    _m(
        "kernel-mixture-weight-inverted",
        "simulation/factors.py",
        "weight: Floats = np.exp(-log_q)",
        "weight: Floats = np.exp(log_q)",
        ENGINE_T,
        "defensive-mixture weight q/phi instead of phi/q",
    ),
    _m(
        "kernel-lgd-moment-matching",
        "simulation/kernel.py",
        "kd = np.maximum(d_c[hit], 1.0) * (kappa + 1.0) - 1.0",
        "kd = np.maximum(d_c[hit], 1.0) * kappa",
        ENGINE_T,
        "mean LGD of D defaults with concentration D*kappa instead of D(kappa+1)-1",
    ),
    _m(
        "kernel-lgd-one-draw",
        "simulation/kernel.py",
        "kd = np.maximum(d_c[hit], 1.0) * (kappa + 1.0) - 1.0",
        "kd = np.full(int(hit.sum()), kappa)",
        ENGINE_T,
        "one LGD for all defaults of a cohort-period (no averaging over D)",
    ),
    _m(
        "kernel-amortisation-off-by-one",
        "simulation/block_output.py",
        "loss_c = d_c * (inp.ead * inp.ead_factor[t]) * lgd",
        "loss_c = d_c * (inp.ead * inp.ead_factor[max(t - 1, 0)]) * lgd",
        ENGINE_T,
        "exposure of the previous period (amortisation one period late)",
    ),
    _m(
        "kernel-churn-value-off-by-one",
        "simulation/block_output.py",
        "self.churn_value_lost += (churned @ inp.margin) * self.remaining_df[t]",
        "self.churn_value_lost += (churned @ inp.margin) * self.remaining_df[t + 1 :][:1].sum()",
        ENGINE_T,
        "lost margin of churners counted from the next period",
    ),
    _m(
        "kernel-occupancy-unweighted",
        "simulation/block_output.py",
        "occ[inp.transient_idx] = weight @ _sum(counts, 1, whole)",
        "occ[inp.transient_idx] = _sum(counts, 1, whole).sum(axis=0)",
        ENGINE_T,
        "Monte Carlo occupancy ignores the weights",
    ),
    _m(
        "kernel-margin-unweighted-periods",
        "simulation/block_output.py",
        "self.margin[:, t] = _sum(counts, 2, whole) @ inp.margin",
        "self.margin[:, t] = _sum(counts, 2, whole) @ inp.margin * (t > 0)",
        ENGINE_T,
        "no margin in the first period (off-by-one period)",
    ),
    # ---------------------------------------------------------------- simulation/engine.py
    _m(
        "engine-discount-exponent",
        "simulation/engine.py",
        "discount=discount_factors(scenario.discount_rate),",
        "discount=discount_factors(scenario.discount_rate) * (1 + scenario.discount_rate),",
        (*EXPECTED_T, "tests/test_report.py"),
        "discount factor (1 + r)^-(t-1): one period too few",
    ),
    _m(
        "engine-scheduler-ignored",
        "simulation/engine.py",
        "run_dask(inputs, plan, options.scheduler, tick, sampling, store)",
        "run_dask(inputs, plan, None, tick, sampling, store)",
        ("tests/simulation/test_dask.py", "tests/simulation/test_network.py"),
        "a Dask scheduler address silently ignored (a local cluster instead)",
    ),
    _m(
        "engine-qmc-replicates-recorded",
        "simulation/engine.py",
        "min(sampling.qmc_replicates, len(plan.blocks)) if sampling.qmc_replicates else 0",
        "sampling.qmc_replicates if sampling.qmc_replicates else 0",
        (O_DYN, "tests/simulation/test_qmc.py"),
        "a short run records more QMC scramblings than it used",
    ),
    _m(
        "qmc-replicate-scrambling",
        "simulation/qmc.py",
        "r = block % replicates",
        "r = 0",
        (O_DYN, "tests/simulation/test_qmc.py"),
        "every block in the same scrambling: replicates are not independent",
    ),
    # ---------------------------------------------------------------- simulation/importance.py
    _m(
        "tilt-weight-sign",
        "simulation/tilt.py",
        "log_q = np.logaddexp(np.log(self.p_plain), np.log1p(-self.p_plain) + log_r)",
        "log_q = np.logaddexp(np.log(self.p_plain), np.log1p(-self.p_plain) - log_r)",
        ENGINE_T,
        "tilt likelihood ratio with the tilt's log density flipped",
    ),
    _m(
        "tilt-draw-sign",
        "simulation/tilt.py",
        "a = draw_effects(inp, inp.shift + tilt.mean()) / scale",
        "a = -draw_effects(inp, inp.shift + tilt.mean()) / scale",
        ("tests/simulation/test_importance.py", "tests/test_fitting.py"),
        "posterior draws tilted away from the tail (a sign flip)",
    ),
    _m(
        "tilt-draw-ratio-dropped",
        "simulation/tilt.py",
        "replace(tilt, draw_log_ratio=np.log(q * a.size), draw_cdf=cdf)",
        "replace(tilt, draw_log_ratio=np.zeros(a.size), draw_cdf=cdf)",
        ("tests/simulation/test_importance.py", "tests/test_fitting.py"),
        "draws sampled from the tilt but weighted as if uniform",
    ),
    # ---------------------------------------------------------------- simulation/expected.py
    _m(
        "expected-mean-pd-shift-sign",
        "dynamics.py",
        "np.asarray(probit_pd) - np.asarray(sqrt_rho) * np.asarray(shift)",
        "np.asarray(probit_pd) + np.asarray(sqrt_rho) * np.asarray(shift)",
        EXPECTED_T,
        "exact expected PD with the shift's sign flipped",
    ),
    _m(
        "expected-gh-normalisation",
        "simulation/expected.py",
        "w = w / np.sqrt(np.pi)",
        "w = w / np.pi",
        (*EXPECTED_T, "tests/simulation/test_stresses.py"),
        "downturn-LGD quadrature weights not normalised",
    ),
    _m(
        "expected-downturn-ignored",
        "simulation/expected.py",
        "lgd, sens = scenario.lgd_mean, scenario.lgd_sensitivity",
        "lgd, sens = scenario.lgd_mean, 0.0",
        (*EXPECTED_T, "tests/mutation/test_kills_expected.py"),
        "exact expected loss with the downturn LGD ignored (E[p(Z)] m instead of E[p(Z) m(Z)])",
    ),
    _m(
        "expected-downturn-shock-period",
        "simulation/expected.py",
        "pd_rows[:, t if pd_rows.shape[1] > 1 else 0],",
        "pd_rows[:, 0],",
        (*EXPECTED_T, "tests/mutation/test_kills_expected.py"),
        "downturn-LGD expectation reads the first period's PDs: a shock path ignored",
    ),
    _m(
        "expected-amortisation-ignored",
        "simulation/expected.py",
        "loss_c[t] *= ead * ead_factor[t]",
        "loss_c[t] *= ead",
        (*EXPECTED_T, "tests/mutation/test_kills_expected.py"),
        "exact expected loss ignores `exposure: amortisation`",
    ),
    _m(
        "expected-value-discount-off-by-one",
        "simulation/expected_dataset.py",
        "value_c = (transient_c * discount[:, None])",
        "value_c = (transient_c * np.r_[1.0, discount[:-1]][:, None])",
        (*EXPECTED_T, "tests/mutation/test_kills_expected.py"),
        "exact expected value discounts each period's margin one period too little",
    ),
    _m(
        "dynamics-remaining-discount-off-by-one",
        "dynamics.py",
        "return np.cumsum(np.asarray(discount, dtype=float)[::-1])[::-1]",
        "return np.append(np.cumsum(np.asarray(discount, dtype=float)[::-1])[::-1][1:], 0.0)",
        ("tests/test_dynamics.py", "tests/mutation/test_kills_dynamics.py", O_DYN),
        "value lost to churn counts the run-off from the next period (u > t, not u >= t)",
    ),
    _m(
        "paired-es-excess-unweighted",
        "metrics/paired.py",
        "excess = w * np.maximum(x - v, 0.0)",
        "excess = np.maximum(x - v, 0.0)",
        ("tests/metrics/test_paired.py", "tests/oracles/test_comparison_oracles.py"),
        "paired ES difference error: tail excess without the likelihood-ratio weights",
    ),
    # ---------------------------------------------------------------- models/conjugate.py
    _m(
        "conjugate-prior-dropped",
        "models/conjugate.py",
        "np.where(allowed, concentration + np.asarray(counts, dtype=float), 0.0)",
        "np.where(allowed, np.asarray(counts, dtype=float), 0.0)",
        ("tests/models/test_transition_conjugate.py",),
        "Dirichlet posterior without the prior concentration",
    ),
    _m(
        "conjugate-beta-marginal",
        "models/conjugate.py",
        "b = np.broadcast_to(a0, alpha.shape) - alpha",
        "b = np.broadcast_to(a0, alpha.shape)",
        ("tests/models/test_transition_conjugate.py",),
        "Beta marginal with beta = alpha_0 instead of alpha_0 - alpha_j",
    ),
    _m(
        "conjugate-complete-pooling-mean",
        "models/conjugate.py",
        "y = y.sum(axis=0, keepdims=True)",
        "y = y.mean(axis=0, keepdims=True)",
        ("tests/models/test_transition_conjugate.py",),
        "complete pooling averages the segments' counts instead of adding them",
    ),
    # ---------------------------------------------------------------- scenarios
    _m(
        "schema-correlation-one",
        "config/sections.py",
        "correlation: float | None = Field(default=None, ge=0.0, lt=1.0)",
        "correlation: float | None = Field(default=None, ge=0.0, le=1.0)",
        (
            "tests/scenarios/test_boundaries.py",
            "tests/scenarios/test_validation.py",
            "tests/scenarios/test_fuzz.py",
        ),
        "correlation 1 accepted (division by sqrt(1 - rho) = 0)",
    ),
    _m(
        "schema-lgd-sd-boundary",
        "config/sections.py",
        "if self.sd >= limit:",
        "if self.sd > limit:",
        (
            "tests/scenarios/test_boundaries.py",
            "tests/scenarios/test_validation.py",
            "tests/scenarios/test_fuzz.py",
        ),
        "an LGD sd at the Beta limit accepted (concentration 0)",
    ),
    _m(
        "parameter-uncertainty-ignored",
        "scenarios/parameters.py",
        "if not cfg.simulation.parameter_uncertainty:",
        "if False:",
        ("tests/test_fitting.py", "tests/scenarios/test_validation.py"),
        "`parameter_uncertainty: false` ignored (posterior draws used anyway)",
    ),
)


# --------------------------------------------------------------------------- running


def _copy_repo(dest: Path, from_head: bool) -> None:
    """A private copy of the repository: the work tree (default) or the last commit."""
    dest.mkdir(parents=True)
    if from_head:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "HEAD", *COPIED],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / name)


def _pytest(root: Path, tests: Sequence[str], extra: Sequence[str] = ()) -> tuple[list[str], dict]:
    present = [t for t in tests if (root / t).exists()]
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, *present]
    return cmd, env


def baseline_failures(root: Path, tests: Sequence[str], timeout: float) -> list[str]:
    """Node ids of the tests that fail *without* a mutant: deselected from every mutant run,
    so that a mutant counts as killed only by a test that passes on the unmutated code."""
    cmd, env = _pytest(root, sorted(set(tests)), ["-rf"])
    done = subprocess.run(
        cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return [
        line.split()[1]
        for line in done.stdout.splitlines()
        if line.startswith(("FAILED ", "ERROR ")) and "::" in line
    ]


def _run_tests(
    root: Path, tests: Sequence[str], timeout: float, deselect: Sequence[str] = ()
) -> tuple[str, str]:
    """Run pytest in `root`; return (status, last lines of output)."""
    extra = ["-x", *(f"--deselect={node}" for node in deselect)]
    cmd, env = _pytest(root, tests, extra)
    proc = subprocess.Popen(
        cmd,
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a timeout kills the whole tree
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", ""
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    tail = "\n".join(out.strip().splitlines()[-3:])
    if proc.returncode == 0:
        return "survived", tail
    if proc.returncode == 1:  # tests ran and at least one failed
        return "killed", tail
    return "error", tail  # 2: interrupted/collection error, 4: usage, 5: no tests


def run_mutant(root: Path, mutant: Mutant, timeout: float, deselect: Sequence[str] = ()) -> dict:
    """Apply `mutant` in the private copy `root`, run its tests, restore the file."""
    path = root / mutant.file
    original = path.read_text(encoding="utf-8")
    count = original.count(mutant.old)
    result = {"name": mutant.name, "file": mutant.file, "seconds": 0.0, "detail": ""}
    if count != 1:
        result["status"] = "stale"
        result["detail"] = f"snippet found {count} times (expected exactly once)"
        return result
    start = time.perf_counter()
    try:
        path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
        result["status"], result["detail"] = _run_tests(root, mutant.tests, timeout, deselect)
    finally:
        path.write_text(original, encoding="utf-8")
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def _select(names: Sequence[str] | None) -> list[Mutant]:
    if not names:
        return list(CATALOGUE)
    wanted = {n for arg in names for n in arg.split(",") if n}
    known = {m.name for m in CATALOGUE}
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(f"unknown mutant(s) {unknown}; see --list for the names.")
    return [m for m in CATALOGUE if m.name in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only NAME(s)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel private copies")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    parser.add_argument("--from-head", action="store_true", help="mutate HEAD, not the tree")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the unmutated run that finds (and deselects) already failing tests",
    )
    args = parser.parse_args(argv)
    mutants = _select(args.only)
    if args.list:
        for m in mutants:
            print(f"{m.name:34s} {m.file:34s} {m.why}")
        return 0
    # SIGTERM behaves like Ctrl-C: the finally blocks restore files and delete the copies
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    tmp = Path(tempfile.mkdtemp(prefix="riskmodel-mutants-"))
    jobs = max(1, min(args.jobs, len(mutants)))
    results: list[dict] = []
    deselect: list[str] = []
    start = time.perf_counter()
    try:
        roots = [tmp / f"copy{i}" for i in range(jobs)]
        for root in roots:
            _copy_repo(root, args.from_head)
        if not args.no_baseline:
            tests = [t for m in mutants for t in m.tests]
            deselect = baseline_failures(roots[0], tests, args.timeout * 4)
            print(f"baseline: {len(deselect)} test(s) fail without a mutant (deselected)")
            for node in deselect:
                print(f"  {node}")
        queue = list(enumerate(mutants))

        def worker(i: int) -> None:
            while queue:
                try:
                    _, mutant = queue.pop(0)
                except IndexError:
                    return
                res = run_mutant(roots[i], mutant, args.timeout, deselect)
                results.append(res)
                print(f"{res['status']:9s} {res['seconds']:7.1f}s  {mutant.name}", flush=True)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(worker, range(jobs)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    order = {m.name: i for i, m in enumerate(mutants)}
    results.sort(key=lambda r: order[r["name"]])
    counts = {
        s: sum(r["status"] == s for r in results)
        for s in ("killed", "timeout", "survived", "stale", "error")
    }
    scored = counts["killed"] + counts["timeout"] + counts["survived"]
    rate = (counts["killed"] + counts["timeout"]) / scored if scored else float("nan")
    wall = time.perf_counter() - start
    print(
        f"\n{len(results)} mutants in {wall:.0f} s: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + f"; kill rate {rate:.1%}"
    )
    for r in results:
        if r["status"] in ("survived", "stale", "error"):
            print(f"  {r['status']}: {r['name']} ({r['file']}) {r['detail']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "results": results,
                    "counts": counts,
                    "kill_rate": rate,
                    "seconds": wall,
                    "baseline_failures": deselect,
                },
                indent=1,
            )
        )
    return 1 if counts["survived"] or counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
