"""The sector-factor form of `systematic:`: what is accepted, and what each refusal says.

Every refusal is a `ScenarioError` naming the field (``systematic``, or ``systematic ->
segments`` for what needs the portfolio) and how to fix it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.scenarios.factors import factor_root

TINY = Path(__file__).parent / "tiny.yaml"
ROWS = [
    [0.90, 0.07, 0.00, 0.01, 0.01, 0.01],
    [0.00, 0.93, 0.04, 0.01, 0.01, 0.01],
    [0.00, 0.01, 0.95, 0.02, 0.01, 0.01],
    [0.00, 0.02, 0.03, 0.87, 0.05, 0.03],
]


def two_segments() -> dict:
    """The tiny scenario with segments `cards` and `loans` on two sector factors."""
    d = yaml.safe_load(TINY.read_text())
    d["portfolio"]["cohorts"] = [
        {"segment": "cards", "state": "new", "customers": 500, "exposure": 1.5e6},
        {"segment": "loans", "state": "mature", "customers": 800, "exposure": 3.2e6},
    ]
    d["parameters"]["transitions"] = {"cards": ROWS, "loans": ROWS}
    d["systematic"] = {
        "factors": ["retail", "sme"],
        "factor_correlation": [[1.0, 0.4], [0.4, 1.0]],
        "segments": {
            "cards": {"factor": "retail", "correlation": 0.08},
            "loans": {"factor": "sme", "correlation": 0.20},
        },
        "shift": {"retail": 0.0, "sme": [-0.5, -0.5, 0.0]},
    }
    return d


def test_the_issue_yaml_derives_per_segment_factor_correlation_and_shift():
    sc = rm.scenario_from_dict(two_segments())
    assert sc.factors is not None
    assert sc.factors.names == ("retail", "sme")
    assert sc.factors.segment_factor.tolist() == [0, 1]  # segment order: cards, loans
    assert sc.correlation.tolist() == [[0.08, 0.20]]  # (draws, segments)
    assert sc.shift.shape == (6, 2)
    assert sc.shift[:, 0].tolist() == [0.0] * 6
    assert sc.shift[:, 1].tolist() == [-0.5, -0.5, 0.0, 0.0, 0.0, 0.0]
    assert sc.stresses["systematic_shift"] == {"retail": 0.0, "sme": [-0.5, -0.5] + [0.0] * 4}
    root = sc.factors.root
    np.testing.assert_allclose(root @ root.T, [[1.0, 0.4], [0.4, 1.0]], atol=1e-15)


def test_one_factor_form_is_unchanged():
    sc = rm.scenario_from_dict(yaml.safe_load(TINY.read_text()))
    assert sc.factors is None
    assert sc.correlation.shape == (1,)
    assert sc.shift.shape == (6,)


def test_a_scalar_or_list_shift_applies_to_every_factor():
    d = two_segments()
    d["systematic"]["shift"] = [-1.0, 0.0]
    sc = rm.scenario_from_dict(d)
    assert sc.shift[:, 0].tolist() == sc.shift[:, 1].tolist() == [-1.0] + [0.0] * 5


def test_singular_all_ones_matrix_is_accepted_with_an_eigen_root():
    d = two_segments()
    d["systematic"]["factor_correlation"] = [[1.0, 1.0], [1.0, 1.0]]
    sc = rm.scenario_from_dict(d)
    root = sc.factors.root
    np.testing.assert_allclose(root @ root.T, np.ones((2, 2)), atol=1e-12)


def test_root_is_cholesky_when_definite():
    c = np.array([[1.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.0]])
    np.testing.assert_array_equal(factor_root(c), np.linalg.cholesky(c))


def _edit(path: str, value) -> dict:
    d = two_segments()
    node = d["systematic"]
    *parents, last = path.split(".")
    for p in parents:
        node = node[p]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return d


def _not_psd() -> dict:
    """Three factors whose pairwise correlations contradict: eigenvalues 1.9, 1.9, -0.8."""
    d = _edit("factors", ["retail", "sme", "corp"])
    d["systematic"]["factor_correlation"] = [[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]]
    return d


CASES = [
    (
        "asymmetric",
        _edit("factor_correlation", [[1.0, 0.4], [0.3, 1.0]]),
        ("systematic", "symmetric", "[0][1] is 0.4", "[1][0] is 0.3"),
    ),
    (
        "diagonal",
        _edit("factor_correlation", [[1.0, 0.4], [0.4, 0.9]]),
        ("ones on its diagonal", "[1][1] (sme) is 0.9"),
    ),
    (
        "not_psd",
        _not_psd(),
        ("positive semi-definite", "smallest eigenvalue is -0.8", "below 0 by 0.8"),
    ),
    ("shape", _edit("factor_correlation", [[1.0]]), ("2×2 matrix", "`factors` order")),
    (
        "unknown_factor",
        _edit("segments.loans.factor", "smee"),
        ("segment 'loans' loads on factor 'smee'", "did you mean 'sme'"),
    ),
    (
        "shift_key",
        _edit("shift", {"retial": 0.0}),
        ("systematic -> shift", "'retial'", "did you mean 'retail'"),
    ),
    ("missing_matrix", _edit("factor_correlation", None), ("need `factor_correlation`",)),
    ("missing_segments", _edit("segments", None), ("give `segments`",)),
    (
        "correlation_with_factors",
        _edit("correlation", 0.1),
        ("own asset correlation under `segments`", "remove `correlation: 0.1`"),
    ),
    (
        "unmapped_segment",
        _edit("segments", {"cards": {"factor": "retail", "correlation": 0.08}}),
        ("systematic -> segments", "['loans'] of the portfolio have no factor loading"),
    ),
    (
        "foreign_segment",
        _edit("segments.mortgages", {"factor": "sme", "correlation": 0.1}),
        ("['mortgages'] are not segments of the portfolio",),
    ),
    (
        "shift_range",
        _edit("shift", {"sme": [-12.0]}),
        ("systematic -> shift", "`sme`", "must be in [-10, 10]"),
    ),
]


def test_one_factor_keys_without_factors_are_refused():
    d = yaml.safe_load(TINY.read_text())
    d["systematic"]["segments"] = {"retail": {"factor": "a", "correlation": 0.1}}
    with pytest.raises(rm.ScenarioError, match="declare the factors too"):
        rm.scenario_from_dict(d)
    d = yaml.safe_load(TINY.read_text())
    d["systematic"]["shift"] = {"a": 0.0}
    with pytest.raises(rm.ScenarioError, match=r"needs `systematic: factors`"):
        rm.scenario_from_dict(d)


@pytest.mark.parametrize(("case", "data", "expect"), CASES, ids=[c[0] for c in CASES])
def test_refusals_name_the_field_and_the_fix(case, data, expect):
    with pytest.raises(rm.ScenarioError) as info:
        rm.scenario_from_dict(copy.deepcopy(data))
    message = str(info.value)
    assert "systematic" in message
    for part in expect:
        assert part in message, (case, message)


def test_bundled_sectors_example_loads():
    path = Path(__file__).parents[2] / "scenarios" / "sectors.yaml"
    sc = rm.load_scenario(path)
    assert sc.factors is not None and sc.factors.names == ("retail", "sme")
    assert set(sc.segments) == {"cards", "loans"}
