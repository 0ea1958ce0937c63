from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import NOW, make_item
from tests.web.conftest import RecordingActions
from wcofeed.models import item_to_dict
from wcofeed.store import Store

TOKEN = "s3cret-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def web_config() -> str:
    return f"""
[security]
admin_token = "{TOKEN}"

[[sources]]
id = "home"
url = "samples/home.html"
"""


def new_item_json(**overrides: Any) -> dict[str, Any]:
    data = {
        "guid": "https://example.org/calls/vcoa-21",
        "kind": "call",
        "title": "21st Virtual Customs Orientation Academy",
        "url": "https://example.org/calls/vcoa-21",
        "language": "en",
        "published": "2025-02-01",
        "deadline": "2025-02-14",
        "topics": ["capacity-building"],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/sources"),
        ("POST", "/api/items"),
        ("DELETE", "/api/items/x"),
        ("POST", "/api/sources/home/ingest"),
        ("GET", "/api/no-such-endpoint"),
        ("PATCH", "/api/items/x"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ],
    ids=["none", "wrong", "no-scheme", "basic"],
)
async def test_every_endpoint_needs_the_token(
    client: TestClient[Any, Any],
    actions: RecordingActions,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    response = await client.request(method, path, headers=headers, json={})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert actions.ingested == [] and actions.republished == []


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/nope"), ("PATCH", "/api/items/x")])
async def test_what_the_api_lacks_is_404_with_the_token(
    client: TestClient[Any, Any], method: str, path: str
) -> None:
    response = await client.request(method, path, headers=AUTH)
    assert response.status == 404
    assert (await response.json())["error"] == f"no {method} {path} in the admin API"


async def test_create_read_replace_delete(
    client: TestClient[Any, Any], store: Store, actions: RecordingActions
) -> None:
    created = await client.post("/api/items", json=new_item_json(), headers=AUTH)
    assert created.status == 201, await created.text()
    body = await created.json()
    assert body["source"] == "admin" and body["deadline"]["date"] == "2025-02-14"
    guid = body["guid"]
    path = f"/api/items/{quote(guid, safe='')}"

    assert (await client.post("/api/items", json=new_item_json(), headers=AUTH)).status == 409
    fetched = await client.get(path, headers=AUTH)
    assert (await fetched.json())["title"] == "21st Virtual Customs Orientation Academy"

    replaced = await client.put(path, json=new_item_json(deadline="2025-02-21"), headers=AUTH)
    assert replaced.status == 200
    assert (await replaced.json())["outcome"] == "changed"
    stored = await store.get_item(guid)
    assert stored is not None and stored.deadline is not None
    assert stored.deadline.day.isoformat() == "2025-02-21"
    # the edit republishes the feeds of the new and the previous version
    assert [i.deadline.day.isoformat() for i in actions.republished[-1] if i.deadline] == [
        "2025-02-21",
        "2025-02-14",
    ]

    assert (await client.delete(path, headers=AUTH)).status == 204
    assert await store.get_item(guid) is None
    assert (await client.delete(path, headers=AUTH)).status == 404
    assert (await client.get(path, headers=AUTH)).status == 404
    assert len(actions.republished) == 3


async def test_invalid_items_get_422_with_field_errors(client: TestClient[Any, Any]) -> None:
    bad = new_item_json(kind="memo", language="English", deadline="someday", topics=["A B"])
    del bad["title"]
    response = await client.post("/api/items", json=bad, headers=AUTH)
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert set(errors) == {"kind", "language", "deadline", "topics", "title"}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe"])
async def test_malformed_bodies_get_400(client: TestClient[Any, Any], body: bytes) -> None:
    response = await client.post(
        "/api/items", data=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_oversized_bodies_are_refused(client: TestClient[Any, Any]) -> None:
    huge = new_item_json(summary="x" * 200_000)
    response = await client.post("/api/items", json=huge, headers=AUTH)
    assert response.status == 413


async def test_put_guid_must_match_the_url(client: TestClient[Any, Any], store: Store) -> None:
    item = make_item()
    await store.upsert_item(item, now=NOW)
    data = item_to_dict(item) | {"guid": "https://example.org/other"}
    response = await client.put(f"/api/items/{quote(item.guid, safe='')}", json=data, headers=AUTH)
    assert response.status == 422


async def test_sources_and_ingest_trigger(
    client: TestClient[Any, Any], store: Store, actions: RecordingActions
) -> None:
    await store.record_fetch_failure("home", NOW, "HTTP 503")
    sources = await (await client.get("/api/sources", headers=AUTH)).json()
    assert sources[0]["id"] == "home" and sources[0]["last_error"] == "HTTP 503"
    assert sources[0]["status"] == "failing"

    response = await client.post("/api/sources/home/ingest", headers=AUTH)
    assert response.status == 200 and actions.ingested == ["home"]
    unknown = await client.post("/api/sources/nope/ingest", headers=AUTH)
    assert unknown.status == 404 and actions.ingested == ["home"]


class TestWithoutToken:
    @pytest.fixture
    def web_config(self) -> str:
        return ""

    async def test_api_is_off(self, client: TestClient[Any, Any]) -> None:
        response = await client.get("/api/sources", headers={"Authorization": "Bearer "})
        assert response.status == 404
        assert "off" in (await response.json())["error"]


async def test_translation_key_is_derived_or_given(
    client: TestClient[Any, Any], store: Store
) -> None:
    link = "https://www.wcoomd.org/fr/about-us/vacancies/vcoa-21.aspx"
    derived = await client.post(
        "/api/items", json=new_item_json(guid=link, url=link, language="fr"), headers=AUTH
    )
    assert derived.status == 201
    key = "https://www.wcoomd.org/{lang}/about-us/vacancies/vcoa-21.aspx"
    assert (await derived.json())["translation_key"] == key
    given = await client.post(
        "/api/items",
        json=new_item_json(guid="urn:wco:vcoa-21:es", language="es", translation_key=key),
        headers=AUTH,
    )
    assert given.status == 201
    found = await store.versions([key])
    assert sorted(v.language for v in found[key]) == ["es", "fr"]
    bad = await client.post(
        "/api/items", json=new_item_json(guid="urn:x", translation_key=["x"]), headers=AUTH
    )
    assert bad.status == 422 and "translation_key" in (await bad.json())["errors"]
