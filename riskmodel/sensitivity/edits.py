"""The config route of sensitivity factors: edit what a scenario is derived from, derive again.

A factor whose effect is a change of the scenario's assumptions (``lgd.mean``,
``systematic.correlation`` …) is an *edit*: ``edit(inputs, value)`` changes `DeriveInputs` — the
validated config as a plain mapping, and the portfolio read from ``portfolio: file`` — in place.
`derive_edited` applies any number of edits to one copy of the inputs and derives the scenario
once (`riskmodel.scenarios.scenario.Scenario.derive_again`): the config is validated again and
every derived array (correlation per draw, factor shift per period, exposures per customer …)
comes from `riskmodel.scenarios.scenario.derive`, exactly as a fresh load of the edited file.
`riskmodel.sensitivity.factors` explains which factors cannot take this route.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from riskmodel.data.names import Names
from riskmodel.data.portfolio import Portfolio
from riskmodel.scenarios.load import Scenario

__all__ = ["ConfigEdit", "DeriveInputs", "derive_edited"]


@dataclass
class DeriveInputs:
    """What a scenario is derived from, open to edits.

    Attributes
    ----------
    base : Scenario
        The scenario being edited, read-only: an edit may read its derived arrays (e.g. the
        factor shift per period); edits of one call all see this same base.
    config : dict
        ``base.config.model_dump()``: sections are plain dicts and lists, edited in place.
    portfolio : Portfolio or None
        The portfolio read from ``portfolio: file``; None for inline ``portfolio: cohorts``
        (those are edited in `config`). An edit replaces it, never mutates it.
    names : Names or None
        The named exposures read from a names file; None for inline names (in `config`) or
        none. An edit replaces it, never mutates it.
    """

    base: Scenario
    config: dict[str, Any]
    portfolio: Portfolio | None
    names: Names | None = None

    @classmethod
    def of(cls, scenario: Scenario) -> DeriveInputs:
        """Return a fresh, editable copy of the inputs of `scenario`."""
        on_file = scenario.config.portfolio.file is not None
        names = scenario.names if isinstance(scenario.config.portfolio.names, str) else None
        return cls(
            scenario, scenario.config.model_dump(), scenario.cohorts if on_file else None, names
        )


ConfigEdit = Callable[[DeriveInputs, float], None]
"""``edit(inputs, value)``: set one factor's value in the `DeriveInputs` (in place)."""


def derive_edited(scenario: Scenario, edits: Sequence[tuple[ConfigEdit, float]]) -> Scenario:
    """Apply config edits in order to one copy of the inputs, then derive the scenario once.

    Parameters
    ----------
    scenario : Scenario
        The base; it is derived again from its own config, portfolio and posterior, so arrays
        patched onto it by hand (or by an array-route factor) are not carried over.
    edits : sequence of (ConfigEdit, float)
        The edits and the value each sets.

    Returns
    -------
    Scenario
        Validated and derived again (`Scenario.derive_again`); no file is read.

    Raises
    ------
    ScenarioError
        If the edited config is refused by the schema (the message names the field).
    """
    inputs = DeriveInputs.of(scenario)
    for edit, value in edits:
        edit(inputs, float(value))
    return scenario.derive_again(inputs.config, portfolio=inputs.portfolio, names=inputs.names)
