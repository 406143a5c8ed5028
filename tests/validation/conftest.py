"""Fixtures of the backtest tests (builders in `backtest_builders`)."""

from __future__ import annotations

import pytest
from backtest_builders import dirichlet_draws

from riskmodel.data.panel import load_example_panel, panel_to_counts
from riskmodel.models.draws import ParameterDraws
from riskmodel.states import LIFECYCLE


@pytest.fixture(scope="session")
def example_panel():
    return load_example_panel()


@pytest.fixture(scope="session")
def example_draws(example_panel) -> ParameterDraws:
    """A conjugate posterior fitted to the bundled example panel (in-sample)."""
    c = panel_to_counts(example_panel, LIFECYCLE)
    return dirichlet_draws(c.values, c["segment"].values, n_draws=400, seed=11)
