"""Property: loading a mutated scenario never raises anything but `ScenarioError`.

Valid scenario dicts (the bundled files and the tiny inline one) are mutated at random: a key
is deleted, an unknown key inserted, a value at a random nested path replaced by a random
scalar/list/dict/None/NaN/huge number/string, or a list truncated. Loading either succeeds or
raises `rm.ScenarioError`; a KeyError, TypeError, IndexError, OverflowError … is a bug. And
what loads must be valid by an independent check (`check_loaded`), not only by the schema.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskmodel as rm
from riskmodel.simulation.expected import expected_term_structure

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
TINY = Path(__file__).with_name("tiny.yaml")
BASES = [yaml.safe_load(p.read_text()) for p in [*sorted(SCENARIO_DIR.glob("*.yaml")), TINY]]
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 10**400, -(10**400), 2**63, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 0.5, 1.0 + 1e-9]),
    st.text(max_size=12),
    st.sampled_from(["", ".", "..", "/", "portfolio.csv", "baseline.yaml", "new", "defaulted"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node, prefix=()):
    """Every (path, value) in a nested dict/list structure, the root excluded."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        path = (*prefix, key)
        yield path, value
        if isinstance(value, dict | list) and value:
            yield from _paths(value, path)


def _parent(root, path):
    node = root
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated_scenarios(draw) -> dict:
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(data))
        if not paths:
            break
        path, value = draw(st.sampled_from(paths))
        parent = _parent(data, path)
        op = draw(st.sampled_from(["delete", "insert", "replace", "replace", "truncate"]))
        if op == "delete":
            del parent[path[-1]]
        elif op == "insert":
            target = value if isinstance(value, dict) else data
            target[draw(st.text(min_size=1, max_size=10))] = draw(values)
        elif op == "replace":
            parent[path[-1]] = draw(values)
        elif op == "truncate" and isinstance(value, list):
            parent[path[-1]] = value[: draw(st.integers(min_value=0, max_value=len(value)))]
    return data


def check_loaded(sc: rm.Scenario, data: dict | None = None) -> None:
    """Independent check that a loaded scenario is one the engine can run: the rules of
    DESIGN.md §3 verified on the loaded arrays themselves (not through the schema), the values
    given in the file carried over, and exact expectations that are finite and feasible."""
    h = sc.horizon
    assert isinstance(h, int) and 1 <= h <= 1200
    p = np.asarray(sc.transitions, dtype=float)
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-9)
    absorbing = sc.states.absorbing_idx
    np.testing.assert_array_equal(
        p[..., absorbing, :][..., absorbing],
        np.broadcast_to(np.eye(len(absorbing)), p[..., absorbing, :][..., absorbing].shape),
    )
    assert sc.states.default_idx in set(np.atleast_1d(absorbing).tolist())
    rho = np.asarray(sc.correlation, dtype=float)
    assert np.all((rho >= 0) & (rho < 1))
    shift = np.asarray(sc.shift, dtype=float)
    if sc.factors is None:
        assert shift.shape == (h,) and np.all(np.abs(shift) <= 10)
    else:  # sector factors: a shift per factor, a valid correlation matrix and its root
        f = sc.factors
        assert shift.shape == (h, f.n_factors) and np.all(np.abs(shift) <= 10)
        np.testing.assert_allclose(f.root @ f.root.T, f.correlation, atol=1e-9)
        assert np.linalg.eigvalsh(f.correlation)[0] >= -1e-9
        assert set(f.segment_factor.tolist()) <= set(range(f.n_factors))
        assert rho.shape == (p.shape[0], len(sc.segments))
    assert 0.0 <= sc.lgd_mean <= 1.0
    assert np.all(np.isfinite(sc.discount_rate)) and np.all(np.asarray(sc.discount_rate) > -1)
    table = sc.portfolio.table
    assert len(table) >= 1 and np.all(table["customers"] >= 0)
    assert np.all(np.isfinite(table["exposure"])) and np.all(table["exposure"] >= 0)
    assert set(table["state"]) <= set(sc.states.transient)
    if data is not None:
        if isinstance(data.get("horizon"), int):
            assert h == data["horizon"]
        if isinstance(data.get("name"), str):
            assert sc.name == data["name"]
    exact = expected_term_structure(sc)
    loss, defaults = exact["loss"].to_numpy(), exact["defaults"].to_numpy()
    assert np.all(np.isfinite(loss)) and np.all(loss >= -1e-9)
    assert defaults.sum() <= table["customers"].sum() * (1 + 1e-9)


def test_bundled_scenarios_pass_the_independent_check():
    for base in BASES:
        check_loaded(rm.scenario_from_dict(copy.deepcopy(base), base_dir=SCENARIO_DIR), base)


def _load_dict(data: dict) -> None:
    try:
        sc = rm.scenario_from_dict(data, base_dir=SCENARIO_DIR)
    except rm.ScenarioError as exc:
        assert str(exc).startswith("<scenario>: ")
        assert "\n" not in str(exc)
        return
    check_loaded(sc, data)  # what loads is valid by an independent check


@FUZZ
@given(data=mutated_scenarios())
def test_mutated_dicts_load_or_raise_scenario_error(data):
    _load_dict(data)


@FUZZ
@given(data=mutated_scenarios())
def test_mutated_files_load_or_raise_scenario_error(data, tmp_path):
    path = tmp_path / "mutated.yaml"
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(text, encoding="utf-8")
    (tmp_path / "portfolio.csv").write_bytes((SCENARIO_DIR / "portfolio.csv").read_bytes())
    try:
        sc = rm.load_scenario(path)
    except rm.ScenarioError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    check_loaded(sc, data)


def _corrupt(text: str, position: int, insert: str, cut: int) -> str:
    position = min(position, len(text))
    return text[:position] + insert + text[position + cut :]


@FUZZ
@given(
    base=st.sampled_from(sorted(SCENARIO_DIR.glob("*.yaml"))),
    position=st.integers(min_value=0, max_value=4000),
    insert=st.text(max_size=8),
    cut=st.integers(min_value=0, max_value=40),
)
def test_corrupted_yaml_text_raises_only_scenario_error(
    base: Path, position, insert, cut, tmp_path
):
    path = tmp_path / "corrupt.yaml"
    path.write_text(_corrupt(base.read_text(), position, insert, cut), encoding="utf-8")
    (tmp_path / "portfolio.csv").write_bytes((SCENARIO_DIR / "portfolio.csv").read_bytes())
    try:
        sc = rm.load_scenario(path)
    except rm.ScenarioError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    check_loaded(sc)


@FUZZ
@given(blob=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_random_bytes_raise_only_scenario_error(blob: bytes, tmp_path):
    path = tmp_path / "random.yaml"
    path.write_bytes(blob)
    try:
        sc = rm.load_scenario(path)
    except rm.ScenarioError as exc:
        assert str(exc).startswith(f"{path}: ")
        return
    check_loaded(sc)


@FUZZ
@given(
    position=st.integers(min_value=0, max_value=400),
    insert=st.text(max_size=6),
    cut=st.integers(min_value=0, max_value=20),
)
def test_corrupted_portfolio_csv_raises_only_scenario_error(position, insert, cut, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_bytes((SCENARIO_DIR / "baseline.yaml").read_bytes())
    csv = (SCENARIO_DIR / "portfolio.csv").read_text()
    (tmp_path / "portfolio.csv").write_text(_corrupt(csv, position, insert, cut), encoding="utf-8")
    try:
        sc = rm.load_scenario(scenario)
    except rm.ScenarioError as exc:
        assert "portfolio" in str(exc)
        return
    check_loaded(sc)
