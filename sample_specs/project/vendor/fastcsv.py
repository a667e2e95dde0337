# SPDX-License-Identifier: GPL-3.0-only
"""A vendored CSV helper whose licence the release gate does not allow."""


def split_row(line: str) -> list[str]:
    """Split one CSV row on commas.

    >>> split_row("a,b,c")
    ['a', 'b', 'c']
    """
    return line.rstrip("\n").split(",")
