"""Pack a folder into a zip archive in memory and report its size and checksum.

Usage: python3 build_archive.py FOLDER [--pace SECONDS]

Prints ``archive: N files, B bytes, sha256 HEX`` on stdout; nothing is written to disk.
The archive is reproducible (fixed timestamps, sorted names). ``--pace`` waits that long
after each file so that the dashboard has something to show.
"""

import argparse
import hashlib
import io
import sys
import time
import zipfile
from pathlib import Path

EPOCH = (1980, 1, 1, 0, 0, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--pace", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args()

    files = sorted(
        p for p in args.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            name = path.relative_to(args.folder).as_posix()
            archive.writestr(zipfile.ZipInfo(name, EPOCH), path.read_bytes(), zipfile.ZIP_DEFLATED)
            print(f"added {name}", file=sys.stderr)
            time.sleep(args.pace)
    data = buffer.getvalue()
    print(
        f"archive: {len(files)} files, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
