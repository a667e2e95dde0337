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


def bundled_sample(spec: Path) -> Path | None:
    """The shipped sample spec that ``spec`` names, when ``spec`` is no file here.

    So ``fanout-tui sample_specs/flaky-retry.yaml`` (or ``flaky-retry.yaml``, or
    ``flaky-retry``) works from any folder once fanout-tui is installed. ``None`` when
    ``spec`` exists or names no sample.
    """
    if spec.exists() or spec.parent.name not in ("", "sample_specs"):
        return None
    samples = data_dir("sample_specs")
    for name in (spec.name, f"{spec.name}.yaml"):
        candidate = samples / name
        if candidate.suffix == ".yaml" and candidate.is_file():
            return candidate
    return None
