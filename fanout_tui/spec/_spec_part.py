"""The base of the spec's pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SpecPart(BaseModel):
    """Base of the spec's models: strict types, unknown fields refused, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
