"""Resource limits: the global cap, named concurrency, rates, pauses, fairness, no deadlock."""

from __future__ import annotations

import random

import anyio
import pytest

from fanout_tui.engine import _open_files as open_files
from fanout_tui.engine._events import BranchStatus
from fanout_tui.engine._limit import GLOBAL_CAP, Wait
from fanout_tui.engine._resources import ResourcePool
from fanout_tui.engine.testing import FakeClock, ScriptedExecutor, fail, hang, ok
from fanout_tui.spec._plan import Rate, ResourceLimit

from .conftest import branch, make_plan, retries, rig

pytestmark = pytest.mark.anyio


def limits(**spec: int) -> dict[str, ResourceLimit]:
    return {name: ResourceLimit(name, concurrency=n) for name, n in spec.items()}


async def test_a_free_pool_grants_at_once_and_counts_holders() -> None:
    pool = ResourcePool(limits(db=2), concurrency=3, clock=FakeClock())
    told: list[Wait] = []
    lease = await pool.acquire(["db", "undeclared"], on_wait=told.append)
    assert (pool.in_use("db"), pool.in_use(GLOBAL_CAP), told) == (1, 1, [])
    lease.release()
    lease.release()  # twice is harmless
    assert (pool.in_use("db"), pool.in_use(GLOBAL_CAP)) == (0, 0)


async def test_waiters_on_one_resource_are_served_first_come_first_served() -> None:
    clock = FakeClock()
    pool = ResourcePool(limits(db=1), concurrency=None, clock=clock)
    order: list[str] = []
    first = await pool.acquire(["db"], on_wait=lambda _: None)

    async def take(name: str) -> None:
        with await pool.acquire(["db"], on_wait=lambda _: None):
            order.append(name)
            await clock.sleep(1)

    async with clock.autojump(), anyio.create_task_group() as tg:
        for name in "bcde":
            tg.start_soon(take, name)
            await clock.sleep(0.1)
        first.release()
    assert order == ["b", "c", "d", "e"]


async def test_a_later_waiter_never_overtakes_an_earlier_one_on_a_shared_resource() -> None:
    clock = FakeClock()
    pool = ResourcePool(limits(x=1, y=1), concurrency=None, clock=clock)
    holds_x = await pool.acquire(["x"], on_wait=lambda _: None)
    granted: list[str] = []
    told: dict[str, list[Wait]] = {"b": [], "c": [], "d": []}

    async def take(name: str, uses: list[str], hold: float) -> None:
        with await pool.acquire(uses, on_wait=told[name].append):
            granted.append(name)
            await clock.sleep(hold)

    async with clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(take, "b", ["x", "y"], 1.0)  # lacks x
        await clock.sleep(0.1)
        tg.start_soon(take, "c", ["y"], 5.0)  # y is free and not reserved: may go first
        await clock.sleep(0.1)
        holds_x.release()  # b now lacks y (held by c): y is reserved for b
        tg.start_soon(take, "d", ["y"], 1.0)  # must queue behind b on y
        await clock.sleep(0.1)
    assert granted == ["c", "b", "d"]
    assert told["b"] == [Wait("x"), Wait("y")]
    assert told["d"] == [Wait("y")]


@pytest.mark.parametrize("granted_first", [False, True])
async def test_a_cancelled_waiter_leaves_the_queue_and_holds_nothing(granted_first: bool) -> None:
    clock = FakeClock()
    pool = ResourcePool(limits(db=1), concurrency=None, clock=clock)
    held = await pool.acquire(["db"], on_wait=lambda _: None)
    got: list[str] = []
    doomed = anyio.CancelScope()

    async def take(name: str) -> None:
        with await pool.acquire(["db"], on_wait=lambda _: None):
            got.append(name)
            await clock.sleep(1)

    async def take_doomed() -> None:
        with doomed:
            await take("doomed")

    async with clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(take_doomed)
        await clock.sleep(0.1)
        tg.start_soon(take, "next")
        await clock.sleep(0.1)
        if granted_first:  # granted, then cancelled before it could run: it gives it back
            held.release()
            doomed.cancel()
        else:
            doomed.cancel()
            await clock.sleep(0.1)
            held.release()
    assert got == ["next"]
    assert pool.in_use("db") == 0


async def test_a_rate_lets_its_count_start_per_window_and_no_more() -> None:
    plan = make_plan(
        *[branch(f"b{i}", uses=("api",)) for i in range(6)],
        resources={"api": ResourceLimit("api", rate=Rate(2, 1.0))},
    )
    r = rig(plan)
    async with r.clock.autojump():
        await r.engine.run()
    starts = [c.started for c in r.executor.calls]
    # two per second, the window widened by its 100 ms margin for the way to the server
    assert starts == pytest.approx([0.0, 0.0, 1.1, 1.1, 2.2, 2.2])
    waiting = [c for c in r.recorder.changes("b5") if c.status is BranchStatus.WAITING]
    assert waiting[0].waiting_on == "api"


async def test_a_per_minute_rate_with_concurrency_holds_both() -> None:
    plan = make_plan(
        *[branch(f"b{i}", uses=("api",)) for i in range(5)],
        resources={"api": ResourceLimit("api", concurrency=2, rate=Rate(3, 60.0))},
    )
    r = rig(plan, ScriptedExecutor(default=ok(duration=1)))
    async with r.clock.autojump():
        await r.engine.run()
    starts = [c.started for c in r.executor.calls]
    # three in the first minute (two at once, the third when a slot frees), then the
    # window (60 s and its 1 s margin) lets the next start when the first start leaves it
    assert starts == pytest.approx([0.0, 0.0, 1.0, 61.0, 61.0])
    assert max(len(c.alongside) for c in r.executor.calls) <= 2


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_limits_are_never_exceeded_and_overlapping_sets_never_deadlock(seed: int) -> None:
    rng = random.Random(seed)
    caps = {"a": 1, "b": 2, "c": 1}
    sets = [("a", "b"), ("b", "c"), ("c", "a"), ("a", "b", "c"), ("b",), ()]
    branches = [branch(f"x{i}", uses=rng.choice(sets)) for i in range(40)]
    script = {b.id: [ok(duration=rng.choice([0.5, 1.0, 2.0, 3.0]))] for b in branches}
    plan = make_plan(*branches, concurrency=3, resources=limits(**caps))
    r = rig(plan, ScriptedExecutor(script))
    async with r.clock.autojump():
        with anyio.fail_after(10):
            outcome = await r.engine.run()
    assert all(b.status is BranchStatus.SUCCEEDED for b in outcome.branches)
    uses = {b.id: set(b.uses) for b in branches}
    for call in r.executor.calls:
        assert len(call.alongside) <= 3
        for name, cap in caps.items():
            assert sum(name in uses[other] for other in call.alongside) <= cap
    assert r.executor.max_overlap() == 3


async def test_a_waiting_branch_says_what_it_waits_on_as_that_changes() -> None:
    plan = make_plan(
        branch("holder", uses=("db",)),
        "other",
        branch("late", uses=("db",)),
        concurrency=2,
        resources=limits(db=1),
    )
    script = ScriptedExecutor({"holder": [ok(duration=1)], "other": [ok(duration=5)]})
    r = rig(plan, script)
    async with r.clock.autojump():
        await r.engine.run()
    waits = [c.waiting_on for c in r.recorder.changes("late") if c.status is BranchStatus.WAITING]
    assert waits == ["db"]
    assert [c.started for c in r.executor.calls] == [0.0, 0.0, 1.0]


async def test_backoff_gives_the_resources_back() -> None:
    plan = make_plan(branch("flaky", retry=retries(2, backoff=10)), "next", concurrency=1)
    r = rig(plan, ScriptedExecutor({"flaky": [fail(duration=1), ok()], "next": [ok(duration=2)]}))
    async with r.clock.autojump():
        await r.engine.run()
    assert [(c.branch_id, c.started) for c in r.executor.calls] == [
        ("flaky", 0.0),
        ("next", 1.0),
        ("flaky", 11.0),
    ]


async def test_cancel_releases_what_a_running_branch_held() -> None:
    plan = make_plan("a", "b", concurrency=1)
    r = rig(plan, ScriptedExecutor({"a": [hang()], "b": [ok()]}))

    def cancel_a_when_b_waits(event: object) -> None:
        if getattr(event, "waiting_on", None) == "concurrency":
            r.engine.cancel("a")

    r.engine.add_listener(cancel_a_when_b_waits)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [b.status for b in outcome.branches] == [BranchStatus.CANCELLED, BranchStatus.SUCCEEDED]


async def test_cancelling_a_branch_that_waits_for_a_token_lets_the_next_one_have_it() -> None:
    plan = make_plan(
        *[branch(name, uses=("api",)) for name in ("first", "doomed", "next")],
        resources={"api": ResourceLimit("api", rate=Rate(1, 10.0))},
    )
    r = rig(plan)

    def cancel_doomed_when_it_waits(event: object) -> None:
        if getattr(event, "branch_id", None) == "doomed" and getattr(event, "waiting_on", None):
            r.engine.cancel("doomed")

    r.engine.add_listener(cancel_doomed_when_it_waits)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [b.status for b in outcome.branches] == [
        BranchStatus.SUCCEEDED,
        BranchStatus.CANCELLED,
        BranchStatus.SUCCEEDED,
    ]
    assert [(c.branch_id, c.started) for c in r.executor.calls] == [
        ("first", 0.0),
        ("next", pytest.approx(10.2)),
    ]


@pytest.mark.parametrize(("concurrency", "overlap"), [(None, 3), (2, 2), (5, 3)])
async def test_the_open_file_limit_caps_how_many_attempts_run_at_once(
    monkeypatch: pytest.MonkeyPatch, concurrency: int | None, overlap: int
) -> None:
    room = open_files.RESERVED_FILES + 3 * open_files.FILES_PER_ATTEMPT  # three attempts
    monkeypatch.setattr(open_files, "_raise_soft_limit", lambda wanted: min(wanted, room))
    plan = make_plan(*(f"b{i}" for i in range(8)), concurrency=concurrency)
    r = rig(plan, ScriptedExecutor(default=ok(duration=1)))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert all(b.status is BranchStatus.SUCCEEDED for b in outcome.branches)
    assert r.executor.max_overlap() == overlap
