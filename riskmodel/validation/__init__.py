"""riskmodel.validation: out-of-time backtests and comparisons of fitted posteriors.

Works from saved posterior draws (`riskmodel.models.draws`) and panel counts
(`riskmodel.data.panel`); never imports PyMC.
"""

from riskmodel.validation.backtest import backtest
from riskmodel.validation.compare import ModelComparison, compare_models
from riskmodel.validation.result import BacktestResult

__all__ = ["BacktestResult", "ModelComparison", "backtest", "compare_models"]
