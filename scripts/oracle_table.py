"""Generate docs/oracles.md: every published number and the test that is its oracle.

The list of fields is not written by hand: it is read from actual outputs. Small runs of the
bundled scenarios (as they are, with early-warning alerts, with ``keep: totals``, on a posterior
of four draws, and with management actions), a comparison and a sensitivity analysis are made with
the same builders the command line uses (`riskmodel.report.build_summary`,
``ComparisonResult.to_dict``, ``SensitivityResult.to_dict``); every number (int, float, bool or
null) of ``summary.json``, ``comparison.json`` and ``sensitivity.json`` and every variable and
coordinate of ``results.nc`` is listed under a normalised name: list positions become ``[]``,
risk levels ``<q>``, and labels of the scenario ``<segment>``, ``<state>``, ``<cohort>``,
``<action>``, ``<alert>``, ``<factor>`` (a level inside a metric name: ``var_<q>``). Text (the
descriptions, method names, the model-risk sentence) and provenance (versions, command line,
input hashes, timings) are not numbers of the model and are left out.

Each field is matched (`fnmatch`) against the registry ``tests/oracles/oracle_index.py``, which
names the oracle and the tests. ``tests/oracles/test_oracle_table.py`` fails when a published
field has no entry, an entry matches no field, a named test does not exist, or this page is
stale. Regenerate after adding a field and its oracle::

    python scripts/oracle_table.py --write      # rewrites docs/oracles.md
    python scripts/oracle_table.py --check      # exit 1 if docs/oracles.md is stale
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import re
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "oracles.md"
PATHS = 256
HORIZON = 3
"""Paths and horizon of the enumeration runs: only the layout of the outputs matters here."""

#: subtrees that are provenance or bookkeeping, not numbers of the model
SKIP = {
    "provenance",
    "inputs",
    "scenario_file",
    "scenario_files",
    "run_seconds",
    "entropy",
    "config_file",
}

ALERTS = [
    {"name": "default-rate-alert", "metric": "default_rate", "threshold": 0.005, "confidence": 0.5},
    {"name": "loss-alert", "metric": "loss", "threshold": 1.0e6},
]
SENSITIVITY = {
    "factors": [
        {"name": "lgd.mean", "low": 0.3, "high": 0.6},
        {"name": "systematic.correlation", "low": 0.1, "high": 0.2},
    ],
    "metrics": [
        "expected_loss",
        "ecl_lifetime",
        "ecl_12_period",
        "value",
        "expected_defaults",
        "expected_churn",
        "mean_loss",
        "std_loss",
        "var_0.99",
        "es_0.99",
    ],
    "tornado": {"paths": PATHS},
    "sobol": {"n": 8, "paths": PATHS},
}


def _registry() -> list[dict[str, Any]]:
    sys.path.insert(0, str(REPO / "tests" / "oracles"))
    try:
        from oracle_index import ORACLES
    finally:
        sys.path.remove(str(REPO / "tests" / "oracles"))
    return list(ORACLES)


# --------------------------------------------------------------------------- the outputs
def _runs() -> Iterator[tuple[Any, Any]]:
    """(result, scenario) of every run whose outputs are enumerated."""
    import riskmodel as rm

    cases: list[tuple[str, dict[str, Any]]] = [
        ("baseline.yaml", {"alerts": ALERTS}),
        ("baseline.yaml", {"alerts": ALERTS, "simulation": {"keep": "totals"}}),
        ("adverse.yaml", {}),
        ("severe.yaml", {}),
        ("ifrs9.yaml", {}),
        ("retention_action.yaml", {}),
    ]
    for name, options in cases:
        scenario = rm.load_scenario(REPO / "scenarios" / name, allow_outside_files=True)
        scenario = scenario.with_options(horizon=HORIZON, **options)
        yield rm.simulate(scenario, paths=PATHS, seed=1, progress=False), scenario
    scenario = _posterior_scenario()
    yield rm.simulate(scenario, paths=PATHS, seed=1, progress=False), scenario


def _posterior_scenario() -> Any:
    """The baseline on a posterior of four draws (its matrices with the PDs scaled by 0.8 …
    1.4, and correlations around its own) written to the current folder: a posterior run
    (parameter draws, model risk) without the bundled fitted file, which is not in git."""
    import numpy as np

    import riskmodel as rm
    from riskmodel.models.draws import ParameterDraws

    base = rm.load_scenario(REPO / "scenarios" / "baseline.yaml")
    states = base.states
    mats = []
    for scale in (0.8, 1.0, 1.2, 1.4):
        m = base.transitions[0].copy()  # (segment, from, to)
        d = states.index(states.default)
        m[:, :, d] *= scale
        for i in range(m.shape[1]):  # the stay-in-state entry absorbs the change
            m[:, i, i] = 0.0
            m[:, i, i] = 1.0 - m[:, i].sum(axis=-1)
        mats.append(m)
    rho = float(np.ravel(base.correlation)[0])
    path = Path("posterior.nc").resolve()
    ParameterDraws(
        states, tuple(base.segments), np.array(mats), correlation=rho * np.array([0.8, 1, 1.2, 1.4])
    ).to_netcdf(path)
    cfg = base.config.model_dump(mode="json", exclude_none=True)
    cfg["parameters"] = {"posterior": str(path)}
    cfg["portfolio"] = {"file": str(REPO / "scenarios" / "portfolio.csv")}
    cfg["horizon"] = HORIZON
    return rm.scenario_from_dict(cfg, allow_outside_files=True)


def _comparison() -> Any:
    import riskmodel as rm
    from riskmodel.api import compare_scenarios

    scenarios = [
        rm.load_scenario(REPO / "scenarios" / f"{n}.yaml").with_options(weight=w, horizon=HORIZON)
        for n, w in (("baseline", 0.6), ("adverse", 0.4))
    ]
    return compare_scenarios(scenarios, paths=PATHS, seed=1, progress=False)


def _sensitivity() -> Any:
    import riskmodel as rm
    from riskmodel.sensitivity import run_sensitivity

    scenario = rm.load_scenario(REPO / "scenarios" / "ifrs9.yaml").with_options(horizon=HORIZON)
    return run_sensitivity(scenario, SENSITIVITY, seed=1)


def _is_level(key: str) -> bool:
    try:
        q = float(key)
    except ValueError:
        return False
    return 0.0 < q < 1.0


def _normalise(key: str, labels: Mapping[str, str]) -> str:
    if _is_level(key):
        return "<q>"
    if key in labels:
        return labels[key]
    return re.sub(r"(^|_)(var|es)_0\.\d+$", r"\1\2_<q>", key)


def _leaves(tree: Any, labels: Mapping[str, str], prefix: str = "") -> Iterator[str]:
    """Normalised key paths of the numeric leaves of a JSON tree."""
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            if key in SKIP:
                continue
            yield from _leaves(value, labels, f"{prefix}/{_normalise(str(key), labels)}")
    elif isinstance(tree, list | tuple):
        if not tree:
            yield f"{prefix}[]"
        for value in tree:
            yield from _leaves(value, labels, f"{prefix}[]")
    elif tree is None or isinstance(tree, bool | int | float):
        yield prefix


def _labels(ds: Any, extra: Mapping[str, Iterable[str]] = ()) -> dict[str, str]:
    out: dict[str, str] = {}
    for dim, tag in (
        ("state", "<state>"),
        ("start_state", "<state>"),
        ("transient_state", "<state>"),
        ("segment", "<segment>"),
        ("cohort", "<cohort>"),
        ("action", "<action>"),
    ):
        if dim in ds.coords:
            out.update({str(v): tag for v in ds[dim].values.tolist()})
    for tag, names in dict(extra).items():
        out.update({str(n): tag for n in names})
    # a cohort label "segment/state" is split into two keys in `contributions_by_cohort`
    return out


def published_fields() -> dict[str, set[str]]:
    """``{"summary.json": {...}, "comparison.json": ..., "sensitivity.json": ...,
    "results.nc": ...}`` of normalised field names, read from actual outputs."""
    from riskmodel.report import build_summary

    fields: dict[str, set[str]] = {
        "summary.json": set(),
        "results.nc": set(),
        "comparison.json": set(),
        "sensitivity.json": set(),
    }
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")  # 256 paths: tail warnings are expected here
        with contextlib.chdir(tmp):
            for result, scenario in _runs():
                labels = _labels(result.data, {"<alert>": [a["name"] for a in ALERTS]})
                summary = build_summary(result, scenario)
                fields["summary.json"].update(_leaves(summary, labels))
                file = Path(tmp) / "results.nc"
                result.to_netcdf(file)
                import xarray as xr

                with xr.open_dataset(file) as ds:
                    fields["results.nc"].update(str(v) for v in (*ds.data_vars, *ds.coords))
                file.unlink()
            comparison = _comparison()
            labels = _labels(next(iter(comparison.results.values())).data)
            fields["comparison.json"].update(_leaves(comparison.to_dict(), labels))
            sens = _sensitivity()
            labels = {str(f): "<factor>" for f in sens.factors}
            fields["sensitivity.json"].update(_leaves(sens.to_dict(), labels))
    return fields


# --------------------------------------------------------------------------- matching
def match(fields: Mapping[str, set[str]], registry: list[dict[str, Any]]) -> dict:
    """``{"rows": [(file, field, entry)], "orphans": [...], "unused": [...]}``.

    A field matches the first entry of its file whose ``fields`` patterns match it.
    """
    rows, orphans, used = [], [], set()
    patterns = [[p.replace("[]", "[[]]") for p in e["fields"]] for e in registry]  # literal []
    for file in sorted(fields):
        for field in sorted(fields[file]):
            for k, entry in enumerate(registry):
                if entry["file"] == file and any(
                    fnmatch.fnmatchcase(field, p) for p in patterns[k]
                ):
                    rows.append((file, field, entry))
                    used.add(k)
                    break
            else:
                orphans.append((file, field))
    unused = [e for k, e in enumerate(registry) if k not in used]
    return {"rows": rows, "orphans": orphans, "unused": unused}


def render(matched: Mapping[str, Any]) -> str:
    """The Markdown of docs/oracles.md."""
    lines = [
        "# Oracles: every published number and the test that checks it",
        "",
        "Generated by `python scripts/oracle_table.py --write` from actual outputs (small runs of",
        "the bundled scenarios with alerts, `keep: totals`, a posterior and actions; a comparison;",
        "a sensitivity analysis) and the registry `tests/oracles/oracle_index.py`. Do not edit by",
        "hand: `tests/oracles/test_oracle_table.py` fails when a published field has no oracle, a",
        "registry entry matches no field, a named test does not exist, or this page is stale.",
        "",
        "Names: `[]` is any list position, `<q>` a risk level, `<segment>`, `<state>`, `<cohort>`,",
        "`<action>`, `<alert>`, `<factor>` labels of the scenario. Text (descriptions, method",
        "names, the model-risk sentence) and provenance (versions, command line, input hashes,",
        "timings) are not listed. How the tolerances are derived: `docs/testing.md`.",
        "",
    ]
    for file in ("summary.json", "comparison.json", "sensitivity.json", "results.nc"):
        rows = [r for r in matched["rows"] if r[0] == file]
        lines += [f"## `{file}` ({len(rows)} fields)", "", "| Field | Oracle | Tests |"]
        lines.append("|---|---|---|")
        for _, field, entry in rows:
            tests = "<br>".join(f"`{t}`" for t in entry["tests"])
            lines.append(f"| `{field}` | {entry['oracle']} | {tests} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write or check docs/oracles.md; report fields without an oracle."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite docs/oracles.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/oracles.md is stale")
    args = parser.parse_args(argv)
    matched = match(published_fields(), _registry())
    for file, field in matched["orphans"]:
        print(f"no oracle: {file} {field}", file=sys.stderr)
    for entry in matched["unused"]:
        print(f"registry entry matches no field: {entry['fields']}", file=sys.stderr)
    text = render(matched)
    if args.write:
        DOC.write_text(text, encoding="utf-8")
    elif args.check:
        if DOC.read_text(encoding="utf-8") != text:
            print("docs/oracles.md is stale: python scripts/oracle_table.py --write")
            return 1
    else:
        print(text)
    return 1 if matched["orphans"] or matched["unused"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
