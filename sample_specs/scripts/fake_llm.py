"""A made-up language model that "summarises" a document and reports what it spent.

Usage: python3 fake_llm.py DOCUMENT [--pace SECONDS]

No model and no network: the summary is the document's title and first sentence, and the
token counts are worked out from its words as a real API would count them (about four
tokens for every three words, plus a system prompt of 1,000). What the call cost, at
made-up prices, goes to fanout-tui as a usage signal on stderr, the way any branch in any
language reports it::

    ::fanout:: {"usage": {"input_tokens": 1156, "output_tokens": 69, "cost_usd": 0.004503}}

The answer, one JSON object, goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

SYSTEM_PROMPT_TOKENS = 1000
PRICE_PER_INPUT_TOKEN = 3.00 / 1_000_000
PRICE_PER_OUTPUT_TOKEN = 15.00 / 1_000_000


def summarise(text: str) -> tuple[str, str]:
    """The document's title (its first heading) and its first sentence of prose."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    title = next((line.lstrip("# ") for line in lines if line.startswith("#")), "untitled")
    prose = " ".join(line for line in lines if not line.startswith(("#", "-", "*", "`", "|")))
    first = re.split(r"(?<=[.!?])\s", prose, maxsplit=1)[0]
    return title, first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", type=Path)
    parser.add_argument("--pace", type=float, default=0.3, metavar="SECONDS")
    args = parser.parse_args()
    text = args.document.read_text(encoding="utf-8")
    words = len(text.split())
    time.sleep(args.pace)  # the model "thinks"
    title, first = summarise(text)
    input_tokens = words * 4 // 3 + SYSTEM_PROMPT_TOKENS
    output_tokens = 40 + words // 4
    cost = input_tokens * PRICE_PER_INPUT_TOKEN + output_tokens * PRICE_PER_OUTPUT_TOKEN
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": round(cost, 6),
    }
    print(f"::fanout:: {json.dumps({'usage': usage})}", file=sys.stderr)
    print(f"{input_tokens} tokens in, {output_tokens} out", file=sys.stderr)
    print(json.dumps({"doc": args.document.stem, "title": title, "summary": first}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
