"""Exact default term structures per (segment, start state): what every loan of a cohort shares.

A loan's expected credit loss is linear in the probability that it defaults in each period and
in the LGD that default carries. In the engine's model both depend on the loan only through its
segment and its state today, so they are computed once per (segment, state) and every loan of
that cell reuses them (`riskmodel.ecl.compute` takes the dot products).

What is computed
----------------
For one customer starting in transient state ``i`` of segment ``s``, per period ``t``:

- ``pd[s, i, t]``: the probability of entering the default state *in* period ``t`` (the marginal
  default probability; their sum over ``t`` is the cumulative PD, the default state being
  absorbing), with the systematic factor integrated out;
- ``loss[s, i, t]``: ``E[1{default in t} · LGD_t]``, the expected loss per unit of exposure at
  default, with the scenario's LGD (mean plus add-on; with a downturn LGD the mean moves with the
  factor and is correlated with the default).

Both are exactly the engine's exact expectations (`riskmodel.simulation.expected`) for a cohort of
one customer with exposure 1: the same expected matrices ``E[M(Z_t)]``
(`riskmodel.simulation.expected.expected_matrices`), the same Gauss–Hermite ``E[p(Z) m(Z)]`` for
a downturn LGD (`riskmodel.simulation.expected.expected_default_lgd`), propagated as
``E[x_t] = E[x_{t−1}] E[M_t]`` (the module docstring there derives why this is exact), and, with
several parameter draws, the mean over the draws (each engine path uses one draw chosen
uniformly). Summing ``customers × EAD × ead_factor_t × loss[s, i, t] × df_t`` over the cohorts of
a portfolio gives the engine's exact ECL to rounding (``tests/ecl/test_exact.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.dynamics import discount_factors
from riskmodel.scenarios.load import Scenario
from riskmodel.simulation.expected import scenario_default_lgd, scenario_expected_matrices

__all__ = ["TermStructure", "term_structure"]


@dataclass(frozen=True)
class TermStructure:
    """Default term structures of one scenario, per segment and start state.

    Attributes
    ----------
    scenario : str
        The scenario's name.
    segments : tuple of str
        Segments, in the order of the first axis.
    states : tuple of str
        All states of the scenario, in the order of the second axis; rows of absorbing states
        are zero (a loan in the default state is handled apart, see `riskmodel.ecl.compute`).
    pd : ndarray, shape (segments, states, horizon)
        Marginal probability of defaulting in each period.
    loss : ndarray, shape (segments, states, horizon)
        Expected loss per unit of exposure at default in each period, ``E[1{default} · LGD]``.
    lgd_mean : float
        The scenario's LGD mean plus add-on (``m``).
    lgd_addon : float
        The scenario's LGD add-on, applied to a loan's own ``lgd`` too.
    discount : ndarray, shape (horizon,)
        The scenario's discount factors ``Π_{u≤t} 1 / (1 + r_u)``.
    rate : ndarray, shape (horizon,)
        The scenario's discount rate per period (a loan without ``rate`` uses it).
    ead_factor : ndarray, shape (horizon,)
        The scenario's exposure factor ``Π_{u≤t} (1 − a_u)`` (a loan without ``amortisation`` or
        ``instalment`` follows it).
    window : float
        Periods of the 12-month window (12 for months; may be fractional).
    draws : int
        Parameter draws averaged over.
    """

    scenario: str
    segments: tuple[str, ...]
    states: tuple[str, ...]
    pd: np.ndarray
    loss: np.ndarray
    lgd_mean: float
    lgd_addon: float
    discount: np.ndarray
    rate: np.ndarray
    ead_factor: np.ndarray
    window: float
    draws: int

    @property
    def horizon(self) -> int:
        """Number of periods."""
        return int(self.pd.shape[-1])

    def window_weights(self) -> np.ndarray:
        """Weight of each period in the 12-month window, shape (horizon,).

        1 for the first ``⌊window⌋`` periods, the fraction ``window − ⌊window⌋`` for the next,
        0 after (as `riskmodel.scenarios.period.ecl_window_sum`).
        """
        w = np.zeros(self.horizon)
        whole = int(np.floor(self.window))
        w[: min(whole, self.horizon)] = 1.0
        if whole < self.horizon:
            w[whole] = self.window - whole
        return w

    def loss_profile(self) -> np.ndarray:
        """``loss / lgd_mean`` (``pd`` when the mean is 0): the loss per unit of LGD.

        A loan with its own LGD ``ℓ`` has expected loss ``ℓ · loss_profile`` per unit of
        exposure: with a downturn LGD its LGD moves with the factor in proportion to the
        scenario's (exact when ``ℓ`` equals the scenario's mean); without one this is ``pd``.
        """
        if self.lgd_mean > 0:
            return self.loss / self.lgd_mean
        return self.pd


def term_structure(scenario: Scenario) -> TermStructure:
    """Exact marginal default and loss term structures of a scenario per (segment, state).

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario; its transitions may hold several parameter draws and be time-varying
        (shape (D, S, K, K) or (D, T, S, K, K)), as for `expected_term_structure`.

    Returns
    -------
    TermStructure

    Examples
    --------
    >>> import riskmodel as rm
    >>> ts = term_structure(rm.load_scenario("scenarios/ifrs9.yaml"))  # doctest: +SKIP
    >>> ts.pd.shape  # doctest: +SKIP
    (2, 4, 60)
    """
    states = scenario.states
    h, k = scenario.horizon, states.n
    t_idx, d_idx = np.asarray(states.transient_idx), states.default_idx
    em = scenario_expected_matrices(scenario)  # (D, H, S, Kt, K)
    n_draws, n_seg, n_t = em.shape[0], em.shape[2], len(t_idx)
    lgd, sens = scenario.lgd_mean, scenario.lgd_sensitivity
    rows = np.asarray(scenario.transitions, dtype=float)
    if rows.ndim == 4:
        rows = rows[:, None]
    pd_rows = rows[..., t_idx, d_idx]  # (D, T, S, Kt)

    # x[d, s, a, j]: expected customers in transient state j of one customer starting in a
    x = np.broadcast_to(np.eye(n_t), (n_draws, n_seg, n_t, n_t)).copy()
    pd = np.zeros((n_seg, k, h))
    loss = np.zeros((n_seg, k, h))
    for t in range(h):
        into = np.einsum("dsaj,dsjk->dsak", x, em[:, t])  # (D, S, Kt, K)
        pd_t = into[..., d_idx].mean(axis=0)  # (S, Kt)
        pd[:, t_idx, t] = pd_t
        if sens > 0:
            # (D, S, Kt): E[p(Z) m(Z)] per origin row (each segment's own factor)
            g = scenario_default_lgd(scenario, pd_rows[:, t if pd_rows.shape[1] > 1 else 0], t)
            loss[:, t_idx, t] = np.einsum("dsaj,dsj->sa", x, g) / n_draws
        else:
            loss[:, t_idx, t] = pd_t * lgd
        x = into[..., t_idx]
    for arr in (pd, loss):
        arr.setflags(write=False)
    return TermStructure(
        scenario=scenario.name,
        segments=tuple(scenario.segments),
        states=tuple(states.names),
        pd=pd,
        loss=loss,
        lgd_mean=float(lgd),
        lgd_addon=float(scenario.config.lgd.addon),
        discount=discount_factors(scenario.discount_rate),
        rate=np.asarray(scenario.discount_rate, dtype=float),
        ead_factor=np.asarray(scenario.ead_factor, dtype=float),
        window=float(scenario.ecl_window),
        draws=int(n_draws),
    )
