"""The open-file limit: raised as far as allowed, and turned into a number of attempts."""

from __future__ import annotations

import resource

import pytest

from fanout_tui.engine import open_files
from fanout_tui.engine.open_files import (
    FILES_PER_ATTEMPT,
    RESERVED_FILES,
    attempt_capacity,
    capped_concurrency,
)


class FakeLimits:
    """Stands in for ``getrlimit``/``setrlimit`` on RLIMIT_NOFILE."""

    def __init__(self, soft: int, hard: int, *, refuse: bool = False) -> None:
        self.soft, self.hard, self.refuse = soft, hard, refuse

    def getrlimit(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.soft, self.hard

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        assert which == resource.RLIMIT_NOFILE
        if self.refuse:
            raise ValueError("not allowed")
        self.soft, self.hard = limits


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> FakeLimits:
    fake = FakeLimits(1024, 4096)
    monkeypatch.setattr(open_files.resource, "getrlimit", fake.getrlimit)
    monkeypatch.setattr(open_files.resource, "setrlimit", fake.setrlimit)
    attempt_capacity.cache_clear()
    yield fake
    attempt_capacity.cache_clear()


def test_the_soft_limit_is_raised_to_the_hard_one(limits: FakeLimits) -> None:
    assert attempt_capacity() == (4096 - RESERVED_FILES) // FILES_PER_ATTEMPT
    assert (limits.soft, limits.hard) == (4096, 4096)


def test_a_refused_raise_keeps_the_soft_limit(limits: FakeLimits) -> None:
    limits.refuse = True
    assert attempt_capacity() == (1024 - RESERVED_FILES) // FILES_PER_ATTEMPT
    assert limits.soft == 1024


def test_an_unlimited_hard_limit_raises_to_a_ceiling(limits: FakeLimits) -> None:
    limits.hard = resource.RLIM_INFINITY
    attempt_capacity()
    assert limits.soft == 1 << 20


def test_a_tiny_limit_still_runs_one_attempt_at_a_time(limits: FakeLimits) -> None:
    limits.soft = limits.hard = 20
    assert attempt_capacity() == 1


@pytest.mark.parametrize(
    ("concurrency", "branches", "expected"),
    [
        (None, 100, None),  # every branch fits: no cap
        (None, 500, 154),  # more than fit: capped
        (8, 500, 8),  # the spec's own cap is lower
        (300, 500, 154),  # the spec's cap would exhaust the limit
    ],
)
def test_the_cap_is_lowered_only_when_the_branches_could_exceed_the_limit(
    limits: FakeLimits, concurrency: int | None, branches: int, expected: int | None
) -> None:
    limits.refuse = True  # stays at 1024: 154 attempts
    assert capped_concurrency(concurrency, branches) == expected
