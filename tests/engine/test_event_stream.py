"""Events as a stream: a subscriber reads at its own pace, and one that falls a whole
buffer behind is dropped instead of stalling the run. Real processes."""

from __future__ import annotations

import anyio
import pytest

from fanout_tui.engine import (
    BranchStateChanged,
    BranchStatus,
    Engine,
    Event,
    EventStreamDropped,
    RunFinished,
)
from fanout_tui.engine._bus import EventBus

from .conftest import Recorder, branch, make_plan

pytestmark = pytest.mark.anyio


def echoing(count: int) -> Engine:
    plan = make_plan(*(branch(f"b{n}", run=f"echo line {n}") for n in range(count)))
    return Engine(plan)


async def test_a_subscriber_that_keeps_up_sees_every_event_in_order() -> None:
    engine = echoing(3)
    recorder = Recorder()
    engine.add_listener(recorder)
    seen: list[Event] = []
    subscription = engine.events(max_buffer=1000)  # subscribed before the first event

    async def follow() -> None:
        async with subscription as events:
            async for event in events:
                seen.append(event)

    async with anyio.create_task_group() as tg:
        tg.start_soon(follow)
        outcome = await engine.run()
    assert seen == recorder.events
    assert isinstance(seen[-1], RunFinished)
    assert [b.status.value for b in outcome.branches] == ["succeeded"] * 3


async def test_a_subscriber_that_never_reads_is_dropped_and_the_run_finishes() -> None:
    engine = echoing(3)
    recorder = Recorder()
    engine.add_listener(recorder)
    stalled = engine.events(max_buffer=2)
    with anyio.fail_after(10):
        outcome = await engine.run()
    assert [b.status.value for b in outcome.branches] == ["succeeded"] * 3
    assert isinstance(recorder.events[-1], RunFinished)
    assert stalled.dropped
    held = [await stalled.receive(), await stalled.receive()]
    assert held == recorder.events[:2]
    with pytest.raises(EventStreamDropped):
        await stalled.receive()


async def test_a_subscriber_that_leaves_is_forgotten() -> None:
    bus = EventBus()
    recorder = Recorder()
    bus.add_listener(recorder)
    async with bus.stream(max_buffer=1) as leaving:
        pass
    stays = bus.stream(max_buffer=5)
    first, second = (BranchStateChanged("a", BranchStatus.PENDING, 0, 1, at=at) for at in (0, 1))
    bus.publish(first)
    bus.publish(second)
    bus.close()
    assert not leaving.dropped
    assert [event async for event in stays] == recorder.events == [first, second]
