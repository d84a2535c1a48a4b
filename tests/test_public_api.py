"""The library's public API: ``deconfliction.__all__``, pinned, documented, loaded on use."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import deconfliction

#: The curated public API. Changing it is a decision: update docs/library.md with it.
PUBLIC = [
    "AltitudeBand",
    "ApiError",
    "ArcSector",
    "Circle",
    "Client",
    "ConflictPairs",
    "Corridor",
    "Datum",
    "DeconflictionError",
    "InvalidInput",
    "Minima",
    "MinimaPolicy",
    "NotFound",
    "Operation",
    "OperationService",
    "OperationState",
    "Party",
    "Polygon",
    "Position",
    "Racetrack",
    "Store",
    "StrategicConflict",
    "TacticalConfig",
    "TacticalEngine",
    "TimeWindow",
    "Volume4D",
    "__version__",
    "all_conflicts",
    "conflicts_with",
    "detect_conflicts",
    "open_store",
]

LIBRARY_DOC = Path(__file__).resolve().parents[1] / "docs" / "library.md"


def test_all_is_pinned_and_sorted() -> None:
    assert deconfliction.__all__ == PUBLIC
    assert set(deconfliction._HOMES) | {"__version__"} == set(PUBLIC)


@pytest.mark.parametrize("name", [n for n in PUBLIC if n != "__version__"])
def test_each_name_is_the_object_of_its_home_module(name: str) -> None:
    value = getattr(deconfliction, name)
    home = importlib.import_module(deconfliction._HOMES[name])
    assert getattr(home, name) is value
    assert name in dir(deconfliction)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nonesuch'"):
        deconfliction.Nonesuch  # noqa: B018


def test_importing_the_package_loads_no_heavy_library() -> None:
    code = (
        "import sys, deconfliction; "
        "print(sorted(m for m in ('shapely', 'pyproj', 'numpy', 'httpx', 'cryptography', 'sqlite3') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_every_public_name_is_documented_for_library_users() -> None:
    text = LIBRARY_DOC.read_text(encoding="utf-8")
    missing = [name for name in PUBLIC if f"`{name}`" not in text]
    assert missing == []


def test_the_library_page_examples_run() -> None:
    text = LIBRARY_DOC.read_text(encoding="utf-8")
    blocks = text.split("```python\n")[1:]
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for block in blocks:  # in order: later examples use the earlier ones' names
        exec(compile(block.split("```", 1)[0], str(LIBRARY_DOC), "exec"), namespace)
