"""Reading ``::fanout::`` signal lines, and the helper that writes them."""

from __future__ import annotations

import io

import pytest

from fanout_tui import signals
from fanout_tui.engine import (
    MAX_RETRY_AFTER_S,
    BadSignal,
    RateLimited,
    Signal,
    Usage,
    read_signal,
)


def test_ordinary_lines_are_not_signals() -> None:
    assert read_signal("hello ::fanout:: {}") is None
    assert read_signal("") is None


def test_a_rate_limit_and_usage_in_one_line() -> None:
    line = '::fanout:: {"rate_limited": {"retry_after": 12.5}, "usage": {"input_tokens": 9}}'
    assert read_signal(line) == Signal(rate_limited=RateLimited(12.5), usage=Usage(input_tokens=9))


@pytest.mark.parametrize(
    ("after", "taken", "note"),
    [
        (-5, 0.0, "negative retry_after -5s taken as 0s"),
        ("NaN", MAX_RETRY_AFTER_S, "retry_after NaN taken as 600s"),
        ("Infinity", MAX_RETRY_AFTER_S, "retry_after infs cut to 600s"),
        (31_536_000, MAX_RETRY_AFTER_S, "retry_after 3.1536e+07s cut to 600s"),
    ],
)
def test_an_absurd_retry_after_is_clamped_with_a_note(
    after: object, taken: float, note: str
) -> None:
    signal = read_signal(f'::fanout:: {{"rate_limited": {{"retry_after": {after}}}}}')
    assert isinstance(signal, Signal) and signal.rate_limited is not None
    assert (signal.rate_limited.retry_after_s, signal.rate_limited.note) == (taken, note)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("::fanout:: {not json", "not JSON"),
        ("::fanout:: [1]", "JSON object"),
        ('::fanout:: {"progress": 3}', "unknown signal 'progress'"),
        ('::fanout:: {"usage": {"input_tokens": -1}}', "0 or more"),
        ('::fanout:: {"usage": {"tokens": 5}}', "usage takes"),
        ('::fanout:: {"rate_limited": {"retry_after": "soon"}}', "number of seconds"),
    ],
)
def test_malformed_signals_say_what_is_wrong(line: str, why: str) -> None:
    signal = read_signal(line)
    assert isinstance(signal, BadSignal)
    assert why in signal.why


def test_the_helper_writes_lines_the_reader_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    signals.rate_limited(retry_after=3)
    signals.rate_limited()
    signals.usage(input_tokens=900, output_tokens=120, cost_usd=0.0021)
    read = [read_signal(line) for line in err.getvalue().splitlines()]
    assert read == [
        Signal(rate_limited=RateLimited(3.0)),
        Signal(rate_limited=RateLimited(None)),
        Signal(usage=Usage(900, 120, 0.0021)),
    ]


def test_usage_adds_up_and_reads_in_few_words() -> None:
    total = Usage(900, 120, 0.0021) + Usage(100, 0, 0.0)
    assert total == Usage(1000, 120, 0.0021)
    assert total.describe() == "1,120 tokens · $0.0021"
    assert total.as_dict() == {"input_tokens": 1000, "output_tokens": 120, "cost_usd": 0.0021}
