"""The spec's models for LLM branches: providers, prices, messages and the ``llm`` field.

Like every spec model, they check shape only; :mod:`fanout_tui.spec._llm_expand` gives
them meaning.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from fanout_tui.spec._field_types import EnvName
from fanout_tui.spec._spec_part import SpecPart


class PricesSpec(SpecPart):
    """What a provider charges, for the ``cost_usd`` of the usage it reports."""

    input_per_mtok: float = Field(ge=0, description="US dollars per million input tokens.")
    output_per_mtok: float = Field(ge=0, description="US dollars per million output tokens.")


class ProviderSpec(SpecPart):
    """An OpenAI-compatible chat-completions endpoint that ``llm`` branches talk to."""

    base_url: Annotated[str, Field(pattern=r"^https?://\S+$")] = Field(
        description="The API's root, e.g. http://127.0.0.1:11434/v1 (Ollama) or "
        "https://api.openai.com/v1; /chat/completions is added."
    )
    api_key_env: EnvName | None = Field(
        default=None,
        description="Environment variable holding the API key (sent as a Bearer token); "
        "its value is masked like any secret.",
    )
    headers: dict[str, str] | None = Field(
        default=None, description="More HTTP headers sent with every request."
    )
    prices: PricesSpec | None = Field(
        default=None, description="Prices per million tokens, for the cost of each reply."
    )


class MessageSpec(SpecPart):
    """One message of a conversation written out in the spec."""

    role: Literal["system", "user", "assistant"] = Field(description="Who says it.")
    content: str = Field(description="What is said; may use ${{ matrix.NAME }}, ${{ file: P }}.")


class LlmSpec(SpecPart):
    """A chat request to a provider: the branch's output is the reply's content."""

    provider: str = Field(description="The name of a provider declared under providers.")
    model: str = Field(min_length=1, description="The model to ask, e.g. qwen2.5:7b.")
    system: str | None = Field(default=None, description="The system message.")
    prompt: str | None = Field(
        default=None,
        description="The user message; may use ${{ matrix.NAME }}, ${{ env.NAME }} and "
        "${{ file: PATH }} (a file's text, relative to the spec's folder).",
    )
    messages: list[MessageSpec] | None = Field(
        default=None, description="Messages sent before the prompt (a few-shot conversation)."
    )
    temperature: float | None = Field(default=None, ge=0, le=2, description="Sampling heat.")
    max_tokens: int | None = Field(
        default=None, ge=1, description="Most tokens in the reply (and its share of the estimate)."
    )
    repair: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description="Times a reply that breaks the output contract is re-asked with the "
        "error (default 0; separate from retry).",
    )
    stream: bool | None = Field(
        default=None, description="Stream the reply into the panel as it arrives (default true)."
    )
    extra: dict[str, Any] | None = Field(
        default=None, description="More fields for the request body, sent as they are."
    )
