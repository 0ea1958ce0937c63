"""Broken sources, all in one ingest next to a healthy one: each fails alone, with its
reason in the store, in the `wcofeed ingest` table and in `/healthz`.

Every server is on loopback: one aiohttp app whose routes misbehave on purpose and an
https server with a self-signed certificate (trustme) the client does not trust. The
unresolvable name is under `.invalid` (RFC 6761), which the fetcher's resolver refuses
without asking DNS, so the test can neither hang on a resolver nor reach the internet.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.web.conftest import RecordingActions
from wcofeed.config import Settings, load_settings
from wcofeed.ingest.fetch import MAX_RETRY_AFTER, retry_after
from wcofeed.ingest.run import ingest
from wcofeed.store import ItemQuery, Store, open_store
from wcofeed.web.app import create_app

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
HEALTHY_PAGE = (REPO / "samples" / "wco-home-en.html").read_bytes()
READ_TIMEOUT = 0.5
RETRY_AFTER = 1
MAX_BYTES = 300_000

# A Russian newsroom page served as windows-1251 on the first fetch and utf-8 after.
NEWSROOM_RU = """<html lang="ru"><head><meta charset="{charset}"><title>Новости</title></head>
<body><div class="newsroom-list">
<div class="news-item"><div class="news-date">30 октября 2020</div>
<h3 class="news-title">
<a href="/ru/media/news/tamozhnya.aspx">Таможня и торговля: «новые правила»</a></h3>
<p class="news-summary">Всемирная таможенная организация провела семинар.</p></div>
<div class="news-item"><div class="news-date">2 ноября 2020</div>
<h3 class="news-title">
<a href="/ru/media/news/semina.aspx">Семинар по происхождению товаров</a></h3>
<p class="news-summary">Участники обсудили правила происхождения.</p></div>
</div></body></html>
"""
RU_ITEMS = [
    ("Семинар по происхождению товаров", date(2020, 11, 2)),
    ("Таможня и торговля: «новые правила»", date(2020, 10, 30)),
]


class FaultySite:
    """Routes that fail the way real sites do, remembering when each was asked."""

    def __init__(self) -> None:
        self.hits: defaultdict[str, list[float]] = defaultdict(list)
        self.served: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthy", self.healthy)
        app.router.add_get("/late-headers", self.late_headers)
        app.router.add_get("/endless", self.endless)
        app.router.add_get("/trickle", self.trickle)
        app.router.add_get("/loop", self.loop)
        app.router.add_get("/error", self.error)
        app.router.add_get("/busy", self.busy)
        app.router.add_get("/busy-for-a-day", self.busy_for_a_day)
        app.router.add_get("/encoding", self.encoding)
        return app

    def _hit(self, request: web.Request) -> int:
        self.hits[request.path].append(time.monotonic())
        return len(self.hits[request.path])

    async def healthy(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(body=HEALTHY_PAGE, content_type="text/html", charset="utf-8")

    async def late_headers(self, request: web.Request) -> web.Response:
        self._hit(request)
        await asyncio.sleep(30)
        return web.Response(text="too late")

    async def endless(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        chunk = b"<p>" + b"x" * 16_380 + b"</p>"
        while True:
            await response.write(chunk)
            self.served["endless"] += len(chunk)

    async def trickle(self, request: web.Request) -> web.StreamResponse:
        """A body that never ends, one byte at a time, each inside the read timeout."""
        self._hit(request)
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        while True:
            await response.write(b"x")
            await asyncio.sleep(READ_TIMEOUT / 3)

    async def loop(self, request: web.Request) -> web.Response:
        self._hit(request)
        raise web.HTTPFound("/loop")

    async def error(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(status=500, text="internal error")

    async def busy(self, request: web.Request) -> web.Response:
        if self._hit(request) == 1:
            return web.Response(status=429, headers={"Retry-After": str(RETRY_AFTER)})
        return web.Response(body=HEALTHY_PAGE, content_type="text/html", charset="utf-8")

    async def busy_for_a_day(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(status=429, headers={"Retry-After": "86400"})

    async def encoding(self, request: web.Request) -> web.Response:
        charset = "windows-1251" if self._hit(request) == 1 else "utf-8"
        body = NEWSROOM_RU.format(charset=charset).encode(charset)
        return web.Response(body=body, content_type="text/html", charset=charset)


#: source id -> (route or full url, a piece its recorded reason must contain)
FAULTS: dict[str, tuple[str, str]] = {
    "late-headers": (
        "/late-headers",
        f"timed out waiting for the server (read_timeout {READ_TIMEOUT:g} s)",
    ),
    "endless": ("/endless", f"body exceeds the {MAX_BYTES}-byte limit"),
    "trickle": ("/trickle", "response not complete after 6 s"),
    "redirect-loop": ("/loop", "more than 3 redirects (a redirect loop?)"),
    "tls": ("https", "certificate verify failed"),
    "no-such-name": ("http://wcofeed-test.invalid/news", "wcofeed-test.invalid"),
    "server-error": ("/error", "server error HTTP 500 (after 2 attempts)"),
    "busy-for-a-day": ("/busy-for-a-day", "Retry-After 86400 is longer than"),
}
HEALTHY = ("healthy", "busy", "encoding")


@pytest.fixture
async def site() -> AsyncIterator[tuple[FaultySite, str, str]]:
    """The faulty site over http, and the same pages over https with an untrusted cert."""
    faulty = FaultySite()
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    plain = TestServer(faulty.app(), host="127.0.0.1")
    secure = TestServer(faulty.app(), host="127.0.0.1")
    await plain.start_server()
    await secure.start_server(ssl=context)
    try:
        yield faulty, str(plain.make_url("")), str(secure.make_url("/healthy"))
    finally:
        await plain.close()
        await secure.close()


#: A source's last error is shown in /healthz to the admin only.
ADMIN_TOKEN = "source-faults-admin-token-0123456789"


@pytest.fixture
def faults_settings(
    site: tuple[FaultySite, str, str], write_config: Callable[[str], Path]
) -> Settings:
    _, base, https_url = site
    urls = {sid: route for sid, (route, _) in FAULTS.items()}
    urls["tls"] = https_url
    urls.update({"healthy": "/healthy", "busy": "/busy", "encoding": "/encoding"})
    sources = "".join(
        f'\n[[sources]]\nid = "{sid}"\nurl = "{url if url.startswith("http") else base + url}"\n'
        f'ui_language = "{"ru" if sid == "encoding" else "en"}"\n'
        for sid, url in urls.items()
    )
    config = f"""
[security]
admin_token = "{ADMIN_TOKEN}"
[fetch]
connect_timeout = 1.0
read_timeout = {READ_TIMEOUT}
total_timeout = 6.0
max_bytes = {MAX_BYTES}
retries = 1
backoff = 0.1
max_redirects = 3
per_host_concurrency = 16
per_host_delay = 0.0
{sources}"""
    return load_settings(write_config(config), env={})


async def _cli_ingest(settings: Settings) -> tuple[int, str]:
    """`wcofeed ingest` in a subprocess while this loop keeps serving the sites."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wcofeed",
        "ingest",
        "--config",
        str(settings.path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def _table(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = line.split(maxsplit=5)  # source, new, changed, unchanged, warnings, status
        if len(cells) == 6 and cells[1].isdigit():
            rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
async def store(faults_settings: Settings) -> AsyncIterator[Store]:
    """The store the command line writes to as well (the config's database)."""
    async with await open_store(faults_settings.database.path) as opened:
        yield opened


async def _titles(store: Store, source: str) -> list[tuple[str, date | None]]:
    items = await store.query_items(ItemQuery(source=source))
    return sorted((i.title, i.published) for i in items)


async def test_each_faulty_source_fails_alone_with_its_reason(
    site: tuple[FaultySite, str, str], faults_settings: Settings, store: Store
) -> None:
    faulty = site[0]
    started = time.monotonic()
    report = await ingest(faults_settings, store)
    elapsed = time.monotonic() - started

    by_id = {s.id: s for s in report.sources}
    for sid, (_, reason) in FAULTS.items():
        assert by_id[sid].failed, sid
        assert reason in (by_id[sid].error or ""), (sid, by_id[sid].error)
        state = await store.source_state(sid)
        assert state.consecutive_failures == 1 and reason in (state.last_error or ""), sid
    for sid in HEALTHY:
        assert not by_id[sid].failed, (sid, by_id[sid].error)
        assert by_id[sid].new + by_id[sid].unchanged > 0, sid
        assert (await store.source_state(sid)).last_error is None
    assert elapsed < 15, "a broken source held the others up"

    # headers after 30 s: given up after read_timeout, once retried
    assert len(faulty.hits["/late-headers"]) == 2
    # the endless body was cut at the cap, not read on
    assert MAX_BYTES <= faulty.served["endless"] < 20 * MAX_BYTES
    # a body trickling in forever: cut at the whole-response deadline, not retried
    assert len(faulty.hits["/trickle"]) == 1
    # 500s: retried once (retries = 1), then failed
    assert len(faulty.hits["/error"]) == 2
    # a redirect loop: stopped after max_redirects
    assert 3 <= len(faulty.hits["/loop"]) <= 4
    # 429: the second request came after the Retry-After delay, not the 0.1 s backoff
    first, second = faulty.hits["/busy"]
    assert second - first >= RETRY_AFTER - 0.05
    # 429 asking for a day: not waited for, not retried
    assert len(faulty.hits["/busy-for-a-day"]) == 1
    # windows-1251 read right
    assert await _titles(store, "encoding") == RU_ITEMS

    # The same sources again, now from the command line: the page switched to utf-8
    code, output = await _cli_ingest(faults_settings)
    assert code == 0, output
    rows = _table(output)
    for sid, (_, reason) in FAULTS.items():
        assert rows[sid][4].startswith("failed: ") and reason in rows[sid][4], output
    assert rows["healthy"][4] in ("ok", "not modified"), output
    assert rows["encoding"] == ["0", "0", "2", "0", "ok"], output  # same items, same text
    assert len(faulty.hits["/encoding"]) == 2
    assert await _titles(store, "encoding") == RU_ITEMS
    for sid in FAULTS:
        assert (await store.source_state(sid)).consecutive_failures == 2, sid

    # /healthz: every failing source with its reason (to the admin), the service still up
    app = create_app(faults_settings, store, RecordingActions())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/healthz", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        body: dict[str, Any] = await response.json()
    assert response.status == 200, body  # healthy sources keep the service up
    health = {s["id"]: s for s in body["sources"]}
    for sid, (_, reason) in FAULTS.items():
        assert health[sid]["status"] == "failing", health[sid]
        assert reason in health[sid]["last_error"], health[sid]
    for sid in HEALTHY:
        assert health[sid]["status"] == "ok", health[sid]


def test_retry_after_reads_seconds_and_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 2, 14, 10, 0, tzinfo=UTC)
    assert retry_after("7") == 7.0
    assert retry_after("Fri, 14 Feb 2025 10:00:30 GMT", now) == 30.0
    assert retry_after("Fri, 14 Feb 2025 09:00:00 GMT", now) == 0.0  # in the past
    assert retry_after("soon") is None and retry_after(None) is None
    assert MAX_RETRY_AFTER >= 30  # a polite server's usual ask is honoured
