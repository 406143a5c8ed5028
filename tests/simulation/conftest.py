"""Fixtures of the engine tests; the scenario builders live in scenario_builders.py."""

from __future__ import annotations

import pytest
from scenario_builders import lifecycle_dict

import riskmodel as rm
from riskmodel.simulation import cluster


@pytest.fixture
def lifecycle_scenario():
    return rm.scenario_from_dict(lifecycle_dict())


@pytest.fixture
def short_scheduler_timeout(monkeypatch):
    """A 1 s scheduler timeout (the default is 5 s), for tests that wait for it to expire.

    Dask retries a refused connection until the timeout, so an address where nothing listens
    fails only then. `test_an_unreachable_scheduler_fails_fast` keeps the default.
    """
    monkeypatch.setattr(cluster, "SCHEDULER_TIMEOUT", 1.0)
    return 1.0
