"""Check that every Python file under a folder compiles, without writing any bytecode.

Usage: python3 check_syntax.py FOLDER [--pace SECONDS]

Prints one summary line on stdout and exits 1 when a file has a syntax error (each
error is printed as ``path:line: message``).
"""

import argparse
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    files = sorted(args.folder.rglob("*.py"))
    errors = []
    for path in files:
        print(f"compiling {path}", file=sys.stderr)
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            errors.append(f"{path}:{error.lineno}: {error.msg}")
        time.sleep(args.pace)

    print(f"syntax: {len(files) - len(errors)} of {len(files)} Python files compile")
    for error in errors:
        print(f"  {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
