"""riskmodel: probabilistic customer-lifecycle risk simulation.

Bayesian models estimate stage-transition and default probabilities; a Monte Carlo engine
simulates today's portfolio under scenario files; metrics, sensitivity analyses and plots
turn the per-path results into report figures.
"""

from riskmodel.api import run, simulate
from riskmodel.data.portfolio import Portfolio, PortfolioError
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import RiskMeasures, risk_measures
from riskmodel.scenarios.errors import ScenarioError
from riskmodel.scenarios.load import Scenario, load_scenario, scenario_from_dict
from riskmodel.states import LIFECYCLE, StateSpace

__version__ = "0.1.0"

__all__ = [
    "LIFECYCLE",
    "Portfolio",
    "PortfolioError",
    "RiskMeasures",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "StateSpace",
    "__version__",
    "load_scenario",
    "risk_measures",
    "run",
    "scenario_from_dict",
    "simulate",
]
