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

Bit-identity holds in one numerical environment. The golden file records the one it was frozen
in (the versions of numpy, scipy and the other numerical libraries, Python's minor version, the
machine); a newer numpy or scipy may change how a sum or a special function rounds. In another
environment the test compares every number to a relative 1e-9 (absolute 1e-8 near zero) and each
float array of ``results.nc`` by its sums, extremes and 32 evenly spaced elements, and says which
libraries differ. That still catches any change of a random draw (one default more moves a loss
by a whole exposure), while last-digit drift of the libraries passes: measured between the
environment of the first golden file (issue 12) and a fresh install with numpy 2.4.6 and scipy
1.17.1, at most 3.5e-12 relative, with no draw changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import platform
import shutil
import sys
import warnings
from importlib.metadata import PackageNotFoundError, version
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

#: the libraries whose rounding the numbers depend on (with Python's minor version, the machine)
_LIBRARIES = ("numpy", "scipy", "pandas", "xarray", "netCDF4", "pymc", "pytensor", "arviz", "SALib")
#: tolerances outside the frozen environment (see the module docstring)
_REL, _ABS = 1e-9, 1e-8
_SAMPLE = 32


def environment() -> dict[str, str]:
    """The numerical environment the numbers are bit-identical in."""
    env = {"python": ".".join(platform.python_version_tuple()[:2]), "machine": platform.machine()}
    for name in _LIBRARIES:
        try:
            env[name] = version(name)
        except PackageNotFoundError:
            env[name] = "absent"
    return env


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


def _netcdf(path: Path) -> dict[str, dict]:
    """Fingerprints of every variable and coordinate of a netCDF file.

    ``results``: ``{name: "dtype shape sha256"}``; ``values``: for each float array its sum, sum
    of absolute values, root sum of squares, min, max and `_SAMPLE` evenly spaced elements (NaN
    as the string ``"nan"``), compared outside the frozen environment.
    """
    import xarray as xr

    hashes, values = {}, {}
    with xr.open_dataset(path) as ds:
        for name in sorted({*ds.data_vars, *ds.coords}):
            x = np.ascontiguousarray(ds[name].values)
            if x.dtype.kind in "OUS":
                data = "\x1f".join(map(str, x.ravel())).encode()
            else:
                data = x.tobytes()
            hashes[str(name)] = f"{x.dtype.str} {x.shape} {hashlib.sha256(data).hexdigest()}"
            if x.dtype.kind == "f" and x.size:
                values[str(name)] = _float_stats(x.ravel().astype(np.float64))
    return {"results": hashes, "values": values}


def _float_stats(x: np.ndarray) -> list[float | str]:
    finite = np.where(np.isfinite(x), x, 0.0)
    at = np.linspace(0, x.size - 1, _SAMPLE).round().astype(int)
    stats = [
        float(finite.sum()),
        float(np.abs(finite).sum()),
        float(np.sqrt((finite**2).sum())),
        float(finite.min()),
        float(finite.max()),
    ]
    return [v if math.isfinite(v) else "nan" for v in stats + [float(v) for v in x[at]]]


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
        **_netcdf(out / "results.nc"),
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
            **_netcdf(folder / "results.nc"),
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


def _case_names() -> list[str]:
    if not GOLDEN.exists():
        return ["golden.json missing"]
    return sorted(_golden().get("cases", {"golden.json of an old layout: --write": None}))


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=_REL, abs_tol=_ABS)
    return a == b


def _close_values(frozen: list, now: list) -> bool:
    """Float-array stats equal to `_REL`, with the absolute floor scaled by the array's size."""
    if len(frozen) != len(now):
        return False
    scale = max((abs(v) for v in frozen[3:5] if isinstance(v, float)), default=0.0)
    return all(
        a == b
        or (
            isinstance(a, float)
            and isinstance(b, float)
            and math.isclose(a, b, rel_tol=_REL, abs_tol=_ABS + _REL * scale)
        )
        for a, b in zip(frozen, now, strict=True)
    )


def _changed(part: str, frozen: dict, now: dict, exact: bool) -> list:
    if exact:
        return [(k, frozen[k], now[k]) for k in frozen if frozen[k] != now[k]]
    if part == "results":  # outside the frozen environment: dtype and shape only
        return [(k, frozen[k], now[k]) for k in frozen if frozen[k][:-65] != now[k][:-65]]
    if part == "values":
        return [(k, frozen[k], now[k]) for k in frozen if not _close_values(frozen[k], now[k])]
    return [(k, frozen[k], now[k]) for k in frozen if not _close(frozen[k], now[k])]


@pytest.mark.slow
@pytest.mark.parametrize("case", _case_names())
def test_golden_outputs_are_bit_identical(case: str, current: dict) -> None:
    golden = _golden()
    expected, got = golden["cases"][case], current[case]
    env = environment()
    differs = {
        k: f"{v} -> {env.get(k)}" for k, v in golden["environment"].items() if env.get(k) != v
    }
    if differs:
        warnings.warn(
            f"golden outputs frozen in another environment ({differs}): numbers compared to a "
            f"relative {_REL:g}, not bit for bit. Regenerate in this environment with "
            "`python tests/test_golden.py --write` only after checking that nothing else changed.",
            stacklevel=1,
        )
    for part, frozen in expected.items():
        now = got[part]
        missing = sorted(set(frozen) - set(now))
        assert not missing, f"{case} {part}: keys gone: {missing[:10]}"
        changed = _changed(part, frozen, now, exact=not differs)
        assert not changed, f"{case} {part}: {len(changed)} values changed, e.g. {changed[:5]}"


def test_tolerant_comparison_catches_a_changed_draw() -> None:
    """Outside the frozen environment the comparison must still see one default more or less:
    a loss array where one path lost one exposure more differs in its sums."""
    rng = np.random.default_rng(3)
    loss = rng.gamma(2.0, 5e6, size=(3000, 36))
    drift = loss * (1 + 1e-13)
    one_more = loss.copy()
    one_more[1234, 7] += 25_000.0  # one default of a small exposure
    frozen = _float_stats(loss.ravel())
    assert not _changed("values", {"loss": frozen}, {"loss": _float_stats(drift.ravel())}, False)
    assert _changed("values", {"loss": frozen}, {"loss": _float_stats(one_more.ravel())}, False)
    assert _changed("summary", {"/el": 1e8}, {"/el": 1e8 + 25_000.0}, False)
    assert not _changed("summary", {"/el": 1e8}, {"/el": 1e8 * (1 + 1e-12)}, False)
    assert _changed("summary", {"/el": 1e8}, {"/el": 1e8 * (1 + 1e-12)}, True)


if __name__ == "__main__":  # python tests/test_golden.py --write
    import tempfile

    if "--write" not in sys.argv:
        sys.exit(
            "usage: python tests/test_golden.py --write   (regenerates tests/golden/golden.json)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        data = fingerprints(Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    golden = {"environment": environment(), "cases": data}
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}: {len(data)} cases, environment {golden['environment']}")
