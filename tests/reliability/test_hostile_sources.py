"""Sources turned against the service (issue 18), all in one `wcofeed ingest` beside a
healthy one: the run ends within a bound, the healthy items are stored, and nothing
from the internal network is.

A hostile server on loopback serves every case the attack review found; a second
server on the same host, another port, stands for an internal service (its page holds
a password). The healthy source is the bundled WCO home page, served by the hostile
server too: the same host, so each hostile page is fetched beside it.
"""

from __future__ import annotations

import asyncio
import sys
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from wcofeed.config import Settings, load_settings
from wcofeed.store import ItemQuery, Store, open_store

REPO = Path(__file__).resolve().parents[2]
HEALTHY_PAGE = (REPO / "samples" / "wco-home-en.html").read_bytes()
SECRET = "db_password=hunter2"
#: The whole run, all sources; a frozen pattern or parser would take minutes to hours.
BOUND = 60.0
MAX_TITLE, MAX_SUMMARY, MAX_LINK, MAX_ITEMS = 300, 5_000, 500, 40


def _css_page(blocks: str) -> bytes:
    return f"<html><body>{blocks}</body></html>".encode()


def _item(title: str, date: str = "14 February 2025", deadline: str = "") -> str:
    line = f'<p class="deadline">{deadline}</p>' if deadline else ""
    return (
        f'<div class="item"><h2><a href="/items/{zlib.crc32(title.encode())}">{title}</a></h2>'
        f'<span class="date">{date}</span>{line}</div>'
    )


def _rss(items: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<link>http://example.org/</link>{items}</channel></rss>"
    ).encode()


def _redirect(to: str) -> Callable[[web.Request], web.Response]:
    def answer(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": to})

    return answer


class Hostile:
    """Every attack of the review, one route each."""

    def __init__(self, internal_port: int) -> None:
        self.internal = internal_port

    def routes(self) -> dict[str, Callable[[web.Request], web.Response]]:
        inside = f"127.0.0.1:{self.internal}"
        comments = b"<!---->" * 40 + _css_page(_item("After the comments"))
        padded = "a" + " " * 1_000_000 + "b"
        many = "".join(
            f"<item><title>Item {n}</title><link>http://example.org/{n}</link></item>"
            for n in range(2_000)
        )
        json_feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "language": 5,
            "items": [
                {"id": "1", "title": "Good JSON entry", "url": "http://example.org/json-good"},
                {"id": "2", "title": "List language", "url": "http://x.org/2", "language": ["en"]},
            ],
        }
        return {
            "/healthy": lambda r: web.Response(body=HEALTHY_PAGE, content_type="text/html"),
            "/comments": lambda r: web.Response(body=comments, content_type="text/html"),
            "/padded-link": lambda r: web.Response(
                body=_rss(f"<item><title>Padded</title><link>{padded}</link></item>"),
                content_type="application/rss+xml",
            ),
            "/redirect-ip": _redirect(f"http://{inside}/secret"),
            "/redirect-name": _redirect(f"http://localhost:{self.internal}/secret"),
            "/redirect-metadata": _redirect("http://169.254.169.254/latest/"),
            "/huge": lambda r: web.Response(
                body=_rss(
                    f"<item><title>{'T' * 5_200_000}</title><link>http://example.org/h</link>"
                    f"<description>{'w ' * 1_500_000}</description></item>"
                    f"<item><title>Long link</title><link>http://example.org/{'x' * 100_000}"
                    "</link></item>"
                ),
                content_type="application/rss+xml",
            ),
            "/many": lambda r: web.Response(body=_rss(many), content_type="application/rss+xml"),
            "/deep": lambda r: web.Response(
                body=b"<html><body>" + b"<div>" * 200_000, content_type="text/html"
            ),
            "/long-date": lambda r: web.Response(
                body=_css_page(_item("Long date", date="12 " * 50_000)), content_type="text/html"
            ),
            "/hex-charset": lambda r: web.Response(
                body=_css_page(_item("Таможня: charset hex")),
                headers={"Content-Type": "text/html; charset=hex"},
            ),
            "/utf16-label": lambda r: web.Response(
                body=_css_page(_item("Таможня: label utf-16")),
                headers={"Content-Type": "text/html; charset=utf-16"},
            ),
            "/json-bad-fields": lambda r: web.json_response(json_feed),
            "/json-items-5": lambda r: web.json_response(
                {"version": "https://jsonfeed.org/version/1", "items": 5}
            ),
            "/year-9999": lambda r: web.Response(
                body=_css_page(_item("Far deadline", deadline="Deadline: 31 December 9999")),
                content_type="text/html",
                headers={"Last-Modified": "Fri, 31 Dec 9999 23:59:59 GMT"},
            ),
        }


#: source id -> (route, type, css selectors or not)
SOURCES = {
    "healthy": ("/healthy", "html", False),
    "comments": ("/comments", "html", True),
    "padded-link": ("/padded-link", "feed", False),
    "redirect-ip": ("/redirect-ip", "feed", False),
    "redirect-name": ("/redirect-name", "feed", False),
    "redirect-metadata": ("/redirect-metadata", "feed", False),
    "huge": ("/huge", "feed", False),
    "many": ("/many", "feed", False),
    "deep": ("/deep", "html", True),
    "long-date": ("/long-date", "html", True),
    "hex-charset": ("/hex-charset", "html", True),
    "utf16-label": ("/utf16-label", "html", True),
    "json-bad-fields": ("/json-bad-fields", "feed", False),
    "json-items-5": ("/json-items-5", "feed", False),
    "year-9999": ("/year-9999", "html", True),
}


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, int, Counter[str]]]:
    """The hostile server's base URL, the internal service's port and its hit count."""
    hits: Counter[str] = Counter()

    async def secret(request: web.Request) -> web.Response:
        hits["secret"] += 1
        return web.Response(
            body=_rss(f"<item><title>{SECRET}</title><link>http://intranet/</link></item>"),
            content_type="application/rss+xml",
        )

    internal_app = web.Application()
    internal_app.router.add_get("/secret", secret)
    async with TestServer(internal_app) as internal:
        assert internal.port is not None
        hostile = web.Application()
        for path, handler in Hostile(internal.port).routes().items():
            hostile.router.add_get(path, _async(handler))
        async with TestServer(hostile) as server:
            yield str(server.make_url("")).rstrip("/"), internal.port, hits


def _async(
    handler: Callable[[web.Request], web.Response],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return handler(request)

    return handle


@pytest.fixture
def hostile_settings(
    servers: tuple[str, int, Counter[str]], write_config: Callable[[str], Path]
) -> Settings:
    base = servers[0]
    selectors = (
        '[sources.selectors]\nitem = "div.item"\ntitle = "h2"\ndate = ".date"\n'
        'deadline = ".deadline"\n'
    )
    sources = "".join(
        f'\n[[sources]]\nid = "{sid}"\nurl = "{base}{route}"\ntype = "{kind}"\n'
        + ('profile = "css"\n' + selectors if css else "")
        for sid, (route, kind, css) in SOURCES.items()
    )
    config = f"""
[fetch]
connect_timeout = 1.0
read_timeout = 5.0
total_timeout = 20.0
retries = 0
per_host_concurrency = 16
per_host_delay = 0.0
[ingest]
max_title_chars = {MAX_TITLE}
max_summary_chars = {MAX_SUMMARY}
max_link_chars = {MAX_LINK}
max_items_per_page = {MAX_ITEMS}
{sources}"""
    return load_settings(write_config(config), env={})


async def _cli_ingest(settings: Settings) -> tuple[int, str, float]:
    """`wcofeed ingest` in a subprocess while this loop keeps serving."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "wcofeed", "ingest", "--config", str(settings.path)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=BOUND)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"wcofeed ingest did not finish within {BOUND:g} s")
    assert process.returncode is not None
    return process.returncode, out.decode(), time.monotonic() - started


async def _items(store: Store, source: str = "") -> list[tuple[str, str, str]]:
    found = await store.query_items(ItemQuery(source=source, limit=10_000))
    return [(i.title, i.url, i.summary_html) for i in found]


async def test_hostile_sources_beside_a_healthy_one(
    hostile_settings: Settings, servers: tuple[str, int, Counter[str]]
) -> None:
    code, output, elapsed = await _cli_ingest(hostile_settings)
    assert code == 0, output  # some sources failed, not all
    assert elapsed < BOUND
    async with await open_store(hostile_settings.database.path) as store:
        await _healthy_is_stored(store)
        await _nothing_internal(store, output, servers)
        await _cut_to_the_limits(store, servers[0])
        await _each_trap_costs_its_source_only(store)


async def _healthy_is_stored(store: Store) -> None:
    assert len(await _items(store, "healthy")) >= 5
    assert (await store.source_state("healthy")).last_error is None


async def _nothing_internal(
    store: Store, output: str, servers: tuple[str, int, Counter[str]]
) -> None:
    _, port, hits = servers
    assert hits["secret"] == 0
    for title, url, summary in await _items(store):
        assert SECRET not in title + summary and "intranet" not in url
    for sid in ("redirect-ip", "redirect-name", "redirect-metadata"):
        error = (await store.source_state(sid)).last_error or ""
        assert "into an internal network was refused" in error, (sid, error)
        assert str(port) not in error and "169.254" not in error
    assert f":{port}" not in output and "169.254" not in output


async def _cut_to_the_limits(store: Store, base: str) -> None:
    assert len(await _items(store, "many")) == MAX_ITEMS
    for title, url, summary in await _items(store):
        assert len(title) <= MAX_TITLE and len(url) <= MAX_LINK
        assert len(summary) <= MAX_SUMMARY + 100  # sanitising closes what the cut left open
    huge = sorted(await _items(store, "huge"))
    assert [(t, u) for t, u, _ in huge] == [
        ("Long link", f"{base}/huge"),  # the link dropped: the item points at its page
        ("T" * MAX_TITLE, "http://example.org/h"),
    ]
    assert [u for _, u, _ in await _items(store, "padded-link")] == [f"{base}/padded-link"]


async def _each_trap_costs_its_source_only(store: Store) -> None:
    assert [t for t, _, _ in await _items(store, "comments")] == ["After the comments"]
    deep = (await store.source_state("deep")).last_error or ""
    assert "page nested deeper than 512 elements" in deep
    assert [t for t, _, _ in await _items(store, "long-date")] == ["Long date"]
    assert [t for t, _, _ in await _items(store, "hex-charset")] == ["Таможня: charset hex"]
    assert [t for t, _, _ in await _items(store, "utf16-label")] == ["Таможня: label utf-16"]
    assert [t for t, _, _ in await _items(store, "json-bad-fields")] == ["Good JSON entry"]
    assert await _items(store, "json-items-5") == []
    assert (await store.source_state("json-items-5")).last_error is None
    (far,) = await store.query_items(ItemQuery(source="year-9999"))
    assert far.title == "Far deadline" and far.deadline is None


def test_the_attacks_cover_every_route() -> None:
    assert {route for route, _, _ in SOURCES.values()} == set(Hostile(1).routes())
