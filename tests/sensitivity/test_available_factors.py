"""The factor names a user is offered: every family, sector factors included (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

import riskmodel as rm
from riskmodel.sensitivity.factors import available_factors, resolve_factor

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_without_a_scenario_each_family_shows_its_form():
    names = available_factors()
    assert "transitions.<from>-><to>" in names
    assert "systematic.factor_correlation.<A>.<B>" in names
    assert "systematic.segments.<segment>.correlation" in names
    assert not any(n.endswith("<from>-><to>") and n.startswith("systematic.") for n in names)


def test_a_sector_scenario_lists_its_factor_pairs_and_segments_and_each_resolves():
    sc = rm.load_scenario(SCENARIOS / "sectors.yaml")
    factors = sc.config.systematic.factors
    assert factors is not None and len(factors) >= 2
    names = available_factors(sc)
    pairs = [n for n in names if n.startswith("systematic.factor_correlation.")]
    segments = [n for n in names if n.startswith("systematic.segments.")]
    assert len(pairs) == len(factors) * (len(factors) - 1) // 2
    assert segments == [f"systematic.segments.{s}.correlation" for s in sc.segments]
    for name in [*pairs, *segments]:
        assert resolve_factor(sc, name).name == name


def test_a_one_factor_scenario_offers_no_sector_names_and_a_typo_gets_the_right_hint():
    one = rm.load_scenario(SCENARIOS / "baseline.yaml")
    assert not any(
        n.startswith(("systematic.factor_correlation.", "systematic.segments."))
        for n in available_factors(one)
    )
    sc = rm.load_scenario(SCENARIOS / "sectors.yaml")
    hint = r"Did you mean 'systematic\.segments\.cards\.correlation'"
    with pytest.raises(ValueError, match=hint):
        resolve_factor(sc, "systematic.segment.cards.correlation")
