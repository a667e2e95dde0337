"""Where the traceback of an internal error goes in a run: a private file in the run's
folder (``internal-errors.log``), and stderr with ``--debug``.

The engine sends it to the :data:`~fanout_tui.engine.INTERNAL_ERRORS` logger; this
module gives that logger its handlers for the length of a run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from fanout_tui.engine import INTERNAL_ERRORS

INTERNAL_ERRORS_LOG = "internal-errors.log"
"""The file, in a journaled run's folder, that keeps the traceback of every internal error."""


class ErrorsFile(logging.Handler):
    """Writes internal errors to a private file (0600) made only when the first one
    comes, and counts them; without a path, to a temporary file kept after the run."""

    def __init__(self, path: Path | None) -> None:
        super().__init__()
        self.path = path
        """Where they are written (a temporary file's, once the first one came)."""
        self.logged = 0
        """How many were written."""
        self._stream: TextIO | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if self._stream is None:
                self._stream = self._open()
            self._stream.write(text + "\n")
            self._stream.flush()
            self.logged += 1
        except Exception:  # a full disk must not fail the branch a second time
            self.handleError(record)

    def _open(self) -> TextIO:
        if self.path is None:
            import tempfile  # only when an internal error is logged

            fd, name = tempfile.mkstemp(prefix="fanout-tui-", suffix=f"-{INTERNAL_ERRORS_LOG}")
            self.path = Path(name)
        else:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding="utf-8")

    def close(self) -> None:
        """Close the file, if one was made."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        super().close()


@contextlib.contextmanager
def internal_errors_logged(path: Path | None, *, debug: bool) -> Iterator[ErrorsFile]:
    """Send the engine's internal errors to ``path`` (a temporary file when ``None``)
    and, with ``debug``, to stderr too, while the block runs."""
    logger = logging.getLogger(INTERNAL_ERRORS)
    errors_file = ErrorsFile(path)
    handlers: list[logging.Handler] = [errors_file]
    if debug:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = logging.Formatter("%(asctime)s %(message)s")
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    try:
        yield errors_file
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
