"""Locate the data folders (``themes/``, ``sample_specs/``) that ship with the package.

In a wheel they live under ``fanout_tui/_data/``; in a source checkout (editable install)
they sit at the top of the repository, beside the package.
"""

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` ("themes" or "sample_specs") shipped with fanout-tui."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name
