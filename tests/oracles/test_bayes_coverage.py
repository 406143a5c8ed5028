"""Partial pooling: posterior intervals cover the truth at their stated rate, over many seeds.

Simulation-based calibration (Cook, Gelman & Rubin 2006; Talts et al. 2018): for each of `R`
seeds the truth is drawn from the model's own prior — ``mu ~ Dirichlet(2, 2, 2)``,
``log kappa ~ Normal(log 200, 0.75)`` (`PRIOR`, given to the model too: narrower than the
default so that no seed draws a degenerate book whose fit needs thousands of leapfrog steps),
segment rows ``p_s ~ Dirichlet(kappa mu)`` — and counts
``y_s ~ Multinomial(n_s, p_s)`` are drawn for six segments of very different sizes (2,000 down
to 20 customers). Averaged over the prior, a correct posterior's central ``c`` interval covers
the truth with probability exactly ``c``, whatever the seed's data; so over `R` independent
seeds the number of hits is Bin(R, c). The test accepts the central 99.9% of that law for the
50% and the 90% intervals of four quantities: the population default probability ``mu``, the
concentration ``kappa``, and the default probability of the largest and of the thinnest
segment. A calibrated sampler fails one of these eight counts with probability below 0.8%;
too wide intervals show at 50% (too many hits), too narrow ones at both levels.

The model is small (one transient state, six segments) so that its fits are cheap after the
first, which compiles the NUTS sampler (NumPyro); draws are few (2 × 250), which widens the
Monte Carlo error of the interval ends by ~4% of their width — well inside the band.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import riskmodel as rm
from riskmodel.models import ConvergenceWarning, TransitionModel

R = 40
SIZES = {"a": 2000, "b": 800, "c": 300, "d": 120, "e": 50, "thin": 20}
STATES = rm.StateSpace(
    ["performing", "churned", "defaulted"], absorbing=["churned", "defaulted"], default="defaulted"
)
LEVELS = (0.5, 0.9)
MCMC = {"draws": 250, "chains": 2, "tune": 250}
PRIOR = {"concentration": 2.0, "log_kappa_mu": float(np.log(200.0)), "log_kappa_sigma": 0.75}


def _draw(seed: int) -> tuple[dict[str, float], xr.DataArray]:
    """Truth from the prior and the counts it generates."""
    rng = np.random.default_rng(seed)
    mu = rng.dirichlet(np.full(3, PRIOR["concentration"]))
    kappa = float(np.exp(rng.normal(PRIOR["log_kappa_mu"], PRIOR["log_kappa_sigma"])))
    y = np.zeros((len(SIZES), 3, 3))
    rows = {}
    for s, (name, n) in enumerate(SIZES.items()):
        p = rng.dirichlet(kappa * mu)
        rows[name] = p
        y[s, 0] = rng.multinomial(n, p)
    y[:, 1, 1] = y[:, 2, 2] = 1  # absorbing rows: no information, kept for the layout
    names = list(STATES.names)
    counts = xr.DataArray(
        y,
        dims=("segment", "from_state", "to_state"),
        coords={"segment": list(SIZES), "from_state": names, "to_state": names},
    )
    truth = {"mu": mu[2], "kappa": kappa, "a": rows["a"][2], "thin": rows["thin"][2]}
    return truth, counts


@pytest.fixture(scope="module")
def calibration():
    """Per seed and quantity: the truth's position in each central interval (hit or not)."""
    d = STATES.index("defaulted")
    hits = {level: {q: 0 for q in ("mu", "kappa", "a", "thin")} for level in LEVELS}
    for seed in range(R):
        truth, counts = _draw(1000 + seed)
        with warnings.catch_warnings():  # short chains: R-hat is noisy near 1.01
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = TransitionModel(STATES, pooling="partial", prior=PRIOR).fit(
                counts, seed=seed, progressbar=False, **MCMC
            )
        post = model.posterior
        trans = model.parameter_draws().transitions  # (draw, segment, from, to)
        draws = {
            "mu": post["mu"].sel(origin="performing", to_state="defaulted").values.ravel(),
            "kappa": post["kappa"].sel(origin="performing").values.ravel(),
            "a": trans[:, list(SIZES).index("a"), 0, d],
            "thin": trans[:, list(SIZES).index("thin"), 0, d],
        }
        for level in LEVELS:
            tail = (1 - level) / 2
            for q, x in draws.items():
                lo, hi = np.quantile(x, [tail, 1 - tail])
                hits[level][q] += int(lo <= truth[q] <= hi)
    return hits


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("quantity", ["mu", "kappa", "a", "thin"])
def test_partial_pooling_intervals_cover_prior_draws_at_their_level(calibration, level, quantity):
    low, high = stats.binom.ppf(0.0005, R, level), stats.binom.isf(0.0005, R, level)
    hits = calibration[level][quantity]
    assert low <= hits <= high, (quantity, level, hits, low, high)
