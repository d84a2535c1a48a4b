"""deconfliction: airspace deconfliction between parties who do not trust each other."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
