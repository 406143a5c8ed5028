"""What the fit report reads of a fit (`riskmodel.report.fit_content`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmodel.errors import ArgumentError
from riskmodel.models.draws import ParameterDraws
from riskmodel.report.fit_content import correlation_summary, fit_outcome, transition_table
from riskmodel.states import StateSpace

SS = StateSpace(["a", "b", "d"], absorbing=["d"], default="d")


def _draws(n: int = 200, correlation: bool = False) -> ParameterDraws:
    rng = np.random.default_rng(5)
    rows = rng.dirichlet([8.0, 3.0, 1.0], size=(n, 1, 2))  # (D, S, I, n)
    absorbing = np.broadcast_to([0.0, 0.0, 1.0], (n, 1, 1, 3))
    rho = rng.uniform(0.05, 0.2, size=n) if correlation else None
    return ParameterDraws(SS, ("x",), np.concatenate([rows, absorbing], axis=2), correlation=rho)


def test_the_transition_table_holds_mean_and_94_percent_interval_of_each_transient_cell():
    draws = _draws()
    table = transition_table(draws, None)
    assert len(table) == 2 * 3  # transient origins a, b times the three destinations
    row = table[(table["from_state"] == "b") & (table["to_state"] == "a")].iloc[0]
    cell = draws.transitions[:, 0, 1, 0]
    assert row["mean"] == pytest.approx(cell.mean(), rel=1e-12)
    assert (row["q03"], row["q97"]) == pytest.approx(tuple(np.quantile(cell, [0.03, 0.97])))


def test_the_fits_own_table_is_used_when_it_has_the_columns():
    own = pd.DataFrame(
        {"segment": ["x", "x"], "from_state": ["a", "d"], "to_state": ["b", "d"],
         "mean": [0.25, 1.0], "q03": [0.2, 1.0], "q97": [0.3, 1.0], "extra": [1, 2]}
    )  # fmt: skip
    table = transition_table(_draws(), own)
    # absorbing rows dropped, extra columns left out
    assert table.to_dict("records") == [
        {"segment": "x", "from_state": "a", "to_state": "b", "mean": 0.25, "q03": 0.2,
         "q97": 0.3}
    ]  # fmt: skip


def test_the_correlation_summary_describes_the_draws_or_is_none():
    assert correlation_summary(_draws()) is None
    draws = _draws(correlation=True)
    summary = correlation_summary(draws)
    assert summary is not None
    rho = draws.correlation
    assert summary["mean"] == pytest.approx(rho.mean())
    assert summary["sd"] == pytest.approx(rho.std(ddof=1))
    assert summary["draws"] == rho.size
    hist = summary["histogram"]
    assert ((hist["right"] - hist["left"]) * hist["density"]).sum() == pytest.approx(1.0)


def test_a_fit_of_another_kind_is_refused_by_name():
    with pytest.raises(ArgumentError, match="got str"):
        fit_outcome("posterior.nc")
    outcome = type("Outcome", (), {"draws": _draws(), "diagnostics": {"m": {}}})()
    draws, summary, diagnostics, models = fit_outcome(outcome)
    assert draws is outcome.draws and summary is None
    assert diagnostics == {"m": {}} and models == {}
