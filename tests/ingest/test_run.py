"""fetch -> parse -> store end to end: loopback server, real SQLite file."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from wcofeed.config import Settings, load_settings
from wcofeed.ingest.run import ingest
from wcofeed.models import UpsertOutcome
from wcofeed.store import ItemQuery, Store

from .conftest import SAMPLES

T0 = datetime(2025, 2, 15, 9, 0, tzinfo=UTC)


class Pages:
    """Serves the bundled samples (or pages a test made) with ETags; a page's text can be
    edited between runs."""

    def __init__(self) -> None:
        self.edits: dict[str, tuple[str, str]] = {}
        self.made: dict[str, str] = {}
        self.hits: Counter[str] = Counter()

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.hits[name] += 1
        body = self.made.get(name) or (SAMPLES / name).read_text("utf-8")
        for old, new in [self.edits[name]] if name in self.edits else []:
            body = body.replace(old, new)
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304)
        return web.Response(text=body, content_type="text/html", headers={"ETag": etag})


@pytest.fixture
def pages() -> Pages:
    return Pages()


async def not_found(request: web.Request) -> web.Response:
    return web.Response(status=404)


@pytest.fixture
async def server(pages: Pages) -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_get("/missing", not_found)
    app.router.add_get("/{name}", pages.handle)
    srv = TestServer(app)
    async with srv:
        yield srv


@pytest.fixture
def make_settings(
    write_config: Callable[[str], Path], server: TestServer
) -> Callable[..., Settings]:
    def make(*extra: str) -> Settings:
        base = str(server.make_url("/"))
        text = f"""
            [fetch]
            retries = 0
            per_host_delay = 0.0
            read_timeout = 2.0
            [[sources]]
            id = "newsroom"
            url = "{base}wco-newsroom-ru.html"
            ui_language = "ru"
            [[sources]]
            id = "tools"
            url = "{base}wco-tools-ru.html"
            ui_language = "ru"
            topics = ["procedures-facilitation"]
        """ + "\n".join(extra)
        return load_settings(write_config(text), env={})

    return make


BROKEN = """
[[sources]]
id = "gone"
url = "http://127.0.0.1:9/nothing-listens-here"
"""


async def test_ingest_stores_items_and_isolates_failures(
    make_settings: Callable[..., Settings], store: Store, server: TestServer
) -> None:
    missing = f'[[sources]]\nid = "missing"\nurl = "{server.make_url("/missing")}"\n'
    settings = make_settings(BROKEN, missing)
    report = await ingest(settings, store, now=T0)
    by_id = {s.id: s for s in report.sources}
    assert (by_id["newsroom"].new, by_id["tools"].new) == (40, 40)
    assert by_id["gone"].failed and "127.0.0.1:9" in (by_id["gone"].error or "")
    assert by_id["missing"].failed and "HTTP 404" in (by_id["missing"].error or "")
    assert not report.all_failed
    assert len(report.results) == 80
    assert all(r.outcome is UpsertOutcome.NEW for r in report.results)
    assert await store.count_items(ItemQuery(source="newsroom")) == 40
    state = await store.source_state("gone")
    assert state.consecutive_failures == 1 and "127.0.0.1:9" in (state.last_error or "")
    assert (await store.source_state("newsroom")).etag is not None


async def test_second_run_is_304_and_stores_nothing(
    make_settings: Callable[..., Settings], store: Store, pages: Pages
) -> None:
    settings = make_settings()
    await ingest(settings, store, now=T0)
    before = await store.last_change()
    report = await ingest(settings, store, now=T0 + timedelta(hours=1))
    assert [s.not_modified for s in report.sources] == [True, True]
    assert report.results == [] and all(s.new == s.changed == 0 for s in report.sources)
    assert await store.last_change() == before
    assert pages.hits["wco-newsroom-ru.html"] == 2


async def test_edit_updates_item_and_last_changed(
    make_settings: Callable[..., Settings], store: Store, pages: Pages
) -> None:
    settings = make_settings()
    await ingest(settings, store, ["tools"], now=T0)
    pages.edits["wco-tools-ru.html"] = ("Guide to Stress Tests", "Guide to Stress Tests 2025")
    later = T0 + timedelta(days=1)
    report = await ingest(settings, store, ["tools"], now=later)
    (tools,) = report.sources
    assert (tools.new, tools.changed, tools.unchanged) == (0, 1, 39)
    (changed,) = report.results
    assert changed.item.title == "Guide to Stress Tests 2025"
    assert changed.item.last_changed == later and changed.item.first_seen == T0
    # undated items stay undated: no date is made up, first sight is kept
    assert changed.item.published is None
    assert changed.previous is not None and changed.previous.title == "Guide to Stress Tests"


def long_tool_list(count: int) -> str:
    """A tools list (undated items, like the seeds') long enough to be stored in batches."""
    items = "".join(
        f'<li class="tool-item"><h3 class="tool-title">Tool {n}</h3>'
        f'<div class="tool-text"><p>Guidance number {n}.</p></div>'
        f'<a class="read-more" href="/en/tools/tool-{n}.aspx">read more</a></li>'
        for n in range(count)
    )
    return f'<html lang="en"><body><ul class="tools-list">{items}</ul></body></html>'


async def test_a_long_page_is_stored_in_batches_while_parsed(
    make_settings: Callable[..., Settings], store: Store, pages: Pages, server: TestServer
) -> None:
    pages.made["long.html"] = long_tool_list(2_500)  # two full batches and a partial one
    url = server.make_url("/long.html")
    settings = make_settings(
        f'[[sources]]\nid = "long"\nurl = "{url}"\ntopics = ["procedures-facilitation"]'
    )
    (first,) = (await ingest(settings, store, ["long"], now=T0)).sources
    assert (first.new, first.failed) == (2_500, False)
    assert (
        await store.count_items(ItemQuery(source="long", topics=("procedures-facilitation",)))
        == 2_500
    )

    pages.edits["long.html"] = ("Tool 500<", "Tool 500, revised<")
    later = T0 + timedelta(days=1)
    report = await ingest(settings, store, ["long"], now=later)
    (second,) = report.sources
    assert (second.new, second.changed, second.unchanged) == (0, 1, 2_499)
    (changed,) = report.results
    assert changed.item.title == "Tool 500, revised"
    # undated: the item keeps its first sight, in a batch stored early too
    assert changed.item.published is None and changed.item.first_seen == T0


def news_list(*entries: tuple[str, str]) -> str:
    """A page of (title, date text) entries, read with CSS selectors; "" is no date."""
    blocks = "".join(
        f'<div class="n"><h2><a href="/news/{title.replace(" ", "-")}.html">{title}</a></h2>'
        f"<time>{day}</time></div>"
        for title, day in entries
    )
    return f'<html lang="en"><body>{blocks}</body></html>'


NEWS_SOURCE = """
[[sources]]
id = "list"
url = "{url}"
profile = "css"
selectors = {{ item = "div.n", title = "h2", link = "h2 a", date = "time" }}
"""


async def test_first_fetch_is_a_baseline_and_later_finds_are_news(
    make_settings: Callable[..., Settings], store: Store, pages: Pages, server: TestServer
) -> None:
    """What a source's first fetch finds is back catalogue (news only by its own date);
    later an item is news from first sight unless its own date is older than the age."""
    back = [("Old news", "30 October 2020"), ("Yesterday", "14 February 2025"), ("Tool", "")]
    pages.made["list.html"] = news_list(*back)
    settings = make_settings(NEWS_SOURCE.format(url=server.make_url("/list.html")))
    await ingest(settings, store, ["list"], now=T0)
    later = T0 + timedelta(days=1)
    pages.made["list.html"] = news_list(
        ("Listed today", ""),
        ("Dated last week", "9 February 2025"),
        ("Dated too long ago", "8 February 2025"),
        ("Yesterday", ""),  # the page stopped printing its date: the stored one stays
        *back[::2],
    )
    report = await ingest(settings, store, ["list"], now=later)
    assert report.sources[0].new == 3
    found = await store.query_items(ItemQuery(source="list"))
    assert [(i.title, i.published, i.announce_from) for i in found] == [
        ("Listed today", None, later),
        ("Yesterday", date(2025, 2, 14), datetime(2025, 2, 14, tzinfo=UTC)),
        ("Dated last week", date(2025, 2, 9), later),
        ("Dated too long ago", date(2025, 2, 8), None),
        ("Old news", date(2020, 10, 30), None),
        ("Tool", None, None),
    ]


async def test_a_source_that_failed_first_is_still_fetched_first_later(
    make_settings: Callable[..., Settings], store: Store, pages: Pages, server: TestServer
) -> None:
    settings = make_settings(NEWS_SOURCE.format(url=server.make_url("/list.html")))
    failed = await ingest(settings, store, ["list"], now=T0)  # no such page yet
    assert failed.all_failed
    pages.made["list.html"] = news_list(("Tool", ""))
    await ingest(settings, store, ["list"], now=T0 + timedelta(hours=1))
    (tool,) = await store.query_items(ItemQuery(source="list"))
    assert tool.announce_from is None


async def test_all_failed(make_settings: Callable[..., Settings], store: Store) -> None:
    settings = make_settings(BROKEN)
    report = await ingest(settings, store, ["gone"], now=T0)
    assert report.all_failed and report.results == []


async def test_unknown_source_id(make_settings: Callable[..., Settings], store: Store) -> None:
    with pytest.raises(KeyError):
        await ingest(make_settings(), store, ["nope"], now=T0)


async def test_bundled_config_ingests_offline(store: Store) -> None:
    settings = load_settings(Path(__file__).resolve().parents[2] / "config.toml", env={})
    report = await ingest(settings, store, now=T0)
    assert not any(s.failed for s in report.sources), [s.error for s in report.sources]
    assert sum(s.new for s in report.sources) == 111
    calls = await store.query_items(ItemQuery(kinds=("call",), limit=10))
    assert {c.deadline.day for c in calls if c.deadline} == {
        date(2025, 2, 14),
        date(2025, 3, 24),
        date(2025, 3, 30),
        date(2025, 4, 30),
    }
    topic = await store.query_items(ItemQuery(topics=("procedures-facilitation",), limit=100))
    assert len(topic) >= 45


async def test_shared_session_is_used_and_left_open(
    make_settings: Callable[..., Settings], store: Store, pages: Pages
) -> None:
    async with aiohttp.ClientSession() as session:
        report = await ingest(make_settings(), store, ["newsroom"], now=T0, session=session)
        assert not session.closed
    assert report.sources[0].new == 40 and pages.hits["wco-newsroom-ru.html"] == 1


async def test_a_page_without_items_warns(
    write_config: Callable[[str], Path], store: Store, tmp_path: Path
) -> None:
    (tmp_path / "empty.html").write_text('<div class="newsroom-list"></div>', "utf-8")
    settings = load_settings(
        write_config('[[sources]]\nid = "empty"\nurl = "empty.html"\n'), env={}
    )
    (source,) = (await ingest(settings, store, now=T0)).sources
    assert not source.failed and source.new == 0
    assert source.warnings == [f"source empty: no items found at {tmp_path / 'empty.html'}"]
