"""The two routes of sensitivity factors (`riskmodel.sensitivity.factors`, issue 12).

Config-route factors edit the config (or the portfolio read from a file) and derive the scenario
again; they must give, bit for bit, the arrays the former array route patched in, and equal a
fresh load of the edited file. Array-route factors act after the config route.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import riskmodel as rm
from riskmodel.data.portfolio import Portfolio
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.errors import ScenarioError
from riskmodel.sensitivity.factors import FACTORS, apply_factors, register_factor, resolve_factor

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ["baseline", "adverse", "severe", "ifrs9", "retention_action", "posterior/baseline"]
DERIVED = ("transitions", "correlation", "shift", "discount_rate", "ead_factor", "ead_scale")


@pytest.fixture(scope="module")
def bundled_root(tmp_path_factory) -> Path:
    """The bundled scenarios, with a small seeded posterior file as ``posterior/fitted.nc``.

    The bundled ``fitted.nc`` is made by ``riskmodel fit`` and is not in the repository, so a
    clean checkout has none; the posterior scenario reads this one instead.
    """
    import shutil

    root = tmp_path_factory.mktemp("bundled") / "scenarios"
    shutil.copytree(ROOT / "scenarios", root, ignore=shutil.ignore_patterns("fitted.*"))
    states = rm.LIFECYCLE
    p = np.random.default_rng(0).dirichlet(np.ones(states.n), size=(5, 2, states.n))
    p[..., states.absorbing_idx, :] = np.eye(states.n)[states.absorbing_idx]
    draws = rm.ParameterDraws(states, ("cards", "loans"), p, correlation=np.full(5, 0.1))
    draws.to_netcdf(root / "posterior" / "fitted.nc")
    return root


def _old_array_route(sc: rm.Scenario, name: str, value: float) -> dict[str, np.ndarray]:
    """What the array route patched in before issue 12 (independent of the config route)."""
    arrays = {k: np.asarray(getattr(sc, k)) for k in DERIVED}
    arrays["cohort_ead"] = sc.cohort_ead
    if name == "systematic.correlation":
        arrays["correlation"] = np.full_like(sc.correlation, value, dtype=float)
    elif name == "systematic.shift":
        arrays["shift"] = np.asarray(sc.shift, dtype=float) + value
    elif name == "portfolio.exposure":
        table = sc.portfolio.table.copy()
        table["exposure"] = table["exposure"] * value
        ead = Portfolio(table).per_customer()["ead"].to_numpy(dtype=float)
        arrays["cohort_ead"] = np.asarray(ead * sc.ead_scale)
    return arrays


@pytest.mark.parametrize("file", BUNDLED)
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("systematic.correlation", 0.173),
        ("systematic.shift", -0.37),
        ("portfolio.exposure", 1.13),
        ("lgd.mean", 0.41),
        ("lgd.sd", 0.11),
    ],
)
def test_config_route_gives_the_array_route_bits(file, name, value, bundled_root):
    # posterior/baseline reads ../portfolio.csv: the repository's layout, trusted here
    sc = rm.load_scenario(bundled_root / f"{file}.yaml", allow_outside_files=True)
    out = apply_factors(sc, {name: value})
    want = _old_array_route(sc, name, value)
    for key, expected in want.items():
        got = out.cohort_ead if key == "cohort_ead" else getattr(out, key)
        assert np.array_equal(got, expected), f"{file}: {name} changed {key}"
    lgd = out.config.lgd
    assert (lgd.mean, lgd.sd) == (
        value if name == "lgd.mean" else sc.config.lgd.mean,
        value if name == "lgd.sd" else sc.config.lgd.sd,
    )


def test_applied_scenario_equals_a_fresh_load_of_the_edited_config():
    sc = rm.load_scenario(ROOT / "scenarios" / "adverse.yaml")
    values = {"systematic.correlation": 0.2, "lgd.mean": 0.5, "systematic.shift": 0.25}
    out = apply_factors(sc, values)
    data = sc.config.model_dump()
    data["systematic"]["correlation"] = 0.2
    data["systematic"]["shift"] = [float(s) + 0.25 for s in sc.shift]
    data["lgd"]["mean"] = 0.5
    fresh = sc.derive_again(data)
    assert out.config == fresh.config
    assert out.stresses == fresh.stresses  # the summary shows the applied values
    for key in DERIVED:
        assert np.array_equal(getattr(out, key), getattr(fresh, key)), key


def test_inline_cohorts_scale_through_the_config(scenario):
    out = apply_factors(scenario, {"portfolio.exposure": 0.5})
    base = [c.exposure for c in scenario.config.portfolio.cohorts]
    assert [c.exposure for c in out.config.portfolio.cohorts] == [e * 0.5 for e in base]
    assert out.portfolio.total_exposure == pytest.approx(0.5 * scenario.portfolio.total_exposure)


@pytest.mark.parametrize("order", [1, -1])
def test_array_route_acts_on_the_derived_config_route_result(posterior_scenario, order):
    sc = posterior_scenario
    items = [
        ("transitions.declining->defaulted", 1.1),
        ("posterior.draw", 0.6),
        ("systematic.correlation", 0.3),
    ][::order]
    out = apply_factors(sc, dict(items))
    # by hand: draw floor(0.6 * 4) = 2, its declining -> defaulted move x1.1 from the stay
    st = sc.states
    i, j = st.index("declining"), st.index("defaulted")
    p = np.array(sc.transitions[[2]], dtype=float)
    moved = p[..., i, j] * (1.1 - 1.0)
    p[..., i, j] += moved
    p[..., i, i] -= moved
    np.clip(p[..., i, :], 0.0, 1.0, out=p[..., i, :])
    assert np.array_equal(out.transitions, p)
    assert np.array_equal(out.correlation, [0.3])
    assert out.config.systematic.correlation == 0.3


def test_a_config_edit_is_validated_again(scenario):
    def set_mean(inputs, value):
        inputs.config["lgd"]["mean"] = value

    factor = register_factor("demo.lgd_mean_unchecked", edit=set_mean, base=0.45)
    try:
        assert resolve_factor(scenario, "demo.lgd_mean_unchecked").edit is set_mean
        with pytest.raises(ScenarioError, match="lgd"):
            factor.apply(scenario, 1.5)  # the schema refuses an LGD mean above 1
    finally:
        FACTORS.pop("demo.lgd_mean_unchecked")


@pytest.mark.parametrize("routes", [{}, {"apply": lambda sc, v: sc, "edit": lambda i, v: None}])
def test_register_factor_takes_exactly_one_route(routes):
    with pytest.raises(ArgumentError, match="exactly one of `apply`"):
        register_factor("demo.neither_or_both", **routes)
    assert "demo.neither_or_both" not in FACTORS


def test_array_route_factors_keep_the_base_config(posterior_scenario):
    out = apply_factors(posterior_scenario, {"transitions.declining->defaulted": 1.2})
    assert out.config == posterior_scenario.config
    assert dataclasses.replace(out, transitions=posterior_scenario.transitions).n_draws == 4
