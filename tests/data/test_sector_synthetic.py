"""simulate_sector_default_history: the factors have the asked correlation; the counts the PDs."""

from __future__ import annotations

import numpy as np
import pytest

from riskmodel.data.sector_synthetic import simulate_sector_default_history

SF = {"cards": "retail", "sme": "business", "mortgages": "retail"}
PD = {"cards": 0.02, "sme": 0.01, "mortgages": 0.005}
RHO = {"cards": 0.05, "sme": 0.15, "mortgages": 0.10}


def test_factors_and_default_rates_follow_the_model():
    r = 0.6
    n_periods, n = 4000, 50_000
    hist = simulate_sector_default_history(
        PD, RHO, SF, customers=n, n_periods=n_periods,
        factor_correlation=[[1.0, r], [r, 1.0]], seed=8,
    )  # fmt: skip
    z = np.asarray(hist.attrs["factor"])
    assert hist.attrs["factors"] == ["retail", "business"] and z.shape == (n_periods, 2)
    # sample correlation: sd (1 − r²)/√T = 0.01; 4 sd
    assert abs(np.corrcoef(z.T)[0, 1] - r) < 4 * (1 - r**2) / np.sqrt(n_periods)
    # unit variances: sd of a sample variance ≈ √(2/T) = 0.022; 4 sd
    np.testing.assert_allclose(z.var(axis=0), 1.0, atol=4 * np.sqrt(2 / n_periods))
    for seg, p in PD.items():
        rate = hist.loc[hist["segment"] == seg, "defaults"].to_numpy() / n
        # E[rate] = p; its sd over periods is below 3 p for these ρ, so 4 sd of the mean is
        # at most 12 p / √T
        assert abs(rate.mean() - p) < 12 * p / np.sqrt(n_periods), seg
    # the segment on the other factor co-moves less than the two on the same factor
    wide = hist.pivot(index="period", columns="segment", values="defaults")
    c = np.corrcoef(wide[["cards", "mortgages", "sme"]].to_numpy().T)
    assert c[0, 1] > c[0, 2]


def test_same_seed_same_history_and_bad_inputs_refused():
    kw = {"customers": 100, "n_periods": 5, "factor_correlation": np.eye(2)}
    a = simulate_sector_default_history(PD, RHO, SF, seed=3, **kw)
    b = simulate_sector_default_history(PD, RHO, SF, seed=3, **kw)
    assert a.equals(b) and a.attrs == b.attrs
    with pytest.raises(ValueError, match="2×2"):
        simulate_sector_default_history(PD, RHO, SF, customers=10, n_periods=3, seed=0)
    with pytest.raises(ValueError, match="positive definite"):
        simulate_sector_default_history(
            PD, RHO, SF, customers=10, n_periods=3, factor_correlation=np.ones((2, 2)), seed=0
        )
    with pytest.raises(ValueError, match=r"correlation has no value for segment\(s\) \['sme'\]"):
        simulate_sector_default_history(PD, {"cards": 0.1, "mortgages": 0.1}, SF, seed=0, **kw)
    with pytest.raises(ValueError, match="PD of segment 'sme'"):
        simulate_sector_default_history({**PD, "sme": 1.0}, RHO, SF, seed=0, **kw)
