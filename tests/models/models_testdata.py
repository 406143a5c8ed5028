"""Synthetic data with known truth shared by the model tests (imported by conftest and tests)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from riskmodel.data.synthetic import macro_driven_matrices, simulate_panel
from riskmodel.models import ConvergenceWarning
from riskmodel.states import LIFECYCLE, StateSpace

MCMC = {"draws": 400, "chains": 2, "tune": 500, "cores": 1}
"""Short chains: the suite must stay fast on a small shared machine."""

# Population mean rows of the lifecycle (monthly), with structural zeros new->mature, *->new.
MU = np.array(
    [
        [0.880, 0.085, 0.000, 0.012, 0.020, 0.003],
        [0.000, 0.918, 0.050, 0.018, 0.012, 0.002],
        [0.000, 0.005, 0.972, 0.013, 0.008, 0.002],
        [0.000, 0.010, 0.050, 0.880, 0.030, 0.030],
    ]
)
ZEROS = [("new", "mature"), ("growing", "new"), ("mature", "new"), ("declining", "new")]
SEGMENTS = ["a", "b", "c", "d", "thin"]
ROW_SIZES = {"a": 3000, "b": 2500, "c": 3000, "d": 2000, "thin": 60}


def counts_array(y: np.ndarray, segments, states: StateSpace = LIFECYCLE) -> xr.DataArray:
    """Counts DataArray from transient rows ``y`` of shape (n_segments, n_transient, n)."""
    full = np.zeros((len(segments), states.n, states.n), dtype=np.int64)
    full[:, states.transient_idx] = y
    names = list(states.names)
    return xr.DataArray(
        full,
        dims=("segment", "from_state", "to_state"),
        coords={"segment": list(segments), "from_state": names, "to_state": names},
    )


def pooled_data(seed: int, kappa: float = 400.0):
    """Segment rows ~ Dirichlet(kappa * MU); counts per row ROW_SIZES (thin: 60 per row)."""
    rng = np.random.default_rng(seed)
    allowed = MU > 0
    truth = np.zeros((len(SEGMENTS), *MU.shape))
    y = np.zeros_like(truth, dtype=np.int64)
    for s, seg in enumerate(SEGMENTS):
        for r in range(MU.shape[0]):
            truth[s, r, allowed[r]] = rng.dirichlet(kappa * MU[r, allowed[r]])
            y[s, r] = rng.multinomial(ROW_SIZES[seg], truth[s, r])
    return truth, counts_array(y, SEGMENTS)


def quiet_fit(model, data, **kwargs):
    """Fit with ConvergenceWarning silenced: R-hat of short test chains is noisy near 1.01."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(data, **kwargs)


# --------------------------------------------------------------------------- covariates
COV_STATES = StateSpace(
    ["current", "late", "defaulted"], absorbing=["defaulted"], default="defaulted"
)
COV_BETA = np.zeros((2, 3, 1))  # (origin, destination, covariate) per unit of unemployment
COV_BETA[0, 1, 0], COV_BETA[0, 2, 0] = 0.30, 0.35
COV_BETA[1, 0, 0], COV_BETA[1, 2, 0] = -0.25, 0.20
COV_N_PERIODS = 48


def covariate_data(seed: int = 7):
    """A panel whose transitions follow the logit link with COV_BETA on unemployment."""
    rng = np.random.default_rng(seed)
    t = np.arange(COV_N_PERIODS)
    u = 5.0 + 2.0 * np.sin(t / 6.0) + rng.normal(0, 0.2, t.size)
    macro = pd.DataFrame({"period": t, "unemployment": u})
    base = {
        "retail": [[0.0, -3.2, -5.6], [-1.0, 0.0, -2.6]],
        "sme": [[0.0, -2.8, -5.0], [-1.3, 0.0, -2.2]],
    }
    intercepts = {k: np.asarray(v) - 5.0 * COV_BETA[..., 0] for k, v in base.items()}
    mats = macro_driven_matrices(intercepts, COV_BETA, macro, ["unemployment"], COV_STATES)
    panel = simulate_panel(
        mats,
        COV_STATES,
        n_customers=2500,
        n_periods=COV_N_PERIODS,
        initial=[0.85, 0.15, 0.0],
        entry="uniform",
        rng=rng,
    )
    return panel, macro, intercepts


# --------------------------------------------------------------------------- default model
DEFAULT_TRUTH = {"pd": {"cards": 0.02, "loans": 0.008}, "rho": 0.12}
