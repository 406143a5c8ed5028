"""Coinciding exact cohorts are simulated as one (`riskmodel.simulation.merged`).

A book whose cohort ``cards/new`` is split into two cohorts with the same exposure and margin
per customer is the same model as the book with one such cohort: summed customers in one
binomial chain. The engine merges them, so every output summed over cohorts equals the
combined book's bit for bit (without importance sampling, whose design the split book's
rounding moves in the last digit), and each part's ``loss_by_cohort`` is its share of the
combined cohort's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import riskmodel as rm
from riskmodel.simulation.block_output import BlockOutput
from riskmodel.simulation.merged import MergedCohorts, merged_cohorts

ROOT = Path(__file__).resolve().parents[2]


def _book(folder: Path, split: bool, importance: bool) -> rm.Scenario:
    text = (ROOT / "scenarios" / "baseline.yaml").read_text()
    if not importance:
        text = text.replace("simulation:\n", "simulation:\n  importance_sampling: false\n", 1)
    (folder / "baseline.yaml").write_text(text)
    book = pd.read_csv(ROOT / "scenarios" / "portfolio.csv")
    if split:  # cards/new: 12,000 customers -> 3,000 here and 9,000 as the last row
        first = book.iloc[0].copy()
        rest = first.copy()
        for col, part in (("customers", 3000), ("exposure", 9_000_000), ("margin", 60_000)):
            first[col], rest[col] = part, first[col] - part
        book.iloc[0] = first
        book = pd.concat([book, rest.to_frame().T], ignore_index=True)
    book.to_csv(folder / "portfolio.csv", index=False)
    return rm.load_scenario(folder / "baseline.yaml")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for split in (True, False):
        folder = tmp_path_factory.mktemp("split" if split else "combined")
        sc = _book(folder, split, importance=False)
        out[split] = rm.simulate(sc, paths=2048, seed=5, progress=False).data
    return out


def test_a_split_cohort_runs_as_the_combined_one(runs):
    split, combined = runs[True], runs[False]
    assert split.attrs["merged_cohorts"] == 1 and combined.attrs["merged_cohorts"] == 0
    for name in combined.data_vars:
        if name == "loss_by_cohort" or name.startswith("exact_"):
            continue
        np.testing.assert_array_equal(split[name].values, combined[name].values, err_msg=name)
    parts, whole = split["loss_by_cohort"].values, combined["loss_by_cohort"].values
    np.testing.assert_array_equal(parts[:, 0], whole[:, 0] * 0.25)  # 3,000 of 12,000
    np.testing.assert_array_equal(parts[:, 8], whole[:, 0] * 0.75)
    np.testing.assert_array_equal(parts[:, 1:8], whole[:, 1:8])
    assert split["cohort"].values.tolist()[8] == "cards/new"


def test_the_merged_run_agrees_with_the_split_books_exact_expectation(runs):
    # exact_loss is computed on the split book itself (unmerged); the Monte Carlo mean of the
    # merged run must agree within its standard error (4 SE: two-sided 6e-5 false alarm)
    ds = runs[True]
    total = ds["loss"].sum("period").values
    w = ds["weight"].values
    mean = np.mean(w * total)
    se = np.std(w * total, ddof=1) / np.sqrt(len(total))
    exact = float(ds["exact_loss"].sum())
    assert abs(mean - exact) < 4 * se, (mean, exact, se)


def test_with_importance_sampling_the_split_book_matches_to_rounding(tmp_path):
    result = {}
    for split in (True, False):
        folder = tmp_path / str(split)
        folder.mkdir()
        sc = _book(folder, split, importance=True)
        result[split] = rm.simulate(sc, paths=2048, seed=5, progress=False).data
    split, combined = result[True], result[False]
    assert split.attrs["merged_cohorts"] == 1
    for name in ("loss", "margin", "loss_by_segment", "weight"):
        np.testing.assert_allclose(split[name], combined[name], rtol=1e-9, atol=1e-6)


@dataclass
class _Inputs:
    """The per-cohort fields of `KernelInputs` that merging reads and replaces."""

    customers: np.ndarray
    cohort_segment: np.ndarray
    cohort_state: np.ndarray
    ead: np.ndarray
    margin: np.ndarray
    large_pool: np.ndarray
    names: object = None


def _inp(**cohorts):
    n = len(cohorts["customers"])
    fields = {
        "cohort_segment": np.zeros(n, np.intp),
        "cohort_state": np.zeros(n, np.intp),
        "ead": np.full(n, 100.0),
        "margin": np.full(n, 1.0),
        "large_pool": np.zeros(n, bool),
        "names": None,
    }
    fields.update(cohorts)
    fields["customers"] = np.asarray(fields["customers"], np.int64)
    return _Inputs(**fields)


def test_only_cohorts_equal_in_segment_state_exposure_and_margin_merge():
    inp = _inp(
        customers=[10, 30, 5, 60, 0, 7],
        cohort_segment=np.array([0, 0, 1, 0, 0, 0]),
        ead=np.array([100.0, 100.0, 100.0, 100.0, 100.0, 100.0 + 1e-9]),
        large_pool=np.array([False, False, False, True, False, False]),
    )
    found = MergedCohorts.find(inp)
    # 0, 1 and 4 coincide; 2 is another segment, 3 a large-pool cohort, 5 another exposure
    assert found.keep.tolist() == [0, 2, 3, 5]
    assert found.group.tolist() == [0, 0, 1, 2, 0, 3]
    np.testing.assert_array_equal(found.share, [0.25, 0.75, 1.0, 1.0, 0.0, 1.0])
    assert found.merged_away == merged_cohorts(inp) == 2
    merged = found.inputs(inp)
    assert merged.customers.tolist() == [40, 5, 60, 7]
    assert merged.cohort_segment.tolist() == [0, 1, 0, 0]
    assert merged.large_pool.tolist() == [False, False, True, False]


def test_nothing_to_merge_in_named_books_or_distinct_cohorts():
    assert MergedCohorts.find(_inp(customers=[1, 2], cohort_state=np.array([0, 1]))) is None
    assert MergedCohorts.find(_inp(customers=[1, 2], names=object())) is None
    assert merged_cohorts(_inp(customers=[4])) == 0


def test_an_empty_group_keeps_a_zero_loss():
    found = MergedCohorts.find(_inp(customers=[0, 0, 3], cohort_state=np.array([0, 0, 1])))
    assert found.keep.tolist() == [0, 2] and found.share.tolist() == [1.0, 0.0, 1.0]
    per_path = {f: np.zeros((2, 1)) for f in ("loss", "defaults", "churn", "margin")}
    out = BlockOutput(
        **per_path,
        loss_by_segment=np.zeros((2, 1)),
        loss_by_cohort=np.array([[0.0, 4.0], [0.0, 2.0]]),
        weight=np.ones(2),
        draw=np.zeros(2, np.intp),
        occupancy=np.zeros((1, 1)),
        churn_value_lost=np.zeros(2),
    )
    assert found.expand(out).loss_by_cohort.tolist() == [[0.0, 0.0, 4.0], [0.0, 0.0, 2.0]]
