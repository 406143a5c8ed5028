"""Tool mutation testing (mutmut 3) of the numerical core, one target at a time.

Each target pairs a few source modules with the fast tests that check them, so that a run of
one target takes minutes, not hours (mutmut runs, per mutant, only the selected tests that reach
the mutated function, fastest first, stopping at the first failure). For each target the script

1. copies the repository into a private temporary folder (the last commit with ``--from-head``,
   else the work tree; the work tree is never touched, so others can keep working in it),
2. writes the target's ``[tool.mutmut]`` section into the copy's ``pyproject.toml``,
3. runs ``nice -n 19 mutmut run --max-children N`` there,
4. reads mutmut's verdicts (``mutants/**/*.py.meta``) and prints, per module, the mutants
   killed, survived, timed out and without a covering test, and the kill rate,
5. appends every survivor (name and diff, from ``mutmut show``) to the survivors file.

Usage::

    python scripts/mutation.py --list
    python scripts/mutation.py --target dynamics --target metrics-risk
    python scripts/mutation.py --from-head --jobs 2 --survivors survivors.md --json mutation.json
    python scripts/mutation.py --rev e5771cc --overlay tests/mutation --target dynamics
    python scripts/mutation.py --target simulation-kernel --keep /tmp/mm   # keep mutants/ to triage
    python scripts/mutation.py --target simulation-kernel --keep /tmp/mm --recheck  # new tests
    python scripts/mutation.py --target metrics-result --keep /tmp/mm --recheck --in-process

Kill rate = (killed + timeout) / (killed + timeout + survived + no tests): a mutant that no
selected test reaches counts against the rate. ``docs/mutation.md`` lists the survivors of the
last full run and why each is equivalent, or which test now kills it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPIED = ("riskmodel", "tests", "scenarios", "pyproject.toml", "README.md")
KILLS = "tests/mutation"


@dataclass(frozen=True)
class Target:
    """Source files to mutate and the tests that must kill their mutants."""

    name: str
    mutate: tuple[str, ...]
    tests: tuple[str, ...]


def _t(name: str, mutate: Sequence[str], tests: Sequence[str]) -> Target:
    return Target(name, tuple(f"riskmodel/{m}" for m in mutate), tuple(f"tests/{t}" for t in tests))


# In the order of the goals of issue 18: metrics and the engine's dynamics first. The engine's
# own suites (tests/simulation/test_engine.py ~2 min, test_expected.py ~1 min on two shared
# cores) are too slow to run per mutant: the kernel, large-pool and expectation targets use the
# fast exact kill tests of tests/mutation/ (oracles by other routes, seconds per run).
TARGETS: tuple[Target, ...] = (
    _t(
        "dynamics",
        ["dynamics.py"],
        ["test_dynamics.py", "mutation/test_kills_dynamics.py", "metrics/test_granularity.py"],
    ),
    _t(
        "metrics-risk",
        ["metrics/risk.py", "metrics/weighted.py", "metrics/tail_resolution.py"],
        [
            "metrics/test_risk.py",
            "metrics/test_weighted.py",
            "metrics/test_estimator_edges.py",
            "mutation/test_kills_metrics.py",
            "mutation/test_kills_metrics_tail.py",
        ],
    ),
    _t(
        "simulation-large-pool",
        ["simulation/large_pool.py"],
        ["mutation/test_kills_large_pool.py"],
    ),
    _t(
        "simulation-expected",
        ["simulation/expected.py", "simulation/expected_dataset.py"],
        ["mutation/test_kills_expected.py", "simulation/test_expected_independent.py"],
    ),
    _t(
        "simulation-kernel",
        ["simulation/kernel.py", "simulation/chains.py", "simulation/block_output.py"],
        [
            "mutation/test_kills_kernel.py",
            "mutation/test_kills_kernel_mixed.py",
            "mutation/test_kills_kernel_chain.py",
        ],
    ),
    _t(
        "metrics-paths",
        ["metrics/weighted_paths.py", "metrics/expectations.py", "metrics/value.py"],
        [
            "metrics/test_result_weighted.py",
            "metrics/test_summary_exact.py",
            "metrics/test_weighted.py",  # value_measures
            "mutation/test_kills_metrics_paths.py",
        ],
    ),
    # tests/oracles/test_contribution_oracles.py is not run per mutant: its module fixtures
    # simulate 2 x 40,000 paths, ~45 s per surviving mutant on the shared cores; the kill
    # tests check the estimator against its documented definitions under heavy weights instead
    _t(
        "metrics-contributions",
        ["metrics/contributions.py", "metrics/euler_columns.py"],
        [
            "metrics/test_contributions.py",
            "metrics/test_euler_columns.py",
            "mutation/test_kills_metrics_contributions.py",
        ],
    ),
    _t(
        "metrics-compare",
        ["metrics/compare.py", "metrics/differences.py", "metrics/paired.py"],
        [
            "metrics/test_compare.py",
            "metrics/test_paired.py",
            "mutation/test_kills_metrics_compare.py",
        ],
    ),
    _t(
        "metrics-ecl",
        ["metrics/ecl.py"],
        ["simulation/test_ecl.py", "mutation/test_kills_metrics_ecl.py"],
    ),
    _t(
        "metrics-alerts",
        ["metrics/alerts.py", "metrics/actions.py"],
        [
            "metrics/test_alerts.py",
            "mutation/test_kills_metrics_alerts.py",
            "mutation/test_kills_metrics_actions.py",
        ],
    ),
    _t(
        "metrics-model-risk",
        ["metrics/model_risk.py", "metrics/model_risk_results.py"],
        ["metrics/test_model_risk.py", "mutation/test_kills_metrics_model_risk.py"],
    ),
    _t(
        "metrics-result",
        [
            "metrics/result.py",
            "metrics/replicates.py",
            "metrics/default_rate.py",
            "metrics/run_summary.py",
        ],
        [
            "metrics/test_result_weighted.py",
            "metrics/test_summary_exact.py",
            "mutation/test_kills_metrics_result.py",
            "mutation/test_kills_metrics_result_views.py",
            "mutation/test_kills_metrics_run_summary.py",
        ],
    ),
    _t(
        "metrics-figures",
        ["metrics/figures.py"],
        [
            "metrics/test_result_weighted.py",
            "mutation/test_kills_metrics_result.py",
            "mutation/test_kills_metrics_figures.py",
        ],
    ),
    _t(
        "metrics-granularity",
        ["metrics/granularity.py", "metrics/granularity_exact.py"],
        ["metrics/test_granularity.py", "mutation/test_kills_metrics_granularity.py"],
    ),
    _t("simulation-importance", ["simulation/importance.py"], ["simulation/test_importance.py"]),
    _t(
        "simulation-qmc-seeding",
        ["simulation/qmc.py", "simulation/seeding.py", "simulation/plan.py"],
        ["simulation/test_qmc.py", "test_dynamics.py"],
    ),
    _t(
        "models-conjugate",
        ["models/conjugate.py"],
        ["models/test_transition_conjugate.py", "mutation/test_kills_conjugate.py"],
    ),
    _t(
        "config-schema",
        ["config/base.py", "config/sections.py", "config/scenario.py"],
        [
            "scenarios/test_validation.py",
            "scenarios/test_boundaries.py",
            "mutation/test_kills_config.py",
        ],
    ),
)

# Lines not mutated (whole statements starting on a matching line): the text of error messages
# and of netCDF attributes (units, long names). They hold no number; mutating their strings only
# adds survivors that cost a full test run each. Conditions that decide *whether* to raise are
# mutated as usual.
NOT_MUTATED = (r"^\s*raise \w+\(", r"\.attrs\.update\(")

# Tests that fail under mutmut's trampolines even without a mutant: the stack-level test checks
# the warning's frame, and the trampoline adds one. Deselected in mutmut runs and rechecks (the
# stacklevel mutants they kill are checked by hand: docs/mutation.md, metrics-risk).
NOT_UNDER_TRAMPOLINE = (
    "tests/mutation/test_kills_metrics_tail.py::test_the_warning_points_at_the_callers_line",
)
DESELECT = [arg for test in NOT_UNDER_TRAMPOLINE for arg in ("--deselect", test)]

# mutmut's exit codes (mutmut.stats.status_by_exit_code), folded into the four we report
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS.update(dict.fromkeys((36, -24, 24, 152, 255), "timeout"))


IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")


def _copy_paths(dest: Path, names: Sequence[str]) -> None:
    for name in names:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORE, dirs_exist_ok=True)
        elif src.exists():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _copy_repo(dest: Path, rev: str | None, overlay: Sequence[str] = ()) -> None:
    """A private copy of the repository: the work tree (`rev` None) or commit `rev`, then the
    work tree's `overlay` paths on top (e.g. new kill tests not yet committed)."""
    dest.mkdir(parents=True)
    if rev is None:
        _copy_paths(dest, COPIED)
    else:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, *COPIED], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    _copy_paths(dest, overlay)


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def write_config(root: Path, target: Target) -> list[str]:
    """Replace the copy's ``[tool.mutmut]`` section by the target's; return the tests used."""
    tests = [t for t in target.tests if (root / t).exists()]
    section = "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["riskmodel"]',
            f"only_mutate = {_toml_list(target.mutate)}",
            # -o addopts= : no --doctest-modules in partial runs (conftest names clash)
            "pytest_add_cli_args = "
            + _toml_list(["-p", "no:cacheprovider", "-q", "-o", "addopts=", *DESELECT]),
            f"pytest_add_cli_args_test_selection = {_toml_list(tests)}",
            f"do_not_mutate_patterns = {_toml_list(NOT_MUTATED)}",
            'also_copy = ["scenarios"]',
            "",
        ]
    )
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    path.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
    return tests


def read_verdicts(root: Path) -> dict[str, str]:
    """Mutant name -> status, from mutmut's ``.meta`` files in ``root/mutants``."""
    out: dict[str, str] = {}
    for meta in sorted((root / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data.get("exit_code_by_key", {}).items():
            out[name] = "not checked" if code is None else STATUS.get(code, "suspicious")
    return out


def module_of(mutant: str) -> str:
    """``riskmodel.metrics.risk.x_var__mutmut_3`` -> ``riskmodel/metrics/risk.py``."""
    dotted = mutant.split("__mutmut_")[0].rsplit(".", 1)[0]  # also for xǁClassǁmethod
    return dotted.replace(".", "/") + ".py"


def show(root: Path, mutant: str) -> str:
    """The mutant's diff (``mutmut show``), headed by the file line of the changed statement."""
    done = subprocess.run(
        ["mutmut", "show", mutant], cwd=root, capture_output=True, text=True, check=False
    )
    diff = done.stdout.strip()
    removed = [ln[1:] for ln in diff.splitlines() if ln[:1] == "-" and ln[:3] != "---"]
    source = (root / module_of(mutant)).read_text(encoding="utf-8").splitlines()
    where = [i + 1 for i, ln in enumerate(source) if removed and ln == removed[0]]
    return f"# {module_of(mutant)} line {','.join(map(str, where)) or '?'}\n{diff}"


def tally(verdicts: dict[str, str]) -> dict[str, Counter]:
    by_module: dict[str, Counter] = defaultdict(Counter)
    for name, status in verdicts.items():
        by_module[module_of(name)][status] += 1
    return by_module


def kill_rate(c: Counter) -> float:
    scored = c["killed"] + c["timeout"] + c["survived"] + c["no tests"]
    return (c["killed"] + c["timeout"]) / scored if scored else float("nan")


# --recheck --in-process: one Python process runs pytest.main once per mutant (mutmut's
# trampolines read MUTANT_UNDER_TEST at every call), so numpy, xarray and the tests are imported
# once: ~1 s per mutant instead of ~20 s. Module-scoped fixtures are rebuilt per mutant, but
# caches that outlive a session (functools.cache in a test module) would leak between mutants.
IN_PROCESS = """
import contextlib, io, json, os, sys
import pytest
names, args = json.loads(sys.argv[1]), sys.argv[2:]
def run(name):
    os.environ["MUTANT_UNDER_TEST"] = name
    with contextlib.redirect_stdout(io.StringIO()):
        return int(pytest.main(args))
if run(""):
    sys.exit(1)
for name in names:
    print(json.dumps([name, run(name)]), flush=True)
"""


def recheck_target(target: Target, args: argparse.Namespace) -> dict:
    """Rerun the survivors of a kept run, one pytest per mutant, with the work tree's tests.

    mutmut 3 keeps earlier verdicts of unchanged functions even when the tests change, so the
    survivors are rerun directly: ``MUTANT_UNDER_TEST=NAME pytest -x TESTS`` in the kept
    ``mutants/`` folder (the mutated sources are already there).
    """
    root = args.keep / target.name
    if not (root / "mutants").is_dir():
        raise SystemExit(f"--recheck needs a kept run in {root}; run with --keep first.")
    verdicts = read_verdicts(root)
    shutil.copytree(REPO / "tests", root / "mutants" / "tests", ignore=IGNORE, dirs_exist_ok=True)
    tests = [t for t in (args.recheck_tests or target.tests) if (REPO / t).exists()]
    start = time.perf_counter()
    names = sorted(n for n, s in verdicts.items() if s in ("survived", "no tests"))
    pytest_args = ["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *DESELECT, *tests]
    env = dict(os.environ, PYTHONPATH=str(root / "mutants"), MPLBACKEND="Agg")
    nice = ["nice", "-n", str(args.nice), sys.executable]
    if args.in_process:
        cmd = [*nice, "-c", IN_PROCESS, json.dumps(names), *pytest_args]
        with subprocess.Popen(cmd, cwd=root / "mutants", env=env, stdout=subprocess.PIPE) as proc:
            for line in proc.stdout or ():
                name, code = json.loads(line)
                verdicts[name] = {0: "survived", 1: "killed"}.get(code, "suspicious")
                print(f"  {verdicts[name]:9s} {name}", flush=True)
        if proc.returncode:
            raise SystemExit(f"--in-process: the tests fail without a mutant ({tests})")
    for name in [] if args.in_process else names:
        cmd = [*nice, "-m", "pytest", *pytest_args]
        done = subprocess.run(
            cmd, cwd=root / "mutants", env=dict(env, MUTANT_UNDER_TEST=name), capture_output=True
        )
        verdicts[name] = {0: "survived", 1: "killed"}.get(done.returncode, "suspicious")
        print(f"  {verdicts[name]:9s} {name}", flush=True)
    survivors = {n: show(root, n) for n, s in sorted(verdicts.items()) if s == "survived"}
    return {
        "target": target.name,
        "tests": tests,
        "seconds": round(time.perf_counter() - start, 1),
        "verdicts": verdicts,
        "survivors": survivors,
    }


def run_target(target: Target, args: argparse.Namespace, tmp: Path) -> dict:
    """Run mutmut on one target in a fresh copy; return its verdicts and timing."""
    root = (args.keep / target.name) if args.keep else tmp / target.name
    if root.exists():
        shutil.rmtree(root)
    _copy_repo(root, "HEAD" if args.from_head else args.rev, args.overlay or ())
    tests = write_config(root, target)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    cmd = ["nice", "-n", str(args.nice), "mutmut", "run", "--max-children", str(args.jobs)]
    start = time.perf_counter()
    log = root / "mutmut-run.log"
    with log.open("w") as fh:
        subprocess.run(cmd, cwd=root, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - start
    verdicts = read_verdicts(root)
    survivors = {
        n: show(root, n) for n, s in sorted(verdicts.items()) if s in ("survived", "no tests")
    }
    if not verdicts:
        print(f"  no verdicts; last lines of {log}:\n" + log.read_text()[-2000:])
    return {
        "target": target.name,
        "tests": tests,
        "seconds": round(seconds, 1),
        "verdicts": verdicts,
        "survivors": survivors,
    }


def report(results: Sequence[dict]) -> str:
    lines = [
        f"{'module':42s} {'killed':>6s} {'timeout':>7s} {'survived':>8s} {'no tests':>8s} "
        f"{'total':>5s} {'kill rate':>9s}"
    ]
    for res in results:
        tests = " ".join(res["tests"])
        lines.append(f"-- {res['target']} ({res['seconds']:.0f} s; tests: {tests})")
        for module, c in sorted(tally(res["verdicts"]).items()):
            lines.append(
                f"{module:42s} {c['killed']:6d} {c['timeout']:7d} {c['survived']:8d} "
                f"{c['no tests']:8d} {sum(c.values()):5d} {kill_rate(c):9.1%}"
            )
    return "\n".join(lines)


def write_survivors(path: Path, results: Sequence[dict]) -> None:
    parts = ["# Mutmut survivors (scripts/mutation.py)\n"]
    for res in results:
        for name, diff in res["survivors"].items():
            parts.append(f"## {res['verdicts'][name]}: {name}\n\n```diff\n{diff}\n```\n")
    path.write_text("\n".join(parts), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--target", action="append", metavar="NAME", help="run only NAME(s)")
    parser.add_argument("--jobs", type=int, default=2, help="mutmut --max-children")
    parser.add_argument("--nice", type=int, default=19, help="niceness of the mutmut run")
    parser.add_argument("--from-head", action="store_true", help="mutate HEAD, not the tree")
    parser.add_argument("--rev", help="mutate this commit, not the work tree")
    parser.add_argument(
        "--overlay",
        action="append",
        metavar="PATH",
        help="with --rev/--from-head: copy PATH from the work tree on top (e.g. tests/mutation)",
    )
    parser.add_argument("--keep", type=Path, help="keep each target's copy under this folder")
    parser.add_argument(
        "--survivors",
        type=Path,
        default=Path("mutation-survivors.md"),
        help="write the survivors' diffs here (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="write all verdicts to this JSON file")
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="with --keep: rerun only the survivors of the kept run, with the work tree's tests",
    )
    parser.add_argument(
        "--recheck-tests",
        action="append",
        metavar="PATH",
        help="with --recheck: rerun the survivors with only these tests (e.g. the new kill "
        "tests; the target's other tests already let them survive), not the whole target's",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="with --recheck: rerun the survivors in one process, pytest.main per mutant "
        "(much faster; the tests must not cache results across sessions)",
    )
    args = parser.parse_args(argv)
    known = {t.name: t for t in TARGETS}
    wanted = [n for arg in args.target or [] for n in arg.split(",") if n]
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise SystemExit(f"unknown target(s) {unknown}; see --list for the names.")
    targets = [known[n] for n in wanted] if wanted else list(TARGETS)
    if args.list:
        for t in targets:
            print(f"{t.name:24s} {' '.join(t.mutate)}\n{'':24s} tests: {' '.join(t.tests)}")
        return 0
    if args.recheck and args.keep is None:
        raise SystemExit("--recheck reruns the survivors of a kept run: pass its --keep DIR.")
    if shutil.which("mutmut") is None:
        raise SystemExit('mutmut is not installed: pip install -e ".[mutation]"')
    tmp = Path(tempfile.mkdtemp(prefix="riskmodel-mutmut-"))
    results = []
    try:
        for target in targets:
            print(f"running {target.name} ...", flush=True)
            run = recheck_target if args.recheck else run_target
            results.append(run(target, args, tmp) if run is run_target else run(target, args))
            print(report(results[-1:]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total: Counter = Counter()
    for res in results:
        for c in tally(res["verdicts"]).values():
            total.update(c)
    wall = sum(r["seconds"] for r in results)
    print(f"\n{report(results)}\n")
    print(f"all: {dict(total)}; kill rate {kill_rate(total):.1%}; {wall:.0f} s")
    write_survivors(args.survivors, results)
    print(f"survivors written to {args.survivors}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 1 if total["survived"] or total["no tests"] else 0


if __name__ == "__main__":
    sys.exit(main())
