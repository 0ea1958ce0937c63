"""Shared test helpers: a temporary store, an item factory and a config writer."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from wcofeed.config import Settings, load_settings
from wcofeed.models import Item
from wcofeed.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_counter = itertools.count(1)


def make_item(**fields: Any) -> Item:
    """An item with plausible defaults; every field can be overridden."""
    n = next(_counter)
    values: dict[str, Any] = {
        "guid": f"https://example.org/item/{n}",
        "kind": "news",
        "title": f"Item number {n}",
        "url": f"https://example.org/item/{n}",
        "language": "en",
        "published": date(2025, 1, 1),
        "source": "test",
        "summary": f"Summary of item {n}",
        "summary_html": f"<p>Summary of item {n}</p>",
    }
    values.update(fields)
    return Item(**values)


@pytest.fixture
def item_factory() -> Callable[..., Item]:
    return make_item


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await open_store(tmp_path / "test.db") as s:
        yield s


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config.toml (dedented) into the test's temp folder and return its path."""

    def write(text: str = "", name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def settings(write_config: Callable[[str], Path]) -> Settings:
    """Settings from a minimal config whose database and outputs live in the temp folder."""
    return load_settings(write_config(""), env={})


NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
