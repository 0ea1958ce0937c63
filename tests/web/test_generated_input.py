"""Generated query strings and bodies: the server answers 2xx/4xx, never 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_item
from wcofeed.store import Store

TOKEN = "generated-input-token-0123456789abcdef"
PARAMS = ["lang", "topic", "kind", "q", "page", "hl", "since", "limit"]
text = st.text(max_size=40)
hostile = st.sampled_from(
    [
        "' OR 1=1 --",
        '"; DROP TABLE items; --',
        "../../etc/passwd",
        "%00",
        "\x00",
        "NEAR(",
        "*",
        "origin\r\nSet-Cookie: x=1",
        "😀",
        "١٢٣",
        "-1",
        "999999999999999999999",
    ]
)
value = st.one_of(text, hostile)
query = st.lists(st.tuples(st.sampled_from(PARAMS), value), max_size=6)


@pytest.fixture
def web_config() -> str:
    return f"""
[security]
admin_token = "{TOKEN}"

[topics.origin]
labels = {{ en = "Origin" }}
"""


@pytest.fixture
async def seeded(store: Store) -> Store:
    await store.upsert_items([make_item(topics=("origin",)), make_item(kind="call")])
    return store


_run = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@_run
@given(path=st.sampled_from(["/", "/calls"]), params=query)
async def test_pages_never_fail(
    client: TestClient[Any, Any], seeded: Store, path: str, params: list[tuple[str, str]]
) -> None:
    response = await client.get(f"{path}?{urlencode(params)}")
    await response.read()
    assert response.status in (200, 400), (path, params, response.status)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | value,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=10,
)
item_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_value
        for key in [
            "guid",
            "kind",
            "title",
            "url",
            "language",
            "published",
            "deadline",
            "topics",
            "summary",
            "source",
            "extra",
        ]
    },
)


@_run
@given(body=st.one_of(item_like, json_value))
async def test_admin_items_never_fail(client: TestClient[Any, Any], body: Any) -> None:
    response = await client.post(
        "/api/items", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    await response.read()
    assert response.status in (201, 400, 409, 422), (body, response.status)
