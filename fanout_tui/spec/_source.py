"""Read a spec's YAML into plain values while remembering where each value was written.

PyYAML's composer gives nodes with marks; we walk those nodes ourselves (rather than let
PyYAML construct Python objects) so that every value and every key keeps its line and
column, aliases cannot expand without bound ("billion laughs"), duplicate keys are caught
and nesting depth is capped. libyaml's composer is used when it is installed: it is fast
and refuses deep nesting itself, where the pure-Python one would hit the recursion limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fanout_tui.spec._errors import SpecError, SpecIssue
from fanout_tui.spec._interpolate import MARKER
from fanout_tui.spec._reading import MAX_SPEC_BYTES, TOO_LARGE, position_after, split_lines

MAX_VALUES = 100_000
"""Most values a document may hold once aliases are followed."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""

FieldPath = tuple[str | int, ...]
"""Where a value sits in the document: keys and list indices from the top."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Characters YAML 1.1 allows in a stream; anything else means binary data.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TAG = "tag:yaml.org,2002:"
_STR_TAG = _TAG + "str"
_INT_TAG = _TAG + "int"
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_COLLECTION_TAGS = {_TAG + name for name in ("map", "seq", "set", "omap", "pairs")}


def format_field(path: FieldPath) -> str:
    """``branches[2].retry.attempts``: a field path as a person reads it."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


@dataclass(slots=True)
class SpecSource:
    """A parsed spec document: plain values plus the position of every value and key."""

    data: Any
    origin: Path | None = None
    values: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    """Line and column (from 1) where the value at a path starts."""
    keys: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    """Line and column (from 1) of the key that names the value at a path."""
    text_starts: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    """For one-line strings with ``${{`` written without escapes: where their first
    character is, so an error can point into the string."""
    written: dict[FieldPath, str] = field(default_factory=dict)
    """For scalars YAML read as something other than text (numbers, true/false, null): the
    text as written, so that ``3.10`` (read as 3.1) or ``01234`` (read as the octal 668)
    can be given back exactly where a value ends up as text."""

    def text_as_written(self, path: FieldPath, value: object) -> str | None:
        """The value at ``path`` as the spec's author wrote it, when it is a scalar."""
        if isinstance(value, str):
            return value
        return self.written.get(path)

    def position(self, path: FieldPath, *, at_key: bool = False) -> tuple[int, int] | None:
        """Where ``path`` was written, or its nearest written ancestor."""
        if at_key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get(())

    def issue(
        self,
        path: FieldPath,
        message: str,
        *,
        hint: str | None = None,
        at_key: bool = False,
        offset: int | None = None,
    ) -> SpecIssue:
        """A :class:`SpecIssue` about the value (or the key, ``at_key``) at ``path``.

        ``offset`` points at a character inside a string value, where that can be known.
        """
        where = self.position(path, at_key=at_key)
        if offset is not None and path in self.text_starts:
            line, column = self.text_starts[path]
            where = (line, column + offset)
        return SpecIssue(
            message,
            path=self.origin,
            line=where[0] if where else None,
            column=where[1] if where else None,
            field=format_field(path) or None,
            hint=hint,
        )


def parse_spec(text: str, origin: Path | None) -> SpecSource:
    """Parse spec text into a :class:`SpecSource`; :class:`SpecError` on any YAML problem."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError([SpecIssue(TOO_LARGE, path=origin)])
    text = text.removeprefix("\ufeff")
    _refuse_binary(text, origin)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        source = SpecSource(data=None, origin=origin)
        if root is not None:
            source.data = _Builder(loader, source).build(root, (), 0)
        return source
    except yaml.MarkedYAMLError as error:
        raise SpecError([_syntax_issue(error, origin, text)]) from None
    except yaml.YAMLError as error:
        raise SpecError([SpecIssue(f"is not valid YAML: {error}", path=origin)]) from None
    except RecursionError:
        raise SpecError([SpecIssue("is nested too deeply", path=origin)]) from None
    finally:
        loader.dispose()


def _refuse_binary(text: str, origin: Path | None) -> None:
    bad = _NOT_PRINTABLE.search(text)
    if bad is None:
        return
    line, column = position_after(text[: bad.start()])
    char = f"U+{ord(bad.group()):04X}"
    message = f"contains the control character {char}; is it a binary file?"
    raise SpecError([SpecIssue(message, path=origin, line=line, column=column)])


def _syntax_issue(error: yaml.MarkedYAMLError, origin: Path | None, text: str) -> SpecIssue:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or "cannot be parsed"
    message = f"YAML syntax error: {problem}"
    if error.context:
        message += f" ({error.context})"
    if mark is not None:
        tab = _tab_near(text, mark.line, mark.column)
        if tab is not None:
            return SpecIssue(
                "YAML syntax error: a tab indents this line; YAML indents with spaces only",
                path=origin,
                line=mark.line + 1,
                column=tab + 1,
            )
    return SpecIssue(
        message,
        path=origin,
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
    )


def _tab_near(text: str, line: int, column: int) -> int | None:
    """The column (from 0) of a tab in the indentation of ``line``, when the error at
    ``column`` is there: tabs cannot indent YAML, and the parser's words do not say so."""
    lines = split_lines(text)
    if line >= len(lines):
        return None
    written = lines[line]
    indentation = written[: len(written) - len(written.lstrip(" \t"))]
    if "\t" in indentation and column <= len(indentation):
        return indentation.index("\t")
    return None


def _mark(node: Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into plain values, recording positions and problems."""

    def __init__(self, loader: yaml.SafeLoader, source: SpecSource) -> None:
        self._loader = loader
        self._source = source
        self._issues: list[SpecIssue] = []
        self._count = 0

    def build(self, node: Node, path: FieldPath, depth: int) -> Any:
        value = self._value(node, path, depth)
        if self._issues:
            raise SpecError(self._issues)
        return value

    def _fail(self, node: Node, message: str) -> SpecError:
        line, column = _mark(node)
        return SpecError([SpecIssue(message, path=self._source.origin, line=line, column=column)])

    def _value(self, node: Node, path: FieldPath, depth: int) -> Any:
        self._count += 1
        if self._count > MAX_VALUES:
            raise self._fail(
                node, f"expands to more than {MAX_VALUES} values (are YAML aliases nested?)"
            )
        if depth > MAX_DEPTH:
            raise self._fail(node, f"is nested more than {MAX_DEPTH} levels deep")
        self._source.values[path] = _mark(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _COLLECTION_TAGS and not node.tag.startswith(_TAG):
            self._issues.append(self._source.issue(path, f"unknown YAML tag {node.tag!r}"))
        if isinstance(node, SequenceNode):
            return [self._value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        raise self._fail(node, "holds a YAML node of an unknown kind")

    def _scalar(self, node: ScalarNode, path: FieldPath) -> Any:
        # Plain text and decimal whole numbers are most of a spec: skip PyYAML's
        # constructor for them (it costs several microseconds a value).
        if node.tag == _STR_TAG:
            if MARKER in node.value:
                self._record_text_start(node, path)
            return node.value
        self._source.written[path] = node.value
        if node.tag == _INT_TAG and _DECIMAL.fullmatch(node.value):
            return int(node.value)
        try:
            value = self._loader.construct_object(node)
        except yaml.constructor.ConstructorError as error:
            self._issues.append(self._source.issue(path, error.problem or "cannot be read"))
            return None
        if value is None or isinstance(value, str | int | float):
            return value
        # Timestamps, binary and the like: keep the text as written.
        return str(node.value)

    def _record_text_start(self, node: ScalarNode, path: FieldPath) -> None:
        start, end = node.start_mark, node.end_mark
        quotes = {None: 0, "": 0, "'": 1, '"': 1}.get(node.style)  # plain: None or ''
        if quotes is None or start.line != end.line:
            return
        if end.column - start.column != len(node.value) + 2 * quotes:
            return  # escapes: the text as written differs from the value
        self._source.text_starts[path] = (start.line + 1, start.column + 1 + quotes)

    def _mapping(self, node: MappingNode, path: FieldPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node, explicit in self._pairs(node, depth):
            key = self._key(key_node, path)
            if key is None:
                continue
            child = (*path, key)
            if key in result:
                if explicit:
                    line, _ = self._source.keys[child]
                    message = f"duplicate key (first at line {line})"
                    self._issues.append(self._issue_at(key_node, child, message))
                continue
            self._source.keys[child] = _mark(key_node)
            result[key] = self._value(value_node, child, depth + 1)
        return result

    def _pairs(self, node: MappingNode, depth: int) -> list[tuple[Node, Node, bool]]:
        """The mapping's pairs: its own first, then those merged in with ``<<`` (YAML merge)."""
        own: list[tuple[Node, Node, bool]] = []
        merged: list[tuple[Node, Node, bool]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _TAG + "merge":
                own.append((key_node, value_node, True))
                continue
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for merge_source in sources:
                if not isinstance(merge_source, MappingNode):
                    raise self._fail(merge_source, "a YAML merge (<<) takes a mapping")
                if depth > MAX_DEPTH:
                    raise self._fail(merge_source, f"nests more than {MAX_DEPTH} YAML merges")
                self._count += len(merge_source.value)
                if self._count > MAX_VALUES:
                    raise self._fail(merge_source, f"expands to more than {MAX_VALUES} values")
                merged.extend(
                    (key, value, False) for key, value, _ in self._pairs(merge_source, depth + 1)
                )
        return own + merged

    def _key(self, node: Node, path: FieldPath) -> str | None:
        if not isinstance(node, ScalarNode):
            self._issues.append(self._issue_at(node, path, "a key must be plain text"))
            return None
        try:
            key = self._loader.construct_object(node)
        except yaml.constructor.ConstructorError as error:
            self._issues.append(self._issue_at(node, path, error.problem or "bad key"))
            return None
        if isinstance(key, str):
            return key
        if node.value == "on":  # a field of its own (retry.on), not YAML 1.1's true
            return "on"
        if isinstance(key, bool) or key is None:
            message = f"the key {node.value or '~'} reads as {json.dumps(key)}; write it in quotes"
            self._issues.append(self._issue_at(node, path, message))
            return None
        return str(node.value)

    def _issue_at(self, node: Node, path: FieldPath, message: str) -> SpecIssue:
        line, column = _mark(node)
        return SpecIssue(
            message,
            path=self._source.origin,
            line=line,
            column=column,
            field=format_field(path) or None,
        )
