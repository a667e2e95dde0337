"""The open-file limit: raised as far as a run needs and may, then a cap on attempts."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from fanout_tui.engine import _open_files as open_files
from fanout_tui.engine._open_files import FILES_PER_ATTEMPT, RESERVED_FILES, capped_concurrency


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
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLimits]:
    fake = FakeLimits(1024, 4096)
    monkeypatch.setattr(open_files.resource, "getrlimit", fake.getrlimit)
    monkeypatch.setattr(open_files.resource, "setrlimit", fake.setrlimit)
    yield fake


def needed(attempts: int) -> int:
    return RESERVED_FILES + FILES_PER_ATTEMPT * attempts


def test_a_run_that_fits_leaves_the_limit_alone(limits: FakeLimits) -> None:
    assert capped_concurrency(None, 100) is None
    assert (limits.soft, limits.hard) == (1024, 4096)


def test_the_soft_limit_is_raised_only_as_far_as_the_run_needs(limits: FakeLimits) -> None:
    assert capped_concurrency(None, 500) is None
    assert limits.soft == needed(500)
    assert capped_concurrency(300, 2000) == 300  # the spec's cap bounds what is needed
    assert limits.soft == needed(500)  # never lowered


def test_past_the_hard_limit_the_attempts_are_capped(limits: FakeLimits) -> None:
    assert capped_concurrency(None, 5000) == (4096 - RESERVED_FILES) // FILES_PER_ATTEMPT
    assert limits.soft == 4096


def test_a_refused_raise_caps_by_the_soft_limit(limits: FakeLimits) -> None:
    limits.refuse = True
    assert capped_concurrency(None, 500) == (1024 - RESERVED_FILES) // FILES_PER_ATTEMPT
    assert capped_concurrency(8, 500) == 8  # the spec's own cap is lower
    assert limits.soft == 1024


def test_an_unlimited_hard_limit_raises_to_what_is_needed(limits: FakeLimits) -> None:
    limits.hard = resource.RLIM_INFINITY
    assert capped_concurrency(None, 3000) is None
    assert limits.soft == needed(3000)


def test_a_tiny_limit_still_runs_one_attempt_at_a_time(limits: FakeLimits) -> None:
    limits.soft = limits.hard = 20
    assert capped_concurrency(None, 10) == 1
