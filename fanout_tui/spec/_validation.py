"""Check a parsed spec against the models, turning pydantic's errors into located issues."""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from fanout_tui.spec._errors import SpecError, SpecIssue, closest, did_you_mean, shown_value
from fanout_tui.spec._interpolate import MARKER, NOT_EXPANDED_HERE
from fanout_tui.spec._models import SpecFile, is_extension
from fanout_tui.spec._source import FieldPath, SpecSource

_TYPE_MESSAGES = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
}
_QUOTED = re.compile(r"'([^']*)'")


def validate_spec(source: SpecSource) -> SpecFile:
    """The spec's model; :class:`SpecError` listing every shape problem when it does not fit."""
    if source.data is None:
        raise SpecError(
            [source.issue((), "the spec is empty; it needs at least version, name and branches")]
        )
    if not isinstance(source.data, dict):
        kind = (
            "a list" if isinstance(source.data, list) else f"the value {shown_value(source.data)}"
        )
        raise SpecError(
            [
                source.issue(
                    (),
                    f"the spec must be a mapping of fields (version, name, branches, …), "
                    f"not {kind}",
                )
            ]
        )
    try:
        return SpecFile.model_validate(_for_models(source))
    except ValidationError as error:
        details = [
            (_document_path(source.data, detail["loc"]), detail)
            for detail in error.errors(include_url=False)
        ]
        # A misspelled required field is one mistake: say it once, at the misspelling.
        meant = {
            (*path[:-1], name)
            for path, detail in details
            if detail["type"] == "extra_forbidden"
            and (name := _meant_field(source.data, path)) is not None
        }
        issues: dict[FieldPath, SpecIssue] = {}
        for path, detail in details:
            if detail["type"] == "missing" and path in meant:
                continue
            issues.setdefault(path, _issue(source, path, detail))
        raise SpecError(list(issues.values())) from None


def _for_models(source: SpecSource) -> dict[str, Any]:
    """The document for the models: without its top-level ``x-`` extension fields, and with
    each number in an ``env`` mapping as its text as written.

    An environment value is text for the process: ``ZIP: 01234`` means "01234", not the
    octal 668 YAML 1.1 reads, and ``V: 3.10`` means "3.10", not 3.1. true/false and null
    stay as they are, for the models to refuse: whether ``yes`` means "yes", "true" or
    "1" is not clear enough to guess. The parsed document itself is left as it is (the
    containers on the way to an ``env`` are copied).
    """

    def holder(mapping: Any, path: FieldPath) -> Any:
        """``mapping`` copied, with its ``env`` rewritten, when it is a mapping with one."""
        if not isinstance(mapping, dict) or not isinstance(mapping.get("env"), dict):
            return mapping
        env = {
            name: _written_env_value(source, (*path, "env", name), value)
            for name, value in mapping["env"].items()
        }
        return {**mapping, "env": env}

    data: dict[str, Any] = dict(source.data)
    if "defaults" in data:
        data["defaults"] = holder(data["defaults"], ("defaults",))
    merge = data.get("merge")
    if isinstance(merge, dict) and "synthesizer" in merge:
        synthesizer = holder(merge["synthesizer"], ("merge", "synthesizer"))
        data["merge"] = {**merge, "synthesizer": synthesizer}
    branches = data.get("branches")
    if isinstance(branches, list):
        data["branches"] = [
            holder(branch, ("branches", index)) for index, branch in enumerate(branches)
        ]
    return {key: value for key, value in data.items() if not is_extension(key)}


def _written_env_value(source: SpecSource, path: FieldPath, value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return source.written[path]  # the parser keeps the text of every number
    return value


def _document_path(data: Any, loc: tuple[int | str, ...]) -> FieldPath:
    """The part of pydantic's error location that exists in the document.

    Locations also name union members and validator steps (``function-after[...]``); we
    keep only the keys and indices that lead through the data, plus a missing last key.
    """
    path: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if _leads_through(node, part):
            node = node[part]
            path.append(part)
        elif part == "[key]":
            path.append(part)
            break
        elif index == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str):
            path.append(part)  # a missing or unknown key
    return tuple(path)


def _leads_through(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return isinstance(part, str) and part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _issue(source: SpecSource, path: FieldPath, detail: ErrorDetails) -> SpecIssue:
    kind = detail["type"]
    value = detail.get("input")
    if path and path[-1] == "[key]":
        key_path = path[:-1]
        if not key_path:
            return source.issue(key_path, "bad key", at_key=True)
        if kind == "name":  # the field already names the key: say what is wrong with it
            ctx = detail.get("ctx", {})
            message = f"not a valid {ctx['what']}: use {ctx['rule']}"
        else:
            message = f"{key_path[-1]!r}: {_message(detail, value)}"
        return source.issue(key_path, message, at_key=True)
    if isinstance(value, str) and MARKER in value:
        return source.issue(path, NOT_EXPANDED_HERE)
    if kind == "missing":
        name = str(path[-1])
        return source.issue(path[:-1], f"missing required field {name!r}")
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        known = _field_names(model)
        hint = did_you_mean(str(path[-1]), known) or _nested_hint(model, str(path[-1]))
        if hint is None and known:
            hint = "expected one of: " + ", ".join(known)
        meant = _meant_field(source.data, path)
        message = "unknown field"
        if meant is not None:
            message += f", and the required field {meant!r} is missing"
        return source.issue(path, message, hint=hint, at_key=True)
    if kind == "literal_error":
        choices = _QUOTED.findall(detail.get("ctx", {}).get("expected", ""))
        hint = did_you_mean(value, choices) if isinstance(value, str) else None
        return source.issue(
            path, f"{shown_value(value)} is not one of {detail['ctx']['expected']}", hint=hint
        )
    if kind == "env_value" and isinstance(value, bool):
        typed = json.dumps(value)
        written = source.text_as_written(path, value) or typed
        read_as = f"YAML reads {written} as {typed}" if written != typed else f"not {typed}"
        return source.issue(
            path,
            f"an environment value is text, {read_as}; write it in quotes: {json.dumps(written)}",
        )
    if path == ("branches",) and kind == "too_short":
        return source.issue(path, "a spec needs at least one branch")
    return source.issue(path, _message(detail, value))


def _meant_field(data: Any, path: FieldPath) -> str | None:
    """For an unknown key at ``path``: the required field it probably misspells, when that
    field is not given in the mapping the key is in."""
    model = _model_at(path[:-1])
    if model is None:
        return None
    given = _node_at(data, path[:-1])
    if not isinstance(given, dict):
        return None
    required = [
        key
        for name, field in model.model_fields.items()
        if field.is_required() and (key := field.alias or name) not in given
    ]
    return closest(str(path[-1]), required)


def _node_at(data: Any, path: FieldPath) -> Any:
    """The part of the document at ``path``, which leads through it."""
    node = data
    for part in path:
        node = node[part]
    return node


def _message(detail: ErrorDetails, value: object) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx", {})
    if kind == "string_type" and isinstance(value, int | float):
        return f"must be text, not {_describe(value)}; write it in quotes"
    if kind in _TYPE_MESSAGES:
        return f"{_TYPE_MESSAGES[kind]}, not {_describe(value)}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, not {shown_value(value)}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}, not {shown_value(value)}"
    if kind in {"too_short", "string_too_short"}:
        return "must not be empty"
    message = detail["msg"]
    return message[:1].lower() + message[1:]


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    return shown_value(value)


def _model_at(path: FieldPath) -> type[BaseModel] | None:
    """The model that describes the mapping at ``path``, if one does."""
    annotation: Any = SpecFile
    for part in path:
        annotation = _unwrap(annotation)
        if _is_model(annotation) and isinstance(part, str):
            annotation = _fields(annotation).get(part)
        elif typing.get_origin(annotation) in {list, dict}:
            annotation = typing.get_args(annotation)[-1]
        else:
            return None
    annotation = _unwrap(annotation)
    return annotation if _is_model(annotation) else None


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """Field name as written in a spec (the alias, if any) → annotation."""
    return {field.alias or name: field.annotation for name, field in model.model_fields.items()}


def _field_names(model: type[BaseModel] | None) -> list[str]:
    return list(_fields(model)) if model is not None else []


def _nested_hint(model: type[BaseModel] | None, key: str) -> str | None:
    """``did you mean 'retry.attempts'?`` when ``key`` is a field one level further down."""
    if model is None:
        return None
    for name, annotation in _fields(model).items():
        inner = _unwrap(annotation)
        if typing.get_origin(inner) is list:
            continue
        if _is_model(inner) and key in _fields(inner):
            return f"did you mean '{name}.{key}'?"
    return None


def _is_model(candidate: object) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]`` and ``X | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in {typing.Union, types.UnionType}:
            options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
