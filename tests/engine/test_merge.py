"""Merge strategies: concatenate and key-merge, their flags, and rendering."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fanout_tui.engine._events import BranchReport, BranchStatus
from fanout_tui.engine._merge import MergeError, combine, render_merged
from fanout_tui.spec._plan import ConflictRule, MergePlan, MergeStrategy

S = BranchStatus
CONCAT = MergePlan(strategy=MergeStrategy.CONCATENATE)


def ok(branch_id: str, result: Any) -> BranchReport:
    return BranchReport(branch_id, S.SUCCEEDED, result, None, 1, 0.5)


def bad(branch_id: str, status: BranchStatus = S.FAILED, error: str | None = None) -> BranchReport:
    return BranchReport(branch_id, status, None, error, 3, 0.5)


def keyed(on_conflict: ConflictRule = ConflictRule.ERROR, key: str = "doc") -> MergePlan:
    return MergePlan(strategy=MergeStrategy.KEY, key=key, on_conflict=on_conflict)


# --- concatenate: text ---------------------------------------------------------------------


def test_text_results_are_joined_in_declared_order_with_one_line_ending_each() -> None:
    merged = combine(
        CONCAT, [ok("a", "one\n"), ok("b", "two\r\n"), ok("c", "three")], flag_missing=False
    )
    assert merged == "one\ntwo\nthree"


def test_text_keeps_inner_blank_lines_and_uses_the_separator() -> None:
    plan = MergePlan(separator="\n---\n")
    merged = combine(plan, [ok("a", "x\n\ny\n"), ok("b", "z\n")], flag_missing=False)
    assert merged == "x\n\ny\n---\nz"


def test_merge_order_wins_over_declared_order_and_the_unnamed_follow() -> None:
    plan = MergePlan(order=("c", "a"))
    merged = combine(plan, [ok("a", "A"), ok("b", "B"), ok("c", "C")], flag_missing=False)
    assert merged == "C\nA\nB"


def test_the_order_never_depends_on_finishing_order() -> None:
    slow = BranchReport("slow", S.SUCCEEDED, "slow", None, 1, 9.0)
    fast = BranchReport("fast", S.SUCCEEDED, "fast", None, 1, 0.1)
    assert combine(CONCAT, [slow, fast], flag_missing=False) == "slow\nfast"
    assert combine(MergePlan(order=("slow", "fast")), [fast, slow], flag_missing=False) == (
        "slow\nfast"
    )


def test_unknown_id_in_the_merge_order_is_a_merge_error() -> None:
    with pytest.raises(MergeError, match="unknown branch 'zz'"):
        combine(MergePlan(order=("zz",)), [ok("a", "A")], flag_missing=False)


def test_lines_results_are_text_lines() -> None:
    merged = combine(CONCAT, [ok("a", ["1", "2"]), ok("b", "3\n"), ok("c", [])], flag_missing=False)
    assert merged == "1\n2\n3\n"


def test_failed_branches_are_skipped_without_flags() -> None:
    merged = combine(CONCAT, [ok("a", "A"), bad("b"), ok("c", "C")], flag_missing=False)
    assert merged == "A\nC"


def test_flagged_text_keeps_a_placeholder_line_in_the_failed_place() -> None:
    reports = [
        ok("a", "A\n"),
        bad("chapter-3", error="exit code 7"),
        bad("d", S.TIMED_OUT, "timed out after 30s"),
        bad("e", S.CANCELLED),
        ok("f", "F\n"),
    ]
    assert combine(CONCAT, reports, flag_missing=True).split("\n") == [
        "A",
        "[missing: chapter-3 — failed: exit code 7]",
        "[missing: d — timed out after 30s]",
        "[missing: e — cancelled]",
        "F",
    ]


def test_nothing_to_concatenate_is_none() -> None:
    assert combine(CONCAT, [bad("a"), bad("b")], flag_missing=False) is None
    assert combine(CONCAT, [], flag_missing=True) is None


# --- concatenate: JSON ---------------------------------------------------------------------


def test_json_results_become_an_array_in_order() -> None:
    reports = [ok("a", {"n": 1}), ok("b", [1, 2]), ok("c", 3), ok("d", None)]
    assert combine(CONCAT, reports, flag_missing=False) == [{"n": 1}, [1, 2], 3, None]


def test_mixed_text_and_json_results_become_an_array() -> None:
    merged = combine(CONCAT, [ok("a", "text\n"), ok("b", {"n": 1})], flag_missing=False)
    assert merged == ["text\n", {"n": 1}]


def test_flagged_json_keeps_a_placeholder_object() -> None:
    reports = [ok("a", {"n": 1}), bad("b", S.TIMED_OUT, "timed out after 2s"), ok("c", {"n": 3})]
    assert combine(CONCAT, reports, flag_missing=True) == [
        {"n": 1},
        {"missing": "b", "status": "timed_out", "error": "timed out after 2s"},
        {"n": 3},
    ]
    assert combine(CONCAT, reports, flag_missing=False) == [{"n": 1}, {"n": 3}]


# --- key merge -----------------------------------------------------------------------------


def test_key_merge_unions_records_in_order_of_first_appearance() -> None:
    reports = [
        ok("a", {"doc": "intro", "summary": "S"}),
        ok("b", [{"doc": "ch2", "words": 10}, {"doc": "intro", "words": 5}]),
        ok("c", {"doc": "ch1", "summary": "C1"}),
    ]
    merged = combine(keyed(), reports, flag_missing=False)
    assert merged == {
        "intro": {"doc": "intro", "summary": "S", "words": 5},
        "ch2": {"doc": "ch2", "words": 10},
        "ch1": {"doc": "ch1", "summary": "C1"},
    }
    assert list(merged) == ["intro", "ch2", "ch1"]


def test_key_merge_ignores_branches_that_did_not_succeed_and_adds_no_placeholder() -> None:
    reports = [ok("a", {"doc": "x", "v": 1}), bad("b", error="exit code 1")]
    assert combine(keyed(), reports, flag_missing=True) == {"x": {"doc": "x", "v": 1}}


def test_equal_values_are_no_conflict() -> None:
    reports = [ok("a", {"doc": "x", "v": {"k": [1]}}), ok("b", {"doc": "x", "v": {"k": [1]}})]
    assert combine(keyed(), reports, flag_missing=False) == {"x": {"doc": "x", "v": {"k": [1]}}}


CONFLICTING = [
    ok("a", {"doc": "x", "v": 1}),
    ok("b", {"doc": "x", "v": 2}),
    ok("c", {"doc": "x", "v": 1}),
]


def test_conflict_error_names_both_branches_the_key_and_the_field() -> None:
    with pytest.raises(MergeError) as caught:
        combine(keyed(), CONFLICTING, flag_missing=False)
    message = str(caught.value)
    assert message == "branches 'a' and 'b' disagree on field 'v' of doc 'x': 1 vs 2"


@pytest.mark.parametrize(
    ("rule", "value"),
    [(ConflictRule.FIRST, 1), (ConflictRule.LAST, 1), (ConflictRule.COLLECT, [1, 2])],
)
def test_conflict_rules(rule: ConflictRule, value: Any) -> None:
    assert combine(keyed(rule), CONFLICTING, flag_missing=False) == {"x": {"doc": "x", "v": value}}


def test_last_keeps_the_last_value_given() -> None:
    merged = combine(keyed(ConflictRule.LAST), CONFLICTING[:2], flag_missing=False)
    assert merged == {"x": {"doc": "x", "v": 2}}


def test_collect_keeps_a_single_value_plain_even_when_it_is_a_list() -> None:
    reports = [ok("a", {"doc": "x", "tags": ["t"]}), ok("b", {"doc": "x", "tags": ["t"]})]
    merged = combine(keyed(ConflictRule.COLLECT), reports, flag_missing=False)
    assert merged == {"x": {"doc": "x", "tags": ["t"]}}


def test_numbers_as_keys_become_their_json_text() -> None:
    reports = [ok("a", [{"id": 1, "v": "a"}, {"id": 2.5}]), ok("b", {"id": 1, "w": "b"})]
    merged = combine(keyed(key="id"), reports, flag_missing=False)
    assert merged == {"1": {"id": 1, "v": "a", "w": "b"}, "2.5": {"id": 2.5}}
    assert json.loads(render_merged(merged)) == merged


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ("plain text", "branch 'b' gave a string, but the key merge needs an object"),
        ([{"doc": "y"}, 3], "branch 'b' gave a number, but the key merge needs an object"),
        ({"title": "no key"}, "branch 'b' gave an object without the key field 'doc'"),
        (
            {"doc": None},
            "branch 'b' gave the key field 'doc' null; it must be a string or a number",
        ),
        ({"doc": ["x"]}, "branch 'b' gave the key field 'doc' a list"),
        ({"doc": True}, "branch 'b' gave the key field 'doc' a boolean"),
    ],
)
def test_results_of_the_wrong_shape_are_merge_errors(result: Any, message: str) -> None:
    with pytest.raises(MergeError, match=message.replace("(", r"\(")):
        combine(keyed(), [ok("a", {"doc": "x"}), ok("b", result)], flag_missing=False)


def test_key_merge_without_a_key_is_a_merge_error() -> None:
    with pytest.raises(MergeError, match="needs a key field"):
        combine(MergePlan(strategy=MergeStrategy.KEY), [ok("a", {"doc": "x"})], flag_missing=False)


def test_synthesis_is_not_combined_here() -> None:
    with pytest.raises(ValueError, match="synthesis"):
        combine(MergePlan(strategy=MergeStrategy.SYNTHESIS), [], flag_missing=False)


# --- rendering -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("merged", "text"),
    [
        ("a\nb", "a\nb\n"),
        ("a\n", "a\n"),
        ("", ""),
        ({"é": [1, 2]}, '{\n  "é": [\n    1,\n    2\n  ]\n}\n'),
        (None, "null\n"),
        ([], "[]\n"),
    ],
)
def test_render_merged(merged: Any, text: str) -> None:
    assert render_merged(merged) == text
