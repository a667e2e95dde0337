"""Run the doctests of every Python module directly in a folder.

Usage: python3 run_doctests.py FOLDER [--pace SECONDS]

Prints one line per module and a summary on stdout; exits 1 when an example fails.
No bytecode is written beside the modules.
"""

import argparse
import doctest
import importlib.util
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()
    sys.dont_write_bytecode = True

    failed = attempted = 0
    modules = sorted(args.folder.glob("*.py"))
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            print(f"{path}: cannot be imported", file=sys.stderr)
            return 1
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = doctest.testmod(module)
        print(f"{path}: {result.attempted - result.failed} of {result.attempted} examples pass")
        failed += result.failed
        attempted += result.attempted
        time.sleep(args.pace)
    print(f"doctest: {attempted - failed} of {attempted} examples pass in {len(modules)} modules")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
