"""One chat-completions request: the body, the reply (streamed or not), and what an error
status means.

A reply's text goes to ``on_text`` as it arrives; its usage comes back in
:class:`Reply`. An answer that is not a reply becomes :class:`HttpFailure`: 429 is a rate
limit (its pause from ``Retry-After`` or ``x-ratelimit-reset-*``), 5xx and transport
errors may be retried, other 4xx and ``insufficient_quota`` are permanent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from fanout_tui.spec import LlmMessage, LlmPlan

if TYPE_CHECKING:
    import httpx

MAX_REASON_CHARS = 200
"""The most of a server's error message that goes into a failure reason."""
_RESET = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True, slots=True)
class Reply:
    """A model's whole reply and the tokens it took (``None``: not reported)."""

    content: str
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class HttpFailure:
    """An answer that is not a reply, or no answer."""

    reason: str
    permanent: bool = False
    retry_after_s: float | None = None
    """Set for a rate limit: how long the server asked to wait (0: it did not say)."""


def request_body(llm: LlmPlan, messages: Sequence[LlmMessage]) -> dict[str, Any]:
    """The JSON body of a chat-completions request."""
    body: dict[str, Any] = {
        "model": llm.model,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "stream": llm.stream,
    }
    if llm.stream:
        body["stream_options"] = {"include_usage": True}
    if llm.temperature is not None:
        body["temperature"] = llm.temperature
    if llm.max_tokens is not None:
        body["max_tokens"] = llm.max_tokens
    body.update(llm.extra)
    return body


async def ask(
    client: httpx.AsyncClient,
    llm: LlmPlan,
    messages: Sequence[LlmMessage],
    *,
    api_key: str | None,
    on_text: Callable[[str], None],
) -> Reply | HttpFailure:
    """Send one request and read its reply; never raises for what the server does."""
    import httpx

    headers = {**llm.provider.headers}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    url = f"{llm.provider.base_url}/chat/completions"
    body = request_body(llm, messages)
    try:
        async with client.stream("POST", url, json=body, headers=headers) as response:
            if response.status_code >= 400:
                await response.aread()
                return _failure(response)
            if llm.stream:
                return await _read_stream(response, on_text)
            await response.aread()
            return _read_whole(response, on_text)
    except httpx.TimeoutException:
        return HttpFailure(f"no answer from {llm.provider.name} in time (HTTP timeout)")
    except httpx.HTTPError as error:
        return HttpFailure(f"{llm.provider.name} could not be reached: {_error_text(error)}")


async def _read_stream(response: httpx.Response, on_text: Callable[[str], None]) -> Reply:
    parts: list[str] = []
    usage: Mapping[str, Any] = {}
    done = False
    async for line in response.aiter_lines():
        # Read on past [DONE] to the answer's end: a connection left mid-answer is closed,
        # not reused by the next request.
        if done or not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            continue  # a keep-alive or comment, not a piece of the reply
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                parts.append(text)
                on_text(text)
    return _reply("".join(parts), usage)


def _read_whole(response: httpx.Response, on_text: Callable[[str], None]) -> Reply | HttpFailure:
    try:
        data = response.json()
        content = data["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError):
        return HttpFailure("the reply is not a chat completion")
    on_text(content)
    return _reply(content, data.get("usage") or {})


def _reply(content: str, usage: Mapping[str, Any]) -> Reply:
    return Reply(content, usage.get("prompt_tokens"), usage.get("completion_tokens"))


def _failure(response: httpx.Response) -> HttpFailure:
    status = response.status_code
    code, message = _error_of(response)
    said = f"HTTP {status} from the provider" + (f": {message}" if message else "")
    if code == "insufficient_quota":
        return HttpFailure(f"{said} (quota exhausted, not retried)", permanent=True)
    if status == 429:
        return HttpFailure(said, retry_after_s=retry_after(response.headers))
    if status >= 500:
        return HttpFailure(said)
    return HttpFailure(said, permanent=True)


def _error_of(response: httpx.Response) -> tuple[str | None, str]:
    """The error's code (``insufficient_quota``) and message, from an OpenAI-style body."""
    text = response.text
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        message = str(error.get("message") or "")
        return (code if isinstance(code, str) else None), _short(message)
    if isinstance(error, str):
        return None, _short(error)
    return None, _short(text)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def retry_after(headers: Mapping[str, str]) -> float:
    """Seconds a 429 asks to wait: ``Retry-After`` (seconds or a date), else the longest
    ``x-ratelimit-reset-*`` (``1s``, ``6m0s``, ``20ms``); 0 when none says."""
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return 0.0
            from datetime import UTC, datetime

            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    resets = [
        sum(float(n) * _UNIT_S[unit] for n, unit in _RESET.findall(value))
        for name, value in headers.items()
        if name.lower().startswith("x-ratelimit-reset")
    ]
    return max(resets, default=0.0)


def _error_text(error: Exception) -> str:
    return str(error) or type(error).__name__
