"""Sensitivity factors of sector factors: ``systematic.factor_correlation.A.B`` and
``systematic.segments.NAME.correlation`` (config route, validated and derived again).

Truths checked: a segment's exact expectations depend on its own factor's marginal only, so the
factor correlation leaves the expected loss unchanged to rounding while a segment's asset
correlation moves it (the scenario's shift is not 0); the applied variants equal scenarios
written with those values; ranges that break positive semi-definiteness are refused.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.metrics.expectations import exact_summary
from riskmodel.sensitivity.factors import apply_factors, resolve_factor, resolve_factors
from riskmodel.simulation.expected import expected_term_structure
from riskmodel.simulation.variant_batch import exact_batch

REPO = Path(__file__).resolve().parents[2]
SECTORS = REPO / "scenarios" / "sectors.yaml"


@pytest.fixture(scope="module")
def sectors() -> rm.Scenario:
    return rm.load_scenario(SECTORS).with_options(horizon=12)


def test_factor_correlation_moves_no_exact_expectation(sectors):
    name = "systematic.factor_correlation.retail.sme"
    variants = [apply_factors(sectors, {name: v}) for v in (0.0, 0.5, 0.95)]
    assert [float(v.factors.correlation[0, 1]) for v in variants] == [0.0, 0.5, 0.95]
    batch = exact_batch(variants)
    np.testing.assert_allclose(batch["expected_loss"], batch["expected_loss"][1], rtol=1e-12)
    np.testing.assert_allclose(batch["ecl_lifetime"], batch["ecl_lifetime"][1], rtol=1e-12)


def test_segment_correlation_moves_the_expected_loss_as_a_rewritten_file(sectors):
    name = "systematic.segments.loans.correlation"
    assert resolve_factor(sectors, name).base(sectors) == pytest.approx(0.15)
    varied = apply_factors(sectors, {name: 0.30})
    assert varied.correlation.tolist() == [[0.08, 0.30]]
    # the same scenario written with that value (derived from the file, not the variant)
    cfg = yaml.safe_load(SECTORS.read_text())
    cfg["systematic"]["segments"]["loans"]["correlation"] = 0.30
    cfg["portfolio"]["file"] = str(REPO / "scenarios" / "portfolio.csv")
    cfg["horizon"] = 12
    written = rm.scenario_from_dict(copy.deepcopy(cfg))
    expected = exact_summary(expected_term_structure(written))["loss"]["expected"]
    batch = exact_batch([sectors, varied])
    assert batch["expected_loss"][1] == pytest.approx(expected, rel=1e-12)
    # a negative shift and a higher correlation raise E[p] = Φ(Φ⁻¹p − √ρ s): more loss
    assert batch["expected_loss"][1] > batch["expected_loss"][0]


def test_a_range_that_breaks_positive_semi_definiteness_is_refused():
    cfg = yaml.safe_load(SECTORS.read_text())
    cfg["portfolio"]["file"] = str(REPO / "scenarios" / "portfolio.csv")
    cfg["systematic"]["factors"] = ["retail", "sme", "corp"]
    cfg["systematic"]["factor_correlation"] = [[1, 0.9, 0.9], [0.9, 1, 0.9], [0.9, 0.9, 1]]
    cfg["systematic"]["segments"]["loans"]["factor"] = "corp"
    sc = rm.scenario_from_dict(cfg)
    factors = [{"name": "systematic.factor_correlation.retail.sme", "low": -0.5, "high": 0.95}]
    with pytest.raises(rm.ScenarioError, match=r"not positive semi-definite.*smallest eigenvalue"):
        resolve_factors(sc, factors)
    ok = resolve_factors(sc, [{**factors[0], "low": 0.7}])  # 0.62 <= c <= 1 keeps it PSD
    assert ok[0].low == 0.7


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("systematic.factor_correlation.retail.smee", "Did you mean"),
        ("systematic.factor_correlation.retail.retail", "two different factors"),
        ("systematic.segments.loan.correlation", "Did you mean"),
    ],
)
def test_unknown_names_suggest_the_closest(sectors, name, expect):
    with pytest.raises(ValueError, match=expect):
        resolve_factor(sectors, name)


def test_one_factor_scenarios_refuse_sector_factors():
    sc = rm.load_scenario(REPO / "scenarios" / "adverse.yaml")
    with pytest.raises(ValueError, match="needs sector factors"):
        resolve_factor(sc, "systematic.segments.cards.correlation")
