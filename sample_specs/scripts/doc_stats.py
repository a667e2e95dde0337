"""Word statistics of one Markdown document, printed as one JSON object on stdout.

Usage: python3 doc_stats.py FILE [--pace SECONDS]

The object carries the document's name (``doc``, the file name without extension),
its word, heading and sentence counts and a reading time at 200 words a minute.
Progress goes to stderr, one line per section; ``--pace`` waits that long after each
section so that the dashboard has something to show.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

WORDS_PER_MINUTE = 200


def sections(text: str) -> list[list[str]]:
    """Split Markdown text into sections, each starting at a heading line."""
    parts: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("#") and parts[-1]:
            parts.append([])
        parts[-1].append(line)
    return [part for part in parts if part]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    text = args.file.read_text(encoding="utf-8")
    words = headings = sentences = 0
    parts = sections(text)
    for number, part in enumerate(parts, start=1):
        body = " ".join(line for line in part if not line.startswith("#"))
        headings += sum(1 for line in part if line.startswith("#"))
        section_words = len(re.findall(r"[\w'’-]+", body))
        words += section_words
        sentences += len(re.findall(r"[.!?](\s|$)", body))
        title = part[0].lstrip("# ").strip()
        print(f"section {number}/{len(parts)}: {title} ({section_words} words)", file=sys.stderr)
        time.sleep(args.pace)

    print(
        json.dumps(
            {
                "doc": args.file.stem,
                "words": words,
                "headings": headings,
                "sentences": sentences,
                "reading_time_s": round(words / WORDS_PER_MINUTE * 60),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
