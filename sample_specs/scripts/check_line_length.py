"""Report lines longer than a limit in the Python files under a folder.

Usage: python3 check_line_length.py FOLDER [--max COLUMNS] [--pace SECONDS]

Prints a summary line and every long line as ``path:line: N columns`` on stdout; exits
1 when there is a long line.
"""

import argparse
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--max", type=int, default=100, metavar="COLUMNS")
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    files = sorted(args.folder.rglob("*.py"))
    long_lines = []
    for path in files:
        print(f"measuring {path}", file=sys.stderr)
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if len(line) > args.max:
                long_lines.append(f"{path}:{number}: {len(line)} columns")
        time.sleep(args.pace)

    print(f"line length: {len(long_lines)} lines over {args.max} columns in {len(files)} files")
    for entry in long_lines:
        print(f"  {entry}")
    return 1 if long_lines else 0


if __name__ == "__main__":
    sys.exit(main())
