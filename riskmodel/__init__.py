"""riskmodel: probabilistic customer-lifecycle risk simulation.

Bayesian models estimate stage-transition and default probabilities; a Monte Carlo engine
simulates today's portfolio under scenario files; metrics, sensitivity analyses and plots
turn the per-path results into report figures.

Importing the package is light: the error classes load at once, everything else on first use
(PEP 562), so ``riskmodel.cli`` starts fast and can catch Ctrl-C during start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskmodel._lazy import lazy_loader
from riskmodel._version import __version__
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
    ParetoKWarning,
    PeriodConversionWarning,
    PortfolioError,
    ResourceLimitError,
    RiskmodelError,
    RiskmodelWarning,
    ScenarioError,
    SchedulerError,
    SensitivityWarning,
    TailResolutionWarning,
    Terminated,
    UnsafeFileError,
)

_LAZY = {
    "run": "riskmodel.api",
    "simulate": "riskmodel.api",
    "Portfolio": "riskmodel.data.portfolio",
    "action_effects": "riskmodel.metrics.actions",
    "evaluate_alerts": "riskmodel.metrics.alerts",
    "ComparisonResult": "riskmodel.metrics.compare",
    "compare_scenarios": "riskmodel.api",
    "run_sensitivity_report": "riskmodel.api",
    "risk_contributions": "riskmodel.metrics.contributions",
    "ecl_term_structure": "riskmodel.metrics.ecl",
    "GranularityAdjustment": "riskmodel.metrics.granularity",
    "granularity_adjustment": "riskmodel.metrics.granularity",
    "loan_ecl": "riskmodel.ecl.api",
    "SimulationResult": "riskmodel.metrics.result",
    "RiskMeasures": "riskmodel.metrics.risk",
    "risk_measures": "riskmodel.metrics.risk",
    "DefaultModel": "riskmodel.models",
    "IntensityModel": "riskmodel.models",
    "ParameterDraws": "riskmodel.models",
    "SectorDefaultModel": "riskmodel.models",
    "TransitionModel": "riskmodel.models",
    "load_parameter_draws": "riskmodel.models",
    "Scenario": "riskmodel.scenarios.load",
    "load_scenario": "riskmodel.scenarios.load",
    "scenario_from_dict": "riskmodel.scenarios.load",
    "SensitivityResult": "riskmodel.sensitivity",
    "BacktestResult": "riskmodel.validation",
    "backtest": "riskmodel.validation",
    "ModelComparison": "riskmodel.validation",
    "compare_models": "riskmodel.validation",
    "run_sensitivity": "riskmodel.sensitivity",
    "FitReport": "riskmodel.report.fit",
    "fit_report": "riskmodel.report.fit",
    "LIFECYCLE": "riskmodel.states",
    "StateSpace": "riskmodel.states",
}
"""Public name -> the module that defines it, imported on first access."""

if TYPE_CHECKING:  # static analysers see ordinary imports
    from riskmodel.api import compare_scenarios, run, run_sensitivity_report, simulate
    from riskmodel.data.portfolio import Portfolio
    from riskmodel.ecl.api import loan_ecl
    from riskmodel.metrics.actions import action_effects
    from riskmodel.metrics.alerts import evaluate_alerts
    from riskmodel.metrics.compare import ComparisonResult
    from riskmodel.metrics.contributions import risk_contributions
    from riskmodel.metrics.ecl import ecl_term_structure
    from riskmodel.metrics.granularity import GranularityAdjustment, granularity_adjustment
    from riskmodel.metrics.result import SimulationResult
    from riskmodel.metrics.risk import RiskMeasures, risk_measures
    from riskmodel.models import (
        DefaultModel,
        IntensityModel,
        ParameterDraws,
        SectorDefaultModel,
        TransitionModel,
        load_parameter_draws,
    )
    from riskmodel.report.fit import FitReport, fit_report
    from riskmodel.scenarios.load import Scenario, load_scenario, scenario_from_dict
    from riskmodel.sensitivity import SensitivityResult, run_sensitivity
    from riskmodel.states import LIFECYCLE, StateSpace
    from riskmodel.validation import BacktestResult, ModelComparison, backtest, compare_models


__getattr__, __dir__ = lazy_loader(globals(), _LAZY)

__all__ = [
    "LIFECYCLE",
    "ArgumentError",
    "BacktestResult",
    "ComparisonError",
    "ComparisonResult",
    "ConvergenceWarning",
    "DefaultDataError",
    "DefaultModel",
    "FitReport",
    "GapsSkippedWarning",
    "GranularityAdjustment",
    "InputError",
    "IntensityModel",
    "MacroError",
    "ModelComparison",
    "ModelFileError",
    "NotFittedError",
    "OutputDirError",
    "PanelError",
    "ParameterDraws",
    "ParetoKWarning",
    "PeriodConversionWarning",
    "Portfolio",
    "PortfolioError",
    "ResourceLimitError",
    "RiskMeasures",
    "RiskmodelError",
    "RiskmodelWarning",
    "Scenario",
    "ScenarioError",
    "SchedulerError",
    "SectorDefaultModel",
    "SensitivityResult",
    "SensitivityWarning",
    "SimulationResult",
    "StateSpace",
    "TailResolutionWarning",
    "Terminated",
    "TransitionModel",
    "UnsafeFileError",
    "__version__",
    "action_effects",
    "backtest",
    "compare_models",
    "compare_scenarios",
    "ecl_term_structure",
    "evaluate_alerts",
    "fit_report",
    "granularity_adjustment",
    "load_parameter_draws",
    "load_scenario",
    "loan_ecl",
    "risk_contributions",
    "risk_measures",
    "run",
    "run_sensitivity",
    "run_sensitivity_report",
    "scenario_from_dict",
    "simulate",
]
