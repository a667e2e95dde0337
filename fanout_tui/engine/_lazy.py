"""Package faces that import an exported name only on first use (PEP 562).

A face maps each exported name to the private module that defines it and hands
:func:`lazy_exports`'s two functions to Python as the module's ``__getattr__`` and
``__dir__``. (The spec layer keeps a copy of its own: it imports nothing of the package.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for the face of ``package``.

    Args:
        package: The face's ``__name__``.
        homes: Each exported name to the module (``_name``, inside ``package``) defining it.
        namespace: The face's ``globals()``, where a name is kept once imported.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *homes})

    return __getattr__, __dir__
