"""The chain's scatter of moves by rounds (`riskmodel.simulation.chains._rounds`).

Two origins of a cohort may move to the same state in one chain step, so a plain fancy ``+=``
would drop all but one of their moves. `_rounds` splits a step's columns into rounds whose
targets are distinct within a path; adding round by round must equal ``np.add.at`` exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riskmodel.simulation.chains import _rounds

ROOT = Path(__file__).resolve().parents[2]


def test_rounds_split_repeated_targets_and_add_like_add_at():
    n, n_into = 3, 10
    offset = (np.arange(n) * n_into)[:, None]
    target = np.array([3, 5, 3, 3, 7])  # target 3 three times: three rounds
    rounds = _rounds(offset, target)
    cols = [c.tolist() for c, _ in rounds]
    assert cols == [[0, 1, 4], [2], [3]]
    for c, flat in rounds:
        per_path = flat.reshape(n, -1)
        assert all(len(set(row)) == len(row) for row in per_path.tolist())  # distinct in a round
        np.testing.assert_array_equal(per_path, offset + target[c][None])
    moved = np.random.default_rng(1).integers(0, 1000, size=(n, len(target)))
    want = np.zeros(n * n_into, np.int64)
    np.add.at(want, (offset + target[None]).ravel(), moved.ravel())
    got = np.zeros(n * n_into, np.int64)
    for c, flat in rounds:
        got[flat] += moved[:, c].reshape(-1)
    np.testing.assert_array_equal(got, want)


def test_rounds_without_repeats_is_one_round_of_every_column():
    offset = (np.arange(2) * 4)[:, None]
    [(cols, flat)] = _rounds(offset, np.array([2, 0, 1]))
    assert cols is None
    assert flat.tolist() == [2, 0, 1, 6, 4, 5]


def test_dense_adds_by_origin_equal_the_rounds_when_every_column_is_active(monkeypatch):
    """With every column active, moves are added by (origin, destination) slices: same counts."""
    monkeypatch.setenv("RISKMODEL_KERNEL", "numpy")  # the numpy code's two ways of adding
    import riskmodel as rm
    from riskmodel.simulation.chains import ExactColumns, draw_exact
    from riskmodel.simulation.inputs import build_kernel_inputs

    inp = build_kernel_inputs(rm.load_scenario(ROOT / "scenarios" / "baseline.yaml"))
    cols = ExactColumns.build(inp)
    n, n_cols = 64, len(cols.sr)
    rng = np.random.default_rng(7)
    cnt = rng.integers(1, 200, size=(n, n_cols))  # every column holds customers
    pd_sr = rng.uniform(0.0, 0.2, size=(n, inp.n_segments * len(inp.transient_idx)))
    seq = inp.seq_prob[0, 0].reshape(1, -1, inp.seq_prob.shape[-1])
    active = np.arange(n_cols)
    sel = cols.selection(active, n)
    assert sel.dense
    d, into = draw_exact(cols, np.random.default_rng(3), cnt, pd_sr, seq)
    sel.dense = False  # the cached selection now adds by rounds
    d_r, into_r = draw_exact(cols, np.random.default_rng(3), cnt, pd_sr, seq)
    np.testing.assert_array_equal(d, d_r)
    np.testing.assert_array_equal(into, into_r)
    assert into.sum() == cnt.sum() - d.sum()  # every survivor lands somewhere
