"""publish_all against a real SQLite store: files, incremental runs, mtimes, WebSub."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path

import feedparser
import icalendar
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from lxml import etree, html

from wcofeed.config import Settings
from wcofeed.models import Deadline, Item
from wcofeed.publish import publish_all
from wcofeed.publish.files import write_if_changed
from wcofeed.store import Store

EN_FEEDS = [
    "en/all",
    "en/news",
    "en/calls",
    "en/closing-soon",
    "en/topics/origin",
    "en/topics/valuation",
    "en/topics/security",
]


def names(paths: list[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


async def test_full_publish_writes_every_feed(
    pub_settings: Settings, store: Store, filled: list[Item], now: datetime
) -> None:
    report = await publish_all(pub_settings, store, now=now)
    root = pub_settings.publish.feeds_dir
    written = names(report.written, root)
    for stem in EN_FEEDS:
        assert {f"{stem}.atom", f"{stem}.rss", f"{stem}.json"} <= written
    assert "fr/topics/valuation.atom" in written
    # No French item on security: the French edition has the English one.
    security = feedparser.parse((root / "fr/topics/security.atom").read_bytes())
    assert [(e.link, e.title_detail.language) for e in security.entries] == [
        ("https://wco.test/en/call-8", "en"),
        ("https://wco.test/en/call-old", "en"),
    ]
    assert security.feed.language == "fr"
    assert "ar/topics/origin.rss" in written
    assert {"index.html", "feeds.opml", "en/calls.ics", "zh/all.atom"} <= written

    closing = feedparser.parse((root / "en/closing-soon.atom").read_bytes())
    assert [e.link for e in closing.entries] == ["https://wco.test/en/call-7"]

    calendar = icalendar.Calendar.from_ical((root / "en/calls.ics").read_bytes())
    assert (
        str(calendar["X-WR-CALNAME"]) == "WCO news and calls: open calls for applications (English)"
    )
    fr_calendar = icalendar.Calendar.from_ical((root / "fr/calls.ics").read_bytes())
    assert str(fr_calendar["X-WR-CALNAME"]) == (
        "Actualités et appels à candidatures de l’OMD\u00a0: "
        "appels à candidatures ouverts (français)"
    )
    assert str(fr_calendar.walk("VEVENT")[0]["SUMMARY"]).startswith("Clôture\u00a0: ")
    events = calendar.walk("VEVENT")
    assert [str(e["URL"]) for e in events] == [
        "https://wco.test/en/call-7",
        "https://wco.test/en/call-8",
    ]
    assert events[0].decoded("DTSTART") == date(2025, 2, 14)
    assert "Deadline: February 14, 2025, 17:00" in str(events[0]["DESCRIPTION"])

    opml = etree.fromstring((root / "feeds.opml").read_bytes())
    listed = {o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")}
    atom_files = {p.relative_to(root).as_posix() for p in root.rglob("*.atom")}
    assert listed == {f"http://feeds.test/feeds/{n}" for n in atom_files}
    assert all(feedparser.parse(root / n).entries for n in atom_files)  # every edition

    page = html.fromstring((root / "index.html").read_bytes())
    discovered = {ln.get("href") for ln in page.head.iter("link") if ln.get("rel") == "alternate"}
    feeds = {n for n in written if not n.endswith((".ics", ".html", ".opml"))}
    assert discovered == {f"http://feeds.test/feeds/{n}" for n in feeds}
    assert "Règles d'origine" in page.text_content()
    headings = [h.text_content() for h in page.iter("h2")]
    assert "Flux en français" in headings and "Feeds in English" in headings


async def test_unchanged_feeds_keep_bytes_and_mtime(
    pub_settings: Settings, store: Store, filled: list[Item], now: datetime
) -> None:
    await publish_all(pub_settings, store, now=now)
    root = pub_settings.publish.feeds_dir
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}
    for path in before:
        os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    report = await publish_all(pub_settings, store, now=now)
    assert report.written == []
    assert set(report.unchanged) == set(before)
    for path, (data, _) in before.items():
        assert path.read_bytes() == data
        assert path.stat().st_mtime_ns == 1_000_000_000


async def test_incremental_rewrites_only_touched_feeds(
    pub_settings: Settings,
    store: Store,
    filled: list[Item],
    item_factory: Callable[..., Item],
    now: datetime,
) -> None:
    await publish_all(pub_settings, store, now=now)
    root = pub_settings.publish.feeds_dir
    # The French call moves from valuation to origin: both topic feeds must change.
    old = next(i for i in filled if i.guid == "https://wco.test/fr/appel-1")
    moved = item_factory(
        guid=old.guid,
        url=old.url,
        kind="call",
        title=old.title,
        language="fr",
        topics=("origin",),
        published=old.published,
        deadline=Deadline(date(2025, 2, 21)),
    )
    results = await store.upsert_items([moved], now=now)
    report = await publish_all(pub_settings, store, results, now=now)
    written = names(report.written, root)
    assert {
        "fr/all.atom",
        "fr/calls.rss",
        "fr/calls.ics",
        "fr/closing-soon.json",
        "fr/topics/origin.atom",
        "fr/topics/valuation.atom",
    } <= written
    assert "fr/news.atom" not in written
    assert not any(n.startswith(("en/", "ar/")) for n in written)
    assert "en/topics/origin.atom" not in names(report.unchanged, root)  # not even rendered
    valuation = feedparser.parse((root / "fr/topics/valuation.atom").read_bytes())
    assert [e.link for e in valuation.entries] == ["https://wco.test/en/call-7"]  # no French


async def test_write_if_changed_is_atomic_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "a" / "feed.atom"
    assert write_if_changed(path, b"one")
    os.utime(path, ns=(5, 5))
    assert not write_if_changed(path, b"one")
    assert path.stat().st_mtime_ns == 5
    assert write_if_changed(path, b"two")
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in path.parent.iterdir()) == ["feed.atom"]


@pytest.fixture
async def hub() -> AsyncIterator[tuple[str, list[list[tuple[str, str]]]]]:
    received: list[list[tuple[str, str]]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(list((await request.post()).items()))  # type: ignore[arg-type]
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hub", handle)
    async with TestServer(app) as server:
        yield str(server.make_url("/hub")), received


async def test_websub_hub_is_advertised_and_pinged_for_changed_feeds(
    pub_config: Callable[..., Settings],
    store: Store,
    filled: list[Item],
    hub: tuple[str, list[list[tuple[str, str]]]],
    now: datetime,
) -> None:
    url, received = hub
    settings = pub_config(websub_hub=url)
    report = await publish_all(settings, store, now=now)
    assert len(received) == 1
    pinged = [v for k, v in received[0] if k == "hub.url"]
    assert ("hub.mode", "publish") in received[0]
    assert set(pinged) == set(report.pinged)
    assert "http://feeds.test/feeds/en/all.atom" in pinged
    assert not any(p.endswith((".html", ".opml")) for p in pinged)
    root = settings.publish.feeds_dir
    feed = (root / "en/all.rss").read_text(encoding="utf-8")
    assert f'<atom:link rel="hub" href="{url}"/>' in feed
    atom = feedparser.parse((root / "fr/all.atom").read_bytes()).feed
    links = {link.rel: link.href for link in atom.links}
    assert links["hub"] == url and links["self"] == "http://feeds.test/feeds/fr/all.atom"
    json_feed = json.loads((root / "ar/news.json").read_bytes())
    assert json_feed["hubs"] == [{"type": "WebSub", "url": url}]
    received.clear()
    again = await publish_all(settings, store, now=now)
    assert again.pinged == [] and received == []


async def test_unreachable_hub_is_reported_not_raised(
    pub_config: Callable[..., Settings], store: Store, filled: list[Item], now: datetime
) -> None:
    settings = pub_config(websub_hub="http://127.0.0.1:9/hub")
    report = await publish_all(settings, store, now=now)
    assert report.written
    assert len(report.ping_errors) == 1 and "127.0.0.1:9" in report.ping_errors[0]


async def test_incremental_refreshes_calls_feeds_the_clock_changed(
    pub_settings: Settings, store: Store, filled: list[Item], now: datetime
) -> None:
    await publish_all(pub_settings, store, now=now)
    root = pub_settings.publish.feeds_dir
    for path in root.rglob("*"):
        os.utime(path, (now.timestamp(), now.timestamp()))
    # The English call closing on 14 February has closed by the 16th; nothing else moved.
    later = datetime(2025, 2, 16, tzinfo=now.tzinfo)
    report = await publish_all(pub_settings, store, [], now=later)
    written = names(report.written, root)
    assert {"en/calls.ics", "en/closing-soon.atom", "en/closing-soon.rss"} <= written
    # The call is in every edition that falls back to English: they all change.
    assert {"fr/calls.ics", "fr/closing-soon.atom", "ar/closing-soon.json"} <= written
    assert not any(n.startswith(("fr/all", "fr/news", "fr/topics")) for n in written)
    assert feedparser.parse((root / "en/closing-soon.atom").read_bytes()).entries == []
    french = feedparser.parse((root / "fr/closing-soon.atom").read_bytes())
    assert [e.link for e in french.entries] == ["https://wco.test/fr/appel-1"]
    calendar = icalendar.Calendar.from_ical((root / "en/calls.ics").read_bytes())
    assert [str(e["URL"]) for e in calendar.walk("VEVENT")] == ["https://wco.test/en/call-8"]


async def test_feed_index_and_opml_in_every_language(
    pub_settings: Settings, store: Store, filled: list[Item], now: datetime
) -> None:
    await publish_all(pub_settings, store, now=now)
    root = pub_settings.publish.feeds_dir
    for language in pub_settings.site.languages:
        page = html.fromstring((root / f"index.{language}.html").read_bytes())
        assert page.get("lang") == language
        assert page.get("dir") == ("rtl" if language == "ar" else "ltr")
        sections = page.cssselect("main section")
        assert sections[0].get("lang") == language
        assert {s.get("lang") for s in sections} == set(pub_settings.site.languages)
        opml = etree.fromstring((root / f"feeds.{language}.opml").read_bytes())
        assert opml.find("body/outline").get("language") == language
    assert (root / "index.html").read_bytes() == (root / "index.en.html").read_bytes()
    arabic = html.fromstring((root / "index.ar.html").read_bytes())
    assert arabic.cssselect("h1")[0].text == "الخلاصات"
    titles = etree.fromstring((root / "feeds.zh.opml").read_bytes()).findtext("head/title")
    assert titles == "世界海关组织新闻与申请征集：全部订阅源"


def listed_feeds(root: Path, name: str) -> set[str]:
    """The feeds an OPML list names, as paths under the feeds folder."""
    opml = etree.fromstring((root / name).read_bytes())
    prefix = "http://feeds.test/feeds/"
    return {o.get("xmlUrl").removeprefix(prefix) for o in opml.iter("outline") if o.get("xmlUrl")}


async def test_empty_feeds_are_not_listed_but_keep_their_files(
    pub_config: Callable[..., Settings], store: Store, filled: list[Item], now: datetime
) -> None:
    settings = pub_config()
    root = settings.publish.feeds_dir
    # After the last deadline: no edition has a call closing soon.
    later = datetime(2025, 7, 1, tzinfo=now.tzinfo)
    await publish_all(settings, store, now=later)
    listed = listed_feeds(root, "feeds.opml")
    assert "fr/closing-soon.atom" not in listed and (root / "fr/closing-soon.atom").exists()
    assert {"fr/all.atom", "fr/topics/security.atom", "ar/calls.atom"} <= listed
    index = html.fromstring((root / "index.fr.html").read_bytes())
    hrefs = {a.get("href") for a in index.iter("a")}
    assert "http://feeds.test/feeds/fr/closing-soon.atom" not in hrefs
    assert "http://feeds.test/feeds/fr/calls.atom" in hrefs

    # The only security items go: the topic's feeds stay as files, empty, and unlisted.
    for item in filled:
        if "security" in item.topics:
            assert await store.delete_item(item.guid)
    await publish_all(settings, store, now=later)
    assert feedparser.parse(root / "fr/topics/security.atom").entries == []
    assert "fr/topics/security.atom" not in listed_feeds(root, "feeds.fr.opml")


async def test_a_strict_edition_has_only_its_own_language(
    pub_config: Callable[..., Settings], store: Store, filled: list[Item], now: datetime
) -> None:
    settings = pub_config(site="fallback_languages = { fr = [] }")
    await publish_all(settings, store, now=now)
    root = settings.publish.feeds_dir
    french = feedparser.parse(root / "fr/all.atom")
    assert {e.title_detail.language for e in french.entries} == {"fr"}
    assert not (root / "fr/topics/security.atom").exists()  # no French item on security
    spanish = feedparser.parse(root / "es/all.atom")
    assert {e.title_detail.language for e in spanish.entries} == {"en"}
