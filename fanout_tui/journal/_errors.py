"""What goes wrong with a journal, said in one sentence for the operator."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fanout_tui.journal._schema import DATABASE_NAME, NotAJournal, SchemaTooNew


class JournalError(Exception):
    """The journal cannot do what was asked; str is one sentence for the operator."""


def foreign_database(label: str, error: NotAJournal) -> str:
    """The operator's message for a journal folder whose database is another program's."""
    return (
        f"cannot use the journal {label}: {label}{DATABASE_NAME} is an SQLite database of "
        f"another program ({error}); fanout-tui leaves it alone: name another folder "
        "with --journal"
    )


def make_usable(
    connection: sqlite3.Connection, label: str, *steps: Callable[[sqlite3.Connection], object]
) -> None:
    """Take ``steps`` in turn on the newly opened ``connection`` to the journal ``label``
    (the first checks it is a journal); when one fails, close it and say why in one
    sentence.

    Raises:
        JournalError: the database is another program's, of a later fanout-tui, or cannot
            be read.
    """
    try:
        for step in steps:
            step(connection)
    except NotAJournal as error:
        connection.close()
        raise JournalError(foreign_database(label, error)) from None
    except (SchemaTooNew, sqlite3.Error) as error:
        connection.close()
        raise JournalError(f"cannot use the journal {label}: {error}") from None


@contextmanager
def reading(label: str) -> Iterator[None]:
    """Turn what SQLite raises while reading the journal ``label`` (``.fanout/``) into one
    sentence.

    Raises:
        JournalError: in place of :class:`sqlite3.Error`.
    """
    try:
        yield
    except sqlite3.Error as error:
        raise JournalError(f"cannot read the journal {label}: {error}") from None
