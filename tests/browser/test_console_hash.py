"""The console's geometry hash against the Python reference (``client.geometry_hash``).

A hotline acknowledgement echoes the SHA-256 of the canonical JSON of the geometry the
reader was shown; the console computes it in the browser from the server's JSON. Random
geometry fields (floats from 1e-300 to 1e300, integers, -0.0, strings in any script) are
serialised as the server's encoder does (pydantic-core) and as the standard library does,
parsed and hashed by the console's own module in Chromium, and compared with Python's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import served_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from deconfliction.client import geometry_hash

HASH_IN_PAGE = """async (texts) => {
  const m = await import('/console/canonical.js');
  return Promise.all(texts.map((t) => m.geometryHash(m.parseExact(t))));
}"""

_scalars = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
    | st.booleans()
    | st.none()
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_fields = st.fixed_dictionaries(
    {},
    optional={"area": _values, "altitude": _values, "position": _values, "conflict": st.text(max_size=8)},
)


@pytest.fixture(scope="module")
def page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with served_store(tmp_path_factory.mktemp("hash")) as server:
        context = browser.new_context()
        p = context.new_page()
        p.goto(f"{server.url}/console/")
        try:
            yield p
        finally:
            context.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_fields, min_size=10, max_size=10))
def test_browser_hash_equals_python_hash(page: Any, cases: list[dict[str, Any]]) -> None:
    texts = [to_json(c).decode() for c in cases] + [json.dumps(c) for c in cases]
    got = page.evaluate(HASH_IN_PAGE, texts)
    want = [geometry_hash(c) for c in cases] * 2
    assert [t for t, g, w in zip(texts, got, want, strict=True) if g != w] == []


def test_known_values(page: Any, tmp_path: Path) -> None:
    fields = {"altitude": {"lower": 9500.0, "upper": 2e-05, "units": "ft", "datum": "STD"}, "x": 1}
    # pydantic-core writes 2e-05 as "2e-5" and 9500.0 as "9500.0"; Python hashes "2e-05".
    assert page.evaluate(HASH_IN_PAGE, [to_json(fields).decode()]) == [geometry_hash(fields)]
    assert page.evaluate(HASH_IN_PAGE, ['{"conflict": "CX-1"}']) == [None]
    # Keys sorted by code point, as Python does (UTF-16 order would put U+1F600 first).
    keys = {"area": {"\ue000": 1, "\U0001f600": 2, "a": 3}}
    assert page.evaluate(HASH_IN_PAGE, [json.dumps(keys)]) == [geometry_hash(keys)]
