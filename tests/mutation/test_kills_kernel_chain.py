"""The binomial chain's destination order and random stream (`prepare_transitions`, `draw_exact`).

The kernel draws the survivors' multinomial as a chain of binomials "in a fixed destination
order, skipping destinations that are structurally zero and leaving the stay destination as the
remainder" (module docstring of `riskmodel.simulation.kernel`, step 2; the order is by
decreasing survivor share, stay last), and "random numbers are drawn in a fixed order from the
block's own generator, so a block's output depends only on (seed, block index, block length)"
(same docstring; DESIGN.md §4: the same seed gives the same numbers). Another destination order
is the same multinomial in distribution, so only the stream can tell it: these tests pin the
order and the stream down.

- `prepare_transitions` on matrices with structural zeros and rows with 2 and 3 chain
  steps: the destination table, the step probabilities ``share / (1 − shares before)``, the
  survivors' shares and ``Φ⁻¹(p_default)``, against plain loops;
- a seeded stream fingerprint: `simulate_block` on a book of exact cohorts equals a scalar
  re-implementation that draws, with a generator of the same seed, per period the defaults of
  every (path, cohort, origin), then each chain step for every (path, cohort, origin) in the
  documented destination order, then the LGD Betas. Every count, loss and occupancy must match
  exactly (a destination order or a step probability off by anything but rounding breaks it).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

import riskmodel as rm
from riskmodel.simulation.chains import ExactColumns, _positions, _take
from riskmodel.simulation.inputs import build_kernel_inputs
from riskmodel.simulation.kernel import prepare_transitions, simulate_block

NAMES = ["a", "b", "c", "churned", "defaulted"]
TRANSIENT, DEFAULT, CHURN = [0, 1, 2], 4, 3
# rows of the transient states a, b, c; structural zeros: a -> c, c -> a, and in segment "s2"
# a's default and b -> c (so that a chain step can have no column to draw: b's order is a, c,
# churned, by the largest share over segments)
ROWS = {
    "s1": [
        [0.80, 0.12, 0.00, 0.05, 0.03],
        [0.10, 0.70, 0.15, 0.02, 0.03],
        [0.00, 0.30, 0.60, 0.06, 0.04],
    ],
    "s2": [
        [0.83, 0.10, 0.00, 0.07, 0.00],
        [0.20, 0.75, 0.00, 0.01, 0.04],
        [0.00, 0.25, 0.62, 0.05, 0.08],
    ],
}
RHO, LGD_MEAN, LGD_SD = 0.2, 0.45, 0.2


def _matrices():
    """(D=2, T=1, S=2, K, K): the second draw moves 20% of each row's stay mass to default."""
    k = len(NAMES)
    m = np.zeros((2, 1, 2, k, k))
    for s, rows in enumerate(ROWS.values()):
        for r, row in enumerate(rows):
            m[:, 0, s, r] = row
        m[:, 0, s, 3, 3] = m[:, 0, s, 4, 4] = 1.0
    stay = m[1, 0, :, [0, 1, 2], [0, 1, 2]].copy()  # (3, S)
    for r in TRANSIENT:
        m[1, 0, :, r, r] -= 0.2 * stay[r]
        m[1, 0, :, r, DEFAULT] += 0.2 * stay[r]
    return m


def _documented_order(shares):
    """Per transient row: destinations other than itself and default with a share > 0 in some
    draw, period or segment, by decreasing (largest) share; ties by state order."""
    orders = []
    for r, i in enumerate(TRANSIENT):
        mass = {j: max(float(x) for x in shares[..., r, j].ravel()) for j in range(len(NAMES))}
        others = [j for j in mass if j not in (i, DEFAULT) and mass[j] > 0]
        orders.append(sorted(others, key=lambda j: (-mass[j], j)))
    return orders


def _shares(m):
    """Survivors' destination shares p_ij / (1 − p_i,default), default column 0, by loops."""
    d_, t_, s_, k, _ = m.shape
    out = np.zeros((d_, t_, s_, len(TRANSIENT), k))
    for idx in np.ndindex(d_, t_, s_):
        for r, i in enumerate(TRANSIENT):
            pd = m[(*idx, i, DEFAULT)]
            for j in range(k):
                if j != DEFAULT and pd < 1:
                    out[(*idx, r, j)] = m[(*idx, i, j)] / (1.0 - pd)
    return out


def test_prepare_transitions_destination_order_and_step_probabilities():
    m = _matrices()
    probit, seq, dest, surv = prepare_transitions(m, np.array(TRANSIENT), DEFAULT)
    shares = _shares(m)
    np.testing.assert_allclose(surv, shares, rtol=1e-14, atol=1e-16)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(probit, stats.norm.ppf(m[..., TRANSIENT, DEFAULT]))
    orders = _documented_order(shares)
    assert orders == [[1, 3], [0, 2, 3], [1, 3]]  # the rule, read off ROWS by hand
    n_steps = max(len(o) for o in orders)
    assert dest.shape == (3, n_steps + 1)
    for r, i in enumerate(TRANSIENT):
        o = orders[r]
        assert dest[r].tolist() == o + [i] * (n_steps - len(o)) + [i], r  # padded with stay
    assert seq.shape == (*shares.shape[:-1], n_steps)
    for idx in np.ndindex(*shares.shape[:3]):
        for r in range(3):
            before = 0.0
            for step in range(n_steps):
                got = seq[(*idx, r, step)]
                if step >= len(orders[r]):
                    assert got == 0.0, (idx, r, step)
                    continue
                share = shares[(*idx, r, orders[r][step])]
                want = share / (1.0 - before) if before < 1 else 0.0
                assert math.isclose(got, min(want, 1.0), rel_tol=1e-12, abs_tol=1e-15)
                before += share


THREE = [  # segment, state, customers, exposure (total)
    ("s1", "a", 3000, 3.0e6),
    ("s2", "b", 2000, 4.0e6),
    ("s1", "c", 1500, 1.5e6),
]
PLAIN = {"mean": LGD_MEAN, "sd": LGD_SD}
BOOKS = {  # name: (cohorts, lgd)
    "three cohorts": (THREE, PLAIN),
    # a cohort without customers has no active column: the defaults are summed per cohort
    # through the whole (cohort, origin) table instead of `reduceat` over the active columns
    "an empty cohort": ([THREE[0], ("s2", "c", 0, 0.0), THREE[1]], PLAIN),
    # only s2's columns ever hold customers; the second step of b (b -> c, from segment s1's
    # rows) is structurally zero in s2: a step without columns to draw in period 1, followed by
    # one with (b -> churned)
    "a skipped step": ([("s2", "b", 2000, 4.0e6), ("s1", "b", 0, 0.0)], PLAIN),
    # segment s2 alone: every row has two steps, fewer than the three transient states
    "fewer steps than states": ([("s2", "b", 2000, 4.0e6), ("s2", "a", 1000, 1.0e6)], PLAIN),
    # a downturn LGD: mean Φ(Φ⁻¹(m) − b z) per path, the sd clipped to 0.99 √(m(1 − m)); an
    # empty cohort (never a default) and one of four customers (often one default)
    "downturn LGD": (
        [THREE[0], ("s2", "c", 0, 0.0), ("s1", "b", 4, 4.0e3), THREE[1]],
        {**PLAIN, "sd": 0.45, "downturn": {"sensitivity": 0.4}},
    ),
    # no downturn: the sd as given, even above 0.99 √(m(1 − m)) (0.4925 for m = 0.45)
    "sd near the Beta limit": (THREE, {**PLAIN, "sd": 0.495}),
}


def _scenario(horizon=3, book="three cohorts"):
    cohorts, lgd = BOOKS[book]
    cfg = {
        "name": "chain-stream",
        "horizon": horizon,
        "paths": 100,
        "seed": 1,
        "states": {
            "names": NAMES,
            "absorbing": ["churned", "defaulted"],
            "default": "defaulted",
            "churn": "churned",
        },
        "portfolio": {
            "cohorts": [
                {"segment": g, "state": s, "customers": n, "exposure": e, "margin": 0.5 * n}
                for g, s, n, e in cohorts
            ]
        },
        "parameters": {"transitions": {g: rows for g, rows in ROWS.items()}},
        "systematic": {"correlation": RHO, "shift": [-0.5, 0.3, 0.0]},
        "lgd": lgd,
        "simulation": {"importance_sampling": False},
    }
    return rm.scenario_from_dict(cfg), cohorts


def _lgd_betas(rng, d_c, lgd_cfg, z_t):
    """The LGD of each (path, cohort) cell: Betas for the cells with defaults, in that order."""
    mean, sd = lgd_cfg["mean"], lgd_cfg["sd"]
    b = lgd_cfg.get("downturn", {}).get("sensitivity", 0.0)
    lgd = np.zeros(d_c.shape)
    for i in range(d_c.shape[0]):
        m = stats.norm.cdf(stats.norm.ppf(mean) - b * z_t[i]) if b else mean
        s = min(sd, 0.99 * math.sqrt(m * (1 - m))) if b else sd
        kappa = m * (1 - m) / s**2 - 1
        for c in range(d_c.shape[1]):
            lgd[i, c] = m
            if d_c[i, c] > 0:
                kd = d_c[i, c] * (kappa + 1) - 1
                lgd[i, c] = rng.beta(m * kd, (1 - m) * kd)
    return lgd


def _scalar_stream(sc, cohorts, z, seed, lgd_cfg):
    """The documented stream by scalar loops: counts, defaults, churn and loss per path."""
    rng = np.random.default_rng(seed)  # the factor comes from `eps`: nothing drawn for it
    n, h = z.shape
    m = np.asarray(sc.transitions)[0]  # (S, K, K), one draw
    seg = {g: i for i, g in enumerate(sc.segments)}
    shares = _shares(m[None, None])[0, 0]  # (S, Kt, K)
    orders = _documented_order(_shares(np.asarray(m)[None, None]))
    occ = np.zeros((n, len(cohorts), len(NAMES)), dtype=np.int64)
    for c, (_, state, cust, _) in enumerate(cohorts):
        occ[:, c, NAMES.index(state)] = cust
    out = {f: np.zeros((n, h)) for f in ("defaults", "churn", "loss")}
    out["occupancy"] = np.zeros((h, len(NAMES)))
    out["loss_by_cohort"] = np.zeros((n, len(cohorts)))
    for t in range(h):
        new = occ.copy()
        new[:, :, TRANSIENT] = 0
        rem = np.zeros((n, len(cohorts), len(TRANSIENT)), dtype=np.int64)
        d_c = np.zeros((n, len(cohorts)), dtype=np.int64)
        for i in range(n):  # defaults of every (path, cohort, origin)
            for c, (g, *_rest) in enumerate(cohorts):
                for r, k in enumerate(TRANSIENT):
                    p = m[seg[g], k, DEFAULT]
                    pz = stats.norm.cdf(
                        (stats.norm.ppf(p) - math.sqrt(RHO) * z[i, t]) / math.sqrt(1 - RHO)
                    )
                    d = int(rng.binomial(occ[i, c, k], pz)) if occ[i, c, k] and p > 0 else 0
                    d_c[i, c] += d
                    rem[i, c, r] = occ[i, c, k] - d
        for step in range(max(len(o) for o in orders)):  # the chain, step by step
            for i in range(n):
                for c, (g, *_rest) in enumerate(cohorts):
                    for r in range(len(TRANSIENT)):
                        if step >= len(orders[r]):
                            continue
                        before = sum(shares[seg[g], r, j] for j in orders[r][:step])
                        q = shares[seg[g], r, orders[r][step]] / (1.0 - before)
                        moved = int(rng.binomial(rem[i, c, r], min(q, 1.0)))
                        rem[i, c, r] -= moved
                        new[i, c, orders[r][step]] += moved
        for r, k in enumerate(TRANSIENT):
            new[:, :, k] += rem[:, :, r]  # the stay destination: the remainder
        new[:, :, DEFAULT] += d_c
        lgd = _lgd_betas(rng, d_c, lgd_cfg, z[:, t])
        ead = np.array([e / cust if cust else 0.0 for _, _, cust, e in cohorts])
        loss_c = d_c * ead * lgd
        out["loss"][:, t] = loss_c.sum(axis=1)
        out["loss_by_cohort"] += loss_c
        out["defaults"][:, t] = d_c.sum(axis=1)
        out["churn"][:, t] = (new[:, :, CHURN] - occ[:, :, CHURN]).sum(axis=1)
        occ = new
        out["occupancy"][t] = occ.sum(axis=(0, 1))
    return out


@pytest.mark.parametrize("book", list(BOOKS))
def test_seeded_stream_follows_the_documented_draw_order(book, chain_kernel):
    sc, cohorts = _scenario(book=book)
    inp = build_kernel_inputs(sc)
    eps = np.array([[-1.0, 0.4, -2.0], [0.5, -0.3, 1.0], [-0.2, -1.5, 0.1]])
    z = np.asarray(sc.shift) + eps
    out = simulate_block(inp, np.random.default_rng(21), len(eps), eps=eps)
    want = _scalar_stream(sc, cohorts, z, 21, BOOKS[book][1])
    for f in ("defaults", "churn"):
        np.testing.assert_array_equal(getattr(out, f), want[f], err_msg=f)
    np.testing.assert_array_equal(out.occupancy, want["occupancy"])
    np.testing.assert_allclose(out.loss, want["loss"], rtol=1e-12)
    np.testing.assert_allclose(out.loss_by_cohort, want["loss_by_cohort"], rtol=1e-12)


def test_default_entries_rounded_past_the_unit_interval_are_clipped():
    # a row that defaults surely (its entry 1 + rounding) stays a sure default (Φ⁻¹ = +∞, no
    # survivors), a default entry of −1e-18 is a PD of 0 (Φ⁻¹ = −∞); the twin of the test of
    # `expected_matrices` (tests/mutation/test_kills_expected.py)
    m = np.zeros((1, 1, 1, 5, 5))
    m[0, 0, 0, 0, DEFAULT] = 1.0 + 2e-16
    m[0, 0, 0, 1] = [0.1, 0.8, 0.1, 0.0, -1e-18]
    m[0, 0, 0, 2] = [0.0, 0.2, 0.7, 0.1, 0.0]
    m[0, 0, 0, 3, 3] = m[0, 0, 0, 4, 4] = 1.0
    probit, seq, _dest, surv = prepare_transitions(m, np.array(TRANSIENT), DEFAULT)
    assert probit[0, 0, 0].tolist() == [np.inf, -np.inf, -np.inf]
    assert np.all(surv[0, 0, 0, 0] == 0.0) and np.all(seq[0, 0, 0, 0] == 0.0)
    np.testing.assert_allclose(surv[0, 0, 0, 1], [0.1, 0.8, 0.1, 0.0, 0.0], rtol=1e-15)
    assert np.all(np.isfinite(seq)) and np.all((seq >= 0) & (seq <= 1))


def test_a_row_whose_mass_runs_out_before_its_last_step():
    # in draw 0 state a moves to b surely (no stay, no default): the chain's first step takes
    # everyone and the second (a -> churned, from draw 1's row) divides 0 by 0; its probability
    # is 0, finite, without a floating-point warning
    m = np.zeros((2, 1, 1, 5, 5))
    m[0, 0, 0, 0] = [0.0, 1.0, 0.0, 0.0, 0.0]
    m[1, 0, 0, 0] = [0.5, 0.2, 0.0, 0.25, 0.05]
    m[:, 0, 0, 1] = [0.1, 0.8, 0.05, 0.03, 0.02]
    m[:, 0, 0, 2] = [0.0, 0.1, 0.85, 0.0, 0.05]
    m[:, 0, 0, 3, 3] = m[:, 0, 0, 4, 4] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _probit, seq, dest, _surv = prepare_transitions(m, np.array(TRANSIENT), DEFAULT)
    assert dest[0, :2].tolist() == [1, 3]
    np.testing.assert_allclose(seq[0, 0, 0, 0], [1.0, 0.0, 0.0], rtol=1e-15, atol=0)
    first = 0.2 / 0.95
    want = [first, (0.25 / 0.95) / (1 - first), 0.0]
    np.testing.assert_allclose(seq[1, 0, 0, 0], want, rtol=1e-12, atol=0)
    assert np.all(np.isfinite(seq)) and np.all((seq >= 0) & (seq <= 1))


def test_exact_columns_skip_what_is_certain_and_cache_their_selection():
    # chains.py's contract: only origins whose default probability is not 0 in every draw, and
    # only steps whose probability is not 0 in every draw, are drawn; a selection is cached
    sc, _cohorts = _scenario(book="an empty cohort")  # s1: a; s2: c (empty), b
    inp = build_kernel_inputs(sc)
    cols = ExactColumns.build(inp)
    seg = list(sc.segments)
    # columns: cohort-major, origin-minor (a, b, c); s2's a never defaults, its b -> c is 0
    owners = [seg.index(g) for g in ("s1", "s2", "s2")]
    m = np.asarray(sc.transitions)[0]
    want_default = [m[s, r, DEFAULT] > 0 for s in owners for r in TRANSIENT]
    assert cols.default_drawn.tolist() == want_default and not all(want_default)
    want_steps = (inp.seq_prob[0, 0] > 0)[owners].reshape(-1, inp.seq_prob.shape[-1]).T
    assert cols.step_drawn.tolist() == want_steps.tolist() and not want_steps.all()
    assert _positions(np.array([True, True])) is None
    assert _positions(np.array([False, True, True])).tolist() == [1, 2]
    a = np.arange(4)
    assert _take(a, None) is a and _take(a, np.array([3, 1])).tolist() == [3, 1]
    active = np.array([0, 1, 6, 7, 8])  # the empty cohort's columns 3-5 hold nobody
    sel = cols.selection(active, 2)
    assert cols.selection(active.copy(), 2) is sel  # cached
    assert cols.selection(active, 3) is not sel
    assert sel.cohort_start is None  # the empty cohort has no active column
    assert sel.default_pos.tolist() == np.flatnonzero(cols.default_drawn[active]).tolist()
    assert cols.selection(np.arange(9), 2).cohort_start.tolist() == [0, 3, 6]
    sel = cols.selection(np.array([1, 2, 4, 6, 8]), 1)
    assert sel.cohort_start.tolist() == [0, 2, 3]  # first active column of each cohort
