"""Batches merge the changes of their events: however events fall into batches, the rows
end the same."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout_tui.engine._events import (
    AttemptEnded,
    AttemptStarted,
    BranchStateChanged,
    BranchStatus,
    Event,
    MergeState,
    OutputLines,
    PolicyState,
    ProcessStarted,
    ResultsChanged,
)
from fanout_tui.journal._rows import Finish, RowWriter, journaled
from fanout_tui.journal._schema import connect, migrate, transaction
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import BranchPlan, Plan

from .builders import outcome_of

S = BranchStatus
RUN = "run1"


def _life() -> list[Event]:
    """Three branches: one succeeds, one fails then succeeds on retry, one fails."""
    events: list[Event] = []
    for branch in ("a", "b", "c"):
        events.append(BranchStateChanged(branch, S.PENDING, 0, 2, at=0))
        events.append(BranchStateChanged(branch, S.WAITING, 1, 2, at=0, waiting_on="concurrency"))

    def attempt(branch: str, n: int, status: BranchStatus, result: object = None) -> None:
        log = Path(f"/nowhere/{branch}-{n}")
        events.extend(
            [
                BranchStateChanged(branch, S.RUNNING, n, 2, at=n),
                AttemptStarted(branch, n, at=n, fingerprint="f", stdout_log=log),
                ProcessStarted(branch, n, pid=100 + n, pgid=100 + n, start_time=7),
                AttemptEnded(branch, n, status, at=n, duration_s=0.5, exit_code=0, result=result),
            ]
        )

    attempt("a", 1, S.SUCCEEDED, {"a": 1})
    events.append(BranchStateChanged("a", S.SUCCEEDED, 1, 2, at=1))
    attempt("b", 1, S.FAILED)
    events.append(BranchStateChanged("b", S.RETRYING, 1, 2, at=1, reason="exit 1"))
    attempt("b", 2, S.SUCCEEDED, "b!")
    events.append(BranchStateChanged("b", S.SUCCEEDED, 2, 2, at=2))
    events.append(ResultsChanged(MergeState(PolicyState.WAITING, None, ("c",), (), 1)))
    attempt("c", 1, S.FAILED)
    events.append(BranchStateChanged("c", S.FAILED, 1, 1, at=1, reason="exit 1"))
    events.append(ResultsChanged(MergeState(PolicyState.BLOCKED, None, ("c",), ("c",), 0)))
    return events


Rows = dict[str, list[dict[str, object]]]


def _rows_after(tmp_path: Path, batches: list[list[Event | Finish]]) -> Rows:
    database = tmp_path / "j.db"
    database.unlink(missing_ok=True)
    connection = connect(database)
    migrate(connection)
    connection.execute(
        "INSERT INTO runs (id, spec_name, started_at, branch_count) VALUES (?, 'x', 0, 3)", (RUN,)
    )
    connection.executemany(
        "INSERT INTO branches (run_id, id, idx, fingerprint) VALUES (?, ?, ?, 'f')",
        [(RUN, b, i) for i, b in enumerate("abc")],
    )
    writer = RowWriter(
        root=tmp_path,
        run_id=RUN,
        run_dir=tmp_path / "runs" / RUN,
        branch_index={"a": 0, "b": 1, "c": 2},
        with_result=set(),
        masker=Masker({}),
    )
    for batch in batches:
        with transaction(connection):
            writer.write(connection, [(1.0, event) for event in batch])
    connection.row_factory = sqlite3.Row
    rows = {
        table: [dict(row) for row in connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3")]
        for table in ("runs", "branches", "attempts")
    }
    connection.close()
    return rows


def _split(events: list[Event], cuts: set[int]) -> list[list[Event | Finish]]:
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(events)), len(events)]
    return [events[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@settings(max_examples=25, deadline=None)
@given(cuts=st.sets(st.integers(min_value=1, max_value=40)))
def test_any_split_into_batches_gives_the_same_rows(
    tmp_path_factory: pytest.TempPathFactory, cuts: set[int]
) -> None:
    tmp_path = tmp_path_factory.mktemp("rows")
    events = _life()
    one_by_one = _rows_after(tmp_path, [[event] for event in events])
    assert one_by_one["attempts"]
    assert _rows_after(tmp_path, _split(events, cuts)) == one_by_one


def test_the_rows_say_what_happened(tmp_path: Path) -> None:
    rows = _rows_after(tmp_path, [_life()])
    branches = {row["id"]: row for row in rows["branches"]}
    assert [branches[b]["status"] for b in "abc"] == ["succeeded", "succeeded", "failed"]
    assert branches["a"]["result"] == '{"a": 1}'
    assert (branches["b"]["result"], branches["b"]["attempts"]) == ('"b!"', 2)
    assert branches["b"]["reason"] is None
    assert (branches["c"]["result"], branches["c"]["reason"]) == (None, "exit 1")
    assert [(r["branch_id"], r["attempt"], r["status"], r["pid"]) for r in rows["attempts"]] == [
        ("a", 1, "succeeded", 101),
        ("b", 1, "failed", 101),
        ("b", 2, "succeeded", 102),
        ("c", 1, "failed", 101),
    ]
    assert rows["runs"][0]["merge_state"] == "blocked"


def test_the_finish_comes_after_the_events_before_it(tmp_path: Path) -> None:
    plan = Plan(
        name="x", branches=tuple(BranchPlan(id=b, index=i, run="true") for i, b in enumerate("abc"))
    )
    outcome = outcome_of(plan, {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "c": S.FAILED})
    (run,) = _rows_after(tmp_path, [[*_life(), Finish(outcome)]])["runs"]
    assert (run["exit_code"], run["outcome"]) == (1, "failed")
    assert run["ended_at"] is not None


def test_the_events_the_recorder_leaves_out_change_no_row(tmp_path: Path) -> None:
    events = [*_life(), OutputLines("a", 1, "stdout", ("hello",))]
    kept = [event for event in events if journaled(event)]
    assert len(kept) < len(events) - 1  # state changes too, not only the output lines
    assert _rows_after(tmp_path, [kept]) == _rows_after(tmp_path, [events])
