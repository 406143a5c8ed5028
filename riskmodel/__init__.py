"""riskmodel: probabilistic customer-lifecycle risk simulation.

Bayesian models estimate stage-transition and default probabilities; a Monte Carlo engine
simulates today's portfolio under scenario files; metrics, sensitivity analyses and plots
turn the per-path results into report figures.
"""

from riskmodel.api import run, simulate
from riskmodel.data.portfolio import Portfolio
from riskmodel.errors import (
    ArgumentError,
    ComparisonError,
    ConvergenceWarning,
    DefaultDataError,
    GapsSkippedWarning,
    InputError,
    MacroError,
    ModelFileError,
    NotFittedError,
    OutputDirError,
    PanelError,
    PortfolioError,
    ResourceLimitError,
    RiskmodelError,
    RiskmodelWarning,
    ScenarioError,
    SchedulerError,
    SensitivityWarning,
    TailResolutionWarning,
    UnsafeFileError,
)
from riskmodel.metrics.actions import action_effects
from riskmodel.metrics.alerts import evaluate_alerts
from riskmodel.metrics.compare import ComparisonResult, compare_scenarios
from riskmodel.metrics.contributions import risk_contributions
from riskmodel.metrics.ecl import ecl_term_structure
from riskmodel.metrics.result import SimulationResult
from riskmodel.metrics.risk import RiskMeasures, risk_measures
from riskmodel.models import (
    DefaultModel,
    ParameterDraws,
    TransitionModel,
    load_parameter_draws,
)
from riskmodel.scenarios.load import Scenario, load_scenario, scenario_from_dict
from riskmodel.sensitivity import SensitivityResult, run_sensitivity
from riskmodel.states import LIFECYCLE, StateSpace

__version__ = "0.1.0"

__all__ = [
    "LIFECYCLE",
    "ArgumentError",
    "ComparisonError",
    "ComparisonResult",
    "ConvergenceWarning",
    "DefaultDataError",
    "DefaultModel",
    "GapsSkippedWarning",
    "InputError",
    "MacroError",
    "ModelFileError",
    "NotFittedError",
    "OutputDirError",
    "PanelError",
    "ParameterDraws",
    "Portfolio",
    "PortfolioError",
    "ResourceLimitError",
    "RiskMeasures",
    "RiskmodelError",
    "RiskmodelWarning",
    "Scenario",
    "ScenarioError",
    "SchedulerError",
    "SensitivityResult",
    "SensitivityWarning",
    "SimulationResult",
    "StateSpace",
    "TailResolutionWarning",
    "TransitionModel",
    "UnsafeFileError",
    "__version__",
    "action_effects",
    "compare_scenarios",
    "ecl_term_structure",
    "evaluate_alerts",
    "load_parameter_draws",
    "load_scenario",
    "risk_contributions",
    "risk_measures",
    "run",
    "run_sensitivity",
    "scenario_from_dict",
    "simulate",
]
