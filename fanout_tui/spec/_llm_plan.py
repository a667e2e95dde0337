"""The plan of an ``llm`` branch: a provider and a fully rendered chat request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_REPLY_TOKENS = 1024
"""The reply's share of a token estimate when the branch gives no ``max_tokens``."""


@dataclass(frozen=True, slots=True)
class ProviderPlan:
    """An OpenAI-compatible chat-completions endpoint, as ``providers:`` declares it."""

    name: str
    base_url: str
    """The API's root, e.g. ``http://127.0.0.1:11434/v1`` (``/chat/completions`` is added)."""
    api_key_env: str | None = None
    """The environment variable holding the API key (a secret of the run), if any."""
    headers: Mapping[str, str] = field(default_factory=dict)
    input_per_mtok: float = 0.0
    """US dollars per million input tokens (0: no cost is computed)."""
    output_per_mtok: float = 0.0

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float:
        """What a reply cost at this provider's prices."""
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


@dataclass(frozen=True, slots=True)
class LlmMessage:
    """One message of the conversation: ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class LlmPlan:
    """One ``llm`` branch's request: the conversation sent, and how the reply is judged."""

    provider: ProviderPlan
    model: str
    messages: tuple[LlmMessage, ...]
    """System message first (if any), then ``messages``, then ``prompt`` as a user message."""
    temperature: float | None = None
    max_tokens: int | None = None
    repair: int = 0
    """Times a reply that breaks the output contract is re-asked with the error."""
    stream: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)
    """More fields of the request body, sent as they are."""
    files: tuple[str, ...] = ()
    """Absolute paths of the files its prompts read (``${{ file: PATH }}``)."""

    @property
    def prompt_chars(self) -> int:
        """Characters in the conversation sent."""
        return sum(len(message.content) for message in self.messages)

    def estimate_tokens(self) -> int:
        """What an attempt is expected to spend: the prompt (about four characters a token)
        plus the most the reply may take."""
        reply = self.max_tokens if self.max_tokens is not None else DEFAULT_REPLY_TOKENS
        return -(-self.prompt_chars // 4) + reply

    def definition(self) -> dict[str, Any]:
        """What defines the request, for the branch's fingerprint (no secret in it)."""
        return {
            "provider": self.provider.base_url,
            "model": self.model,
            "messages": [[message.role, message.content] for message in self.messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "extra": dict(self.extra),
        }
