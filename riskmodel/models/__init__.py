"""riskmodel.models: Bayesian transition and default models, and their posterior draws.

The only package that uses PyMC, and only inside fitting code: importing it (or loading saved
draws with `load_parameter_draws`) does not import PyMC. The names below load on first use
(PEP 562): a scenario that reads a posterior file imports `riskmodel.models.draws` alone, not
every model and its statistics (scipy.stats alone takes about half a second to import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from riskmodel._lazy import lazy_loader
from riskmodel.models._common import ConvergenceWarning, ModelFileError, NotFittedError

_LAZY = {
    "DefaultDataError": "riskmodel.models.default",
    "DefaultModel": "riskmodel.models.default",
    "IntensityModel": "riskmodel.models.intensity",
    "ParameterDraws": "riskmodel.models.draws",
    "SectorDefaultModel": "riskmodel.models.sector",
    "TransitionModel": "riskmodel.models.transition",
    "load_parameter_draws": "riskmodel.models.draws",
}
"""Public name -> the module that defines it, imported on first access."""

if TYPE_CHECKING:  # static analysers see ordinary imports
    from riskmodel.models.default import DefaultDataError, DefaultModel
    from riskmodel.models.draws import ParameterDraws, load_parameter_draws
    from riskmodel.models.intensity import IntensityModel
    from riskmodel.models.sector import SectorDefaultModel
    from riskmodel.models.transition import TransitionModel


__getattr__, __dir__ = lazy_loader(globals(), _LAZY)

__all__ = [
    "ConvergenceWarning",
    "DefaultDataError",
    "DefaultModel",
    "IntensityModel",
    "ModelFileError",
    "NotFittedError",
    "ParameterDraws",
    "SectorDefaultModel",
    "TransitionModel",
    "load_parameter_draws",
]
