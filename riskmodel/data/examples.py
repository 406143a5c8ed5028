"""The bundled example data: a customer panel, its macro series and its state space.

Regenerate them with ``scripts/make_example_data.py``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from riskmodel.states import LIFECYCLE, StateSpace

EXAMPLE_STRUCTURAL_ZEROS = (
    ("new", "mature"),
    ("growing", "new"),
    ("mature", "new"),
    ("declining", "new"),
)
"""Transitions that never happen in the bundled example panel (customers are never new again,
and a new customer cannot skip the growing stage)."""


_DATA_PACKAGE = "riskmodel.data"


def load_example_panel() -> pd.DataFrame:
    """Return the bundled example panel on the default lifecycle.

    Monthly history of three segments: ``cards`` and ``loans`` (a few thousand customer-months
    each) and a thin ``smb`` segment (a few hundred customer-months). States are those of
    `riskmodel.LIFECYCLE`; transitions respond to `load_example_macro` (regenerate both with
    ``scripts/make_example_data.py``).

    Returns
    -------
    DataFrame
        Columns ``customer_id, period, state, segment``.

    Examples
    --------
    >>> panel = load_example_panel()
    >>> sorted(panel["segment"].unique())
    ['cards', 'loans', 'smb']
    """
    with resources.files(_DATA_PACKAGE).joinpath("examples", "panel.csv").open("r") as fh:
        df = pd.read_csv(fh, dtype={"customer_id": str, "state": str, "segment": str})
    return df


def load_example_macro() -> pd.DataFrame:
    """Return the bundled monthly macro series for `load_example_panel`.

    Returns
    -------
    DataFrame
        Columns ``period, unemployment, gdp_growth`` (percent; GDP growth annualised), one row
        per period of the example panel.
    """
    with resources.files(_DATA_PACKAGE).joinpath("examples", "macro.csv").open("r") as fh:
        return pd.read_csv(fh)


def example_states() -> StateSpace:
    """Return the state space of the bundled example panel (the default lifecycle)."""
    return LIFECYCLE
