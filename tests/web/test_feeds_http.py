"""GET /feed.{fmt} and /feeds/...: filters, errors, caching validators, gzip, paging."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import feedparser
import icalendar
import lxml.html
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.conftest import published_at
from tests.web.conftest import FEEDS_CONFIG, RecordingActions
from wcofeed.config import Settings
from wcofeed.models import Item
from wcofeed.publish import publish_all
from wcofeed.store import Store
from wcofeed.web.app import create_app


@pytest.fixture
def web_config() -> str:
    return FEEDS_CONFIG


async def entries(client: TestClient[Any, Any], url: str) -> list[feedparser.FeedParserDict]:
    resp = await client.get(url)
    assert resp.status == 200, await resp.text()
    parsed = feedparser.parse(await resp.read())
    assert not parsed.bozo
    return list(parsed.entries)


async def test_content_types_and_cache_headers(
    client: TestClient[Any, Any], web_items: list[Item]
) -> None:
    expected = {
        "atom": "application/atom+xml",
        "rss": "application/rss+xml",
        "json": "application/feed+json",
        "ics": "text/calendar",
    }
    for fmt, media in expected.items():
        resp = await client.get(f"/feed.{fmt}")
        assert resp.status == 200
        assert resp.content_type == media
        assert resp.headers["Cache-Control"] == "public, max-age=120"
        assert resp.headers["ETag"].startswith('"')
        assert resp.headers["Last-Modified"].endswith("GMT")
    assert (await client.get("/feed.xml")).status == 404


async def test_conditional_get_200_304_then_200_after_new_item(
    client: TestClient[Any, Any],
    store: Store,
    web_items: list[Item],
    item_factory: Callable[..., Item],
) -> None:
    first = await client.get("/feed.atom?lang=en")
    assert first.status == 200
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = await client.get("/feed.atom?lang=en", headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    by_date = await client.get("/feed.atom?lang=en", headers={"If-Modified-Since": modified})
    assert by_date.status == 304
    await store.upsert_item(
        item_factory(language="en", published=date(2026, 1, 1), title="Brand new")
    )
    fresh = await client.get("/feed.atom?lang=en", headers={"If-None-Match": etag})
    assert fresh.status == 200
    assert fresh.headers["ETag"] != etag
    assert feedparser.parse(await fresh.read()).entries[0].title == "Brand new"
    # A change elsewhere leaves this feed's bytes, ETag and Last-Modified alone.
    fr = await client.get("/feed.atom?content_lang=fr")
    await store.upsert_item(item_factory(language="en", published=date(2026, 1, 2)))
    fr_again = await client.get(
        "/feed.atom?content_lang=fr", headers={"If-None-Match": fr.headers["ETag"]}
    )
    assert fr_again.status == 304
    assert fr_again.headers["Last-Modified"] == fr.headers["Last-Modified"]


async def test_gzip_when_accepted(client: TestClient[Any, Any], web_items: list[Item]) -> None:
    plain = await client.get("/feed.rss", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    zipped = await client.get("/feed.rss", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert await zipped.read() == await plain.read()  # the client inflates it


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("content_lang=fr", lambda i: i.language == "fr"),
        ("content_lang=fr,en&topic=origin", lambda i: "origin" in i.topics),
        ("topic=origin", lambda i: "origin" in i.topics),
        ("topic=origin,security", lambda i: {"origin", "security"} & set(i.topics)),
        ("topic=origin&topic=valuation", lambda i: {"origin", "valuation"} & set(i.topics)),
        ("kind=call", lambda i: i.kind == "call"),
        ("kind=calls", lambda i: i.kind == "call"),
        ("q=valuation", lambda i: "valuation" in i.title),
        ("since=2025-01-20", lambda i: published_at(i) >= datetime(2025, 1, 20, tzinfo=UTC)),
        (
            "lang=en&topic=valuation&kind=news",
            lambda i: i.language == "en" and i.kind == "news" and "valuation" in i.topics,
        ),
        (
            "lang=en&kind=call&q=call&since=2025-01-05T00:00:00Z",
            lambda i: (
                i.language == "en"
                and i.kind == "call"
                and published_at(i).date() >= date(2025, 1, 5)
            ),
        ),
    ],
)
async def test_each_filter_alone_and_combined(
    client: TestClient[Any, Any], web_items: list[Item], query: str, check: Callable[[Item], bool]
) -> None:
    want = sorted((i for i in web_items if check(i)), key=published_at, reverse=True)
    got = await entries(client, f"/feed.atom?{query}&limit=20")
    assert [e.link for e in got] == [i.url for i in want]
    assert want


@pytest.mark.parametrize(
    ("query", "status", "names"),
    [
        ("lang=xx", 404, "unknown language 'xx'"),
        ("lang=EN!", 400, "lang:"),
        ("lang=fr,en", 400, "lang: one edition"),
        ("lang=fr&lang=en", 400, "lang: give it once"),
        ("content_lang=xx", 404, "content_lang: unknown language 'xx'"),
        ("topic=nope", 404, "unknown topic 'nope'"),
        ("topic=Bad_Slug", 400, "topic:"),
        ("kind=gossip", 400, "kind:"),
        ("since=yesterday", 400, "since:"),
        ("limit=0", 400, "limit:"),
        ("limit=ten", 400, "limit:"),
        ("page=-1", 400, "page:"),
        ("page=1&page=2", 400, "page:"),
        ("q=" + "x" * 201, 400, "q:"),
        ("colour=red", 400, "colour: unknown parameter"),
    ],
)
async def test_bad_parameters_are_named(
    client: TestClient[Any, Any], web_items: list[Item], query: str, status: int, names: str
) -> None:
    resp = await client.get(f"/feed.json?{query}")
    assert resp.status == status
    text = await resp.text()
    assert names in text
    assert text.count("\n") == 1


async def test_limit_is_capped(client: TestClient[Any, Any], web_items: list[Item]) -> None:
    got = await entries(client, "/feed.atom?limit=1000")
    assert len(got) == 20
    assert len(await entries(client, "/feed.atom")) == 5


async def test_paging_walks_every_item_exactly_once(
    client: TestClient[Any, Any], web_items: list[Item]
) -> None:
    url: str | None = "/feed.atom?limit=4"
    seen: list[str] = []
    pages = 0
    while url:
        resp = await client.get(url)
        parsed = feedparser.parse(await resp.read())
        links = {link.rel: link.href for link in parsed.feed.links}
        assert links["first"] == "http://feeds.test/feed.atom?limit=4"
        assert ("previous" in links) == (pages > 0)
        seen += [e.id for e in parsed.entries]
        pages += 1
        url = links.get("next", "").removeprefix("http://feeds.test") or None
    assert pages == 6
    assert sorted(seen) == sorted(i.guid for i in web_items)
    json_page = json.loads(await (await client.get("/feed.json?limit=4&page=2")).read())
    assert json_page["next_url"] == "http://feeds.test/feed.json?limit=4&page=3"
    rss = feedparser.parse(await (await client.get("/feed.rss?limit=4&page=6")).read())
    rss_links = {link.rel for link in rss.feed.links}
    assert "previous" in rss_links and "next" not in rss_links


async def test_page_links_carry_the_canonical_filters_since_and_limit(
    client: TestClient[Any, Any], web_items: list[Item]
) -> None:
    """Every page link is the canonical query (filters in their order, encoded, then
    `since`, `limit` and the page), whatever order and spelling the request used."""
    asked = "/feed.atom?page=2&limit=1&since=2020-01-01T00:00:00%2B00:00&q=ça+va&topic=origin"
    parsed = feedparser.parse(await (await client.get(asked)).read())
    links = {link.rel: link.href for link in parsed.feed.links}
    first = (
        "http://feeds.test/feed.atom?topic=origin&q=%C3%A7a+va"
        "&since=2020-01-01T00%3A00%3A00%2B00%3A00&limit=1"
    )
    assert links["first"] == first
    assert links["self"] == f"{first}&page=2"
    assert links["previous"] == first


async def test_calendar_query_lists_open_calls(
    client: TestClient[Any, Any], web_items: list[Item]
) -> None:
    resp = await client.get("/feed.ics?lang=en&topic=origin")
    calendar = icalendar.Calendar.from_ical(await resp.read())
    urls = [str(e["URL"]) for e in calendar.walk("VEVENT")]
    want = [
        i.url for i in web_items if i.kind == "call" and i.language == "en" and "origin" in i.topics
    ]
    assert urls == want and want


async def test_static_files_served_safely(
    client: TestClient[Any, Any], web_settings: Settings, store: Store, web_items: list[Item]
) -> None:
    await publish_all(web_settings, store)
    on_disk = (web_settings.publish.feeds_dir / "en/topics/origin.atom").read_bytes()
    resp = await client.get("/feeds/en/topics/origin.atom")
    assert resp.status == 200
    assert resp.content_type == "application/atom+xml"
    assert await resp.read() == on_disk
    cached = await client.get(
        "/feeds/en/topics/origin.atom", headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert cached.status == 304
    (web_settings.publish.feeds_dir / "en/topics/origin.atom").unlink()
    assert (await client.get("/feeds/en/topics/origin.atom")).status == 404
    index = await client.get("/feeds/")
    assert index.content_type == "text/html"
    assert 'rel="alternate"' in await index.text()
    assert (await client.get("/feeds/feeds.opml")).content_type == "text/x-opml"
    secret = web_settings.publish.feeds_dir.parent / "secret.atom"
    secret.write_text("no")
    (web_settings.publish.feeds_dir / "en/escape.atom").symlink_to(secret)
    for bad in (
        "/feeds/../secret.atom",
        "/feeds/%2e%2e/secret.atom",
        "/feeds/en/../../secret.atom",
        "/feeds/.hidden",
        "/feeds/en/nothing.atom",
        "/feeds/..%2fsecret.atom",
        "/feeds/en/escape.atom",
        "/feeds/en%5c..%5csecret.atom",
    ):
        assert (await client.get(bad)).status == 404, bad


async def test_cache_serves_without_store_until_check_interval(
    web_settings: Settings, store: Store, web_items: list[Item], actions: RecordingActions
) -> None:
    slow = replace(web_settings, server=replace(web_settings.server, change_check_seconds=0.3))
    async with TestClient(TestServer(create_app(slow, store, actions))) as c:
        first = await c.get("/feed.atom")
        await store.delete_item(web_items[-1].guid)
        await store.upsert_items([replace(web_items[0], title="Edited")])
        stale = await c.get("/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
        assert stale.status == 304
        await asyncio.sleep(0.35)
        fresh = await c.get("/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
        assert fresh.status == 200


async def test_feed_file_is_looked_at_again_after_the_check_interval(
    web_settings: Settings, store: Store, web_items: list[Item], actions: RecordingActions
) -> None:
    await publish_all(web_settings, store)
    path = web_settings.publish.feeds_dir / "en/all.atom"
    slow = replace(web_settings, server=replace(web_settings.server, change_check_seconds=0.3))
    async with TestClient(TestServer(create_app(slow, store, actions))) as c:
        first = await (await c.get("/feeds/en/all.atom")).read()
        replacement = path.with_name("all.atom.new")
        replacement.write_bytes(first.replace(b"<feed", b"<feed xml:lang='en'", 1))
        replacement.replace(path)  # as the publisher writes: a whole new file
        assert await (await c.get("/feeds/en/all.atom")).read() == first
        await asyncio.sleep(0.35)
        assert await (await c.get("/feeds/en/all.atom")).read() == path.read_bytes() != first
        path.unlink()
        assert (await c.get("/feeds/en/all.atom")).status == 200
        await asyncio.sleep(0.35)
        assert (await c.get("/feeds/en/all.atom")).status == 404

        # One file kept twice (the index asked for by name, and negotiated: another
        # Vary): a look through one renews the other at once, however often the first
        # is asked within the interval.
        index = web_settings.publish.feeds_dir / "index.fr.html"
        named = await (await c.get("/feeds/index.fr.html")).text()
        assert await (await c.get("/feeds/?hl=fr")).text() == named
        replacement = index.with_name("index.fr.html.new")
        replacement.write_text(named.replace("<body", "<body data-v2", 1), encoding="utf-8")
        replacement.replace(index)
        await asyncio.sleep(0.35)
        assert "data-v2" in await (await c.get("/feeds/?hl=fr")).text()
        assert "data-v2" in await (await c.get("/feeds/index.fr.html")).text()


async def test_feed_index_in_the_readers_language(
    client: TestClient[Any, Any], web_settings: Settings, store: Store, web_items: list[Item]
) -> None:
    await publish_all(web_settings, store)
    asked = [
        ("/feeds/index.html?hl=fr", {}, "fr"),
        ("/feeds/", {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}, "zh"),
        ("/feeds/index.html", {}, "en"),
        ("/feeds/index.ar.html", {}, "ar"),
    ]
    for path, headers, language in asked:
        response = await client.get(path, headers=headers)
        assert response.status == 200, path
        page = lxml.html.fromstring(await response.text())
        assert page.get("lang") == language, path
        assert page.get("dir") == ("rtl" if language == "ar" else "ltr")
        switch = {a.get("lang"): a.get("href") for a in page.cssselect("nav.languages a")}
        assert switch["es"] == "/feeds/index.es.html" and len(switch) == 6
        # Each language's feeds sit in a section in that language.
        sections = {s.get("lang"): s for s in page.cssselect("main section")}
        assert sections["fr"].cssselect("h2")[0].text == "Flux en français"
        assert page.cssselect("main section")[0].get("lang") == language
    negotiated = await client.get("/feeds/index.html", headers={"Accept-Language": "ru"})
    assert "Accept-Language" in negotiated.headers["Vary"]
    opml = await client.get("/feeds/feeds.es.opml")
    assert opml.status == 200 and "todos los canales" in await opml.text()


async def test_lang_is_an_edition_and_content_lang_a_strict_filter(
    client: TestClient[Any, Any], store: Store, item_factory: Callable[..., Item]
) -> None:
    link = "https://www.wcoomd.org/{}/media/forum.aspx"
    english = item_factory(guid=link.format("en"), url=link.format("en"), title="Forum")
    french = item_factory(
        guid=link.format("fr"), url=link.format("fr"), title="Forum (fr)", language="fr"
    )
    only_english = item_factory(title="English only", published=date(2024, 12, 1))
    await store.upsert_items([english, french, only_english])

    resp = await client.get("/feed.atom?lang=fr")
    parsed = feedparser.parse(await resp.read())
    assert parsed.feed.language == "fr"
    assert [(e.title, e.title_detail.language) for e in parsed.entries] == [
        ("Forum (fr)", "fr"),
        ("English only", "en"),
    ]
    assert [(ln.hreflang, ln.href) for ln in parsed.entries[0].links] == [
        ("fr", french.url),
        ("en", english.url),
    ]
    data = json.loads(await (await client.get("/feed.json?lang=fr")).read())
    assert data["items"][0]["_wcofeed"]["alternates"] == [{"language": "en", "url": english.url}]

    strict = await entries(client, "/feed.atom?lang=fr&content_lang=fr")
    assert [e.title for e in strict] == ["Forum (fr)"]
    english_content = await entries(client, "/feed.atom?content_lang=en")
    assert [e.title for e in english_content] == ["Forum", "English only"]
    every_version = await entries(client, "/feed.atom")
    assert len(every_version) == 3
