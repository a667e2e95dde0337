"""Large merged results are built and written without copies of the whole (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fanout_tui.engine import _merge
from fanout_tui.engine._merge import merged_pieces, render_merged
from fanout_tui.journal._values import dump_value, load_value
from fanout_tui.spec import Masker


def _expected(results: list[str], separator: str) -> str:
    def strip(text: str) -> str:
        if text.endswith("\r\n"):
            return text[:-2]
        return text[:-1] if text.endswith("\n") else text

    return separator.join(strip(text) for text in results)


@pytest.mark.parametrize("separator", ["\n", "\n\n", "\n---\n", "", " | ", "\r\n"])
def test_joined_is_exact_for_every_ending(separator: str) -> None:
    results = ["a\n", "b\r\n", "c", "", "\n", "d\n\n", "e\n"]
    assert _merge._joined(list(results), separator) == _expected(results, separator)


def test_joined_takes_results_that_end_in_the_separator_whole() -> None:
    big = "x" * 1000 + "\n"
    parts = _merge._joined([big, big], "\n")
    assert parts == big + big[:-1]


@pytest.mark.parametrize("merged", ["", "one", "a\nb\n", "é" * 5000, ["x", {"k": 1}]])
def test_merged_pieces_join_into_the_rendered_result(
    merged: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_merge, "PIECE_CHARS", 7)
    pieces = list(merged_pieces(merged))
    assert "".join(pieces) == render_merged(merged)
    assert all(len(piece) <= 7 for piece in pieces if isinstance(merged, str))


def test_a_large_text_is_stored_by_pieces_as_exact_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fanout_tui.journal import _values

    monkeypatch.setattr(_values, "PIECE_CHARS", 1000)
    text = ('line "quoted" \\ é \x01 tab\t\n' * 5000) + "hidden-token end"
    masker = Masker({"TOKEN": "hidden-token"})
    inline, file = dump_value(text, masker, root=tmp_path, folder=tmp_path / "r", name="m.json")
    assert inline is None and file is not None
    stored = (tmp_path / file).read_text(encoding="utf-8")
    assert json.loads(stored) == masker.mask_value(text)
    assert "hidden-token" not in stored
    assert load_value(inline, file, root=tmp_path) == masker.mask_value(text)
