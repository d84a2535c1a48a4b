"""Import layering, enforced on the source: dependencies point one way.

The layers are read from the picture in ``docs/concepts.md`` (its "Layers" block, lowest
first), so the test enforces exactly what the docs draw. A module may import its own layer
and the layers below it, never one above. Imports are found with ``ast`` anywhere in a
module (top level, inside functions, under ``TYPE_CHECKING``), absolute or relative. A
module that belongs to no drawn layer fails the test. The package root re-exports the
public API and sits above everything; importing the root itself (for ``__version__``) is
allowed anywhere, because it loads nothing until a name is used.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "deconfliction"

DOCS = Path(__file__).resolve().parents[1] / "docs" / "concepts.md"


def documented_layers(text: str) -> dict[str, int]:
    """First component under the package -> rank, from the docs' Layers block (lowest first)."""
    block = re.search(r"## Layers\n\n```\n(.*?)```", text, re.S)
    assert block, "docs/concepts.md has no Layers block"
    layers: dict[str, int] = {}
    for rank, line in enumerate(block.group(1).splitlines()):
        names = re.split(r"\s{2,}", line.strip())[0]
        for name in names.split(", "):
            layers[name] = rank
    return layers


LAYERS = documented_layers(DOCS.read_text(encoding="utf-8"))
#: The package's own ``__init__``: the curated public API, above every layer.
LAYERS[""] = max(LAYERS.values()) + 1


def layer_of(module: str) -> tuple[str, int]:
    """(layer name, rank) of a dotted module name inside the package; -1 if undrawn."""
    parts = module.split(".")
    assert parts[0] == PACKAGE
    top = parts[1] if len(parts) > 1 else ""
    return top, LAYERS.get(top, -1)


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module) for every import of something inside the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    package_parts = module.split(".") if is_pkg else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package_parts[: len(package_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base == PACKAGE:
                # ``from deconfliction import store`` imports the subpackage itself;
                # ``__version__`` or a class name is an attribute of the root
                found.extend(
                    (
                        node.lineno,
                        f"{base}.{alias.name}" if alias.name.islower() and alias.name[0] != "_" else base,
                    )
                    for alias in node.names
                    if alias.name != "*"
                )
            else:
                found.append((node.lineno, base))  # names under one module share its layer
    return [(line, name) for line, name in found if name == PACKAGE or name.startswith(PACKAGE + ".")]


def violations(root: Path) -> list[str]:
    """Every import in ``root/PACKAGE`` that points from a lower layer to a higher one."""
    problems = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        module = module_name(path, root)
        own_name, own = layer_of(module)
        if own < 0:
            problems.append(f"{path.relative_to(root)}: {module} belongs to no layer of docs/concepts.md")
            continue
        for line, target in imported_modules(path, module):
            their_name, theirs = layer_of(target)
            if target == PACKAGE:
                continue
            if theirs > own or theirs < 0:
                problems.append(
                    f"{path.relative_to(root)}:{line}: {module} (layer {own_name or PACKAGE}) imports "
                    f"{target} (layer {their_name}, above it)"
                )
    return problems


def test_source_respects_the_layers():
    assert (SRC / PACKAGE / "geo").is_dir()
    assert violations(SRC) == []


def test_the_layers_are_those_the_docs_draw():
    assert LAYERS["geo"] < LAYERS["engine"] < LAYERS["store"] < LAYERS["service"] < LAYERS["interop"]
    assert LAYERS["interop"] < LAYERS["scenarios"] < LAYERS["api"] == LAYERS["client"] < LAYERS["cli"]
    assert LAYERS["units"] == LAYERS["errors"] == LAYERS["settings"] == 0
    assert "web" not in LAYERS  # nothing by that name exists
    tops = {p.relative_to(SRC / PACKAGE).parts[0].removesuffix(".py") for p in (SRC / PACKAGE).glob("*")}
    tops -= {"__init__", "__pycache__", "py.typed", "locale"}
    assert tops <= LAYERS.keys(), tops - LAYERS.keys()


def test_every_layer_is_actually_scanned():
    # geo really imports errors/units and engine really imports geo: the walk finds them.
    strategic = SRC / PACKAGE / "engine" / "strategic.py"
    targets = {t for _, t in imported_modules(strategic, "deconfliction.engine.strategic")}
    assert "deconfliction.geo.cells" in targets
    assert "deconfliction.engine.minima" in targets


def _write(root: Path, rel: str, text: str = "") -> None:
    path = root / PACKAGE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.relative_to(root).parents:
        init = root / parent / "__init__.py"
        if parent != Path(".") and not init.exists():
            init.write_text("")
    path.write_text(textwrap.dedent(text))


@pytest.mark.parametrize(
    ("rel", "source", "expect"),
    [
        (
            "geo/bad.py",
            "from deconfliction.engine.strategic import all_conflicts\n",
            "imports deconfliction.engine",
        ),
        ("geo/bad.py", "import deconfliction.store.sql\n", "deconfliction.store.sql"),
        ("geo/bad.py", "from ..engine import minima\n", "deconfliction.engine"),
        ("engine/bad.py", "from deconfliction import store\n", "deconfliction.store"),
        ("engine/bad.py", "def f():\n    from deconfliction.cli import main\n", "deconfliction.cli"),
        (
            "engine/bad.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from deconfliction.service import x\n",
            "deconfliction.service",
        ),
        ("store/bad.py", "from deconfliction.interop.geojson import read\n", "deconfliction.interop"),
        ("service/bad.py", "from deconfliction.api import app\n", "deconfliction.api"),
        ("units.py", "from deconfliction.geo import Position\n", "deconfliction.geo"),
        ("errors.py", "from . import geo\n", "deconfliction.geo"),
        ("engine/sub/deep.py", "from ...store import base\n", "deconfliction.store"),
        ("service/bad.py", "from deconfliction.newthing import helper\n", "deconfliction.newthing"),
        ("interop/bad.py", "from deconfliction.cli import main\n", "deconfliction.cli"),
        ("interop/bad.py", "from deconfliction.api.app import create_app\n", "deconfliction.api"),
        ("interop/bad.py", "from deconfliction.scenarios import euphrates\n", "deconfliction.scenarios"),
        ("scenarios/bad.py", "from deconfliction.api import app\n", "deconfliction.api"),
        ("api/bad.py", "from deconfliction.cli.report import band_text\n", "deconfliction.cli"),
        ("client.py", "from deconfliction.cli import main\n", "deconfliction.cli"),
        ("web.py", "from deconfliction.api import app\n", "belongs to no layer"),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path, rel, source, expect):
    _write(tmp_path, "geo/ok.py", "from deconfliction.errors import InvalidInput\nfrom . import ok\n")
    _write(tmp_path, "engine/ok.py", "from deconfliction.geo import ok\nfrom ..units import FOOT_M\n")
    assert violations(tmp_path) == []
    _write(tmp_path, rel, source)
    found = violations(tmp_path)
    assert len(found) == 1, found
    assert expect in found[0]


def test_allowed_directions_pass(tmp_path):
    _write(tmp_path, "cli/main.py", "from deconfliction.service import s\nfrom deconfliction.geo import g\n")
    _write(
        tmp_path, "service/s.py", "from deconfliction.store import base\nfrom deconfliction import engine\n"
    )
    _write(tmp_path, "store/base.py", "from ..engine.strategic import all_conflicts\n")
    _write(tmp_path, "interop/x.py", "from deconfliction.engine import minima\n")
    _write(
        tmp_path, "api/routes.py", "from deconfliction.interop import x\nfrom deconfliction import client\n"
    )
    _write(
        tmp_path,
        "cli/serve.py",
        "from deconfliction.api import routes\nfrom deconfliction import __version__\n",
    )
    _write(tmp_path, "__init__.py", "from deconfliction.cli import main\n")  # the root re-exports
    assert violations(tmp_path) == []


def interop_store_imports(root: Path) -> list[str]:
    """Imports of the store from ``interop``: an adapter converts wire formats and does no
    I/O, so it reaches storage only through the service layer."""
    found = []
    for path in sorted((root / PACKAGE / "interop").rglob("*.py")):
        for line, target in imported_modules(path, module_name(path, root)):
            if layer_of(target)[0] == "store":
                found.append(f"{path.relative_to(root)}:{line}: imports {target}")
    return found


def test_interop_never_imports_the_store(tmp_path):
    assert (SRC / PACKAGE / "interop" / "f3548").is_dir()
    assert interop_store_imports(SRC) == []
    _write(tmp_path, "interop/x.py", "from deconfliction.service import s\n")
    assert interop_store_imports(tmp_path) == []
    _write(tmp_path, "interop/f3548/y.py", "def f():\n    from deconfliction.store.f3548 import DssRepo\n")
    found = [p.split(": ")[1] for p in interop_store_imports(tmp_path)]
    assert found == ["imports deconfliction.store.f3548"]
