"""`wcofeed run` end to end: sources to feeds, subscription to reminder, clean stop."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import feedparser
import pytest

from tests.e2e.conftest import NEWSROOM, Pages, Running, wait_for

pytestmark = pytest.mark.slow

NEW_ITEM = """<div class="news-item">
  <span class="news-date">2 ноября 2020</span>
  <div class="news-summary"><p>The WCO opens applications for the end-to-end scholarship
  programme.</p></div>
  <a class="read-more" href="/en/media/newsroom/2020/november/e2e.aspx">read more</a>
</div>
"""


async def fetch(url: str, **kw: Any) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, **kw) as response:
        return response.status, await response.read()


async def entries(running: Running, query: str) -> list[Any]:
    status, body = await fetch(f"{running.base}/feed.atom?{query}")
    assert status == 200
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    return list(parsed.entries)


async def test_feeds_follow_the_source_and_the_service_stops_cleanly(
    service: Running, pages: Pages
) -> None:
    # items are keyed by their canonical link; the page repeats one article's link
    expected = len(set(re.findall(rb'href="([^"]+)">read more', NEWSROOM)))
    first = await wait_for(
        lambda: _at_least(entries(service, "limit=200"), expected), "the newsroom in the feed"
    )
    assert len(first) == expected
    static = service.config.parent / "feeds" / "en" / "all.atom"
    assert static.exists() and not feedparser.parse(static.read_bytes()).bozo

    body = NEWSROOM.replace(
        b'<div class="newsroom-list">\n', b'<div class="newsroom-list">\n' + NEW_ITEM.encode()
    )
    pages.bodies["/newsroom"] = (body, "text/html; charset=utf-8")
    await service.admin("POST", "/api/sources/newsroom/ingest")

    newest = (await entries(service, "limit=1"))[0]
    assert newest.link.endswith("/en/media/newsroom/2020/november/e2e.aspx")
    assert "end-to-end scholarship" in newest.summary
    assert newest.published_parsed[:3] == (2020, 11, 2)
    assert len(await entries(service, "limit=200")) == expected + 1
    on_disk = feedparser.parse(static.read_bytes())
    assert on_disk.entries[0].link == newest.link

    assert service.stop() == 0
    log = service.log.read_text()
    assert "stopped cleanly" in log and "Traceback" not in log


async def _at_least(pending: Any, n: int) -> list[Any] | None:
    found = await pending
    return found if len(found) >= n else None


def _link(text: str, path: str) -> str:
    (url,) = {u for u in re.findall(r"https?://\S+", text) if urlsplit(u).path == path}
    return str(url)


async def test_subscribe_confirm_remind_once_then_unsubscribe(service: Running) -> None:
    address = "e2e.reader@example.org"
    today = date.today()
    call = {
        "guid": "https://example.org/calls/e2e-scholarship",
        "url": "https://example.org/calls/e2e-scholarship",
        "kind": "call",
        "title": "End-to-end scholarship programme",
        "language": "en",
        "published": today.isoformat(),
        "deadline": (today + timedelta(days=2)).isoformat(),
        "topics": ["capacity-building"],
    }
    await service.admin("POST", "/api/items", json=call)

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{service.base}/subscribe") as form:
            assert form.status == 200 and 'name="email"' in await form.text()
        data = {
            "email": address,
            "language": "en",
            "topic": "capacity-building",
            "lead_days": "14,3,1",
            "digest": "off",
            "timezone": "Europe/Brussels",
        }
        headers = {"Origin": service.base}
        async with http.post(f"{service.base}/subscribe", data=data, headers=headers) as r:
            assert r.status == 200, await r.text()

        (confirmation,) = await wait_for(lambda: service.smtp.to(address), "the confirmation")
        text = confirmation.message.get_body(("plain",)).get_content()
        confirm_link = _link(text, "/confirm")
        async with http.get(confirm_link) as r:
            assert r.status == 200 and 'name="token"' in await r.text()
        token = parse_qs(urlsplit(confirm_link).query)["token"][0]
        confirm_form = {"token": token}
        async with http.post(f"{service.base}/confirm", data=confirm_form, headers=headers) as r:
            assert r.status == 200

        assert service.cli("digest").returncode == 0
        await wait_for(lambda: len(service.smtp.to(address)) == 2, "the reminder")
        assert service.cli("digest").returncode == 0
        assert len(service.smtp.to(address)) == 2, "a reminder was sent twice"
        reminder = service.smtp.to(address)[1].message
        body = reminder.get_body(("plain",))
        assert body is not None
        assert "End-to-end scholarship programme" in body.get_content()

        assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        (one_click,) = re.findall(r"<(https?://[^>]+)>", reminder["List-Unsubscribe"])
        async with http.post(one_click, data={"List-Unsubscribe": "One-Click"}) as r:
            assert r.status == 200

    # another call now falls due: nothing reaches the unsubscribed address
    later = {
        **call,
        "guid": "https://example.org/calls/e2e-2",
        "url": "https://example.org/calls/e2e-2",
        "title": "Second call",
        "deadline": (today + timedelta(days=1)).isoformat(),
    }
    await service.admin("POST", "/api/items", json=later)
    assert service.cli("digest").returncode == 0
    assert len(service.smtp.to(address)) == 2
    assert service.stop() == 0
