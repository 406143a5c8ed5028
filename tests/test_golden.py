"""Golden outputs: the numbers of every bundled scenario, a comparison, a sensitivity run and a
posterior run, frozen before the architecture refactor (issue 12) and required bit-identical.

Each case runs the command line into a temporary folder and fingerprints what it wrote:

- every number in the JSON outputs (``summary.json``, ``comparison.json``, ``sensitivity.json``),
  by its key path, compared with ``==`` (floats survive JSON exactly: ``repr`` round-trips);
- every variable and coordinate of ``results.nc``: dtype, shape and the SHA-256 of its bytes.

Not compared: provenance (versions, command line, git commit), input-file hashes, timings and
the block size (which never changes results). New keys may appear; a key in the golden file must
still be there with the same value. Regenerate only when a change of numbers is intended and
explained in its commit: ``python tests/test_golden.py --write``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("golden") / "golden.json"

#: key names never compared (anywhere in a JSON tree)
_SKIP_KEYS = {
    "provenance",
    "inputs",
    "scenario_file",
    "riskmodel_version",
    "run_seconds",
    "seconds",
    "elapsed",
    "block_size",
    "created",
    "command",
}

_RUNS = ("baseline", "adverse", "severe", "ifrs9", "retention_action")
_PATHS = "3000"
_SENSITIVITY = """\
factors:
  - {name: systematic.correlation, low: 0.05, high: 0.15}
  - {name: lgd.mean, low: 0.36, high: 0.54}
  - {name: systematic.shift, low: -0.5, high: 0.5}
  - {name: transitions.declining->defaulted, low: 0.8, high: 1.2}
metrics: [expected_loss, ecl_lifetime, value, var_0.99, es_0.999]
tornado: {paths: 500}
sobol: {n: 8, paths: 512}
"""


def _numbers(tree, prefix: str = "") -> dict[str, float | int | bool | None]:
    """Flatten the numbers of a JSON tree to ``{key/path: value}``."""
    out: dict[str, float | int | bool | None] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in _SKIP_KEYS:
                continue
            out.update(_numbers(value, f"{prefix}/{key}"))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out.update(_numbers(value, f"{prefix}[{i}]"))
    elif isinstance(tree, (bool, int, float)) or tree is None:
        if isinstance(tree, float) and math.isnan(tree):
            tree = "nan"  # type: ignore[assignment]
        out[prefix] = tree
    return out


def _netcdf(path: Path) -> dict[str, str]:
    """``{name: "dtype shape sha256"}`` for every variable and coordinate of a netCDF file."""
    import xarray as xr

    out = {}
    with xr.open_dataset(path) as ds:
        for name in sorted({*ds.data_vars, *ds.coords}):
            values = np.ascontiguousarray(ds[name].values)
            if values.dtype.kind in "OUS":
                data = "\x1f".join(map(str, values.ravel())).encode()
            else:
                data = values.tobytes()
            out[str(name)] = f"{values.dtype.str} {values.shape} {hashlib.sha256(data).hexdigest()}"
    return out


def _cli(*args: str) -> None:
    from riskmodel.cli import main

    with warnings.catch_warnings():  # small runs warn of their tails: numbers are the point
        warnings.simplefilter("ignore")
        code = main([*args, "--no-progress"] if args[0] in ("run", "compare") else list(args))
    assert code == 0, f"riskmodel {' '.join(args)} exited {code}"


def _posterior_case(tmp: Path) -> dict:
    """A conjugate posterior (pooling none: exact, seeded) written by `riskmodel fit`, then run."""
    work = tmp / "posterior_case"
    (work / "posterior").mkdir(parents=True)
    shutil.copy(ROOT / "scenarios" / "portfolio.csv", work / "portfolio.csv")
    scenario = (ROOT / "scenarios" / "posterior" / "baseline.yaml").read_text()
    # the conjugate fit estimates no correlation: give one, as the scenario error says to
    (work / "posterior" / "baseline.yaml").write_text(
        scenario + "systematic: {correlation: 0.12}\n"
    )
    model = (ROOT / "scenarios" / "posterior" / "model.yaml").read_text()
    model = model.replace("pooling: partial", "pooling: none").replace(
        "correlation: true", "correlation: false"
    )
    (work / "model.yaml").write_text(model)
    panel = ROOT / "riskmodel" / "data" / "examples" / "panel.csv"
    nc = work / "posterior" / "fitted.nc"
    _cli(
        "fit", str(panel), "--config", str(work / "model.yaml"), "--out", str(nc), "--draws", "100"
    )  # run in `tmp` (see `fingerprints`): any default fit report lands there
    out = tmp / "out_posterior"
    _cli(
        "run",
        str(work / "posterior" / "baseline.yaml"),
        "--out",
        str(out),
        "--paths",
        _PATHS,
        "--allow-outside-files",
    )
    return {
        "summary": _numbers(json.loads((out / "summary.json").read_text())),
        "results": _netcdf(out / "results.nc"),
    }


def fingerprints(tmp: Path) -> dict:
    """Run every golden case into ``tmp`` (also the current folder meanwhile); fingerprints."""
    with contextlib.chdir(tmp):
        return _fingerprints(tmp)


def _fingerprints(tmp: Path) -> dict:
    out: dict[str, dict] = {}
    for name in _RUNS:
        folder = tmp / f"run_{name}"
        _cli(
            "run", str(ROOT / "scenarios" / f"{name}.yaml"), "--out", str(folder), "--paths", _PATHS
        )
        out[f"run/{name}"] = {
            "summary": _numbers(json.loads((folder / "summary.json").read_text())),
            "results": _netcdf(folder / "results.nc"),
        }
    folder = tmp / "compare"
    _cli(
        "compare",
        *(str(ROOT / "scenarios" / f"{n}.yaml") for n in _RUNS[:3]),
        "--out",
        str(folder),
        "--paths",
        "2000",
    )
    out["compare"] = {"comparison": _numbers(json.loads((folder / "comparison.json").read_text()))}
    folder = tmp / "sensitivity"
    config = tmp / "sensitivity.yaml"
    config.write_text(_SENSITIVITY)  # explicit: the default design may change, these may not
    _cli(
        "sensitivity",
        str(ROOT / "scenarios" / "baseline.yaml"),
        "--config",
        str(config),
        "--out",
        str(folder),
    )
    out["sensitivity"] = {
        "sensitivity": _numbers(json.loads((folder / "sensitivity.json").read_text()))
    }
    out["run/posterior"] = _posterior_case(tmp)
    return out


@pytest.fixture(scope="module")
def current(tmp_path_factory) -> dict:
    return fingerprints(tmp_path_factory.mktemp("golden"))


def _golden() -> dict:
    return json.loads(GOLDEN.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(_golden()) if GOLDEN.exists() else ["golden.json missing"])
def test_golden_outputs_are_bit_identical(case: str, current: dict) -> None:
    expected, got = _golden()[case], current[case]
    for part, frozen in expected.items():
        now = got[part]
        missing = sorted(set(frozen) - set(now))
        assert not missing, f"{case} {part}: keys gone: {missing[:10]}"
        changed = [(k, frozen[k], now[k]) for k in frozen if frozen[k] != now[k]]
        assert not changed, f"{case} {part}: {len(changed)} values changed, e.g. {changed[:5]}"


if __name__ == "__main__":  # python tests/test_golden.py --write
    import tempfile

    if "--write" not in sys.argv:
        sys.exit(
            "usage: python tests/test_golden.py --write   (regenerates tests/golden/golden.json)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        data = fingerprints(Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}: {len(data)} cases")
