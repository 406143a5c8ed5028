"""Factor registry: each factor changes exactly what it names; bad names/ranges get errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.sensitivity import FACTORS, apply_factors, register_factor, resolve_factors


def test_correlation_sets_every_draw_and_the_config(posterior_scenario):
    out = apply_factors(posterior_scenario, {"systematic.correlation": 0.3})
    np.testing.assert_array_equal(out.correlation, np.full(4, 0.3))
    assert out.config.systematic.correlation == 0.3
    np.testing.assert_array_equal(out.transitions, posterior_scenario.transitions)


def test_shift_is_an_additive_offset(scenario):
    sc = scenario.with_options(systematic={"shift": [-1.0, 0.0]})
    out = apply_factors(sc, {"systematic.shift": -0.5})
    np.testing.assert_allclose(out.shift, sc.shift - 0.5)
    assert out.config.systematic.shift == list(out.shift)


def test_lgd_and_exposure(scenario):
    out = apply_factors(scenario, {"lgd.mean": 0.3, "lgd.sd": 0.1, "portfolio.exposure": 2.0})
    assert (out.config.lgd.mean, out.config.lgd.sd) == (0.3, 0.1)
    np.testing.assert_allclose(
        out.portfolio.table["exposure"], 2.0 * scenario.portfolio.table["exposure"]
    )
    assert scenario.config.lgd.mean == 0.45  # the base is untouched


def test_transition_multiplier_moves_mass_to_the_stay_probability(posterior_scenario):
    sc = posterior_scenario
    st = sc.states
    i, j = st.index("declining"), st.index("defaulted")
    out = apply_factors(sc, {"transitions.declining->defaulted": 1.5})
    np.testing.assert_allclose(out.transitions[..., i, j], 1.5 * sc.transitions[..., i, j])
    np.testing.assert_allclose(out.transitions.sum(axis=-1), 1.0, atol=1e-12)
    changed = ~np.isclose(out.transitions, sc.transitions, rtol=0, atol=1e-15)
    assert set(zip(*np.nonzero(changed)[2:], strict=True)) == {(i, j), (i, i)}


def test_posterior_draw_pins_one_draw(posterior_scenario):
    sc = posterior_scenario
    for u, d in ((0.0, 0), (0.26, 1), (0.74, 2), (0.999, 3), (1.0, 3)):
        out = apply_factors(sc, {"posterior.draw": u})
        assert out.n_draws == 1
        np.testing.assert_array_equal(out.transitions[0], sc.transitions[d])
        assert out.correlation[0] == sc.correlation[d]


def _problems(exc) -> dict:
    return dict(exc.value.problems)


def test_unknown_factor_suggests_the_intended_one(scenario):
    with pytest.raises(rm.ScenarioError) as exc:
        resolve_factors(
            scenario,
            [
                {"name": "lgd.meen", "low": 0.3, "high": 0.5},
                {"name": "transitions.declning->defaulted", "low": 0.9, "high": 1.1},
                {"name": "systematic.corelation", "low": 0.1, "high": 0.2},
            ],
        )
    problems = _problems(exc)
    assert "Did you mean 'lgd.mean'?" in problems["factors[0] -> name"]
    assert "Did you mean 'transitions.declining->defaulted'?" in problems["factors[1] -> name"]
    assert "Did you mean 'systematic.correlation'?" in problems["factors[2] -> name"]


@pytest.mark.parametrize(
    ("name", "low", "high", "needle"),
    [
        ("systematic.correlation", 0.2, 0.1, "`low` must be below `high`"),
        ("systematic.correlation", 0.1, 1.0, "must be in [0, 1)"),
        ("lgd.mean", -0.1, 0.5, "must be in [0, 1]"),
        ("lgd.sd", 0.1, 0.6, "must be in [0, 0.5]"),
        ("lgd.sd", 0.1, 0.499, "not feasible"),
        ("systematic.shift", -11.0, 0.0, "within [-10, 10]"),
        ("transitions.declining->defaulted", 0.5, 50.0, "use multipliers up to"),
        ("transitions.declining->defaulted", -0.5, 1.0, "must be >= 0"),
        ("transitions.defaulted->new", 0.5, 1.5, "absorbing"),
        ("transitions.new->new", 0.5, 1.5, "stay probability absorbs"),
        ("transitions.new->bankrupt", 0.5, 1.5, "'bankrupt' is not a state"),
        ("posterior.draw", 0.0, 1.0, "single parameter draw"),
        ("portfolio.exposure", -1.0, 1.0, "must be in [0, inf]"),
    ],
)
def test_bad_ranges_name_the_field_and_the_fix(scenario, name, low, high, needle):
    with pytest.raises(rm.ScenarioError) as exc:
        resolve_factors(scenario, [{"name": name, "low": low, "high": high}], file="sens.yaml")
    text = str(exc.value)
    assert text.startswith("sens.yaml: factors[0]")
    assert needle in text


def test_joint_lgd_ranges_must_stay_feasible(scenario):
    with pytest.raises(rm.ScenarioError, match="not feasible"):
        resolve_factors(scenario, {"lgd.mean": (0.05, 0.5), "lgd.sd": (0.1, 0.3)})


def test_duplicates_are_rejected(scenario):
    with pytest.raises(rm.ScenarioError, match="listed twice"):
        resolve_factors(scenario, [("lgd.mean", 0.3, 0.5), ("lgd.mean", 0.3, 0.6)])


def test_registry_is_extensible(scenario):
    def scale_margin(sc, value):
        t = sc.portfolio.table.copy()
        t["margin"] *= value
        return dataclasses.replace(sc, portfolio=type(sc.portfolio)(t))

    try:
        register_factor("portfolio.margin", scale_margin, base=1.0, domain=(0.0, 10.0))
        [r] = resolve_factors(scenario, {"portfolio.margin": (0.5, 2.0)})
        out = r.factor.apply(scenario, 2.0)
        np.testing.assert_allclose(
            out.portfolio.table["margin"], 2 * scenario.portfolio.table["margin"]
        )
        with pytest.raises(rm.ScenarioError, match=r"must be in \[0, 10\]"):
            resolve_factors(scenario, {"portfolio.margin": (0.5, 20.0)})
    finally:
        FACTORS.pop("portfolio.margin", None)
