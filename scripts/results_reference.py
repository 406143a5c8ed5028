"""Print the reference tables of docs/results.md from actual ``results.nc`` files.

Runs small versions of the bundled scenarios (the baseline as it is, with ``keep: totals``,
with the fitted posterior, and ``retention_action.yaml`` with its management action), writes each
result to netCDF, opens the files with xarray and lists every dimension, variable and attribute
with its dims, units and description, as Markdown. Paste the output into docs/results.md after
a change to what the engine stores (``tests/test_docs.py`` checks that every variable of a run
is documented there)::

    python scripts/results_reference.py > /tmp/reference.md
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import xarray as xr

import riskmodel as rm

REPO = Path(__file__).resolve().parents[1]
RUNS = {
    "default": ("scenarios/baseline.yaml", {}),
    "keep: totals": ("scenarios/baseline.yaml", {"simulation": {"keep": "totals"}}),
    "posterior": ("scenarios/posterior/baseline.yaml", {}),
    "actions": ("scenarios/retention_action.yaml", {}),
}
# for the variables the engine stores without a `long_name` attribute
DESCRIPTIONS = {
    "loss_by_segment": "credit loss over the horizon per segment (sums over `segment` to the "
    "path's total loss)",
    "loss_by_cohort": "credit loss over the horizon per cohort (`segment/state` today)",
    "draw": "the posterior draw the path used (0 with point parameters)",
    "discount_factor": "`(1 + discount_rate)^-t` of each period",
    "exposure": "total EAD per segment today",
    "exact_loss_by_segment": "exact expected loss over the horizon per segment",
    "exact_defaults_by_state": "exact expected defaults of the cohorts starting in each state",
    "exact_customers_by_state": "customers starting in each transient state",
    "action_type": "the kind of each management action",
    "action_loss_without": "per-path loss over the horizon of the same run without the action "
    "(common random numbers)",
    "action_value_without": "per-path discounted margin without the action",
    "action_churn_value_lost_without": "per-path value lost to churn without the action",
    "action_exact_loss_without": "exact expected loss without the action",
    "action_exact_ecl_without": "exact expected discounted loss (ECL) without the action",
    "action_exact_value_without": "exact expected discounted margin without the action",
    "action_exact_churn_value_lost_without": "exact expected value lost to churn without the "
    "action",
}


def open_runs(folder: Path) -> dict[str, xr.Dataset]:
    """Simulate each run of `RUNS` with 512 paths, save it, and open the saved file."""
    out = {}
    for label, (path, options) in RUNS.items():
        scenario = rm.load_scenario(REPO / path)
        if options:
            scenario = scenario.with_options(**options)
        with warnings.catch_warnings():  # 512 paths: tail warnings are expected here
            warnings.simplefilter("ignore")
            result = rm.simulate(scenario, paths=512, seed=1, progress=False)
        file = folder / f"{label.replace(': ', '-')}.nc"
        result.to_netcdf(file)
        out[label] = xr.open_dataset(file)
    return out


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def variables_table(runs: dict[str, xr.Dataset]) -> str:
    """One row per data variable: name, dims per kind of run, units, description."""
    names: dict[str, None] = {}
    for ds in runs.values():
        names.update(dict.fromkeys(ds.data_vars))
    rows = ["| variable | dims | units | description | in |", "|---|---|---|---|---|"]
    for name in names:
        where = [label for label, ds in runs.items() if name in ds.data_vars]
        dims: dict[str, str] = {}  # a variable may lose its period dim with keep: totals
        for label in where:
            dims.setdefault(f"({', '.join(runs[label][name].dims)})", label)
        first = runs[where[0]][name]
        desc = first.attrs.get("long_name") or DESCRIPTIONS.get(name, "")
        shown = "; ".join(
            d if i == 0 else f"{label}: {d}" for i, (d, label) in enumerate(dims.items())
        )
        scope = "all" if len(where) == len(runs) else ", ".join(where)
        rows.append(
            f"| `{name}` | {shown} | {first.attrs.get('units', '')} | {_cell(desc)} | {scope} |"
        )
    return "\n".join(rows)


def dims_table(runs: dict[str, xr.Dataset]) -> str:
    """One row per dimension with its size in the default run (or the first run that has it)."""
    sizes: dict[str, tuple[str, int, object]] = {}
    for label, ds in runs.items():
        for dim, size in ds.sizes.items():
            if dim not in sizes:
                first = f"`{ds[dim].values[0]}`" if dim in ds.coords else "(no labels)"
                sizes[dim] = (label, size, first)
    rows = ["| dimension | size (run) | first label |", "|---|---|---|"]
    rows += [f"| `{d}` | {n} ({label}) | {_cell(v)} |" for d, (label, n, v) in sizes.items()]
    return "\n".join(rows)


def attrs_table(runs: dict[str, xr.Dataset]) -> str:
    """The global attributes of the default run, values cut to 70 characters."""
    rows = ["| attribute | value in the baseline run |", "|---|---|"]
    for key, value in runs["default"].attrs.items():
        text = _cell(value)
        rows.append(f"| `{key}` | `{text[:70]}{'…' if len(text) > 70 else ''}` |")
    return "\n".join(rows)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = open_runs(Path(tmp))
        print("### Dimensions\n\n" + dims_table(runs) + "\n")
        print("### Variables\n\n" + variables_table(runs) + "\n")
        print("### Attributes\n\n" + attrs_table(runs))
        for ds in runs.values():
            ds.close()


if __name__ == "__main__":
    main()
