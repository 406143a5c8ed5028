"""Generators from period matrices: matrix logarithm and Kreinin–Sidelnikova regularisation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl
import scipy.optimize as so

from riskmodel.errors import InputError
from riskmodel.models.generator import generator_from_matrix, project_generator_row

# An agency-style one-year rating matrix (AAA, AA, A, BBB, BB, B, CCC, D; rows in %, the shape of
# the published long-run averages: heavy diagonal, mass one notch away, zero AAA -> D and
# AA -> CCC). It has no valid generator: P[AAA, D] = 0 although AAA -> AA -> … -> D is possible,
# and expm(Q)[i, j] > 0 whenever j is reachable from i (Israel, Rosenthal & Wei 2001).
AGENCY = (
    np.array(
        [
            [90.81, 8.33, 0.68, 0.06, 0.12, 0.00, 0.00, 0.00],
            [0.70, 90.65, 7.79, 0.64, 0.06, 0.14, 0.00, 0.02],
            [0.09, 2.27, 91.05, 5.52, 0.74, 0.26, 0.01, 0.06],
            [0.02, 0.33, 5.95, 86.93, 5.30, 1.17, 0.12, 0.18],
            [0.03, 0.14, 0.67, 7.73, 80.53, 8.84, 1.00, 1.06],
            [0.00, 0.11, 0.24, 0.43, 6.48, 83.46, 4.07, 5.20],
            [0.22, 0.00, 0.22, 1.30, 2.38, 11.24, 64.86, 19.78],
            [0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 100.0],
        ]
    )
    / 100.0
)
AGENCY = AGENCY / AGENCY.sum(axis=1, keepdims=True)  # rounding in the published rows


def test_agency_matrix_has_no_valid_generator_and_is_regularised():
    L = np.real(sl.logm(AGENCY))
    off = ~np.eye(8, dtype=bool)
    assert (L[off] < -1e-6).any()  # the embedding problem is real for this matrix
    fit = generator_from_matrix(AGENCY, period=1.0)
    Q = fit.generator
    assert fit.regularised
    assert np.all(Q[off] >= 0.0)
    np.testing.assert_allclose(Q.sum(axis=1), 0.0, atol=1e-14)
    np.testing.assert_array_equal(Q[7], 0.0)  # default stays absorbing
    # the reported distances are those of the returned generator
    err = sl.expm(Q) - AGENCY
    assert fit.distance_max == pytest.approx(np.abs(err).max(), rel=1e-12)
    assert fit.distance_frobenius == pytest.approx(np.linalg.norm(err), rel=1e-12)
    live = off[:7] & (L[:7] < 0)  # negative off-diagonals of the transient rows
    assert fit.negative_mass == pytest.approx(-L[:7][live].sum(), rel=1e-12)
    # small next to the matrix itself: the regularised one-year matrix is within half a
    # percentage point of the published one everywhere (QOG's known accuracy on such matrices)
    assert fit.distance_max < 5e-3
    # a monthly matrix from it is a valid transition matrix
    month = sl.expm(Q / 12)
    assert np.all(month >= -1e-15) and np.allclose(month.sum(axis=1), 1.0)


def test_projection_is_the_euclidean_nearest_generator_row():
    """The closed form equals a numerical constrained least-squares solution (SLSQP)."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        row = rng.normal(0, 0.1, size=6)
        i = int(rng.integers(6))
        x = project_generator_row(row, i)
        cons = [{"type": "eq", "fun": lambda z: z.sum()}]
        bounds = [(None, None) if j == i else (0, None) for j in range(6)]
        ref = so.minimize(
            lambda z, row=row: ((z - row) ** 2).sum(),
            np.zeros(6),
            bounds=bounds,
            constraints=cons,
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        np.testing.assert_allclose(x, ref.x, atol=1e-7)
        assert x.sum() == pytest.approx(0.0, abs=1e-15)


def test_embeddable_matrix_gives_back_its_generator():
    Q0 = np.array([[-0.3, 0.2, 0.1], [0.4, -0.5, 0.1], [0.0, 0.0, 0.0]])
    P = sl.expm(Q0 * 0.25)
    fit = generator_from_matrix(P, period=0.25)
    assert not fit.regularised
    np.testing.assert_allclose(fit.generator, Q0, atol=1e-12)
    assert fit.distance_max < 1e-13 and fit.negative_mass == 0.0


@pytest.mark.parametrize(
    ("P", "match"),
    [
        (np.ones((2, 3)) / 3, "square"),
        (np.array([[0.5, 0.4], [0.0, 1.0]]), "rows summing to 1"),
        (np.array([[0.0, 1.0], [1.0, 0.0]]), "determinant"),
    ],
)
def test_bad_matrices_are_refused(P, match):
    with pytest.raises(InputError, match=match):
        generator_from_matrix(P)
