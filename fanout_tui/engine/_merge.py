"""Merge strategies: concatenate and key-merge (synthesis runs in the engine).

**concatenate** follows ``merge.order`` (declared order by default; branches the order
does not name follow in declared order), never the finishing order.

- When every contributing result is text, the merge is text: each result loses one
  trailing line ending and the results are joined with ``separator``. A ``lines`` result
  (a list of strings) counts as text: its lines are joined with newlines first.
- Otherwise (any result is an object, a number, a list of non-strings...) the merge is a
  JSON array with one element per branch, in the same order; text results become JSON
  strings in it.
- With ``flag_missing`` every branch that did not succeed keeps its place: a line
  ``[missing: chapter-3 — failed: exit code 7]`` in text, an object
  ``{"missing": "chapter-3", "status": "failed", "error": "exit code 7"}`` in an array.

**key** builds one JSON object ``{key value: record}`` from the succeeded branches in
declared order. Each result is an object or a list of objects carrying the key field
(a string or a number; numbers become their JSON text as object keys). A record is the
union of the fields every branch gave for that key, fields in order of first appearance.
Two different values for one field are a conflict: ``error`` fails the merge naming both
branches, ``first`` / ``last`` keep the first / last value given, ``collect`` keeps the
list of the distinct values in order of first appearance (a value given twice is kept
once; a field with a single value stays a plain value). Missing branches get no
placeholder here: they are listed in ``MergeState.missing``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fanout_tui.engine._events import BranchReport, BranchStatus
from fanout_tui.engine._policy import status_words
from fanout_tui.spec import ConflictRule, MergePlan, MergeStrategy

_SHOWN_VALUE_CHARS = 40
PIECE_CHARS = 1024 * 1024
"""Characters of merged text written at a time: writing never copies the whole of it."""


class MergeError(Exception):
    """The merge itself failed (a key conflict, a result of the wrong shape).

    Its text is one sentence for the operator.
    """


def combine(merge: MergePlan, branches: Sequence[BranchReport], *, flag_missing: bool) -> Any:
    """Merge the results of ``branches`` (all of them, in declared order).

    Only succeeded branches contribute. With ``flag_missing`` the result flags every
    branch that did not succeed (a placeholder line in concatenate). Not for synthesis.

    Returns:
        A string (text concatenation), a list (JSON concatenation), a dict (key merge),
        or ``None`` for a concatenation with nothing to show yet.

    Raises:
        MergeError: The results cannot be merged (wrong shape, key conflict, unknown id).
        ValueError: Called for the synthesis strategy, which the engine runs itself.
    """
    if merge.strategy is MergeStrategy.CONCATENATE:
        return _concatenate(merge, branches, flag_missing=flag_missing)
    if merge.strategy is MergeStrategy.KEY:
        return _key_merge(merge, branches)
    raise ValueError(f"the {merge.strategy} strategy is not combined here")


def render_merged(merged: Any) -> str:
    """The merged result as text for stdout or a file, ending in a newline.

    A string is written as it is (an empty string stays empty); any other value as
    indented JSON.
    """
    if isinstance(merged, str):
        return merged if merged.endswith("\n") or not merged else merged + "\n"
    return json.dumps(merged, indent=2, ensure_ascii=False) + "\n"


def merged_pieces(merged: Any) -> Iterator[str]:
    """:func:`render_merged` in pieces of at most about :data:`PIECE_CHARS` characters, so
    that a large merged result is written without a second copy of it in memory."""
    if not isinstance(merged, str):
        yield from json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(merged)
        yield "\n"
        return
    for start in range(0, len(merged), PIECE_CHARS):
        yield merged[start : start + PIECE_CHARS]
    if merged and not merged.endswith("\n"):
        yield "\n"


# --- concatenate -------------------------------------------------------------------------


def _concatenate(
    merge: MergePlan, branches: Sequence[BranchReport], *, flag_missing: bool
) -> str | list[Any] | None:
    ordered = _in_merge_order(merge.order, branches)
    contributing = [b.result for b in ordered if b.status is BranchStatus.SUCCEEDED]
    if all(_is_text(result) for result in contributing):
        pieces = [
            b.result if b.status is BranchStatus.SUCCEEDED else _missing_line(b)
            for b in ordered
            if b.status is BranchStatus.SUCCEEDED or flag_missing
        ]
        return _joined(pieces, merge.separator) if pieces else None
    return [
        b.result if b.status is BranchStatus.SUCCEEDED else _missing_object(b)
        for b in ordered
        if b.status is BranchStatus.SUCCEEDED or flag_missing
    ]


def _in_merge_order(order: Sequence[str], branches: Sequence[BranchReport]) -> list[BranchReport]:
    by_id = {b.id: b for b in branches}
    unknown = [branch_id for branch_id in order if branch_id not in by_id]
    if unknown:
        raise MergeError(f"the merge order names unknown branch {unknown[0]!r}")
    named = set(order)
    return [by_id[branch_id] for branch_id in order] + [b for b in branches if b.id not in named]


def _is_text(result: Any) -> bool:
    return isinstance(result, str) or (
        isinstance(result, list) and all(isinstance(line, str) for line in result)
    )


def _joined(results: list[str | list[str]], separator: str) -> str:
    """The text results, each without one trailing line ending, joined with ``separator``.

    A result that ends in ``\n`` (not ``\r\n``) before a separator that begins with one
    is taken whole, followed by the rest of the separator: the same text, without a copy
    of each result (with 2000 large results, those copies doubled the memory).
    """
    parts: list[str] = []
    last = len(results) - 1
    for index, result in enumerate(results):
        text = "\n".join(result) if isinstance(result, list) else result
        if index == last:
            parts.append(_without_line_ending(text))
        elif separator.startswith("\n") and text.endswith("\n") and not text.endswith("\r\n"):
            parts += (text, separator[1:])
        else:
            parts += (_without_line_ending(text), separator)
    return "".join(parts)


def _without_line_ending(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _missing_line(branch: BranchReport) -> str:
    return f"[missing: {branch.id} — {why_missing(branch)}]"


def why_missing(branch: BranchReport) -> str:
    """Why ``branch`` is missing from the merge, short: ``"failed: exit code 7"``."""
    return status_and_reason(status_words(branch.status), branch.error)


def status_and_reason(words: str, reason: str | None) -> str:
    """A status in words with its reason: ``"failed: exit code 7"``; a reason that already
    says the status (``"timed out after 30s"``) stands alone."""
    if not reason:
        return words
    return reason if reason.startswith(words) else f"{words}: {reason}"


def _missing_object(branch: BranchReport) -> dict[str, Any]:
    return {"missing": branch.id, "status": str(branch.status), "error": branch.error}


# --- key merge ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Field:
    """The values one field of one record was given, and by which branches."""

    value: Any
    branch_id: str
    distinct: list[Any] = field(default_factory=list)
    canonical: set[str] = field(default_factory=set)


def _key_merge(merge: MergePlan, branches: Sequence[BranchReport]) -> dict[str, Any]:
    key = merge.key
    if not key:
        raise MergeError("the key merge needs a key field (merge.key)")
    records: dict[str, dict[str, _Field]] = {}
    for branch in branches:
        if branch.status is not BranchStatus.SUCCEEDED:
            continue
        for item in _objects_of(branch):
            key_value = _key_value(branch.id, key, item)
            record = records.setdefault(key_value, {})
            for name, value in item.items():
                _give(record, name, value, branch.id, key=key, key_value=key_value, merge=merge)
    return {
        key_value: {
            name: (f.distinct if len(f.distinct) > 1 else f.value)
            if merge.on_conflict is ConflictRule.COLLECT
            else f.value
            for name, f in record.items()
        }
        for key_value, record in records.items()
    }


def _objects_of(branch: BranchReport) -> list[Mapping[str, Any]]:
    result = branch.result
    items = result if isinstance(result, list) else [result]
    for item in items:
        if not isinstance(item, Mapping):
            raise MergeError(
                f"branch {branch.id!r} gave {_kind(item)}, "
                "but the key merge needs an object or a list of objects"
            )
    return items


def _key_value(branch_id: str, key: str, item: Mapping[str, Any]) -> str:
    if key not in item:
        raise MergeError(f"branch {branch_id!r} gave an object without the key field {key!r}")
    value = item[key]
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    raise MergeError(
        f"branch {branch_id!r} gave the key field {key!r} {_kind(value)}; "
        "it must be a string or a number"
    )


def _give(
    record: dict[str, _Field],
    name: str,
    value: Any,
    branch_id: str,
    *,
    key: str,
    key_value: str,
    merge: MergePlan,
) -> None:
    """Add one field value to ``record`` under ``merge.on_conflict``."""
    canonical = json.dumps(value, sort_keys=True, default=str)
    known = record.get(name)
    if known is None:
        record[name] = _Field(value, branch_id, [value], {canonical})
        return
    if canonical in known.canonical:
        if merge.on_conflict is ConflictRule.LAST:
            known.value, known.branch_id = value, branch_id
        return
    if merge.on_conflict is ConflictRule.ERROR:
        raise MergeError(
            f"branches {known.branch_id!r} and {branch_id!r} disagree on field {name!r} "
            f"of {key} {key_value!r}: {_shown(known.value)} vs {_shown(value)}"
        )
    known.distinct.append(value)
    known.canonical.add(canonical)
    if merge.on_conflict is ConflictRule.LAST:
        known.value, known.branch_id = value, branch_id


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > _SHOWN_VALUE_CHARS:
        return text[: _SHOWN_VALUE_CHARS - 1] + "…"
    return text
