"""The panel likelihood of continuous-time models against brute-force computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sl
from intensity_testdata import (
    ILLNESS,
    ILLNESS_Q,
    brute_force_loglik,
    generator_of,
    simulate_panel,
    uniformised_expm,
)

from riskmodel.errors import PanelError
from riskmodel.models.intensity_likelihood import (
    generator_matrix,
    loglik,
    prepare_panel,
    transition_probs,
)
from riskmodel.states import StateSpace

Q_TRUE = generator_of(ILLNESS, ILLNESS_Q)
CENSORED = {"alive": ("well", "mild", "severe"), "ill": ("mild", "severe")}


def _prep(panel, exact=("dead",), censored=None):
    return prepare_panel(
        panel,
        ILLNESS,
        subject="id",
        time="t",
        state="state",
        exact_states=exact,
        censored=censored,
    )


def _small_panel(seed: int) -> pd.DataFrame:
    """12 subjects with exact deaths, some observations replaced by censored codes."""
    panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=12, seed=seed, max_obs=4)
    rng = np.random.default_rng(seed + 100)
    live = panel["state"] != "dead"
    pick = live & (rng.uniform(size=len(panel)) < 0.3)
    panel.loc[pick, "state"] = np.where(
        panel.loc[pick, "state"] == "well", "alive", rng.choice(["alive", "ill"], pick.sum())
    )
    return panel


@pytest.mark.parametrize("seed", [1, 2])
def test_loglik_equals_path_enumeration_with_censoring_and_exact_deaths(seed):
    """Forward recursion (eigendecomposition) == enumeration of every hidden state sequence with
    uniformisation for P(Δt): two independent computations, equal to rounding (1e-9)."""
    panel = _small_panel(seed)
    assert panel["state"].isin(["alive", "ill"]).any() and (panel["state"] == "dead").any()
    obs = _prep(panel, censored=CENSORED)
    assert obs.prev is None  # censoring forces the forward recursion
    got = loglik(Q_TRUE[None], obs)
    want = brute_force_loglik(Q_TRUE, ILLNESS, panel, exact=("dead",), censored=CENSORED)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_loglik_without_censoring_uses_the_direct_product():
    panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=15, seed=3, max_obs=4, exact=False)
    obs = _prep(panel, exact=())
    assert obs.prev is not None
    want = brute_force_loglik(Q_TRUE, ILLNESS, panel)
    assert loglik(Q_TRUE[None], obs) == pytest.approx(want, rel=1e-9)


def test_exact_death_contribution_is_the_derivative_of_p():
    """(P(Δt) Q)[a, dead] = d/dt P(t)[a, dead] at Δt; central difference with h = 1e-4 has error
    ~h² · |P'''| < 1e-8."""
    panel = pd.DataFrame({"id": [1, 1], "t": [0.3, 2.1], "state": ["mild", "dead"]})
    got = np.exp(loglik(Q_TRUE[None], _prep(panel)))
    h, dt = 1e-4, 1.8
    deriv = (uniformised_expm(Q_TRUE, dt + h)[1, 3] - uniformised_expm(Q_TRUE, dt - h)[1, 3]) / (
        2 * h
    )
    assert got == pytest.approx(deriv, rel=1e-6)
    # and it differs from the panel probability of being dead at 2.1
    panel_like = np.exp(loglik(Q_TRUE[None], _prep(panel, exact=())))
    assert panel_like == pytest.approx(uniformised_expm(Q_TRUE, dt)[1, 3], rel=1e-10)
    assert abs(panel_like - got) > 0.01


def test_censored_state_is_the_sum_over_its_set():
    base = {"id": [1, 1, 1], "t": [0.0, 1.0, 2.5]}
    cens = pd.DataFrame({**base, "state": ["well", "ill", "severe"]})
    got = np.exp(loglik(Q_TRUE[None], _prep(cens, censored=CENSORED)))
    P1, P2 = uniformised_expm(Q_TRUE, 1.0), uniformised_expm(Q_TRUE, 1.5)
    want = P1[0, 1] * P2[1, 2] + P1[0, 2] * P2[2, 2]
    assert got == pytest.approx(want, rel=1e-10)
    # a one-state "set" equals the plain observation
    one = _prep(cens, censored={"ill": ("mild",)})
    plain = _prep(cens.replace({"ill": "mild"}))
    assert loglik(Q_TRUE[None], one) == pytest.approx(loglik(Q_TRUE[None], plain), rel=1e-12)


def test_first_observation_time_does_not_matter():
    panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=30, seed=4)
    shifted = panel.assign(t=panel["t"] + panel["id"].map(lambda i: 3.7 * (i % 3)))
    a = loglik(Q_TRUE[None], _prep(panel))
    b = loglik(Q_TRUE[None], _prep(shifted))
    assert a == pytest.approx(b, rel=1e-12)


def test_only_allowed_transitions_have_intensities():
    allowed = np.array([[0, 1], [1, 2]])
    Q = generator_matrix(np.log([0.5, 0.2]), allowed, 3)
    np.testing.assert_allclose(Q, [[-0.5, 0.5, 0], [0, -0.2, 0.2], [0, 0, 0]])
    # a transition that is not allowed has probability 0 in one step of time: -inf
    ss = StateSpace(["a", "b", "c"], absorbing=["c"], default="c")
    panel = pd.DataFrame({"id": [1, 1], "t": [0, 1], "state": ["b", "a"]})
    obs = prepare_panel(panel, ss, subject="id", time="t", state="state")
    assert loglik(Q[None], obs) == -np.inf


def test_defective_generator_falls_back_to_expm():
    """Equal exit rates in a chain make Q defective (a Jordan block): eig is useless there."""
    Q = np.array([[-1.0, 1.0, 0.0], [0.0, -1.0, 1.0], [0.0, 0.0, 0.0]])
    dts = np.array([0.1, 0.7, 0.7, 3.0])
    got = transition_probs(Q, dts)
    for P, dt in zip(got, dts, strict=True):
        np.testing.assert_allclose(P, sl.expm(Q * dt), atol=1e-12)


def test_segments_get_their_own_generators():
    panel = simulate_panel(Q_TRUE, ILLNESS, n_subjects=20, seed=6)
    panel["seg"] = np.where(panel["id"] % 2 == 0, "even", "odd")
    obs = prepare_panel(
        panel, ILLNESS, subject="id", time="t", state="state", segment="seg", exact_states=("dead",)
    )
    Q2 = np.stack([Q_TRUE, 2 * Q_TRUE])
    by = loglik(Q2, obs, by_segment=True)
    for s, name in enumerate(obs.segments):
        part = panel[panel["seg"] == name]
        assert by[s] == pytest.approx(loglik(Q2[s][None], _prep(part)), rel=1e-12)


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ({"id": [1, 1], "t": [0, 0], "state": ["well", "mild"]}, "two observations"),
        ({"id": [1, 1, 1], "t": [0, 1, 2], "state": ["well", "dead", "well"]}, "after entering"),
        ({"id": [1, 1], "t": [0, 1], "state": ["well", "sick"]}, "neither states"),
        ({"id": [1, 1], "t": [0, None], "state": ["well", "mild"]}, "missing values"),
    ],
)
def test_bad_panels_are_refused_with_the_reason(rows, match):
    with pytest.raises(PanelError, match=match):
        _prep(pd.DataFrame(rows))
