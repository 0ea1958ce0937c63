"""The bundled sample as a new user meets it: `init`, `ingest`, the feeds, the home page
and a first daily digest, on a copy of the shipped config.toml and samples/."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.cli.conftest import wcofeed
from tests.conftest import REPO
from tests.web.conftest import RecordingActions
from wcofeed.config import load_settings
from wcofeed.store import open_store
from wcofeed.web.app import create_app

pytestmark = pytest.mark.slow


async def test_the_sample_shows_its_dated_news_first_and_a_first_digest_sends_nothing(
    tmp_path: Path,
) -> None:
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    config = str(tmp_path / "config.toml")
    for command in (["init"], ["ingest"]):
        result = wcofeed(*command, "--config", config)
        assert result.returncode == 0, result.stderr
    ingested = datetime.now(UTC)

    feed = feedparser.parse((tmp_path / "feeds" / "en" / "all.atom").read_bytes())
    assert not feed.bozo and len(feed.entries) == 50
    # every entry dated by its source, newest first: no tool "published today"
    dates = [entry.published_parsed[:3] for entry in feed.entries]
    assert dates == sorted(dates, reverse=True) and dates[0] == (2025, 2, 14)
    assert feed.entries[4].title.startswith("Call for experts")  # hand-entered, 10 February
    calls = feedparser.parse((tmp_path / "feeds" / "en" / "calls.atom").read_bytes())
    assert "published" in calls.entries[0]
    # The career programme is dated by its own page (bundled), which also gives its
    # deadline to the minute, its text and its forms; the other calls stay undated.
    career = calls.entries[1]
    assert career.title.startswith("wco/japan career development programme")
    assert career.published_parsed[:3] == (2025, 1, 20)
    assert "17:00 (Europe/Brussels)" in career.content[0].value
    assert "Selected officials spend ten months" in career.content[0].value
    assert len(career.enclosures) == 2
    assert all("published" not in entry for entry in calls.entries[2:])  # undated, listed

    settings = load_settings(Path(config), env={})
    async with await open_store(settings.database.path) as store:
        app = create_app(settings, store, RecordingActions())
        client: TestClient[Any, Any]
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            response = await client.get("/?hl=en")
            assert response.status == 200
            home = lxml.html.fromstring(await response.text())
            calls_page = lxml.html.fromstring(await (await client.get("/calls")).text())
    full_text = home.xpath('//p[@class="more"]/a[text()="Full text"]/@href')
    assert len(full_text) == 3  # the three items whose pages are bundled; the rest: "Details"
    titles = [h.text_content().strip() for h in home.cssselect("article.item h3")]
    assert titles == [entry.title for entry in feed.entries[:20]]
    # the sample's calls have closed: /calls shows them below, marked closed
    closed = calls_page.cssselect("section.closed-calls li")
    assert len(closed) == 5 and all("closed" in li.text_content() for li in closed)

    result = wcofeed(
        "subscribers", "add", "reader@example.org", "--digest", "daily", "--confirmed",
        "--config", config,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    after = (ingested + timedelta(hours=1)).isoformat()
    result = wcofeed("digest", "--now", after, "--config", config)
    assert result.returncode == 0, result.stderr
    assert "0 sent" in result.stdout
    outbox = tmp_path / "outbox"
    assert not outbox.exists() or not any(outbox.iterdir())
