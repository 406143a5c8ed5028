"""Kill tests for `riskmodel.metrics.compare`, `.differences` and `.paired` (docs/mutation.md):
a comparison of three hand-built runs on common paths, with heavy weights, against scalar
loops: the table, every row of the differences (paired and unpaired errors, exact rows), the
quasi-Monte Carlo replicate error, the weighted ECL, the JSON and netCDF forms.

The data are fixed (no simulation, no Monte Carlo error in the check): figures must agree to
rounding (1e-12 relative; 1e-9 for standard errors, sums of squares in another order). The
sparsity ``s(q)`` of the paired VaR influence is taken from `riskmodel.metrics.weighted`
(its own oracle is in tests/mutation/test_kills_metrics.py); everything else is recomputed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from riskmodel.errors import ArgumentError, ComparisonError, TailResolutionWarning
from riskmodel.metrics.compare import ComparisonResult, comparison_from_results
from riskmodel.metrics.differences import check_baseline
from riskmodel.metrics.paired import paired_influences, paired_stderr, replicate_stderr
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import risk_measures
from riskmodel.metrics.weighted import sort_paths, sparsity

N, T = 400, 4
LEVELS = [0.9, 0.95]
NAMES = ["base", "mild", "severe"]
PER_PERIOD = ("loss", "defaults", "churn", "margin")


def _run(name: str, k: int, common: np.random.Generator, *, exact: bool, rep=None):
    """Run `k` of a set: shares the common factor draws, its own scale and weights."""
    z = common.standard_normal((N, T))
    rng = np.random.default_rng(100 + k)
    scale = 1.0 + 0.4 * k
    data = {
        name_: (("path", "period"), np.exp(0.5 * z + 0.3 * rng.standard_normal((N, T))) * scale)
        for name_ in PER_PERIOD
    }
    ds = xr.Dataset(
        {
            **data,
            "loss_by_segment": (("path", "segment"), rng.gamma(2.0, 1.0, (N, 1))),
            "weight": ("path", rng.lognormal(0.0, 0.8, N)),
            "discount_factor": ("period", np.cumprod(np.full(T, 1 / 1.02))),
        },
        coords={"segment": ["s"]},
        attrs={"scenario": name, "levels": LEVELS, "total_customers": 1000},
    )
    if exact:
        ds = ds.assign(
            {
                f"exact_{v}": ("period", np.full(T, 1.5 * scale + j))
                for j, v in enumerate(PER_PERIOD)
            }
        ).assign(exact_value_lost_to_churn=((), 0.5))
    if rep is not None:
        ds["replicate"] = ("path", rep)
    return SimulationResult(data=ds)


def _set(*, exact=(True, True, True), rep=None) -> dict[str, SimulationResult]:
    out = {}
    for k, name in enumerate(NAMES):
        common = np.random.default_rng(7)  # the same factor draws in every run
        out[name] = _run(name, k, common, exact=exact[k], rep=rep)
    return out


def _totals(res: SimulationResult) -> tuple[list[float], list[float]]:
    # the run's own horizon totals (summation order as the code's, so ties stay ties)
    return res.total("loss").values.tolist(), res.data["weight"].values.tolist()


def _mean_one(w: list[float]) -> list[float]:
    s = math.fsum(w)
    return [wi * len(w) / s for wi in w]


def _infl(a: list[float], wt: list[float]) -> list[float]:
    m = math.fsum(a) / len(a)
    return [ai - m * (wi - 1.0) for ai, wi in zip(a, wt, strict=True)]


def _sd_mean(d: list[float]) -> float:
    m = math.fsum(d) / len(d)
    return math.sqrt(math.fsum((x - m) ** 2 for x in d) / (len(d) - 1) / len(d))


def _influences(res: SimulationResult) -> dict[str, list[float]]:
    """EL, VaR and ES influences of one run, in scalar loops (module docstring of paired)."""
    loss, w = _totals(res)
    wt = _mean_one(w)
    n = len(loss)
    out = {"expected": _infl([a * b for a, b in zip(wt, loss, strict=True)], wt)}
    xs, above = sort_paths(np.array(loss), np.array(wt))
    s = sparsity(xs, above, np.array(LEVELS)).tolist()
    for q, sq in zip(LEVELS, s, strict=True):
        v = next(
            x
            for x in sorted(set(loss))
            if math.fsum(wt[i] for i in range(n) if loss[i] > x) / n <= 1 - q
        )
        ind = [wi * (li > v) for wi, li in zip(wt, loss, strict=True)]
        out[f"var_{q}"] = [sq * p for p in _infl(ind, wt)]
        exc = [wi * max(li - v, 0.0) for wi, li in zip(wt, loss, strict=True)]
        out[f"es_{q}"] = [p / (1 - q) for p in _infl(exc, wt)]
        out[f"value:var_{q}"] = v
        out[f"value:es_{q}"] = v + math.fsum(exc) / (n * (1 - q))
    out["value:expected"] = math.fsum(a * b for a, b in zip(wt, loss, strict=True)) / n
    return out


def test_paired_influences_and_errors_against_loops():
    res = _set()
    for name, r in res.items():
        loss, w = _totals(r)
        got = paired_influences(np.array(loss), np.array(w), LEVELS)
        want = _influences(r)
        for key, value in want.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-12, err_msg=name + key)
    a = paired_influences(np.array(_totals(res["base"])[0]), None, LEVELS)
    plain = [x - math.fsum(_totals(res["base"])[0]) / N for x in _totals(res["base"])[0]]
    np.testing.assert_allclose(a["expected"] - float(a["value:expected"]), plain, atol=1e-9)
    d = [
        x - y
        for x, y in zip(
            _influences(res["mild"])["es_0.9"], _influences(res["base"])["es_0.9"], strict=True
        )
    ]
    got = paired_stderr(
        np.array(_influences(res["mild"])["es_0.9"]), np.array(_influences(res["base"])["es_0.9"])
    )
    assert got == pytest.approx(_sd_mean(d), rel=1e-9)
    with pytest.raises(ArgumentError, match="same paths"):
        paired_stderr(np.zeros(3), np.zeros(4))


def _sn(x: list[float], w: list[float]) -> float:
    return math.fsum(a * b for a, b in zip(w, x, strict=True)) / math.fsum(w)


def test_replicate_error_is_the_spread_of_the_replicate_differences():
    rng = np.random.default_rng(1)
    rep = np.repeat(np.arange(5), 8)
    a, b = rng.gamma(2.0, 1.0, 40), rng.gamma(2.0, 1.5, 40)
    wa, wb = rng.lognormal(0.0, 1.0, 40), rng.lognormal(0.0, 1.0, 40)
    wb[rep == 4] = 0.0  # a replicate without weight in one run is left out
    d = []
    for r in range(4):
        g = rep == r
        d.append(_sn(a[g].tolist(), wa[g].tolist()) - _sn(b[g].tolist(), wb[g].tolist()))
    got = replicate_stderr(a, wa, b, wb, rep)
    assert got == pytest.approx(_sd_mean(d), rel=1e-9)
    wa[rep != 0] = 0.0  # one replicate left: no spread
    assert math.isnan(replicate_stderr(a, wa, b, wb, rep))


def _table_check(cmp: ComparisonResult, results: dict) -> None:
    ds = cmp.data
    for i, name in enumerate(NAMES):
        r = results[name]
        loss, w = _totals(r)
        risk = risk_measures(np.array(loss), weights=np.array(w), levels=LEVELS, min_tail_paths=0)
        assert float(ds["expected_mc"][i]) == pytest.approx(_sn(loss, w), rel=1e-12)
        assert float(ds["std"][i]) == pytest.approx(risk.std, rel=1e-12)
        assert float(ds["ess"][i]) == pytest.approx(
            math.fsum(w) ** 2 / math.fsum(x * x for x in w), rel=1e-12
        )
        for k, q in enumerate(LEVELS):
            assert float(ds["var"][i, k]) == risk.var[q]
            assert float(ds["es"][i, k]) == pytest.approx(risk.es[q], rel=1e-12)
            assert float(ds["stderr_var"][i, k]) == pytest.approx(risk.stderr_var[q], rel=1e-12)
            assert float(ds["stderr_es"][i, k]) == pytest.approx(risk.stderr_es[q], rel=1e-12)
        ecl = r.ecl()
        assert float(ds["ecl_lifetime"][i]) == ecl["lifetime"]
        assert float(ds["ecl_12_period"][i]) == ecl["12_period"]
        for v in ("defaults", "churn", "value"):
            col = (
                [
                    math.fsum(
                        m * d for m, d in zip(row, r.data["discount_factor"].values, strict=True)
                    )
                    for row in r.data["margin"].values.tolist()
                ]
                if v == "value"
                else [math.fsum(row) for row in r.data[v].values.tolist()]
            )
            assert float(ds[f"expected_{v}_mc"][i]) == pytest.approx(_sn(col, w), rel=1e-12)
            assert float(ds[f"stderr_{v}_mc"][i]) > 0


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_comparison_table_and_differences_against_loops():
    results = _set(exact=(True, False, True))
    cmp = comparison_from_results(
        results,
        paths=N,
        seed=12,
        entropy=99,
        weights=np.array([0.5, 0.3, 0.2]),
        baseline="mild",
        levels=LEVELS,
    )
    _table_check(cmp, results)
    ds = cmp.data
    assert ds["method"].values.tolist() == ["exact", "monte_carlo", "exact"]
    assert float(ds["stderr_expected"][0]) == 0.0 and float(ds["stderr_expected"][1]) > 0
    infl = {n: _influences(results[n]) for n in NAMES}
    diffs = cmp.differences.set_index(["scenario", "metric"])
    assert set(cmp.differences["scenario"]) == {"base", "severe"}
    assert set(cmp.differences["baseline"]) == {"mild"}
    b = NAMES.index("mild")
    for i, name in enumerate(NAMES):
        if name == "mild":
            continue

        def paired(key: str, name: str = name) -> float:
            pairs = zip(infl[name][key], infl["mild"][key], strict=True)
            return _sd_mean([x - y for x, y in pairs])

        row = diffs.loc[(name, "expected")]
        e = ds["stderr_expected"].values
        assert row["difference"] == pytest.approx(
            float(ds["expected"][i] - ds["expected"][b]), rel=1e-12
        )
        assert row["stderr"] == pytest.approx(paired("expected"), rel=1e-9)  # baseline is MC
        assert row["stderr_unpaired"] == pytest.approx(math.hypot(e[i], e[b]), rel=1e-12)
        row = diffs.loc[(name, "expected_mc")]
        mc = ds["expected_mc"].values  # each against loops in _table_check
        assert row["difference"] == pytest.approx(mc[i] - mc[b], rel=1e-12)
        assert row["stderr"] == pytest.approx(paired("expected"), rel=1e-9)
        e = ds["stderr_mc"].values
        assert row["stderr_unpaired"] == pytest.approx(math.hypot(e[i], e[b]), rel=1e-12)
        for k, q in enumerate(LEVELS):
            for kind, label in (("var", f"var_{q:g}"), ("es", f"es_{q:g}")):
                row = diffs.loc[(name, label)]
                v, e = ds[kind].values, ds[f"stderr_{kind}"].values
                assert row["difference"] == pytest.approx(v[i, k] - v[b, k], rel=1e-12)
                assert row["stderr"] == pytest.approx(paired(f"{kind}_{q}"), rel=1e-9)
                assert row["stderr_unpaired"] == pytest.approx(
                    math.hypot(e[i, k], e[b, k]), rel=1e-12
                )
        for metric in ("ecl_lifetime", "ecl_12_period"):
            row = diffs.loc[(name, metric)]
            assert row["difference"] == pytest.approx(
                float(ds[metric][i] - ds[metric][b]), rel=1e-12
            )
            assert row["stderr"] == 0.0 and row["stderr_unpaired"] == 0.0
    # both exact: the EL difference is exact; a replicate run takes the replicate spread
    exact = comparison_from_results(
        results, paths=N, seed=None, entropy=5, weights=None, baseline="base", levels=LEVELS
    )
    row = exact.differences.set_index(["scenario", "metric"]).loc[("severe", "expected")]
    assert row["stderr"] == 0.0
    assert exact.to_dict()["seed"] is None and exact.weights is None
    assert exact.weighted_ecl is None and exact.to_dict()["weighted_ecl"] is None


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_replicated_runs_take_the_replicate_spread_for_the_expected_loss():
    rep = np.repeat(np.arange(8), N // 8)
    results = _set(exact=(False, False, False), rep=rep)
    cmp = comparison_from_results(
        results, paths=N, seed=1, entropy=1, weights=None, baseline="base", levels=LEVELS
    )
    row = cmp.differences.set_index(["scenario", "metric"]).loc[("mild", "expected")]
    la, wa = _totals(results["mild"])
    lb, wb = _totals(results["base"])
    d = []
    for r in range(8):
        g = [i for i in range(N) if rep[i] == r]
        d.append(
            _sn([la[i] for i in g], [wa[i] for i in g])
            - _sn([lb[i] for i in g], [wb[i] for i in g])
        )
    assert row["stderr"] == pytest.approx(_sd_mean(d), rel=1e-9)


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_weighted_ecl_records_and_netcdf_round_trip(tmp_path):
    results = _set()
    w = np.array([0.5, 0.3, 0.2])
    cmp = comparison_from_results(
        results, paths=N, seed=12, entropy=99, weights=w, baseline="base", levels=LEVELS
    )
    life = cmp.data["ecl_lifetime"].values
    assert cmp.weighted_ecl == pytest.approx(math.fsum((w * life).tolist()), rel=1e-12)
    twelve = cmp.data["ecl_12_period"].values
    assert cmp.weighted_ecl_12_period == pytest.approx(math.fsum((w * twelve).tolist()), rel=1e-12)
    out = cmp.to_dict()
    assert out["paths"] == N and out["seed"] == 12 and out["entropy"] == "99"
    assert out["levels"] == ["0.9", "0.95"] and out["baseline"] == "base"
    assert out["weighted_ecl"] == {
        "lifetime": cmp.weighted_ecl,
        "12_period": cmp.weighted_ecl_12_period,
    }
    assert [r["scenario"] for r in out["scenarios"]] == NAMES
    frame = cmp.to_dataframe()
    assert frame.loc["mild", "es_0.95"] == float(cmp.data["es"].sel(scenario="mild", level=0.95))
    assert frame.loc["severe", "stderr_var_0.9"] == float(
        cmp.data["stderr_var"].sel(scenario="severe", level=0.9)
    )
    assert list(frame["weight"]) == w.tolist()
    assert cmp.summary() == out
    assert len(out["differences"]) == len(cmp.differences)
    cmp.differences.loc[0, "stderr"] = math.nan
    assert cmp.difference_records()[0]["stderr"] is None
    path = cmp.to_netcdf(tmp_path / "cmp.nc")
    back = ComparisonResult.from_netcdf(path)
    assert back.scenarios == NAMES and back.levels == LEVELS
    xr.testing.assert_allclose(back.data, cmp.data)  # values (attributes aside)
    assert back.differences["metric"].tolist() == cmp.differences["metric"].tolist()
    assert back.to_dict()["weighted_ecl"] == out["weighted_ecl"]
    assert ComparisonResult(data=cmp.data).difference_records() == []


def test_the_baseline_is_checked_with_a_suggestion():
    assert check_baseline(None, NAMES) == "base"
    assert check_baseline("severe", NAMES) == "severe"
    with pytest.raises(ComparisonError, match="Did you mean 'severe'"):
        check_baseline("sever", NAMES)
    with pytest.raises(ComparisonError, match=r"got 'zzz'\. Pass the `name:`"):
        check_baseline("zzz", NAMES)  # no close name: no hint


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_json_and_netcdf_details(tmp_path):
    from riskmodel._files import STAMP
    from riskmodel.metrics.differences import DIFFERENCE_COLUMNS

    results = _set()
    cmp = comparison_from_results(
        results, paths=N, seed=None, entropy=7, weights=None, baseline="base", levels=LEVELS
    )
    out = cmp.to_dict()
    assert out["common_random_numbers"] is True and out["seed"] is None
    assert all(r["weight"] is None for r in out["scenarios"])  # NaN weights read as null
    bare = ComparisonResult(data=cmp.data.copy())
    bare.data.attrs = {"paths": N}
    assert bare.to_dict()["seed"] is None and bare.to_dict()["entropy"] == ""
    path = cmp.to_netcdf(tmp_path / "cmp.nc")
    back = ComparisonResult.from_netcdf(path)
    assert list(back.differences.columns) == list(DIFFERENCE_COLUMNS)
    assert STAMP not in back.data.attrs
    with xr.open_dataset(path, group="differences", engine="netcdf4") as group:
        assert set(group.dims) == {"row"}
    for diffs in (None, cmp.differences.iloc[0:0]):  # no differences, or an empty table
        alone = ComparisonResult(data=cmp.data, differences=diffs)
        assert (
            ComparisonResult.from_netcdf(alone.to_netcdf(tmp_path / "alone.nc")).differences is None
        )


def test_replicate_error_with_two_replicates_and_light_ones():
    rng = np.random.default_rng(2)
    a, b = rng.gamma(2.0, 1.0, 30), rng.gamma(2.0, 1.5, 30)
    wa, wb = rng.lognormal(0.0, 1.0, 30), rng.lognormal(0.0, 1.0, 30)
    rep = np.repeat(np.arange(3), 10)
    wa[rep == 1] *= 0.3 / wa[rep == 1].sum()  # light replicates (weight sums 0.3 < 1) count
    wb[rep == 2] *= 0.3 / wb[rep == 2].sum()
    for r, k in ((rep, 3), (np.minimum(rep, 1), 2)):
        d = []
        for g in range(k):
            m = r == g
            d.append(_sn(a[m].tolist(), wa[m].tolist()) - _sn(b[m].tolist(), wb[m].tolist()))
        assert replicate_stderr(a, wa, b, wb, r) == pytest.approx(_sd_mean(d), rel=1e-9)


def test_weights_on_some_files_only_name_each_scenario(tiny_config):
    import riskmodel as rm
    from riskmodel.metrics.compare import check_weights

    a = rm.scenario_from_dict({**tiny_config, "name": "a", "weight": 0.5})
    b = rm.scenario_from_dict({**tiny_config, "name": "b"})
    with pytest.raises(ComparisonError, match=r"got scenario 'a': 0\.5, scenario 'b': none\."):
        check_weights([a, b])


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_a_baseline_alone_has_no_rows_but_the_columns_and_bad_losses_are_named():
    from riskmodel.metrics.differences import DIFFERENCE_COLUMNS, differences_table

    results = _set()
    cmp = comparison_from_results(
        results, paths=N, seed=1, entropy=1, weights=None, baseline="base", levels=LEVELS
    )
    alone = differences_table(cmp.data.isel(scenario=[0]), results, "base")
    assert alone.empty and list(alone.columns) == list(DIFFERENCE_COLUMNS)
    with pytest.raises(ArgumentError, match=r"^`loss` must be 1-D"):
        paired_influences(np.ones((2, 2)), np.ones(2), [0.9])


def _named(config: dict, name: str, weight=None):
    import riskmodel as rm

    return rm.scenario_from_dict({**config, "name": name, "weight": weight})


def test_check_weights_returns_the_weights_or_none_and_checks_their_sum(tiny_config):
    from riskmodel.metrics.compare import WEIGHT_TOL, check_weights

    assert check_weights([_named(tiny_config, "a"), _named(tiny_config, "b")]) is None
    got = check_weights([_named(tiny_config, "a", 0.25), _named(tiny_config, "b", 0.75)])
    assert got.dtype == np.float64 and got.tolist() == [0.25, 0.75]
    # within the tolerance (half of it off) accepted, twice it off refused
    near = [_named(tiny_config, "a", 0.5), _named(tiny_config, "b", 0.5 + WEIGHT_TOL / 2)]
    assert check_weights(near).tolist() == [0.5, 0.5 + WEIGHT_TOL / 2]
    far = [_named(tiny_config, "a", 0.5), _named(tiny_config, "b", 0.5 + 2 * WEIGHT_TOL)]
    with pytest.raises(ComparisonError, match="must sum to 1"):
        check_weights(far)
    over = [_named(tiny_config, "a", 0.5), _named(tiny_config, "b", 0.625)]
    with pytest.raises(ComparisonError) as info:
        check_weights(over)
    assert str(info.value) == (
        "scenario weights must sum to 1 (within 1e-09); they sum to 1.125 "
        "(scenario 'a': 0.5, scenario 'b': 0.625). Adjust the `weight:` values so that they "
        "add up to 1."
    )
    with pytest.raises(ComparisonError) as info:
        check_weights([_named(tiny_config, "a"), _named(tiny_config, "b", 1.0)])
    assert "got scenario 'a': none, scenario 'b': 1. Add" in str(info.value)
    import riskmodel as rm

    tiny = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"
    from_file = rm.load_scenario(tiny).with_options(name="f", weight=0.5)
    with pytest.raises(ComparisonError) as info:  # a file's scenario is named by its path
        check_weights([from_file, _named(tiny_config, "b", 0.25)])
    assert f"({tiny}: 0.5, scenario 'b': 0.25)" in str(info.value)


def test_check_scenarios_takes_sequences_of_scenarios_only(tiny_config, tmp_path):
    from riskmodel.metrics.compare import check_scenarios

    a, b = _named(tiny_config, "a"), _named(tiny_config, "b")
    got = check_scenarios((a, b))
    assert type(got) is list and got == [a, b]
    for bad, shown in (
        ("a.yaml", "got 'a.yaml' (str)"),
        (Path("a.yaml"), "(PosixPath)"),
        (a, "(Scenario)"),
        (3, "got 3 (int)"),
    ):
        with pytest.raises(ArgumentError, match=r"must be a list of Scenario") as info:
            check_scenarios(bad)
        assert shown in str(info.value)
    with pytest.raises(ArgumentError, match=r"hold Scenario objects .*; got 1 \(int\)\."):
        check_scenarios([a, 1, "b.yaml"])  # the first bad entry is named


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_records_stamp_and_a_file_without_stamp(tmp_path):
    import netCDF4

    from riskmodel._files import STAMP

    cmp = comparison_from_results(
        _set(), paths=N, seed=3, entropy=3, weights=None, baseline="base", levels=LEVELS
    )
    records = cmp.difference_records()
    assert records == cmp.differences.to_dict(orient="records")  # no NaN here: values as they are
    assert all(isinstance(r["difference"], float) for r in records)
    path = cmp.to_netcdf(tmp_path / "cmp.nc")
    with netCDF4.Dataset(str(path)) as nc:
        assert nc.getncattr(STAMP) == "ComparisonResult"
        kept = [v for v in nc.groups["differences"].variables if v != "row"]
        assert kept == list(cmp.differences.columns)  # not the frame's index as a column
    plain = tmp_path / "plain.nc"  # written by xarray itself: no stamp, no differences
    cmp.data.to_netcdf(plain, engine="netcdf4")
    back = ComparisonResult.from_netcdf(plain)
    assert back.differences is None and back.scenarios == NAMES


def test_extra_expectations_dims_frame_results_and_the_risk_name():
    results = _set(exact=(True, False, True))
    with pytest.warns(TailResolutionWarning) as caught:  # heavy weights: thin tails warn
        cmp = comparison_from_results(
            results, paths=N, seed=1, entropy=1, weights=None, baseline="base", levels=LEVELS
        )
    assert any("loss (base)" in str(w.message) for w in caught)  # the run's loss is named
    assert cmp.results is results
    ds = cmp.data
    per_level = {"var", "stderr_var", "es", "stderr_es"}
    for k in ds.data_vars:
        assert ds[k].dims == (("scenario", "level") if k in per_level else ("scenario",))
    disc = math.fsum(1.02**-t for t in range(1, T + 1))
    for i in (0, 2):  # exact runs: horizon sums of the exact per-period means, no error
        scale = 1.0 + 0.4 * i
        want = {"defaults": T * (1.5 * scale + 1), "churn": T * (1.5 * scale + 2)}
        want["value"] = (1.5 * scale + 3) * disc  # margin discounted by 1.02 a period
        for v, x in want.items():
            assert float(ds[f"expected_{v}"][i]) == pytest.approx(x, rel=1e-12)
            assert float(ds[f"stderr_{v}"][i]) == 0.0
    for v in ("defaults", "churn", "value"):  # Monte Carlo run: the self-normalised mean
        assert float(ds[f"expected_{v}"][1]) == float(ds[f"expected_{v}_mc"][1])
        assert float(ds[f"stderr_{v}"][1]) == float(ds[f"stderr_{v}_mc"][1]) > 0
    frame = cmp.to_dataframe()
    for k in ds.data_vars:
        if k not in per_level:
            assert frame[k].tolist() == ds[k].values.tolist() or k == "weight"
    assert frame["weight"].isna().all()


@pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")
def test_a_single_scenario_is_tabulated():
    results = {"base": _set()["base"]}
    cmp = comparison_from_results(
        results, paths=N, seed=1, entropy=1, weights=None, baseline="base", levels=LEVELS
    )
    assert cmp.scenarios == ["base"] and cmp.differences.empty
    _, w = _totals(results["base"])
    assert float(cmp.data["ess"][0]) == pytest.approx(
        math.fsum(w) ** 2 / math.fsum(x * x for x in w), rel=1e-12
    )
