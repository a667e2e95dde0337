"""Count TODO and FIXME comments in the Python files under a folder.

Usage: python3 count_todos.py FOLDER [--pace SECONDS]

Prints a summary line and each marker as ``path:line: text`` on stdout. Markers are
reported, not failed: the exit code is always 0.
"""

import argparse
import re
import sys
import time
from pathlib import Path

MARKER = re.compile(r"#\s*(TODO|FIXME)\b:?\s*(.*)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    files = sorted(args.folder.rglob("*.py"))
    found = []
    for path in files:
        print(f"scanning {path}", file=sys.stderr)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = MARKER.search(line)
            if match:
                found.append(f"{path}:{number}: {match.group(1)} {match.group(2)}")
        time.sleep(args.pace)

    print(f"todo: {len(found)} TODO/FIXME markers in {len(files)} files")
    for entry in found:
        print(f"  {entry}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
