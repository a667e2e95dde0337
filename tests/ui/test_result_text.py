"""How results read on the dashboard: panel previews and the log screen's result section."""

from __future__ import annotations

from fanout_tui.engine._events import BranchStateChanged, ReusedResult
from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.ui.log_document import branch_log
from fanout_tui.ui.model import RunModel
from fanout_tui.ui.result_text import PREVIEW_LINES, preview_lines, result_text
from tests.ui.fakes import ended, make_plan, started, state


def test_a_preview_encodes_only_the_head_of_a_large_result() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    # Encoding all of it would fail at the end; a preview never gets that far.
    huge = [*range(100_000), cycle]
    assert preview_lines(huge) == ("[", *(f"  {i}," for i in range(PREVIEW_LINES - 1)))
    assert preview_lines("one\ntwo") == ("one", "two")


def test_a_result_that_is_no_json_shows_as_its_repr() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    assert result_text(cycle) == "[[...]]"
    assert result_text({(1, 2): "tuple key"}) == "{(1, 2): 'tuple key'}"
    assert preview_lines({(1, 2): "x"}) == ("{(1, 2): 'x'}",)


def _log_of_reused(result: object) -> list[str]:
    model = RunModel(make_plan(["a"]))
    earlier = ReusedResult(result, attempts=1, duration_s=None, run_id="d34020ff3f7b")
    model.apply([BranchStateChanged("a", S.SUCCEEDED, 1, 1, 0.0, reused_from=earlier)])
    return [text for text, _ in branch_log(model.by_id["a"])]


def test_the_log_shows_every_success_result_even_none_or_empty() -> None:
    assert _log_of_reused(None) == [
        "(reused from run d34020ff3f7b · 1 attempt)",
        "── result ──",
        "null",
    ]
    assert _log_of_reused("")[1:] == ["── result ──", "(empty)"]
    model = RunModel(make_plan(["a", "b"]))
    model.apply(
        [
            state("a", S.RUNNING),
            started("a"),
            ended("a", S.SUCCEEDED, result=None),
            state("a", S.SUCCEEDED),
            state("b", S.RUNNING),
            started("b"),
        ]
    )
    assert branch_log(model.by_id["a"])[-2:] == [("── result ──", "heading"), ("null", "result")]
    assert "── result ──" not in [text for text, _ in branch_log(model.by_id["b"])]
