"""Display lines: split incrementally, capped, carriage returns rewinding like a terminal."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from fanout_tui.engine._lines import LineSplitter, printable


def _split(pieces: list[str], cap: int = 64 * 1024) -> list[str]:
    splitter = LineSplitter(cap)
    lines: list[str] = []
    for piece in pieces:
        lines.extend(splitter.feed(piece))
    return lines + splitter.flush()


def test_lines_complete_across_pieces_and_the_last_one_comes_at_the_end() -> None:
    splitter = LineSplitter()
    assert splitter.feed("one\ntw") == ["one"]
    assert splitter.feed("o\nthree") == ["two"]
    assert splitter.flush() == ["three"]
    assert splitter.flush() == []


def test_crlf_line_endings_lose_their_carriage_return_even_when_split() -> None:
    assert _split(["a\r", "\nb\r\n"]) == ["a", "b"]


def test_carriage_return_keeps_only_the_last_state_of_a_progress_line() -> None:
    assert _split(["10%\r20%\r", "30%\r", "done\n", "next\n"]) == ["done", "next"]
    assert _split(["[##  ]\r[### ]\r[####]\r\n"]) == ["[####]"]


def test_an_unfinished_progress_line_does_not_grow() -> None:
    splitter = LineSplitter(cap=10)
    for n in range(1000):
        assert splitter.feed(f"\r{n:04d}") == []
    assert splitter.flush() == ["0999"]


def test_a_long_line_is_capped_with_a_marker_counting_what_was_dropped() -> None:
    lines = _split(["x" * 7, "y" * 8, "\nshort\n"], cap=10)
    assert lines == ["xxxxxxxyyy … [5 more characters dropped]", "short"]


def test_the_fast_path_also_caps_lines_longer_than_the_cap() -> None:
    lines = _split(["a\n" + "b" * 30 + "\nc\n"], cap=10)
    assert lines == ["a", "b" * 10 + " … [20 more characters dropped]", "c"]


@given(
    text=st.text(alphabet=st.sampled_from("ab\n"), max_size=200),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10),
)
def test_plain_text_cut_anywhere_splits_like_str_split(text: str, cuts: list[int]) -> None:
    bounds = [0, *sorted(min(cut, len(text)) for cut in cuts), len(text)]
    pieces = [text[start:end] for start, end in itertools.pairwise(bounds)]
    expected = text.split("\n")
    if expected[-1] == "":
        expected.pop()
    assert _split(pieces) == expected


def test_printable_keeps_plain_text_and_drops_escapes_and_controls() -> None:
    assert printable("plain text é") == "plain text é"
    assert printable("\x1b[31mred\x1b[0m\tend\r") == "red    end"
    assert printable("\x1b]0;title\x07a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x9bb") == "alinkb"
