"""The "Assumptions and limitations" section follows the run's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import riskmodel as rm
from riskmodel.report.assumptions import assumptions, assumptions_html


def _text(cfg: dict, paths: int = 1000) -> str:
    sc = rm.scenario_from_dict(cfg)
    return " ".join(assumptions(sc, rm.simulate(sc, paths=paths, progress=False)))


@pytest.fixture(scope="module")
def base_text(tiny_config_module) -> str:
    return _text(tiny_config_module)


@pytest.fixture(scope="module")
def tiny_config_module() -> dict:
    return yaml.safe_load((Path(__file__).parents[1] / "scenarios" / "tiny.yaml").read_text())


def test_default_run_states_copula_markov_beta_lgd_exact_and_is(base_text, tiny_config_module):
    rho = tiny_config_module["systematic"]["correlation"]
    assert "One-factor Gaussian copula" in base_text and f"ρ = {rho:g}" in base_text
    assert "Markov property" in base_text
    assert "Beta LGD" in base_text and "moment-matched" in base_text
    assert "exact expectations" in base_text and "± one standard error" in base_text
    assert "Point parameters" in base_text  # inline matrices: no estimation error
    assert "Importance sampling" in base_text  # the default
    for absent in ("Quasi-Monte Carlo", "Large-pool", "Downturn LGD", "Fixed LGD", "shocks"):
        assert absent not in base_text, absent
    assert "Exposure is constant" in base_text


def test_settings_switch_the_statements(tiny_config_module):
    cfg = {
        **tiny_config_module,
        "lgd": {"mean": 0.4, "sd": 0.0, "downturn": {"sensitivity": 0.3}},
        "simulation": {
            "importance_sampling": False,
            "approximation": "large_pool",
            "large_pool_min_customers": 600,
        },
        "exposure": {"amortisation": 0.02},
        "shocks": [{"default_multiplier": 1.5}],
    }
    text = _text(cfg)
    assert "Fixed LGD</b> of 0.4" in text and "Downturn LGD" in text and "0.3 Z" in text
    assert "Large-pool approximation</b> for cohorts of at least 600" in text
    assert "Importance sampling" not in text
    assert "amortisation path" in text and "shocks" in text


def test_html_is_a_list_and_escapes_nothing_raw(base_text, tiny_config_module):
    sc = rm.scenario_from_dict(tiny_config_module)
    html = assumptions_html(sc, rm.simulate(sc, paths=1000, progress=False))
    assert html.startswith("<ul") and html.count("<li>") == len(base_text.split("<b>")) - 1
