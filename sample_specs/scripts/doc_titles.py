"""The title of every Markdown document in a folder, printed as a JSON list on stdout.

Usage: python3 doc_titles.py FOLDER

Each item is ``{"doc": NAME, "title": TITLE}``: the file name without extension and the
text of the document's first heading.
"""

import argparse
import json
import sys
from pathlib import Path


def title_of(path: Path) -> str:
    """The text of the first heading in ``path``, or its file name when there is none."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return path.stem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()

    documents = sorted(args.folder.glob("*.md"))
    for path in documents:
        print(f"read {path.name}", file=sys.stderr)
    print(json.dumps([{"doc": path.stem, "title": title_of(path)} for path in documents]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
