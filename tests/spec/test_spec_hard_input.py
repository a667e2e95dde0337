"""Whatever the loader is given, it answers with a SpecError that says what is wrong."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from fanout_tui.spec import SpecError, load_plan, load_plan_text
from fanout_tui.spec._source import _tab_near


def _error_for(path: Path) -> SpecError:
    with pytest.raises(SpecError) as raised:
        load_plan(path)
    report = str(raised.value)
    assert report.startswith(str(path))
    assert "Traceback" not in report
    return raised.value


def _write_bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_bytes(data)
    return path


def test_missing_file(tmp_path: Path) -> None:
    assert str(_error_for(tmp_path / "nope.yaml")) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_a_folder(tmp_path: Path) -> None:
    assert "is a folder, not a spec file" in str(_error_for(tmp_path))


def test_permission_denied_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_bytes(tmp_path, b"version: 1\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    assert "cannot be read: permission denied" in str(_error_for(path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = _write_bytes(tmp_path, b"version: 1\n")
    path.chmod(0)
    assert "permission denied" in str(_error_for(path))


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"# only a comment\n", b"---\n", b"~\n"])
def test_empty_spec(tmp_path: Path, content: bytes) -> None:
    assert "the spec is empty" in str(_error_for(_write_bytes(tmp_path, content)))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"- a\n- b\n", "must be a mapping of fields (version, name, branches, …), not a list"),
        (b"just text\n", "not the value 'just text'"),
        (b"42\n", "not the value 42"),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, content: bytes, fragment: str) -> None:
    error = _error_for(_write_bytes(tmp_path, content))
    assert fragment in str(error)
    assert (error.issues[0].line, error.issues[0].column) == (1, 1)


def test_binary_data(tmp_path: Path) -> None:
    error = _error_for(_write_bytes(tmp_path, b"version: 1\nname: \x00\x01\x02\n"))
    assert "control character U+0000; is it a binary file?" in str(error)
    assert (error.issues[0].line, error.issues[0].column) == (2, 7)


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\u2028"])
def test_a_control_character_is_located_whatever_ends_the_lines(newline: str) -> None:
    with pytest.raises(SpecError) as raised:
        load_plan_text(newline.join(["version: 1", "name: x", "branches: [\x01]"]))
    assert (raised.value.issues[0].line, raised.value.issues[0].column) == (3, 12)


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\u2028"])
def test_invalid_utf8_is_located_whatever_ends_the_lines(tmp_path: Path, newline: str) -> None:
    text = newline.join(["version: 1", "name: café", "branches: [é"]).encode()
    error = _error_for(_write_bytes(tmp_path, text.replace("[é".encode(), b"[\xe9")))
    assert (error.issues[0].line, error.issues[0].column) == (3, 12)


@pytest.mark.parametrize("newline", ["\r", "\n", "\x85", "\u2028", "\u2029"])
def test_a_tab_is_found_on_the_line_yaml_names(newline: str) -> None:
    """YAML counts each of these as a line break: the line the tab is on is YAML's."""
    text = f"# a note{newline}version: 1\nname: x\nbranches:\n\t- id: a\n"
    with pytest.raises(SpecError) as raised:
        load_plan_text(text)
    issue = raised.value.issues[0]
    assert "a tab indents this line" in issue.message
    assert (issue.line, issue.column) == (5, 1)


def test_a_tab_is_looked_for_on_the_line_yaml_names() -> None:
    # A form feed or a vertical tab breaks lines for str.splitlines, not for YAML (which
    # refuses them anyway, as binary: this is only the helper's own line count).
    text = "# a\x0cb\x0bc\nbranches:\n\t- id: a\n"
    assert _tab_near(text, 2, 0) == 0
    assert _tab_near(text, 1, 0) is None


def test_invalid_utf8_is_located(tmp_path: Path) -> None:
    error = _error_for(_write_bytes(tmp_path, b"version: 1\nname: caf\xe9\n"))
    assert "is not UTF-8 text (byte 0xe9)" in str(error)
    assert (error.issues[0].line, error.issues[0].column) == (2, 10)


def test_utf16_is_named(tmp_path: Path) -> None:
    error = _error_for(_write_bytes(tmp_path, "version: 1\n".encode("utf-16")))
    assert "is UTF-16 text; save it as UTF-8" in str(error)


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = _write_bytes(
        tmp_path, "\ufeffversion: 1\nname: bom\nbranches: [{id: a, run: x}]\n".encode()
    )
    assert load_plan(path).name == "bom"


def test_a_huge_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    with path.open("wb") as handle:
        handle.write(b"version: 1\nname: huge\ndescription: '")
        handle.write(b"x" * (50 * 1024 * 1024))
        handle.write(b"'\n")
    started = time.perf_counter()
    error = _error_for(path)
    assert time.perf_counter() - started < 1.0
    assert "is too large to be a spec (more than 1024 KiB)" in str(error)


def test_huge_text_is_refused() -> None:
    with pytest.raises(SpecError, match="too large"):
        load_plan_text("x" * (2 * 1024 * 1024))


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n",
        "".join(" " * depth + "k:\n" for depth in range(1200)),
        "- " * 3000 + "x\n",
    ],
    ids=["flow-lists", "flow-maps", "block-maps", "block-lists"],
)
def test_deep_nesting(text: str) -> None:
    with pytest.raises(SpecError) as raised:
        load_plan_text(text)
    assert "nest" in str(raised.value) or "depth" in str(raised.value)


def test_nesting_beyond_the_cap_but_within_yaml_is_refused() -> None:
    text = "version: 1\nname: n\nbranches: [{id: a, call: 'm:f', with: {x: " + "[" * 80
    text += "]" * 80 + "}}]\n"
    with pytest.raises(SpecError, match="nested more than 64 levels deep"):
        load_plan_text(text)


def test_billion_laughs_is_capped_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [" + ", ".join([previous] * 9) + "]")
    started = time.perf_counter()
    with pytest.raises(SpecError, match="expands to more than"):
        load_plan_text("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 2.0


def test_merge_key_bombs_are_capped_too() -> None:
    lines = ["a0: &a0 {" + ", ".join(f"k{i}: {i}" for i in range(50)) + "}"]
    for level in range(1, 12):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    with pytest.raises(SpecError, match="expands to more than"):
        load_plan_text("\n".join(lines) + "\n")


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(SpecError):
        load_plan_text("a: &x [1, *x]\n")


def test_several_documents_are_refused_with_a_position() -> None:
    with pytest.raises(SpecError) as raised:
        load_plan_text("version: 1\n---\nversion: 1\n", path=Path("two.yaml"))
    issue = raised.value.issues[0]
    assert "expected a single document" in issue.message
    assert (issue.line, str(issue).split(":")[0]) == (2, "two.yaml")


def test_text_without_a_path_is_named_spec() -> None:
    with pytest.raises(SpecError) as raised:
        load_plan_text("version: 1\n")
    assert str(raised.value).splitlines()[:2] == [
        "<spec>: 2 errors",
        "<spec>:1:1: missing required field 'name'",
    ]
