"""The full log: headings that keep each attempt's own count."""

from __future__ import annotations

from fanout_tui.engine.events import BranchStatus as S
from fanout_tui.engine.events import Event
from fanout_tui.ui.log_document import branch_log
from fanout_tui.ui.model import RunModel
from tests.ui.fakes import ended, make_plan, started, state


def test_an_operator_retry_does_not_renumber_the_earlier_attempts() -> None:
    model = RunModel(make_plan(["flaky"], attempts=2))
    events: list[Event] = []
    for attempt in (1, 2):
        events += [
            state("flaky", S.RUNNING, attempt=attempt, of=2),
            started("flaky", attempt),
            ended("flaky", S.FAILED, attempt, reason="exit code 1", exit_code=1),
        ]
    events.append(state("flaky", S.FAILED, attempt=2, of=2, reason="exit code 1"))
    # The operator's retry: a fresh set of two, numbered on (the engine's "3 of 4").
    events += [
        state("flaky", S.PENDING, attempt=3, of=4),
        state("flaky", S.RUNNING, attempt=3, of=4),
        started("flaky", 3),
    ]
    model.apply(events)
    headings = [text for text, _ in branch_log(model.by_id["flaky"]) if text.startswith("──")]
    assert headings == [
        "── attempt 1 of 2 · failed · exit 1 · 10s ──",
        "── attempt 2 of 2 · failed · exit 1 · 10s ──",
        "── attempt 3 of 4 · retried by the operator · running ──",
    ]
