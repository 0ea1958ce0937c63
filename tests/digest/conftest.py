"""Settings that point the digest at the shared loopback SMTP server (tiny retry
delays so failure tests stay fast), subscribers and calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import SmtpServer

from wcofeed.config import Settings, load_settings
from wcofeed.models import Deadline, Item, Subscriber
from wcofeed.store import Store

SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture
def digest_settings(write_config: Callable[..., Path], smtp_server: SmtpServer) -> Settings:
    path = write_config(
        f"""
        [site]
        base_url = "https://feeds.example.org"
        title = "WCO calls"

        [smtp]
        host = "127.0.0.1"
        port = {smtp_server.port}
        security = "none"
        timeout = 5.0
        retries = 2
        retry_delay = 0.01
        concurrency = 2

        [email]
        from_address = "WCO feeds <noreply@feeds.example.org>"
        list_id = "reminders.feeds.example.org"
        max_bounces = 2

        [security]
        secret_key = "{SECRET}"
        """
    )
    return load_settings(path, env={})


NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    """The fixed "now" of digest tests: Saturday 1 February 2025, 12:00 UTC."""
    return NOW


@pytest.fixture
def add_subscriber(store: Store) -> Callable[..., Awaitable[Subscriber]]:
    """Store an active subscriber (fields overridable)."""

    async def add(email_address: str = "ana@example.org", **fields: Any) -> Subscriber:
        values: dict[str, Any] = {"status": "active", "timezone": "Europe/Brussels"}
        values.update(fields)
        return await store.save_subscriber(Subscriber(email=email_address, **values), NOW)

    return add


@pytest.fixture
def make_call(item_factory: Callable[..., Item]) -> Callable[..., Item]:
    """A call for applications closing at the end of `day` (Brussels)."""

    def make(day: date, **fields: Any) -> Item:
        return item_factory(kind="call", deadline=Deadline(day), **fields)

    return make
