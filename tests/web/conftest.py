"""A real aiohttp server on loopback around the app, over a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from wcofeed.config import Settings, load_settings
from wcofeed.models import Item
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
    """Override in a test module to serve another config."""
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
