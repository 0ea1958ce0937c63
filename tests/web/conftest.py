"""Web fixtures: the real aiohttp app on a loopback test server over a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from wcofeed.config import Settings, load_settings
from wcofeed.models import Deadline, Item
from wcofeed.store import Store
from wcofeed.web.app import create_app

CONFIG = """
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


@pytest.fixture
def web_settings(write_config: Callable[..., Path]) -> Settings:
    return load_settings(write_config(CONFIG), env={})


def web_corpus(make_item: Callable[..., Item]) -> list[Item]:
    """23 items: en and fr, news and calls, one topic each in turn, one day apart."""
    items = []
    for n in range(23):
        call = n % 3 == 0
        items.append(make_item(
            guid=f"https://wco.test/item/{n}", url=f"https://wco.test/item/{n}",
            title=f"{'Call' if call else 'News'} {n} about {TOPICS[n % 3]}",
            language="fr" if n % 4 == 0 else "en", kind="call" if call else "news",
            topics=(TOPICS[n % 3],), published=date(2025, 1, 1) + timedelta(days=n),
            deadline=Deadline(date(2030, 1, 1) + timedelta(days=n)) if call else None,
        ))
    return items


@pytest.fixture
async def web_items(store: Store, item_factory: Callable[..., Item]) -> list[Item]:
    results = await store.upsert_items(web_corpus(item_factory),
                                       now=datetime(2025, 2, 1, tzinfo=UTC))
    return [r.item for r in results]


@pytest.fixture
async def client(web_settings: Settings, store: Store) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(create_app(web_settings, store))) as c:
        yield c
