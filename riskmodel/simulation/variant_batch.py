"""Many variants of one scenario at once: exact expectations and the large-pool model, vectorised.

A sensitivity design evaluates hundreds of variants of one scenario (the same states, segments,
portfolio cohorts and horizon; other correlations, LGDs, shifts, transition rows, exposures).
Running the engine, or even `riskmodel.simulation.expected.expected_term_structure`, once per
variant costs milliseconds of Python per variant; here every variant is a row of stacked arrays
and each period is one vectorised step over all of them.

Exact expectations (`exact_batch`)
----------------------------------
The same propagation as `riskmodel.simulation.expected` (its module docstring derives why it is
exact): expected transient counts move through the expected transition rows ``E[M(Z_t)]``,
``E[p(Z_t)] = Φ(Φ⁻¹(p) − √ρ s_t)``, and with a downturn LGD the loss of a row is
``E[p(Z_t) m(Z_t)]`` by Gauss–Hermite quadrature (`GH_NODES` nodes). The engine's outputs are
linear in the customers of each cohort and all cohorts of a segment share its matrices, so the
cohorts are summed per segment and start state, weighted by customers (defaults, churn), by
exposure per customer (loss) and by margin per customer (value). Equal to `expected_term_structure`
of each variant up to rounding (``tests/simulation/test_variant_batch.py``).

The large-pool model of the variants (`large_pool_batch`) lives in
`riskmodel.simulation.variant_large_pool`, the stacked arrays both use in
`riskmodel.simulation.variant_stack`; this module re-exports their public names.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from riskmodel.config.metrics import EXACT_METRICS
from riskmodel.dynamics import (
    conditional_pd,
    downturn_lgd,
    mean_conditional_pd,
)
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected import (
    GH_NODES,
    _hermgauss,
)
from riskmodel.simulation.variant_large_pool import LargePoolPaths, factor_paths, large_pool_batch
from riskmodel.simulation.variant_stack import CHUNK, stack_variants

__all__ = ["EXACT_OUTPUTS", "LargePoolPaths", "exact_batch", "factor_paths", "large_pool_batch"]

EXACT_OUTPUTS = EXACT_METRICS
"""Names of the per-variant exact expectations `exact_batch` returns (the exact metrics)."""


# ------------------------------------------------------------------------------ exact
def _mean_default_lgd(
    a: np.ndarray, rho: np.ndarray, shift: np.ndarray, lgd: np.ndarray, sens: np.ndarray
) -> np.ndarray:
    """``E[p(Z) m(Z)]`` for ``Z ~ N(s_p, 1)`` per variant, by Gauss–Hermite quadrature.

    `a` (P, D, S, Kt) probit PDs, `rho` (P, D, S), `shift` (P, S) (each segment's factor's),
    `lgd`, `sens` (P,); as `riskmodel.simulation.expected.expected_default_lgd` with the shift
    and LGD per variant.
    """
    x, w = _hermgauss(GH_NODES)
    w = w / np.sqrt(np.pi)
    out = np.empty(a.shape)
    step = max(1, CHUNK // max(1, a[0].size * len(x) // 64))
    for lo in range(0, a.shape[0], step):
        sl = slice(lo, lo + step)
        z = shift[sl, :, None] + np.sqrt(2.0) * x[None, None]  # (p, S, Q)
        pz = conditional_pd(a[sl, ..., None], rho[sl, :, :, None, None], z[:, None, :, None])
        mz = downturn_lgd(lgd[sl, None, None], sens[sl, None, None], z)  # type: ignore[arg-type]
        out[sl] = (pz * mz[:, None, :, None]) @ w
    return out


def exact_batch(
    scenarios: Sequence[Scenario], *, window: float | None = None
) -> dict[str, np.ndarray]:
    """Exact expectations of many variants of one scenario, vectorised over the variants.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Variants of one base scenario: the same states, segments, horizon and cohorts.
    window : float, optional
        Periods of the 12-month ECL window; default: the first scenario's ``ecl_window``.

    Returns
    -------
    dict of str to ndarray
        For each name of `EXACT_OUTPUTS`, one value per variant (shape (P,)): the expected loss
        over the horizon (undiscounted), the discounted ECL (lifetime and 12-month window), the
        discounted expected margin (``value``), the expected defaults and churn. Equal to
        ``exact_summary(expected_term_structure(variant))`` up to rounding.

    Raises
    ------
    ArgumentError
        If the variants differ in states, segments or horizon, or in their number of draws
        other than by one.

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> exact_batch([sc, sc])["expected_loss"].shape  # doctest: +SKIP
    (2,)
    """
    if not scenarios:
        return {name: np.zeros(0) for name in EXACT_OUTPUTS}
    base = scenarios[0]
    st = base.states
    stack = stack_variants(scenarios)
    n_p, n_d = stack.rho.shape[:2]
    h = base.horizon
    t_idx = st.transient_idx
    x = np.broadcast_to(stack.start[:, None], (n_p, n_d, *stack.start.shape[1:])).copy()
    sqrt_rho = np.sqrt(stack.rho)[..., None]  # (P, D, S, 1)
    downturn = bool(np.any(stack.lgd_sensitivity > 0))
    loss = np.zeros((n_p, h))
    defaults = np.zeros(n_p)
    churn = np.zeros(n_p)
    margin = np.zeros((n_p, h))
    cached: dict[
        tuple[int, bytes], np.ndarray
    ] = {}  # E[p m] of periods with the same factor mean and parameters
    for t in range(h):
        tt = t if stack.probit_pd.shape[2] > 1 else 0
        a = stack.probit_pd[:, :, tt]  # (P, D, S, Kt)
        mpd = mean_conditional_pd(a, sqrt_rho, stack.shift[:, t, None, :, None])
        shares = stack.shares[:, :, tt]  # (P, D, S, Kt, K)
        if downturn:
            key = (tt, stack.shift[:, t].tobytes())
            if key not in cached:
                cached[key] = _mean_default_lgd(
                    a, stack.rho, stack.shift[:, t], stack.lgd_mean, stack.lgd_sensitivity
                )
            rate = cached[key]
        else:
            rate = mpd * stack.lgd_mean[:, None, None, None]
        loss[:, t] = np.einsum("pdsi,pdsi->p", x[:, :, 1], rate) / n_d * stack.ead_factor[:, t]
        defaults += np.einsum("pdsi,pdsi->p", x[:, :, 0], mpd) / n_d
        alive = x * (1.0 - mpd)[:, :, None]  # survivors (P, D, 3, S, Kt)
        if st.churn_idx is not None:
            churn += np.einsum("pdsi,pdsi->p", alive[:, :, 0], shares[..., st.churn_idx]) / n_d
        x = np.einsum("pdwsi,pdsij->pdwsj", alive, shares[..., t_idx])
        margin[:, t] = x[:, :, 2].sum(axis=(1, 2, 3)) / n_d
    ecl = loss * stack.discount
    window = base.ecl_window if window is None else float(window)
    whole = int(np.floor(window))
    ecl_12 = ecl[:, :whole].sum(axis=1)
    if window - whole > 0 and whole < h:
        ecl_12 = ecl_12 + (window - whole) * ecl[:, whole]
    return {
        "expected_loss": loss.sum(axis=1),
        "ecl_lifetime": ecl.sum(axis=1),
        "ecl_12_period": ecl_12,
        "value": (margin * stack.discount).sum(axis=1),
        "expected_defaults": defaults,
        "expected_churn": churn,
    }
