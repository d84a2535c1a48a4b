"""Small helpers for the words the command line prints (kept free of heavy imports)."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 conflict``, ``2 conflicts``, ``1,000 conflicts``; ``nouns`` for irregular plurals."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"
