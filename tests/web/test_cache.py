"""Cached feeds and pages: a write drops only what it touches, and what stays cached is
what a fresh render would answer."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.web.conftest import FEEDS_CONFIG, TOPICS, RecordingActions
from wcofeed.config import Settings
from wcofeed.models import Deadline, Item
from wcofeed.store import ItemQuery, Store, open_store, rarity
from wcofeed.store.interface import Cluster
from wcofeed.web.app import create_app
from wcofeed.web.cache import CACHE, Made, Read, Rendered, ResponseCache

URLS = [
    "/feed.atom?content_lang=fr",
    "/feed.atom?topic=security",
    "/feed.atom?topic=origin",
    "/feed.rss?lang=en",
    "/feed.json?lang=fr&kind=news",
    "/feed.ics",
    "/feed.atom?q=News",
    "/?lang=fr&hl=fr",
    "/?hl=en&topic=valuation",
    "/calls?hl=en",
    "/calls?hl=fr&topic=origin",
]


@pytest.fixture
def web_config() -> str:
    return FEEDS_CONFIG


def cache_of(client: TestClient[Any, Any]) -> ResponseCache:
    assert isinstance(client.server, TestServer)
    return client.server.app[CACHE]


async def fill(client: TestClient[Any, Any], urls: list[str]) -> None:
    for url in urls:
        response = await client.get(url)
        assert response.status == 200, (url, await response.text())


def kept(cache: ResponseCache) -> dict[str, bool]:
    """Which of URLS the cache holds (feeds by format and query, pages by path, query
    and interface language)."""
    found = {}
    for url in URLS:
        path, _, query = url.partition("?")
        if path.startswith("/feed."):
            key: tuple[str, ...] = (path.removeprefix("/feed."), query)
        else:
            key = (path, query, dict(p.split("=") for p in query.split("&"))["hl"])
        found[url] = key in cache
    return found


async def test_a_write_drops_only_the_lists_it_touches(
    client: TestClient[Any, Any], store: Store, web_items: list[Item], item_factory: Any
) -> None:
    cache = cache_of(client)
    await fill(client, URLS)
    assert all(kept(cache).values())

    # English news on origin, newest of all: the English and French editions' lists and
    # origin's, not French content, security, the calls or a search it does not match.
    newest = item_factory(
        title="Fresh",
        topics=("origin",),
        published=date(2025, 3, 1),
        summary="plain",
        summary_html="<p>plain</p>",
    )
    await store.upsert_items([newest])
    await cache.refresh()
    assert kept(cache) == {
        "/feed.atom?content_lang=fr": True,
        "/feed.atom?topic=security": True,
        "/feed.atom?topic=origin": False,
        "/feed.rss?lang=en": False,
        "/feed.json?lang=fr&kind=news": False,
        "/feed.ics": True,
        "/feed.atom?q=News": True,  # its text does not match
        "/?lang=fr&hl=fr": False,
        "/?hl=en&topic=valuation": True,
        "/calls?hl=en": True,
        "/calls?hl=fr&topic=origin": True,
    }

    # A search is dropped by an item its text now matches, or one it listed.
    await store.upsert_items([replace(newest, title="Fresh News")])
    await cache.refresh()
    assert not kept(cache)["/feed.atom?q=News"]
    await fill(client, URLS)
    listed = [i for i in web_items if "News" in i.title][-1]  # the newest: listed
    await store.upsert_items([replace(listed, title="Renamed")])
    await cache.refresh()
    assert not kept(cache)["/feed.atom?q=News"]

    # Old news below every full list's last row: only lists not filled to their limit.
    await fill(client, URLS)
    await store.upsert_items([item_factory(topics=("origin",), published=date(2020, 1, 1))])
    await cache.refresh()
    found = kept(cache)
    assert found["/feed.atom?topic=origin"] and found["/feed.rss?lang=en"]
    assert found["/?hl=en&topic=valuation"]

    # A call's deadline moving into the past leaves the open calls (and their pages).
    await fill(client, URLS)
    call = next(i for i in web_items if i.kind == "call" and i.language == "en")
    await store.upsert_items([replace(call, deadline=Deadline(date(2020, 1, 1)))])
    await cache.refresh()
    found = kept(cache)
    assert not found["/feed.ics"] and not found["/calls?hl=en"]
    assert found["/feed.atom?topic=security"] and found["/?hl=en&topic=valuation"]


async def test_a_call_closed_before_the_last_five_shown_leaves_the_calls_page_cached(
    client: TestClient[Any, Any], store: Store, item_factory: Callable[..., Item]
) -> None:
    today = datetime.now(UTC).date()

    def closed(n: int, days_ago: int) -> Item:
        deadline = Deadline(today - timedelta(days=days_ago))
        return item_factory(kind="call", title=f"Closed call {n}", deadline=deadline)

    await store.upsert_items([closed(n, 200 + n) for n in range(6)])
    await fill(client, ["/calls?hl=en"])
    cache, key = cache_of(client), ("/calls", "hl=en", "en")
    await store.upsert_items([closed(9, 400)])
    await cache.refresh()
    assert key in cache
    await store.upsert_items([closed(10, 150)])
    await cache.refresh()
    assert key not in cache
    shown = await (await client.get("/calls?hl=en")).text()
    assert "Closed call 10" in shown and "Closed call 3" in shown
    assert "Closed call 4" not in shown


@pytest.mark.parametrize("rare_text", [rarity.RARE_TEXT, 0])
async def test_cached_answers_equal_fresh_ones_after_any_write(
    web_settings: Settings,
    store: Store,
    web_items: list[Item],
    client: TestClient[Any, Any],
    item_factory: Callable[..., Item],
    monkeypatch: pytest.MonkeyPatch,
    rare_text: int,
) -> None:
    """With `rare_text` 0 every search word counts as common: the search is answered
    by the store's other plan (SQLite: windows of the order) and the cache's check of
    changed items by its common-word rule."""
    monkeypatch.setattr(rarity, "RARE_TEXT", rare_text)
    rng = random.Random(16)
    stored = {item.guid: item for item in web_items}
    hits = 0
    for step in range(24):
        what = step % 6
        item = rng.choice(sorted(stored.values(), key=lambda i: i.guid))
        if what == 0:
            made = item_factory(
                guid=f"https://wco.test/new/{step}",
                url=f"https://wco.test/new/{step}",
                title=f"News {step}, new",  # a match for the search, listed or not
                language=rng.choice(["en", "fr"]),
                topics=(rng.choice(TOPICS),),
                published=date(2025, 1, 1) + timedelta(days=rng.randrange(40)),
            )
        elif what == 1:
            made = replace(item, title=f"{item.title} (edited {step})")
        elif what == 2:
            made = replace(item, topics=(rng.choice(TOPICS),))
        elif what == 3:
            made = replace(item, language="fr" if item.language == "en" else "en")
        elif what == 4:
            made = replace(
                item,
                kind="call",
                deadline=Deadline(date(2025, 6, 1) + timedelta(days=rng.randrange(-400, 2000))),
            )
        else:  # a version in the other language of the same path
            made = replace(
                item,
                guid=item.guid + "?fr",
                url=item.url + "?fr",
                language="fr" if item.language == "en" else "en",
                translation_key=item.translation_key,
                title=f"{item.title} (version {step})",
            )
        if what == 2 and step % 4 == 0:
            await store.delete_item(item.guid)
            del stored[item.guid]
        else:
            stored[made.guid] = (await store.upsert_items([made]))[0].item
        fresh_app = create_app(web_settings, store, RecordingActions())
        async with TestClient(TestServer(fresh_app, host="127.0.0.1")) as fresh:
            for url in URLS:
                hits += kept(cache_of(client))[url]
                served = await client.get(url)
                expected = await fresh.get(url)
                assert await served.read() == await expected.read(), (step, url)
    assert hits >= len(URLS) * 4  # the cache did serve: most lists outlive most writes


async def test_pages_have_validators_and_answer_304(
    client: TestClient[Any, Any], store: Store, web_items: list[Item]
) -> None:
    first = await client.get("/calls?hl=fr")
    assert first.status == 200 and "Content-Security-Policy" in first.headers
    assert first.headers["Cache-Control"] == "no-cache"
    assert "Accept-Language" in first.headers["Vary"]
    etag = first.headers["ETag"]
    again = await client.get("/calls?hl=fr", headers={"If-None-Match": etag})
    assert again.status == 304
    zipped = await client.get("/calls?hl=fr", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("Content-Encoding") == "gzip"
    assert await zipped.read() == await first.read()
    call = next(i for i in web_items if i.kind == "call")
    await store.upsert_items([replace(call, title="Renamed call")])
    changed = await client.get("/calls?hl=fr", headers={"If-None-Match": etag})
    assert changed.status == 200 and "Renamed call" in await changed.text()


async def test_an_answer_rendered_while_a_change_arrived_is_not_kept(
    store: Store, item_factory: Callable[..., Item]
) -> None:
    cache = ResponseCache(store, 0)
    await cache.refresh()
    english = [Read(ItemQuery(languages=("en",)))]
    french = [Read(ItemQuery(languages=("fr",)))]
    body = Rendered.of(b"x", "text/plain", datetime.now(UTC), None, 60)
    began = await cache.begin()
    await store.upsert_items([item_factory(language="en")])
    await cache.refresh()
    cache.put("en", body, english, since=began)
    cache.put("fr", body, french, since=began)
    assert "en" not in cache and "fr" in cache
    cache.put("en", body, english, since=await cache.begin())
    assert "en" in cache


async def test_one_look_at_the_journal_runs_at_a_time(
    store: Store, item_factory: Callable[..., Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests arriving while a slow look is under way do not start more looks (each
    would read the same changes and hold a reader connection); the look still drops
    what its changes touch."""
    cache = ResponseCache(store, 0)
    await cache.refresh()
    body = Rendered.of(b"x", "text/plain", datetime.now(UTC), None, 60)
    cache.put("en", body, [Read(ItemQuery(languages=("en",)))], since=await cache.begin())
    looks = 0
    release = asyncio.Event()
    read_changes = store.item_changes

    async def slow_changes(after: int | None, limit: int = 1000) -> Any:
        nonlocal looks
        looks += 1
        await release.wait()
        return await read_changes(after, limit)

    monkeypatch.setattr(store, "item_changes", slow_changes)
    await store.upsert_items([item_factory(language="en")])
    looking = [asyncio.create_task(cache.refresh()) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert looks == 1 and "en" in cache
    release.set()
    await asyncio.gather(*looking)
    assert "en" not in cache
    await cache.refresh()
    assert looks == 2


async def test_requests_for_one_missing_answer_share_one_render(
    store: Store, web_items: list[Item]
) -> None:
    cache = ResponseCache(store, 0)
    renders = 0
    release = asyncio.Event()

    async def render() -> Made:
        nonlocal renders
        renders += 1
        await release.wait()
        return Made(Rendered.of(b"page", "text/plain", datetime.now(UTC), None, 60), ())

    waiting = [asyncio.create_task(cache.answer("page", render)) for _ in range(5)]
    await asyncio.sleep(0.01)
    release.set()
    answers = await asyncio.gather(*waiting)
    assert renders == 1 and {a.body for a in answers} == {b"page"}
    assert "page" in cache


@pytest.mark.parametrize("expires", [math.inf, 0.0])
async def test_while_a_touched_answer_renders_afresh_others_get_the_last_one(
    store: Store, item_factory: Callable[..., Item], expires: float
) -> None:
    """The request finding its answer touched by a write waits for the new render; those
    arriving meanwhile get the previous answer at once, unless it has expired (a closed
    call, a turned quarter hour), when they wait too."""
    cache = ResponseCache(store, 0)
    await cache.refresh()
    english = (Read(ItemQuery(languages=("en",))),)
    release = asyncio.Event()

    def made(body: bytes) -> Made:
        return Made(Rendered.of(body, "text/plain", datetime.now(UTC), None, 60), english)

    async def render_new() -> Made:
        await release.wait()
        return made(b"new")

    first = made(b"old")
    cache.put("en", first.rendered, first.reads, since=await cache.begin(), expires=expires)
    await store.upsert_items([item_factory(language="en")])
    await cache.refresh()
    assert "en" not in cache
    waiting = asyncio.create_task(cache.answer("en", render_new))
    await asyncio.sleep(0.01)
    meanwhile = asyncio.create_task(cache.answer("en", render_new))
    await asyncio.sleep(0.01)
    assert meanwhile.done() == (expires == math.inf)
    release.set()
    assert (await waiting).body == b"new"
    assert (await meanwhile).body == (b"old" if expires == math.inf else b"new")
    assert (await cache.answer("en", render_new)).body == b"new" and "en" in cache


async def test_a_search_pushed_out_while_the_look_checks_searches_is_no_error(
    store: Store, item_factory: Callable[..., Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking searches waits on the store, and requests go on meanwhile: one may push
    a search's answer out of the cache before the look marks it. The look must still
    mark the rest, not fail and throw every answer away."""
    cache = ResponseCache(store, 0)
    await cache.refresh()
    body = Rendered.of(b"x", "text/plain", datetime.now(UTC), None, 60)
    began = await cache.begin()
    cache.put("search", body, [Read(ItemQuery(languages=("en",), q="news"))], since=began)
    cache.put("list", body, [Read(ItemQuery(languages=("en",)))], since=began)
    cache.put("other", body, [Read(ItemQuery(languages=("fr",)))], since=began)
    matches = store.text_matches

    async def crowding_out(guids: Any, q: str) -> set[str]:
        for n in range(600):  # more than the cache holds: "search" goes first
            cache.put(f"filler-{n}", body)
        cache.put("other", body, [Read(ItemQuery(languages=("fr",)))])
        return await matches(guids, q)

    monkeypatch.setattr(store, "text_matches", crowding_out)
    await store.upsert_items([item_factory(language="en", title="News")])
    await cache.refresh()
    assert "search" not in cache and "filler-599" in cache
    assert "other" in cache  # a failed check would have thrown this away too


async def test_a_request_waits_briefly_for_a_slow_look_or_render_when_answers_may_lag(
    store: Store, item_factory: Callable[..., Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `change_check_seconds` above 0, answers may lag the store anyway: the request
    that starts a look at the journal or a new render waits a moment, then is given
    what was known before, and what the look or render finds still takes effect."""
    cache = ResponseCache(store, 1.0)
    await cache.refresh()
    english = (Read(ItemQuery(languages=("en",))),)
    old = Rendered.of(b"old", "text/plain", datetime.now(UTC), None, 60)
    cache.put("en", old, english, since=await cache.begin())
    release_look, release_render = asyncio.Event(), asyncio.Event()
    read_changes = store.item_changes

    async def slow_changes(after: int | None, limit: int = 1000) -> Any:
        if after is not None:
            await release_look.wait()
        return await read_changes(after, limit)

    async def render_new() -> Made:
        await release_render.wait()
        return Made(Rendered.of(b"new", "text/plain", datetime.now(UTC), None, 60), english)

    monkeypatch.setattr(store, "item_changes", slow_changes)
    await store.upsert_items([item_factory(language="en")])
    cache.changed()
    await asyncio.wait_for(cache.refresh(), 1.0)  # returns while the look waits
    assert "en" in cache
    release_look.set()
    for _ in range(100):
        if "en" not in cache:
            break
        await asyncio.sleep(0.01)
    assert "en" not in cache  # the look, finished, marked it
    assert (await asyncio.wait_for(cache.answer("en", render_new), 1.0)).body == b"old"
    release_render.set()
    for _ in range(100):
        if "en" in cache:
            break
        await asyncio.sleep(0.01)
    assert (await cache.answer("en", render_new)).body == b"new"


async def test_a_touched_answer_whose_render_fails_is_not_given_for_ever(
    store: Store, item_factory: Callable[..., Item], caplog: pytest.LogCaptureFixture
) -> None:
    """A slow re-render that fails (a bug, the store gone) leaves no previous answer in
    its place: the failure is logged, and the next request waits and gets the error."""
    cache = ResponseCache(store, 1.0)
    await cache.refresh()
    english = (Read(ItemQuery(languages=("en",))),)
    old = Rendered.of(b"old", "text/plain", datetime.now(UTC), None, 60)
    cache.put("en", old, english, since=await cache.begin())
    release = asyncio.Event()

    async def failing() -> Made:
        await release.wait()
        raise RuntimeError("template broke")

    await store.upsert_items([item_factory(language="en")])
    cache.changed()
    await cache.refresh()
    assert (await cache.answer("en", failing)).body == b"old"
    release.set()
    await asyncio.sleep(0.05)
    assert "template broke" in caplog.text and "'en'" in caplog.text
    with pytest.raises(RuntimeError, match="template broke"):
        await cache.answer("en", failing)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_another_process_write_wakes_the_cache_which_drops_what_it_touches(
    database: str, item_factory: Callable[..., Item]
) -> None:
    """Two stores on one PostgreSQL database, as two processes: the writer's commit is
    announced (NOTIFY) and the reader's cache, checking only once an hour on its own,
    reads the journal at once and drops only the list the write reaches."""
    async with await open_store(database) as reading, await open_store(database) as writing:
        assert isinstance(reading, Cluster)
        cache = ResponseCache(reading, 3600)
        woken = asyncio.Event()

        def wake() -> None:
            cache.changed()
            woken.set()

        reading.on_change(wake)
        await cache.refresh()
        await cache.refresh()  # checked now: the next look is an hour away
        body = Rendered.of(b"x", "text/plain", datetime.now(UTC), None, 60)
        began = await cache.begin()
        cache.put("en", body, [Read(ItemQuery(languages=("en",)))], since=began)
        cache.put("fr", body, [Read(ItemQuery(languages=("fr",)))], since=began)

        await writing.upsert_items([item_factory(language="en")])
        await asyncio.wait_for(woken.wait(), 10)
        await cache.refresh()
        assert "en" not in cache and "fr" in cache
