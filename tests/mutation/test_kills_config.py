"""Kill tests for the scenario schema's shared helpers (`riskmodel.config.base`).

mutmut 3.8 leaves decorated functions alone (all but a lone ``@classmethod`` or
``@staticmethod``), so of the schema only the plain helpers are mutated: `check_path` (the
interval checks of the per-period paths), `unique_names`, the boolean guards `_admits` /
`_holds_bool`, the number-or-list discriminator and `StatesConfig.state_space`. Each is checked
here at its edges: both ends of each interval, open and closed, the message's brackets and
numbers, and nested booleans and annotations; the scenario-level tests exercise them through
whole files (the ranges of `discount_rate`, `annual_discount_rate`, `exposure.amortisation`).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import riskmodel as rm
from riskmodel.config import base


def _check(v, *, low_open, high_open, fix=""):
    return base.check_path(
        v, what="rates", low=-1.0, high=2.5, low_open=low_open, high_open=high_open, fix=fix
    )


@pytest.mark.parametrize("low_open", [True, False])
@pytest.mark.parametrize("high_open", [True, False])
def test_check_path_interval_ends(low_open, high_open):
    inside = [-0.999, 0.0, 2.499]
    assert _check(inside, low_open=low_open, high_open=high_open) is inside
    assert _check(0.5, low_open=low_open, high_open=high_open) == 0.5
    for end, is_open in ((-1.0, low_open), (2.5, high_open)):
        if is_open:
            with pytest.raises(ValueError, match=rf"got \[{end}\]"):
                _check([0.0, end], low_open=low_open, high_open=high_open)
        else:
            assert _check([end], low_open=low_open, high_open=high_open) == [end]
    for outside in (-1.5, 3.0):
        with pytest.raises(ValueError, match=rf"got \[{outside}\]"):
            _check(outside, low_open=low_open, high_open=high_open)
    lo, hi = "(" if low_open else "[", ")" if high_open else "]"
    with pytest.raises(ValueError) as info:
        _check([-2.0], low_open=low_open, high_open=high_open, fix=". Write 0.1")
    assert str(info.value).endswith(f"rates must be in {lo}-1, 2.5{hi}; got [-2.0]. Write 0.1")


def test_check_path_names_the_first_three_wrong_values_and_refuses_an_empty_list():
    with pytest.raises(ValueError) as info:  # no `fix`: the message ends with the values
        base.check_path(
            [0.5, 5.0, -3.0, 0.1, 7.0, 9.0], what="x", low=0, high=1, low_open=True, high_open=True
        )
    assert str(info.value) == "x must be in (0, 1); got [5.0, -3.0, 7.0]"
    with pytest.raises(ValueError, match="the list is empty"):
        _check([], low_open=True, high_open=True)


def test_unique_names_lists_each_duplicate_once_and_ignores_unnamed_items():
    items = [SimpleNamespace(name=n) for n in ["b", None, "a", "b", None, "a", "b", "c"]]
    with pytest.raises(ValueError) as info:
        base.unique_names("shock", items)
    assert str(info.value).startswith("shock names must be unique (they key the summary); got ")
    assert "got ['a', 'b'] more than once" in str(info.value)
    free = [SimpleNamespace(name=n) for n in [None, "x", None, "y"]]
    assert base.unique_names("alert", free) is free


def test_boolean_guards_look_inside_lists_dicts_and_annotations():
    assert base._holds_bool(True) and not base._holds_bool(1)
    assert base._holds_bool([1.0, [2.0, (3.0, False)]])
    assert base._holds_bool({"a": 1.0, "b": {"c": True}})
    assert not base._holds_bool([1.0, {"a": [0, 2.5]}, (1, 2)])
    assert not base._holds_bool("true")
    assert base._admits(float, (float, int))
    assert base._admits(list[float] | None, (float, int))
    assert base._admits(dict[str, list[bool]], (bool,))
    assert not base._admits(str | None, (float, int))
    assert not base._admits(list[str], (bool, rm.StateSpace))


def test_number_or_list_discriminator_and_boolean_refusal_in_a_scenario():
    assert base._number_or_list([1.0]) == "__list__"
    assert base._number_or_list((1.0, 2.0)) == "__list__"
    assert base._number_or_list(1.0) == "__number__"
    assert base._number_or_list("1") == "__number__"
    period = base.PeriodConfig(length=3, unit="month")
    assert period.length == 3.0
    with pytest.raises(ValueError, match="`length` holds true/false"):
        base.PeriodConfig(length=True)


def test_state_space_of_the_states_section():
    cfg = base.StatesConfig(
        names=["ok", "late", "gone", "bad"], absorbing=["gone", "bad"], default="bad", churn="gone"
    )
    space = cfg.state_space()
    assert list(space.names) == ["ok", "late", "gone", "bad"]
    assert list(space.transient) == ["ok", "late"]
    assert space.default_idx == 3 and space.churn_idx == 2
    no_churn = base.StatesConfig(names=["ok", "bad"], absorbing=["bad"], default="bad")
    assert no_churn.state_space().churn_idx is None
