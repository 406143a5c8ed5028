"""Paired standard errors of scenario differences on common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import riskmodel as rm
from riskmodel.api import compare_scenarios
from riskmodel.errors import ArgumentError, ComparisonError
from riskmodel.metrics.paired import paired_influences, paired_stderr

TINY = Path(__file__).resolve().parents[1] / "scenarios" / "tiny.yaml"
LEVELS = [0.95, 0.99]

# Two lognormal "losses" driven by a common factor Z (common random numbers) and their own
# noise: L = exp(mu + b Z + c e). Closed forms: EL = exp(mu + s²/2), VaR_q = exp(mu + s z_q),
# ES_q = EL Φ(s − z_q) / (1 − q), with s² = b² + c².
PAIRS = {"a": (0.0, 0.6, 0.1), "b": (0.1, 0.7, 0.1)}


def _truth(mu: float, b: float, c: float) -> dict[str, float]:
    s = float(np.hypot(b, c))
    el = float(np.exp(mu + s * s / 2))
    out = {"expected": el}
    for q in LEVELS:
        z = float(stats.norm.ppf(q))
        out[f"var_{q}"] = float(np.exp(mu + s * z))
        out[f"es_{q}"] = el * float(stats.norm.cdf(s - z)) / (1 - q)
    return out


def _replication(seed: int, n: int) -> tuple[dict, dict, dict]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    infl = {}
    for name, (mu, b, c) in PAIRS.items():
        infl[name] = paired_influences(
            np.exp(mu + b * z + c * rng.standard_normal(n)), None, LEVELS
        )
    diff = {k: float(infl["a"][f"value:{k}"] - infl["b"][f"value:{k}"]) for k in _truth(0, 1, 1)}
    se = {k: paired_stderr(infl["a"][k], infl["b"][k]) for k in diff}
    unpaired = {
        k: float(np.hypot(np.std(infl["a"][k], ddof=1), np.std(infl["b"][k], ddof=1))) / np.sqrt(n)
        for k in diff
    }
    return diff, se, unpaired


@pytest.fixture(scope="module")
def replications() -> list[tuple[dict, dict, dict]]:
    return [_replication(seed, 4000) for seed in range(300)]


def test_paired_stderr_matches_spread_over_independent_seeds(replications):
    # The sd of 300 independent estimates has relative standard error 1/sqrt(2·299) ≈ 4.1%;
    # the paired error must agree with it within 4 of those (16%), and be far from the
    # unpaired error, which ignores the common factor.
    for key in replications[0][0]:
        spread = np.std([d[key] for d, _, _ in replications], ddof=1)
        mean_se = np.mean([s[key] for _, s, _ in replications])
        assert mean_se == pytest.approx(spread, rel=0.16), key
        mean_unpaired = np.mean([u[key] for _, _, u in replications])
        assert mean_se < 0.6 * mean_unpaired, key


def test_paired_intervals_cover_the_closed_form_difference(replications):
    # 95% intervals over 300 seeds: coverage has binomial sd sqrt(.95·.05/300) ≈ 1.26%; accept
    # within 4 sd (0.90 to 1.0). Lognormal tails bias VaR/ES slightly at 4,000 paths.
    truth_a, truth_b = _truth(*PAIRS["a"]), _truth(*PAIRS["b"])
    for key in truth_a:
        true = truth_a[key] - truth_b[key]
        hits = [abs(d[key] - true) <= 1.96 * s[key] for d, s, _ in replications]
        assert np.mean(hits) >= 0.90, (key, np.mean(hits))


def test_paired_stderr_refuses_different_path_counts():
    with pytest.raises(ArgumentError, match="same paths"):
        paired_stderr(np.zeros(3), np.zeros(4))


def _pair(seed: int, paths: int = 600):
    tiny = rm.load_scenario(TINY)
    stressed = tiny.with_options(name="stressed", systematic={"correlation": 0.1, "shift": -0.8})
    return compare_scenarios([tiny, stressed], paths=paths, seed=seed, progress=False)


def test_compare_differences_on_the_engine_match_independent_seeds():
    # 30 seeds: the sd of the EL difference has relative s.e. 1/sqrt(58) ≈ 13%; accept the mean
    # paired error within [0.6, 1.5] of the spread (about 3 s.e.), while the unpaired error is
    # more than 1.6 times the paired one on these common random numbers.
    runs = [_pair(seed).differences.set_index("metric") for seed in range(30)]
    for metric in ("expected_mc", "es_0.95"):
        spread = np.std([r.loc[metric, "difference"] for r in runs], ddof=1)
        paired = np.mean([r.loc[metric, "stderr"] for r in runs])
        unpaired = np.mean([r.loc[metric, "stderr_unpaired"] for r in runs])
        assert 0.6 * spread < paired < 1.5 * spread, metric
        assert unpaired > 1.6 * paired, metric


def test_differences_records_in_json_and_baseline_choice():
    cmp = _pair(3)
    records = cmp.to_dict()["differences"]
    assert {r["scenario"] for r in records} == {"stressed"}
    assert set(records[0]) >= {"scenario", "baseline", "metric", "difference", "stderr"}
    frame = cmp.to_dataframe()
    es = next(r for r in records if r["metric"] == "es_0.99")
    assert es["difference"] == frame.loc["stressed", "es_0.99"] - frame.loc["tiny", "es_0.99"]
    exact = next(r for r in records if r["metric"] == "expected")
    assert exact["stderr"] == 0.0  # both expectations exact: the difference is exact
    tiny = rm.load_scenario(TINY)
    other = compare_scenarios(
        [tiny, tiny.with_options(name="stressed")], paths=600, seed=3, baseline="stressed"
    )
    assert set(other.differences["scenario"]) == {"tiny"}
    with pytest.raises(ComparisonError, match="Did you mean 'stressed'"):
        compare_scenarios([tiny, tiny.with_options(name="stressed")], paths=10, baseline="stresed")
