"""A real aiohttp server on loopback around the app, over a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from wcofeed.config import Settings, load_settings
from wcofeed.models import Deadline, Item
from wcofeed.store import Store
from wcofeed.web.app import create_app


class RecordingActions:
    """Stands in for the running service: remembers what the web side asked of it."""

    def __init__(self) -> None:
        self.ingested: list[str] = []
        self.republished: list[list[Item]] = []

    async def ingest_source(self, source_id: str) -> dict[str, Any]:
        self.ingested.append(source_id)
        return {"source": source_id, "new": 0}

    async def republish(self, items: Sequence[Item]) -> None:
        self.republished.append(list(items))


@pytest.fixture
def actions() -> RecordingActions:
    return RecordingActions()


@pytest.fixture
def web_config() -> str:
    """The served config; a test module overrides it (FEEDS_CONFIG serves the feed tests)."""
    return ""


@pytest.fixture
def web_settings(write_config: Callable[..., Path], web_config: str) -> Settings:
    return load_settings(write_config(web_config), env={})


@pytest.fixture
async def client(
    web_settings: Settings, store: Store, actions: RecordingActions
) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(web_settings, store, actions)
    async with TestClient(TestServer(app, host="127.0.0.1")) as c:
        yield c


FEEDS_CONFIG = """
[site]
base_url = "http://feeds.test"
[server]
change_check_seconds = 0
[publish]
feeds_dir = "out"
items_per_feed = 5
max_limit = 20
cache_seconds = 120
[topics.origin]
labels = { en = "Rules of origin", fr = "Règles d'origine" }
[topics.valuation]
labels = { en = "Valuation" }
[topics.security]
labels = { en = "Security" }
"""

TOPICS = ("origin", "valuation", "security")


def web_corpus(make_item: Callable[..., Item]) -> list[Item]:
    """23 items: en and fr, news and calls, one topic each in turn, one day apart."""
    items = []
    for n in range(23):
        call = n % 3 == 0
        items.append(
            make_item(
                guid=f"https://wco.test/item/{n}",
                url=f"https://wco.test/item/{n}",
                title=f"{'Call' if call else 'News'} {n} about {TOPICS[n % 3]}",
                language="fr" if n % 4 == 0 else "en",
                kind="call" if call else "news",
                topics=(TOPICS[n % 3],),
                published=date(2025, 1, 1) + timedelta(days=n),
                deadline=Deadline(date(2030, 1, 1) + timedelta(days=n)) if call else None,
            )
        )
    return items


@pytest.fixture
async def web_items(store: Store, item_factory: Callable[..., Item]) -> list[Item]:
    results = await store.upsert_items(
        web_corpus(item_factory), now=datetime(2025, 2, 1, tzinfo=UTC)
    )
    return [r.item for r in results]
