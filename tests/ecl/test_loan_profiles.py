"""Per-loan ECL against explicit period-by-period sums: maturity, amortisation, instalments,
rates, LGD, the default state, weighted scenarios and chunking.

The references below loop over the periods in plain Python from the term structure's marginal
PDs; the library takes dot products and cumulative look-ups. Both are exact, so they agree to
rounding (rtol 1e-12).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import riskmodel as rm
from riskmodel.ecl.term_structure import term_structure

REPO = Path(__file__).resolve().parents[2]
IFRS9 = REPO / "scenarios" / "ifrs9.yaml"  # no downturn LGD: loss = PD × LGD per period


@pytest.fixture(scope="module")
def ifrs9():
    return rm.load_scenario(IFRS9)


def _tape(**columns) -> pd.DataFrame:
    n = max(len(v) if isinstance(v, list) else 1 for v in columns.values())
    base = {"loan_id": [f"x{i}" for i in range(n)], "segment": "mortgages", "state": "stage1"}
    base.update(columns)
    return pd.DataFrame({k: v if isinstance(v, list) else [v] * n for k, v in base.items()})


def _reference(ts, seg, state, exposure_path, discount, lgd, periods):
    """ℓ · Σ_{t < periods} EAD_t · df_t · pd_t, and the same over the 12-month window."""
    pd_t = ts.pd[ts.segments.index(seg), ts.states.index(state)]
    w = ts.window_weights()
    life = sum(exposure_path[t] * discount[t] * pd_t[t] for t in range(periods))
    short = sum(w[t] * exposure_path[t] * discount[t] * pd_t[t] for t in range(periods))
    return lgd * short, lgd * life


def test_a_loan_maturing_in_6_periods_has_no_ecl_after_period_6(ifrs9):
    ts = term_structure(ifrs9)
    h = ifrs9.horizon
    tape = _tape(exposure=1000.0, maturity=[float(m) for m in range(h + 1)])
    out = rm.loan_ecl(ifrs9, tape).loans
    life = out["ecl_lifetime"].to_numpy()
    # the increments are exactly the periods' discounted losses: period m adds its own loss only
    expected = [
        _reference(ts, "mortgages", "stage1", 1000 * ts.ead_factor, ts.discount, ts.lgd_mean, m)[1]
        for m in range(h + 1)
    ]
    np.testing.assert_allclose(life, expected, rtol=1e-12)
    six = out.iloc[6]
    assert six["periods"] == 6
    pd_t = ts.pd[ts.segments.index("mortgages"), ts.states.index("stage1")]
    assert six["pd_lifetime"] == pytest.approx(pd_t[:6].sum(), rel=1e-12)
    assert six["pd_12m"] == pytest.approx(pd_t[:6].sum(), rel=1e-12)  # the window is cut too
    assert six["ecl_12m"] == pytest.approx(six["ecl_lifetime"], rel=1e-12)
    assert life[0] == 0.0 and out.iloc[0]["pd_lifetime"] == 0.0
    assert np.all(np.diff(life) > 0)


def test_own_amortisation_and_rate(ifrs9):
    ts = term_structure(ifrs9)
    a, r, h = 0.015, 0.006, ifrs9.horizon
    out = rm.loan_ecl(ifrs9, _tape(exposure=5e4, amortisation=a, rate=r, maturity=40.0)).loans
    t = np.arange(1, h + 1)
    short, life = _reference(
        ts, "mortgages", "stage1", 5e4 * (1 - a) ** t, (1 + r) ** -t.astype(float), ts.lgd_mean, 40
    )
    assert out["ecl_lifetime"].iloc[0] == pytest.approx(life, rel=1e-12)
    assert out["ecl_12m"].iloc[0] == pytest.approx(short, rel=1e-12)
    # only the amortisation given: the scenario's discount factors
    own_a = rm.loan_ecl(ifrs9, _tape(exposure=5e4, amortisation=a)).loans
    _, life_a = _reference(
        ts, "mortgages", "stage1", 5e4 * (1 - a) ** t, ts.discount, ts.lgd_mean, h
    )
    assert own_a["ecl_lifetime"].iloc[0] == pytest.approx(life_a, rel=1e-12)
    # only the rate given: the scenario's amortisation
    own_r = rm.loan_ecl(ifrs9, _tape(exposure=5e4, rate=r)).loans
    _, life_r = _reference(
        ts, "mortgages", "stage1", 5e4 * ts.ead_factor, (1 + r) ** -t.astype(float), ts.lgd_mean, h
    )
    assert own_r["ecl_lifetime"].iloc[0] == pytest.approx(life_r, rel=1e-12)


def test_an_instalment_runs_the_balance_down(ifrs9):
    ts = term_structure(ifrs9)
    b0, inst, r = 10_000.0, 450.0, 0.005
    out = rm.loan_ecl(ifrs9, _tape(state="stage2", exposure=b0, instalment=inst, rate=r)).loans
    bal, path = b0, []
    for _ in range(ifrs9.horizon):
        bal = max(bal * (1 + r) - inst, 0.0)
        path.append(bal)
    assert path[-1] == 0.0 and path[20] > 0  # paid off within the horizon
    disc = (1 + r) ** -np.arange(1, ifrs9.horizon + 1, dtype=float)
    short, life = _reference(ts, "mortgages", "stage2", path, disc, ts.lgd_mean, ifrs9.horizon)
    assert out["ecl_lifetime"].iloc[0] == pytest.approx(life, rel=1e-12)
    assert out["ecl_12m"].iloc[0] == pytest.approx(short, rel=1e-12)


def test_own_lgd_scales_the_ecl_and_the_stress_addon_applies():
    sc = rm.load_scenario(REPO / "scenarios" / "adverse.yaml")  # addon 0.05, downturn LGD
    tape = pd.DataFrame(
        {
            "loan_id": ["a", "b", "c"],
            "segment": "cards",
            "state": "mature",
            "exposure": 1e4,
            "lgd": [0.25, 0.55, np.nan],
        }
    )
    out = rm.loan_ecl(sc, tape).loans.set_index("loan_id")
    m = sc.lgd_mean  # 0.45 + 0.05
    assert out.loc["b", "ecl_lifetime"] / out.loc["a", "ecl_lifetime"] == pytest.approx(
        (0.55 + 0.05) / (0.25 + 0.05), rel=1e-12
    )
    assert out.loc["a", "ecl_lifetime"] / out.loc["c", "ecl_lifetime"] == pytest.approx(
        0.30 / m, rel=1e-12
    )


def test_a_defaulted_loan_loses_its_exposure_times_lgd(ifrs9):
    tape = _tape(state="stage3", exposure=[1000.0, 2000.0], lgd=[0.4, np.nan], maturity=3.0)
    out = rm.loan_ecl(ifrs9, tape).loans
    assert out["pd_12m"].tolist() == [1.0, 1.0] and out["pd_lifetime"].tolist() == [1.0, 1.0]
    assert out["stage"].tolist() == [3, 3]
    assert out["stage_reason"].tolist() == ["default_state"] * 2
    np.testing.assert_allclose(out["ecl_booked"], [400.0, 2000.0 * ifrs9.lgd_mean], rtol=1e-15)
    np.testing.assert_allclose(out["ecl_12m"], out["ecl_lifetime"], rtol=0)


def test_booked_ecl_follows_the_stage(ifrs9):
    tape = _tape(
        state=["stage1", "stage2", "stage1"], exposure=1e4, origination_pd=[0.9, 0.9, 1e-4]
    )
    out = rm.loan_ecl(ifrs9, tape).loans
    assert out["stage"].tolist() == [1, 2, 2]
    assert out["stage_reason"].tolist() == ["no_increase", "stage2_state", "pd_increase"]
    booked = np.where(out["stage"] == 1, out["ecl_12m"], out["ecl_lifetime"])
    np.testing.assert_array_equal(out["ecl_booked"], booked)
    assert out["ecl_lifetime"].iloc[0] > out["ecl_12m"].iloc[0]


def test_chunks_csv_and_dataframe_give_the_same_numbers(ifrs9, tmp_path):
    from riskmodel.ecl.synthetic import synthetic_tape

    tape = synthetic_tape(ifrs9, 2_000, seed=5)
    whole = rm.loan_ecl(ifrs9, tape).loans
    chunked = rm.loan_ecl(ifrs9, tape, chunk_rows=37).loans
    tape.to_csv(tmp_path / "tape.csv", index=False)
    from_csv = rm.loan_ecl(ifrs9, tmp_path / "tape.csv", chunk_rows=500).loans
    for other in (chunked, from_csv):
        for col in ("ecl_12m", "ecl_lifetime", "ecl_booked", "pd_12m", "pd_lifetime", "stage"):
            np.testing.assert_array_equal(whole[col].to_numpy(), other[col].to_numpy())
    assert set(whole["stage_reason"]) >= {"default_state", "stage2_state", "no_increase"}


def _weighted_pair(tmp_path: Path) -> list[Path]:
    files = []
    for name, w, shift in (("central", 0.7, 0.0), ("down", 0.3, -1.5)):
        cfg = yaml.safe_load(IFRS9.read_text())
        cfg.update(name=name, weight=w)
        cfg["systematic"]["shift"] = shift
        cfg["portfolio"]["file"] = str(REPO / "scenarios" / "ifrs9_portfolio.csv")
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        files.append(path)
    return files


def test_weighted_scenarios_sum_the_weighted_figures(tmp_path):
    from riskmodel.ecl.synthetic import synthetic_tape

    a, b = (rm.load_scenario(f, allow_outside_files=True) for f in _weighted_pair(tmp_path))
    tape = synthetic_tape(a, 500, seed=2)
    both = rm.loan_ecl([a, b], tape)
    one, two = rm.loan_ecl(a, tape).loans, rm.loan_ecl(b, tape).loans
    for col in ("ecl_12m", "ecl_lifetime", "pd_12m", "pd_lifetime"):
        np.testing.assert_allclose(both.loans[col], 0.7 * one[col] + 0.3 * two[col], rtol=1e-12)
    # a defaulted loan's loss is the same in both; an instalment loan repaid in its one
    # remaining period has no exposure at default (the balance after the period's payment)
    live = (tape["state"] != "stage3").to_numpy() & (one["ecl_lifetime"] > 0).to_numpy()
    assert live.sum() > 400
    assert (
        both.loans["ecl_lifetime"].to_numpy()[live] > one["ecl_lifetime"].to_numpy()[live]
    ).all()
    by = both.summary()["by_scenario"]
    assert by["central"]["lifetime"] == pytest.approx(one["ecl_lifetime"].sum(), rel=1e-10)
    assert [s["weight"] for s in both.summary()["scenarios"]] == [0.7, 0.3]


def test_several_scenarios_need_weights(tmp_path):
    a, b = (rm.load_scenario(f, allow_outside_files=True) for f in _weighted_pair(tmp_path))
    plain = a.with_options(weight=None, name="plain")
    with pytest.raises(rm.ComparisonError, match="weight"):
        rm.loan_ecl([plain, b.with_options(weight=None)], _tape(exposure=1.0))
    with pytest.raises(rm.ComparisonError, match="sum to 1"):
        rm.loan_ecl([a, b.with_options(weight=0.5)], _tape(exposure=1.0))
