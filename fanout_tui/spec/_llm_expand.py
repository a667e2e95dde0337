"""Expanding ``providers:`` and ``llm:`` steps into :class:`~fanout_tui.spec._llm_plan.LlmPlan`.

The texts of an ``llm`` step (``system``, ``prompt``, each message's ``content``) take
``${{ matrix.NAME }}`` and ``${{ env.NAME }}`` like a command, and ``${{ file: PATH }}``:
the text of a file, its path relative to the spec's folder (the path itself may use the
matrix: ``${{ file: docs/${{ matrix.doc }}.md }}``). Files are read when the spec is
expanded, so a missing one is a ``check`` error at the field, with its line; a file over
:data:`MAX_PROMPT_FILE_BYTES` is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from fanout_tui.spec._checks import Reporter
from fanout_tui.spec._errors import did_you_mean
from fanout_tui.spec._field_types import CALL_PATTERN
from fanout_tui.spec._interpolate import NO_MATRIX, Combination, Template
from fanout_tui.spec._llm_models import LlmSpec, ProviderSpec
from fanout_tui.spec._llm_plan import LlmMessage, LlmPlan, ProviderPlan
from fanout_tui.spec._models import BranchSpec
from fanout_tui.spec._source import FieldPath
from fanout_tui.spec._templates import FieldTemplates

MAX_PROMPT_FILE_BYTES = 1024 * 1024
"""The largest file a prompt may read (about 250,000 tokens: more than any context)."""
_FILE_OPEN = "file:"
_CALL = re.compile(CALL_PATTERN)

LlmRenderer = Callable[[Combination], LlmPlan | None]
"""A compiled ``llm`` step: its plan for one combination (``None``: a problem reported)."""


def check_kind(branch: BranchSpec, path: FieldPath, report: Reporter) -> None:
    """Exactly one of ``run``, ``call`` and ``llm``; ``with`` only beside ``call``."""
    given = [name for name in ("run", "call", "llm") if getattr(branch, name) is not None]
    if not given:
        report(
            path,
            "a branch needs 'run' (a command) or 'call' (a Python module:function), "
            "or 'llm' (a chat request)",
        )
    elif len(given) > 1:
        report(
            (*path, given[1]),
            f"a branch has either {' or '.join(repr(n) for n in given)}, not both"
            if len(given) == 2
            else "a branch has one of 'run', 'call' and 'llm', not all three",
            at_key=True,
        )
    if branch.call is not None and not _CALL.fullmatch(branch.call):
        report(
            (*path, "call"),
            f"{branch.call!r} is not a callable; write module:function, "
            "e.g. mypkg.tasks:word_stats",
        )
    if branch.with_ is not None and branch.call is None:
        report(
            (*path, "with"),
            "'with' gives arguments to 'call', and this branch has no call",
            at_key=True,
        )


def provider_plans(
    providers: Mapping[str, ProviderSpec], templates: FieldTemplates
) -> dict[str, ProviderPlan]:
    """Every declared provider, its ``base_url`` and header values rendered."""
    plans = {}
    for name, provider in providers.items():
        path: FieldPath = ("providers", name)
        base_url = templates.static_text(provider.base_url, (*path, "base_url"))
        headers = templates.env(provider.headers, (*path, "headers")) or {}
        prices = provider.prices
        plans[name] = ProviderPlan(
            name=name,
            base_url=(base_url or provider.base_url).rstrip("/"),
            api_key_env=provider.api_key_env,
            headers=headers,
            input_per_mtok=prices.input_per_mtok if prices else 0.0,
            output_per_mtok=prices.output_per_mtok if prices else 0.0,
        )
    return plans


class LlmSteps:
    """Compiles ``llm`` steps of one spec, reading each prompt file once.

    Args:
        templates: Compiles the texts (and reports their problems).
        providers: The declared providers.
        base_dir: The spec's folder, which file paths are relative to.
        report: Where problems go.
    """

    def __init__(
        self,
        templates: FieldTemplates,
        providers: Mapping[str, ProviderPlan],
        base_dir: Path,
        report: Reporter,
    ) -> None:
        self._templates = templates
        self._providers = providers
        self._base_dir = base_dir
        self._report = report
        self._files: dict[str, str | None] = {}

    def compile(self, spec: LlmSpec, path: FieldPath, names: list[str]) -> LlmRenderer | None:
        """The renderer of the ``llm`` step at ``path`` (``None``: a problem was reported)."""
        provider = self._providers.get(spec.provider)
        if provider is None:
            declared = ", ".join(self._providers) or "none are declared"
            self._report(
                (*path, "provider"),
                f"unknown provider {spec.provider!r} (providers: {declared})",
                hint=did_you_mean(spec.provider, self._providers),
            )
        if spec.prompt is None and not spec.messages:
            self._report(path, "an llm step needs 'prompt' or 'messages'")
        written: list[tuple[str, str, FieldPath]] = []
        if spec.system is not None:
            written.append(("system", spec.system, (*path, "system")))
        for i, message in enumerate(spec.messages or []):
            written.append((message.role, message.content, (*path, "messages", i, "content")))
        if spec.prompt is not None:
            written.append(("user", spec.prompt, (*path, "prompt")))
        model = self._templates.text(spec.model, (*path, "model"), names)
        texts = [(role, self._text(text, where, names), where) for role, text, where in written]
        if provider is None or model is None or any(text is None for _, text, _ in texts):
            return None

        def render(values: Combination) -> LlmPlan | None:
            files: list[str] = []
            messages = []
            for role, pieces, where in texts:
                assert pieces is not None
                content = self._render(pieces, values, where, files)
                if content is None:
                    return None
                messages.append(LlmMessage(role, content))
            return LlmPlan(
                provider=provider,
                model=model.render(values),
                messages=tuple(messages),
                temperature=spec.temperature,
                max_tokens=spec.max_tokens,
                repair=spec.repair or 0,
                stream=spec.stream is not False,
                extra=dict(spec.extra or {}),
                files=tuple(dict.fromkeys(files)),
            )

        return render

    def compile_static(self, spec: LlmSpec, path: FieldPath) -> LlmPlan | None:
        """An ``llm`` step outside any matrix (the synthesizer), rendered."""
        render = self.compile(spec, path, [])
        return render(NO_MATRIX) if render else None

    # -- texts with files in them ----------------------------------------------------------

    def _text(
        self, text: str, path: FieldPath, names: list[str]
    ) -> list[tuple[Template, int | None]] | None:
        """Compiled pieces of a text: ``(template, None)`` is text, ``(template, offset)``
        the path of a file read at ``offset``."""
        pieces: list[tuple[Template, int | None]] = []
        for piece, start, is_file in _split_files(text, path, self._report):
            template = self._templates.text(piece, path, names)
            if template is None:
                return None
            pieces.append((template, start if is_file else None))
        return pieces

    def _render(
        self,
        pieces: list[tuple[Template, int | None]],
        values: Combination,
        path: FieldPath,
        files: list[str],
    ) -> str | None:
        parts = []
        for template, file_at in pieces:
            text = template.render(values)
            if file_at is not None:
                absolute = os.path.normpath(self._base_dir / text.strip())
                files.append(absolute)
                read = self._read(absolute, text.strip(), path, file_at)
                if read is None:
                    return None
                text = read
            parts.append(text)
        return "".join(parts)

    def _read(self, absolute: str, written: str, path: FieldPath, offset: int) -> str | None:
        if absolute in self._files:
            return self._files[absolute]
        text: str | None = None
        try:
            size = os.stat(absolute).st_size
            if size > MAX_PROMPT_FILE_BYTES:
                self._report(
                    path,
                    f"${{{{ file: {written} }}}}: the file has {size:,} bytes, more than a "
                    f"prompt may read ({MAX_PROMPT_FILE_BYTES:,})",
                    offset=offset,
                )
            else:
                with open(absolute, encoding="utf-8") as file:
                    text = file.read()
        except FileNotFoundError:
            self._report(path, f"${{{{ file: {written} }}}}: no such file", offset=offset)
        except (OSError, UnicodeDecodeError) as error:
            why = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else error.strerror
            self._report(path, f"${{{{ file: {written} }}}}: cannot be read ({why})", offset=offset)
        self._files[absolute] = text
        return text


def _split_files(text: str, path: FieldPath, report: Reporter) -> list[tuple[str, int, bool]]:
    """``text`` cut around its ``${{ file: PATH }}`` references: ``(piece, start, is_file)``,
    a file's piece being its PATH (which may hold ``${{ … }}`` of its own)."""
    pieces: list[tuple[str, int, bool]] = []
    position = 0
    search = 0
    while (start := text.find("${{", search)) >= 0:
        inner = start + 3
        after = text[inner:].lstrip()
        if not after.startswith(_FILE_OPEN):
            search = inner
            continue
        begin = len(text) - len(after) + len(_FILE_OPEN)
        end = _closing(text, begin)
        if end is None:
            report(path, "'${{ file:' is not closed with '}}'", offset=start)
            return [(text, 0, False)]
        pieces.append((text[position:start], position, False))
        pieces.append((text[begin:end], start, True))
        position = search = end + 2
    pieces.append((text[position:], position, False))
    return [piece for piece in pieces if piece[0] or piece[2]]


def _closing(text: str, index: int) -> int | None:
    """Where the ``}}`` closing a reference is, skipping ``${{ … }}`` nested inside it."""
    depth = 0
    while index < len(text):
        if text.startswith("${{", index):
            depth += 1
            index += 3
        elif text.startswith("}}", index):
            if depth == 0:
                return index
            depth -= 1
            index += 2
        else:
            index += 1
    return None
