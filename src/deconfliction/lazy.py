"""Package namespaces whose names load their module on first use (PEP 562).

A package's ``__init__`` that imported every submodule would make any import of one of
them pay for all: ``geo.altitude`` (numpy) would bring shapely and pyproj with it, and the
command line would take a second to print its help. A package built with :func:`exports`
keeps its public names, but each is imported when it is first read, then cached.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, homes: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public names live in
    ``homes`` (name -> defining module)."""
    namespace = importlib.import_module(package).__dict__

    def load(name: str) -> Any:
        try:
            home = homes[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def names() -> list[str]:
        return sorted({*namespace, *homes})

    return load, names
