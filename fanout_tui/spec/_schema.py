"""The spec's JSON Schema, generated from the models (``fanout-tui schema``).

Editors use it to complete and check spec files, e.g. with a first line
``# yaml-language-server: $schema=fanout-tui.schema.json``.
"""

from __future__ import annotations

from typing import Any

from fanout_tui.spec._models import SpecFile

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, every field described."""
    generated = SpecFile.model_json_schema(by_alias=True)
    return {"$schema": SCHEMA_DIALECT, "title": "fanout-tui spec", **generated}
