"""Fixtures of the engine tests; the scenario builders live in scenario_builders.py."""

from __future__ import annotations

import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm


@pytest.fixture
def lifecycle_scenario():
    return rm.scenario_from_dict(lifecycle_dict())
