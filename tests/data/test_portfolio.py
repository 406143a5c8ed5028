"""Portfolio tables: aggregation of customers into cohorts, CSV reading, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskmodel as rm


def test_from_customers_aggregates_counts_exposure_and_margin():
    rng = np.random.default_rng(0)
    n = 1000
    df = pd.DataFrame(
        {
            "segment": rng.choice(["cards", "loans"], n),
            "state": rng.choice(["new", "mature", "declining"], n),
            "exposure": rng.uniform(100, 5000, n),
            "margin": rng.uniform(0, 30, n),
        }
    )
    pf = rm.Portfolio.from_customers(df)
    t = pf.table.set_index(["segment", "state"])
    expect = df.groupby(["segment", "state"]).agg(
        customers=("exposure", "size"), exposure=("exposure", "sum"), margin=("margin", "sum")
    )
    for key, row in expect.iterrows():
        assert t.loc[key, "customers"] == row["customers"]
        assert t.loc[key, "exposure"] == pytest.approx(row["exposure"], rel=1e-12)
        assert t.loc[key, "margin"] == pytest.approx(row["margin"], rel=1e-12)
    assert pf.total_customers == n
    # the per-customer view divides totals by counts
    pc = pf.per_customer()
    np.testing.assert_allclose(pc["ead"] * pc["customers"], pc["exposure"])


def test_from_customers_without_margin_and_missing_column():
    df = pd.DataFrame({"segment": ["a"], "state": ["new"], "exposure": [10.0]})
    assert rm.Portfolio.from_customers(df).table["margin"].tolist() == [0.0]
    with pytest.raises(rm.PortfolioError, match="exposure"):
        rm.Portfolio.from_customers(df.drop(columns="exposure"))


def test_csv_round_trip_and_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("segment,state,customers,exposure\ncards,new,10,1000\n")
    pf = rm.Portfolio.from_csv(path)
    assert pf.table["customers"].tolist() == [10] and pf.segments == ("cards",)
    path.write_text("segment,state,customers,exposure\ncards,new,-1,1000\n")
    with pytest.raises(rm.PortfolioError, match="customers"):
        rm.Portfolio.from_csv(path)
    with pytest.raises(rm.PortfolioError, match="not found"):
        rm.Portfolio.from_csv(tmp_path / "missing.csv")
