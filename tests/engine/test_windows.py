"""The sliding windows behind rates and token budgets, and their promise under any arrivals."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanout_tui.engine._resources import ResourcePool
from fanout_tui.engine._windows import StartWindow, TokenWindow, server_margin, window_shape
from fanout_tui.engine.testing import FakeClock
from fanout_tui.spec._plan import Rate, ResourceLimit


def most_in_any_window(starts: list[float], period: float) -> int:
    """The largest number of ``starts`` inside one window ``[t, t + period]``."""
    ordered = sorted(starts)
    best = 0
    first = 0
    for last, at in enumerate(ordered):
        while at - ordered[first] > period:
            first += 1
        best = max(best, last - first + 1)
    return best


def test_a_full_window_opens_when_its_oldest_start_leaves() -> None:
    window = StartWindow(Rate(2, 10.0))
    assert window.period == pytest.approx(10.2)
    window.take(0.0)
    window.take(3.0)
    assert window.free_at(3.0) == pytest.approx(10.2)
    assert window.used(10.0) == 2
    assert window.free_at(10.2) == pytest.approx(10.2)
    assert window.used(10.2) == 1


def test_burst_adds_starts_to_a_window_not_a_second_window() -> None:
    window = StartWindow(Rate(3, 60.0), burst=2)
    for _ in range(5):
        assert window.free_at(0.0) == 0.0
        window.take(0.0)
    assert window.free_at(0.0) == pytest.approx(61.0)


@pytest.mark.parametrize(
    ("rate", "shape"),
    [(Rate(30, 60), (30, 60.0)), (Rate(0.5, 1), (1, 2.0)), (Rate(2.5, 1), (2, 0.8))],
)
def test_fractional_rates_become_whole_counts_per_period(
    rate: Rate, shape: tuple[int, float]
) -> None:
    count, period = window_shape(rate)
    assert (count, period) == (shape[0], pytest.approx(shape[1]))


def test_the_margin_is_a_small_share_of_the_period_within_bounds() -> None:
    assert server_margin(1.0) == pytest.approx(0.1)
    assert server_margin(60.0) == pytest.approx(1.0)
    assert server_margin(3600.0) == pytest.approx(1.0)


def test_a_token_budget_counts_estimates_then_what_was_reported() -> None:
    tokens = TokenWindow(Rate(1000, 60.0))
    spend = tokens.take(0.0, 800)
    assert tokens.free_at(0.0, 300) == pytest.approx(61.0)
    TokenWindow.correct(spend, 500)
    assert tokens.free_at(0.0, 300) == 0.0
    assert tokens.left(0.0) == 500
    tokens.take(0.0, 500)
    # spent out: even an attempt without an estimate waits for the window to move on
    assert tokens.free_at(1.0, 0) == pytest.approx(61.0)
    assert tokens.left(61.0) == 1000


def test_an_estimate_larger_than_the_budget_waits_for_an_empty_window() -> None:
    tokens = TokenWindow(Rate(100, 10.0))
    tokens.take(0.0, 10)
    assert tokens.free_at(0.0, 500) == pytest.approx(10.2)


arrivals = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=30, allow_nan=False),  # when it asks
        st.floats(min_value=0, max_value=5, allow_nan=False),  # how long it holds
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrivals=arrivals,
    count=st.integers(min_value=1, max_value=6),
    period=st.sampled_from([0.5, 1.0, 7.0, 60.0]),
    burst=st.integers(min_value=0, max_value=3),
    concurrency=st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
)
def test_no_window_of_the_period_ever_holds_more_than_the_rate_allows(
    arrivals: list[tuple[float, float]],
    count: int,
    period: float,
    burst: int,
    concurrency: int | None,
) -> None:
    limit = ResourceLimit("api", concurrency=concurrency, rate=Rate(count, period), burst=burst)
    starts: list[float] = []
    most_held = 0

    async def scenario() -> None:
        nonlocal most_held
        clock = FakeClock()
        pool = ResourcePool({"api": limit}, concurrency=None, clock=clock)

        async def attempt(at: float, hold: float) -> None:
            nonlocal most_held
            await clock.sleep(at)
            with await pool.acquire(["api"], on_wait=lambda _: None):
                starts.append(clock.now())
                most_held = max(most_held, pool.in_use("api"))
                await clock.sleep(hold)

        async with clock.autojump(), anyio.create_task_group() as tg:
            tg.start_soon(pool.run_timer)
            async with anyio.create_task_group() as attempts:
                for at, hold in arrivals:
                    attempts.start_soon(attempt, at, hold)
            tg.cancel_scope.cancel()

    anyio.run(scenario)
    assert len(starts) == len(arrivals)
    assert most_in_any_window(starts, period) <= count + burst
    if concurrency is not None:
        assert most_held <= concurrency


def test_a_pause_holds_every_start_until_it_ends_and_says_who_paused_it() -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        pool = ResourcePool({"api": ResourceLimit("api", concurrency=4)}, None, clock)
        starts: list[float] = []

        async def attempt() -> None:
            with await pool.acquire(["api"], on_wait=lambda _: None):
                starts.append(clock.now())

        async with clock.autojump(), anyio.create_task_group() as tg:
            tg.start_soon(pool.run_timer)
            assert pool.pause(["api", "other"], 12.0, by="doc07") == ("api",)
            assert pool.pause(["api"], 5.0, by="doc08") == ()  # a shorter pause changes nothing
            view = pool.view("api")
            assert (view.paused_until, view.paused_by) == (12.0, "doc07")
            async with anyio.create_task_group() as attempts:
                for _ in range(3):
                    attempts.start_soon(attempt)
            assert pool.view("api").paused_until is None
            tg.cancel_scope.cancel()
        return starts

    assert anyio.run(scenario) == [12.0, 12.0, 12.0]


def test_adaptive_concurrency_halves_on_a_pause_and_grows_back_on_successes() -> None:
    pool = ResourcePool(
        {"api": ResourceLimit("api", concurrency=8, adaptive=True)}, None, FakeClock()
    )
    pool.rate_limited(["api"])
    pool.rate_limited(["api"])
    assert pool.view("api").concurrency == 2
    for _ in range(2):
        pool.succeeded(["api"])
    assert pool.view("api").concurrency == 3
    for _ in range(3 + 4 + 5 + 6 + 7):
        pool.succeeded(["api"])
    view = pool.view("api")
    assert (view.concurrency, view.declared_concurrency) == (8, 8)
    for _ in range(20):
        pool.succeeded(["api"])
    assert pool.view("api").concurrency == 8  # never above what was declared
