"""The spec's JSON Schema, generated from the models (``fanout-tui schema``)."""

from typing import Any


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, every field described."""
    raise NotImplementedError
