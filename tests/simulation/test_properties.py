"""Engine invariants on random small scenarios (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskmodel as rm

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

STATES = {
    "names": ["a", "b", "out", "dflt"],
    "absorbing": ["out", "dflt"],
    "default": "dflt",
    "churn": "out",
}


@st.composite
def scenarios(draw):
    rows = []
    for _ in range(2):
        w = np.array(draw(st.lists(st.floats(0, 1), min_size=4, max_size=4)))
        w = w + 1e-3
        rows.append((w / w.sum()).tolist())
    cohorts = [
        {
            "segment": "s",
            "state": state,
            "customers": draw(st.integers(0, 10**7)),
            "exposure": 0.0,
        }
        for state in ("a", "b")
    ]
    for c in cohorts:
        c["exposure"] = float(c["customers"]) * draw(st.floats(0, 1e4))
    return {
        "name": "prop",
        "horizon": draw(st.integers(1, 6)),
        "paths": draw(st.integers(1, 300)),
        "seed": draw(st.integers(0, 2**32)),
        "states": STATES,
        "portfolio": {"cohorts": cohorts},
        "parameters": {"transitions": {"s": rows}},
        "systematic": {
            "correlation": draw(st.floats(0, 0.99)),
            "shift": draw(st.floats(-4, 4)),
        },
        "lgd": {"mean": draw(st.floats(0, 1)), "sd": 0.0},
        "simulation": {
            "importance_sampling": draw(st.booleans()),
            "approximation": draw(st.sampled_from(["none", "large_pool"])),
        },
    }


@settings(max_examples=40, deadline=None, derandomize=True)
@given(scenarios())
def test_losses_non_negative_and_customers_conserved(cfg):
    sc = rm.scenario_from_dict(cfg)
    res = rm.simulate(sc, progress=False)
    loss = res.data["loss"].to_numpy()
    assert np.all(np.isfinite(loss)) and np.all(loss >= 0)
    total = sc.portfolio.total_customers
    gone = res.total("defaults").to_numpy() + res.total("churn").to_numpy()
    assert np.all(gone <= total * (1 + 1e-9) + 1e-6)
    # loss never exceeds the book's exposure
    assert np.all(res.total("loss").to_numpy() <= sc.portfolio.total_exposure * (1 + 1e-9) + 1e-6)
    w = res.weights
    assert np.all(np.isfinite(w)) and np.all(w > 0)
    m = res.risk()
    for q in m.var:
        assert m.es[q] >= m.var[q] - 1e-9 * max(1.0, abs(m.var[q]))
