"""riskmodel.models: Bayesian transition and default models, and their posterior draws.

The only package that uses PyMC, and only inside fitting code: importing it (or loading saved
draws with `load_parameter_draws`) does not import PyMC.
"""

from riskmodel.models._common import ConvergenceWarning, ModelFileError, NotFittedError
from riskmodel.models.default import DefaultDataError, DefaultModel
from riskmodel.models.draws import ParameterDraws, load_parameter_draws
from riskmodel.models.intensity import IntensityModel
from riskmodel.models.sector import SectorDefaultModel
from riskmodel.models.transition import TransitionModel

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
