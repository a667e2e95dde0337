"""Key merge invariants over generated results (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanout_tui.engine._events import BranchReport, BranchStatus
from fanout_tui.engine._merge import MergeError, combine
from fanout_tui.spec._plan import ConflictRule, MergePlan, MergeStrategy

record = st.fixed_dictionaries(
    {"k": st.sampled_from(["x", "y", "z"])},
    optional={"a": st.integers(0, 2), "b": st.integers(0, 2)},
)
results = st.lists(st.one_of(record, st.lists(record, max_size=3)), max_size=5)


def reports_of(given_results: list[Any]) -> list[BranchReport]:
    return [
        BranchReport(f"b{i}", BranchStatus.SUCCEEDED, result, None, 1, 0.1)
        for i, result in enumerate(given_results)
    ]


def given_values(given_results: list[Any]) -> dict[str, dict[str, list[int]]]:
    """Every value given, per key and field, in declared order."""
    values: dict[str, dict[str, list[int]]] = {}
    for result in given_results:
        for item in result if isinstance(result, list) else [result]:
            fields = values.setdefault(item["k"], {})
            for name, value in item.items():
                if name != "k":
                    fields.setdefault(name, []).append(value)
    return values


def merged_with(rule: ConflictRule, given_results: list[Any]) -> dict[str, Any]:
    plan = MergePlan(strategy=MergeStrategy.KEY, key="k", on_conflict=rule)
    merged: dict[str, Any] = combine(plan, reports_of(given_results), flag_missing=False)
    return merged


@given(results)
def test_keys_in_order_of_first_appearance_and_first_last_collect(given_results: list[Any]) -> None:
    values = given_values(given_results)
    first = merged_with(ConflictRule.FIRST, given_results)
    last = merged_with(ConflictRule.LAST, given_results)
    collect = merged_with(ConflictRule.COLLECT, given_results)
    assert list(first) == list(last) == list(collect) == list(values)
    for key, fields in values.items():
        for name, seen in fields.items():
            assert first[key][name] == seen[0]
            assert last[key][name] == seen[-1]
            distinct = list(dict.fromkeys(seen))
            assert collect[key][name] == (distinct if len(distinct) > 1 else distinct[0])
        assert first[key]["k"] == key


@given(results)
def test_error_rule_fails_exactly_when_a_field_has_two_values(given_results: list[Any]) -> None:
    values = given_values(given_results)
    conflicting = any(len(set(seen)) > 1 for fields in values.values() for seen in fields.values())
    if conflicting:
        with pytest.raises(MergeError, match="disagree on field"):
            merged_with(ConflictRule.ERROR, given_results)
    else:
        assert merged_with(ConflictRule.ERROR, given_results) == merged_with(
            ConflictRule.FIRST, given_results
        )
