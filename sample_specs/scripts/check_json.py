"""Check that every ``*.json`` file under a folder is valid JSON.

Usage: python3 check_json.py FOLDER [--pace SECONDS]

Prints a summary line and each invalid file as ``path:line:column: message`` on stdout;
exits 1 when a file is invalid.
"""

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    files = sorted(args.folder.rglob("*.json"))
    errors = []
    for path in files:
        print(f"parsing {path}", file=sys.stderr)
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            errors.append(f"{path}:{error.lineno}:{error.colno}: {error.msg}")
        time.sleep(args.pace)

    print(f"json: {len(files) - len(errors)} of {len(files)} files are valid JSON")
    for error in errors:
        print(f"  {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
