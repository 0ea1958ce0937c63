"""The service in-process: one failing part never stops the others, and a stop is clean."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import NOW, REPO, free_port, make_item, on_database
from wcofeed.config import load_settings
from wcofeed.models import Deadline, Subscriber
from wcofeed.service import Service
from wcofeed.store import ItemQuery, open_store

ADMIN_TOKEN = "service-admin-token-0123456789abcdef"
#: The source's last error is shown in /healthz to the admin only.
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_a_dead_source_and_smtp_down_do_not_stop_the_rest(
    write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture, database: Path | str
) -> None:
    port, dead_port, smtp_port = free_port(), free_port(), free_port()
    sample = REPO / "samples" / "wco-newsroom-ru.html"
    path = write_config(f"""
        [server]
        port = {port}
        [security]
        secret_key = "service-test-secret-0123456789"
        admin_token = "{ADMIN_TOKEN}"
        [smtp]
        host = "127.0.0.1"
        port = {smtp_port}
        security = "none"
        timeout = 2.0
        retries = 0
        [email]
        send_hour = 0
        [fetch]
        retries = 0
        connect_timeout = 2.0
        [[sources]]
        id = "dead"
        url = "http://127.0.0.1:{dead_port}/gone"
        [[sources]]
        id = "newsroom"
        url = "{sample}"
        ui_language = "ru"
    """)
    settings = on_database(load_settings(path, env={}), database)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="wcofeed")
    async with await open_store(settings.database.location) as store:
        # a subscriber with a call due, so the digest round must reach the (dead) SMTP server
        await store.save_subscriber(Subscriber("ana@example.org", status="active"), NOW)
        soon = date.today() + timedelta(days=2)
        await store.upsert_item(make_item(kind="call", deadline=Deadline(soon)))
        running = asyncio.create_task(Service(settings, store).serve(stop=stop, schedule=True))
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                await asyncio.sleep(0.1)
                try:
                    async with http.get(f"{base}/healthz", headers=AUTH) as r:
                        health = await r.json()
                except aiohttp.ClientError:
                    continue
                states = {s["id"]: s["status"] for s in health["sources"]}
                if states == {"dead": "failing", "newsroom": "ok"}:
                    break
            else:
                raise AssertionError(f"sources did not settle: {health}")
            assert health["status"] == "ok"
            failing = next(s for s in health["sources"] if s["id"] == "dead")
            assert str(dead_port) in failing["last_error"]
            async with http.get(f"{base}/feed.atom") as r:
                assert r.status == 200
        assert await store.count_items(ItemQuery(source="newsroom")) > 0
        for _ in range(100):
            if "digest round failed" in caplog.text:
                break
            await asyncio.sleep(0.1)
        assert "digest round failed" in caplog.text  # SMTP down: logged, nothing else stops
        assert "SmtpDownError" in caplog.text
        stop.set()
        await asyncio.wait_for(running, 30)
    assert "stopped cleanly" in caplog.text
    assert (settings.publish.feeds_dir / "en" / "all.atom").exists()
