"""The chain's scatter of moves by rounds (`riskmodel.simulation.chains._rounds`).

Two origins of a cohort may move to the same state in one chain step, so a plain fancy ``+=``
would drop all but one of their moves. `_rounds` splits a step's columns into rounds whose
targets are distinct within a path; adding round by round must equal ``np.add.at`` exactly.
"""

from __future__ import annotations

import numpy as np

from riskmodel.simulation.chains import _rounds


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
