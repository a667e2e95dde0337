"""Secret values never get through: in text, in JSON values, and in streams cut anywhere."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from fanout_tui.spec._masking import Masker


def test_every_value_is_replaced() -> None:
    masker = Masker({"TOKEN": "s3cret", "KEY": "abcd"})
    assert masker.mask("token=s3cret key=abcd again s3cret") == "token=*** key=*** again ***"
    assert masker.mask("nothing here") == "nothing here"


def test_empty_and_very_short_values_are_not_hunted_for() -> None:
    masker = Masker({"EMPTY": "", "FLAG": "1", "ABC": "abc"})
    assert masker.mask("1 abc") == "1 abc"
    assert not masker.active


def test_a_secret_containing_another_is_masked_whole() -> None:
    masker = Masker({"SHORT": "abcd", "LONG": "abcdefgh"})
    assert masker.mask("xabcdefghx abcd") == "x***x ***"


def test_without_secrets_text_passes_through_unchanged() -> None:
    masker = Masker({"EMPTY": ""})
    text = "anything"
    assert masker.mask(text) is text
    assert not masker.active


def test_from_environ_reads_the_named_variables() -> None:
    masker = Masker.from_environ(["API_KEY", "UNSET"], {"API_KEY": "k-123", "OTHER": "x"})
    assert masker.mask("k-123 x") == "*** x"


def test_json_values_are_masked_recursively_keys_included() -> None:
    masker = Masker({"T": "hunter2"})
    value = {"user": "bob", "pass": "hunter2", "hunter2": [1, "x hunter2 y", {"n": None}]}
    assert masker.mask_value(value) == {
        "user": "bob",
        "pass": "***",
        "***": [1, "x *** y", {"n": None}],
    }


def test_each_line_of_a_multi_line_secret_is_masked_on_its_own() -> None:
    masker = Masker({"PEM": "-----BEGIN-----\nAAAABBBBCCCC\n-----END-----"})
    assert masker.mask("key: AAAABBBBCCCC") == "key: ***"


def test_a_stream_holds_back_only_what_could_start_a_secret() -> None:
    stream = Masker({"T": "s3cret"}).stream()
    # Five characters (one less than the secret) might start it: they wait for more text.
    assert stream.feed("line one\nvalue s3") == "line one\nval"
    assert stream.feed("cret done\nnext") == "ue *** done\n"
    assert stream.flush() == "next"


def test_complete_lines_are_never_held_back() -> None:
    stream = Masker({"T": "a-rather-long-secret-value"}).stream()
    assert stream.feed("progress 10%\n") == "progress 10%\n"


_alphabet = st.sampled_from("ab\nxs3\r")


@given(
    text=st.text(alphabet=_alphabet, max_size=80),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=8),
    secrets=st.lists(
        st.text(alphabet=st.sampled_from("abs3x"), min_size=4, max_size=6), max_size=3
    ),
)
def test_a_stream_cut_anywhere_masks_like_the_whole_text(
    text: str, cuts: list[int], secrets: list[str]
) -> None:
    masker = Masker({f"S{i}": value for i, value in enumerate(secrets)})
    stream = masker.stream()
    bounds = [0, *sorted(min(cut, len(text)) for cut in cuts), len(text)]
    pieces = [stream.feed(text[start:end]) for start, end in itertools.pairwise(bounds)]
    assert "".join(pieces) + stream.flush() == masker.mask(text)
