"""Synthetic generators reproduce their known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from riskmodel.data.panel import panel_to_counts
from riskmodel.data.synthetic import (
    conditional_pd,
    macro_driven_matrices,
    simulate_default_history,
    simulate_panel,
)
from riskmodel.states import StateSpace

SS = StateSpace(["good", "bad", "gone"], absorbing=["gone"], default="gone")
P = np.array([[0.90, 0.08, 0.02], [0.30, 0.60, 0.10], [0.0, 0.0, 1.0]])


def test_panel_is_reproducible_and_seed_dependent():
    a = simulate_panel({"r": P}, SS, n_customers=200, n_periods=8, seed=0)
    b = simulate_panel({"r": P}, SS, n_customers=200, n_periods=8, seed=0)
    c = simulate_panel({"r": P}, SS, n_customers=200, n_periods=8, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    d = simulate_panel({"r": P}, SS, n_customers=200, n_periods=8, rng=np.random.default_rng(0))
    pd.testing.assert_frame_equal(a, d)
    with pytest.raises(ValueError, match="either `seed` or `rng`"):
        simulate_panel(P, SS, n_customers=1, n_periods=2, seed=0, rng=np.random.default_rng(0))


def test_panel_frequencies_match_the_matrix():
    panel = simulate_panel(
        {"r": P, "s": P}, SS, n_customers=3000, n_periods=10, seed=4, entry="uniform"
    )
    counts = panel_to_counts(panel, SS).sum("segment").values
    for i in range(2):
        n = counts[i].sum()
        z = (counts[i] - n * P[i]) / np.sqrt(n * P[i] * (1 - P[i]))
        assert np.all(np.abs(z) < 4.5), z
    # absorbed customers have no row after the absorbing one
    last = panel.groupby("customer_id")["state"].last()
    gone = panel[panel.state == "gone"]
    assert (last.loc[gone.customer_id] == "gone").all()


def test_structural_zeros_never_appear_and_time_varying_matrices_work():
    Q = np.array([[0.9, 0.0, 0.1], [0.5, 0.4, 0.1], [0, 0, 1]])
    mats = np.stack([P, Q])[:, None]  # (period=2, segment=1, 3, 3)
    import xarray as xr

    da = xr.DataArray(
        mats, dims=("period", "segment", "from_state", "to_state"), coords={"segment": ["r"]}
    )
    panel = simulate_panel(da, SS, n_customers=5000, n_periods=3, seed=2, initial=[1, 0, 0])
    counts = panel_to_counts(panel, SS, by_period=True)
    assert int(counts.sel(period=1, from_state="good", to_state="bad").sum()) == 0
    assert int(counts.sel(period=0, from_state="good", to_state="bad").sum()) > 300


def test_macro_driven_matrices_follow_the_logit_link():
    a = np.array([[0.0, -2.0, -np.inf], [-1.0, 0.0, -2.5]])
    b = np.zeros((2, 3, 1))
    b[0, 1, 0] = 0.5
    macro = pd.DataFrame({"period": [0, 1], "u": [0.0, 2.0]})
    mats = macro_driven_matrices({"r": a}, b, macro, ["u"], SS)
    assert mats.dims == ("period", "segment", "from_state", "to_state")
    np.testing.assert_allclose(mats.sum("to_state"), 1.0)
    assert float(mats.sel(period=1, segment="r", from_state="good", to_state="gone")) == 0.0
    odds = mats.sel(from_state="good", to_state="bad") / mats.sel(
        from_state="good", to_state="good"
    )
    np.testing.assert_allclose(np.log(odds.values[:, 0]), [-2.0, -1.0])


def test_conditional_pd_closed_form():
    p, rho, z = 0.02, 0.15, -1.3
    expected = stats.norm.cdf((stats.norm.ppf(p) - np.sqrt(rho) * z) / np.sqrt(1 - rho))
    assert conditional_pd(p, rho, z) == pytest.approx(expected)
    assert conditional_pd(p, 0.0, 3.0) == pytest.approx(p)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        conditional_pd(p, 1.0, 0.0)


def _rate_fourth_moment(p: float, rho: float, n: int) -> float:
    """E[(D/n − p)^4] with D | Z ~ Binomial(n, p(Z)): quadrature over Z of the conditional
    central moments (variance v, third k3, fourth k4) shifted by d = p(Z) − p."""

    def integrand(z):
        m = conditional_pd(p, rho, z)
        v = m * (1 - m) / n
        k3 = m * (1 - m) * (1 - 2 * m) / n**2
        k4 = 3 * v**2 + m * (1 - m) * (1 - 6 * m * (1 - m)) / n**3
        d = m - p
        return (k4 + 4 * k3 * d + 6 * v * d**2 + d**4) * stats.norm.pdf(z)

    return integrate.quad(integrand, -12, 12, limit=200)[0]


def test_default_history_matches_vasicek_moments():
    p, rho, n, T = 0.02, 0.12, 100_000, 4000
    hist = simulate_default_history(p, rho, customers=n, n_periods=T, seed=11)
    rate = hist["defaults"].to_numpy() / n
    # E[p(Z)] = p; Var[p(Z)] = Phi2(c, c; rho) - p^2 (Vasicek), plus binomial noise
    c = special.ndtri(p)
    var = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([c, c]) - p**2
    total_var = var + (p - var - p**2) / n
    assert abs(rate.mean() - p) < 4 * np.sqrt(total_var / T)
    # sample variance of T iid rates: Var(s²) = (μ4 − σ⁴ (T − 3)/(T − 1)) / T, with the fourth
    # central moment μ4 of the rate by quadrature over Z of the binomial's central moments
    mu4 = _rate_fourth_moment(p, rho, n)
    se_var = np.sqrt((mu4 - total_var**2 * (T - 3) / (T - 1)) / T)
    assert abs(rate.var(ddof=1) - total_var) < 4.5 * se_var, (rate.var(ddof=1), total_var, se_var)
    assert len(hist.attrs["factor"]) == T
    two = simulate_default_history(
        {"a": 0.01, "b": 0.03}, 0.1, customers={"a": 10, "b": 20}, n_periods=3, seed=0
    )
    assert two.groupby("segment")["customers"].first().to_dict() == {"a": 10, "b": 20}
