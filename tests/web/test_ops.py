from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import NOW, make_item
from wcofeed.store import Store

TOKEN = "ops-admin-token-0123456789abcdefghij"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SOURCES = f"""
[security]
admin_token = "{TOKEN}"

[[sources]]
id = "newsroom"
url = "samples/newsroom.html"
every = 3600

[[sources]]
id = "home"
url = "samples/home.html"
every = 3600
"""


@pytest.fixture
def web_config() -> str:
    return SOURCES


async def test_healthz_before_any_fetch_is_ok(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["database"] == {"ok": True}
    assert [(s["id"], s["status"]) for s in body["sources"]] == [
        ("newsroom", "pending"),
        ("home", "pending"),
    ]


async def test_healthz_shows_each_failing_source_and_turns_503_when_all_fail(
    client: TestClient[Any, Any], store: Store
) -> None:
    now = datetime.now(UTC)
    await store.record_fetch_success("newsroom", now - timedelta(minutes=5))
    await store.record_fetch_failure("home", now, "HTTP 500 from https://example.org/")
    body = await (await client.get("/healthz", headers=AUTH)).json()
    by_id = {s["id"]: s for s in body["sources"]}
    assert by_id["newsroom"]["status"] == "ok"
    assert 250 <= by_id["newsroom"]["last_success_age_seconds"] <= 400
    assert by_id["home"]["status"] == "failing"
    assert by_id["home"]["last_error"] == "HTTP 500 from https://example.org/"
    assert body["status"] == "ok"
    public = await (await client.get("/healthz")).json()
    assert [set(s) for s in public["sources"]] == [
        {"id", "status", "last_success", "last_success_age_seconds"}
    ] * 2
    assert "example.org" not in json.dumps(public)

    await store.record_fetch_failure("newsroom", now, "timeout after 30 s")
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["status"] == "unhealthy"


async def test_healthz_is_503_when_the_database_is_gone(
    client: TestClient[Any, Any], store: Store
) -> None:
    await store.close()
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"]["ok"] is False


async def test_metrics_count_items_by_kind_and_language(
    client: TestClient[Any, Any], store: Store
) -> None:
    await store.upsert_items(
        [make_item(kind="call"), make_item(kind="call"), make_item(language="fr")], now=NOW
    )
    await store.record_fetch_failure("home", NOW, "boom")
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert 'wcofeed_items{kind="call",language="en"} 2.0' in text
    assert 'wcofeed_items{kind="news",language="fr"} 1.0' in text
    assert 'wcofeed_source_consecutive_failures{source="home"} 1.0' in text


async def test_metrics_count_feed_answers_by_status_and_pending_emails(
    client: TestClient[Any, Any], store: Store
) -> None:
    from wcofeed.models import Subscriber
    from wcofeed.store import Claim

    await store.upsert_item(make_item(), now=NOW)
    first = await client.get("/feed.atom")
    assert first.status == 200
    again = await client.get("/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/feed.atom?lang=xx")).status == 404
    assert (await client.get("/feeds/en/nothing.atom")).status == 404

    sub = await store.save_subscriber(Subscriber("ana@example.org", status="active"), NOW)
    assert sub.id is not None
    await store.claim_deliveries([Claim("<m1@test>", sub.id, "{}")], NOW)

    text = await (await client.get("/metrics")).text()
    assert 'wcofeed_feed_requests_total{status="200"} 1.0' in text
    assert 'wcofeed_feed_requests_total{status="304"} 1.0' in text
    assert 'wcofeed_feed_requests_total{status="404"} 2.0' in text
    assert "wcofeed_emails_pending 1.0" in text
