"""The fetcher against a real aiohttp server on loopback."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from wcofeed.config import FetchSettings
from wcofeed.ingest.fetch import Fetcher, FetchError, _Hops, _Refused, is_internal

BIG = 20 * 1024 * 1024
FAST = FetchSettings(
    user_agent="wcofeed-test/1",
    connect_timeout=1.0,
    read_timeout=0.3,
    max_bytes=1_000_000,
    retries=2,
    backoff=0.01,
    max_redirects=3,
    per_host_concurrency=2,
    per_host_delay=0.0,
)


class Site:
    """Handlers that misbehave on purpose, counting what they were asked."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    async def page(self, request: web.Request) -> web.Response:
        self.hits["page"] += 1
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(
            body="<p>Таможня</p>".encode("cp1251"),
            headers={
                "ETag": '"v1"',
                "Last-Modified": "Fri, 14 Feb 2025 10:00:00 GMT",
                "Content-Type": "text/html; charset=windows-1251",
            },
        )

    async def flaky(self, request: web.Request) -> web.Response:
        self.hits["flaky"] += 1
        if self.hits["flaky"] < 3:
            return web.Response(status=503)
        return web.Response(text="ok")

    async def down(self, request: web.Request) -> web.Response:
        self.hits["down"] += 1
        return web.Response(status=500)

    async def missing(self, request: web.Request) -> web.Response:
        self.hits["missing"] += 1
        return web.Response(status=404)

    async def slow(self, request: web.Request) -> web.StreamResponse:
        self.hits["slow"] += 1
        await asyncio.sleep(2)
        return web.Response(text="late")

    async def loop(self, request: web.Request) -> web.Response:
        self.hits["loop"] += 1
        raise web.HTTPFound("/loop")

    async def big(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * BIG)

    async def big_chunked(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(BIG // 65536):
            try:
                await response.write(b"x" * 65536)
            except ConnectionResetError:
                break
        return response

    async def agent(self, request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("User-Agent", ""))

    async def busy(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0.05)
        self.in_flight -= 1
        return web.Response(text="done")


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def server(site: Site) -> AsyncIterator[TestServer]:
    app = web.Application()
    for name in ("page", "flaky", "down", "missing", "slow", "loop", "big", "agent", "busy"):
        app.router.add_get(f"/{name}", getattr(site, name))
    app.router.add_get("/big-chunked", site.big_chunked)
    srv = TestServer(app)
    async with srv:
        yield srv


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


async def test_conditional_get_gets_304(server: TestServer, site: Site) -> None:
    async with Fetcher(FAST) as fetcher:
        first = await fetcher.fetch(url(server, "/page"))
        assert first.status == 200 and first.etag == '"v1"'
        assert first.charset == "windows-1251" and first.body.decode("cp1251") == "<p>Таможня</p>"
        second = await fetcher.fetch(url(server, "/page"), first.etag, first.last_modified)
    assert second.not_modified and second.body == b""
    assert site.hits["page"] == 2


async def test_retries_5xx_then_succeeds(server: TestServer, site: Site) -> None:
    async with Fetcher(FAST) as fetcher:
        result = await fetcher.fetch(url(server, "/flaky"))
    assert result.body == b"ok" and site.hits["flaky"] == 3


async def test_gives_up_after_retries(server: TestServer, site: Site) -> None:
    async with Fetcher(FAST) as fetcher:
        with pytest.raises(FetchError, match=r"/down: server error HTTP 500 \(after 3 attempts\)"):
            await fetcher.fetch(url(server, "/down"))
    assert site.hits["down"] == 3


async def test_no_retry_on_4xx(server: TestServer, site: Site) -> None:
    async with Fetcher(FAST) as fetcher:
        with pytest.raises(FetchError, match="/missing: HTTP 404"):
            await fetcher.fetch(url(server, "/missing"))
    assert site.hits["missing"] == 1


async def test_read_timeout_is_retried_then_fails(server: TestServer, site: Site) -> None:
    settings = FetchSettings(**{**FAST.__dict__, "retries": 1})
    async with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError, match=r"/slow: timed out .*read_timeout 0.3 s.*2 attempts"):
            await fetcher.fetch(url(server, "/slow"))
    assert site.hits["slow"] == 2


async def test_redirect_loop_is_capped(server: TestServer, site: Site) -> None:
    async with Fetcher(FAST) as fetcher:
        with pytest.raises(FetchError, match="more than 3 redirects"):
            await fetcher.fetch(url(server, "/loop"))
    assert site.hits["loop"] == 3  # it stops at the cap instead of looping


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
async def test_size_cap(server: TestServer, path: str) -> None:
    async with Fetcher(FAST) as fetcher:
        with pytest.raises(FetchError, match="exceeds"):
            await fetcher.fetch(url(server, path))


async def test_user_agent_and_per_host_limit(server: TestServer, site: Site) -> None:
    async with Fetcher(FAST) as fetcher:
        agent = await fetcher.fetch(url(server, "/agent"))
        await asyncio.gather(*(fetcher.fetch(url(server, "/busy")) for _ in range(6)))
    assert agent.body == b"wcofeed-test/1"
    assert site.max_in_flight == 2


async def test_per_host_delay_spaces_requests(server: TestServer) -> None:
    settings = FetchSettings(**{**FAST.__dict__, "per_host_delay": 0.1})
    loop = asyncio.get_running_loop()
    async with Fetcher(settings) as fetcher:
        start = loop.time()
        await asyncio.gather(*(fetcher.fetch(url(server, "/agent")) for _ in range(3)))
    assert loop.time() - start >= 0.2


async def test_connection_refused_names_the_address() -> None:
    settings = FetchSettings(**{**FAST.__dict__, "retries": 0})
    async with Fetcher(settings) as fetcher:
        with pytest.raises(FetchError, match=r"http://127\.0\.0\.1:9/x: Cannot connect"):
            await fetcher.fetch("http://127.0.0.1:9/x")


async def test_local_file_and_its_mtime(tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "page.html"
    page.write_bytes(b"<p>hi</p>")
    async with Fetcher(FAST) as fetcher:
        first = await fetcher.fetch(str(page))
        again = await fetcher.fetch(str(page), None, first.last_modified)
        with pytest.raises(FetchError, match=r"missing\.html: cannot read"):
            await fetcher.fetch(str(tmp_path / "missing.html"))
    assert first.body == b"<p>hi</p>" and again.not_modified


@pytest.fixture
async def internal() -> AsyncIterator[tuple[TestServer, Counter[str]]]:
    """A service on the same host that must stay out of reach: another port."""
    hits: Counter[str] = Counter()

    async def secret(request: web.Request) -> web.Response:
        hits["secret"] += 1
        return web.Response(text="db_password=hunter2")

    app = web.Application()
    app.router.add_get("/secret", secret)
    srv = TestServer(app)
    async with srv:
        yield srv, hits


def redirecting(to: str) -> web.Application:
    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(to)

    async def own(request: web.Request) -> web.Response:
        return web.Response(text="own page")

    app = web.Application()
    app.router.add_get("/hop", hop)
    app.router.add_get("/own", own)
    return app


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",  # IP literal: skips the resolver
        "http://localhost:{port}/secret",  # a name that resolves to loopback
        "http://[::ffff:127.0.0.1]:{port}/secret",  # IPv4-mapped IPv6
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "http://10.0.0.7/",  # private, never connected to
    ],
)
async def test_a_redirect_into_the_internal_network_is_refused(
    internal: tuple[TestServer, Counter[str]], target: str
) -> None:
    service, hits = internal
    hidden = target.format(port=service.port)
    async with TestServer(redirecting(hidden)) as source, Fetcher(FAST) as fetcher:
        with pytest.raises(FetchError, match="into an internal network was refused") as err:
            await fetcher.fetch(str(source.make_url("/hop")))
    assert hits["secret"] == 0
    # The message (shown on the health page to the admin, logged) names the source only.
    assert str(service.port) not in str(err.value) and "169.254" not in str(err.value)
    assert "10.0.0.7" not in str(err.value)


async def test_a_source_on_an_internal_address_may_redirect_within_itself() -> None:
    app = redirecting("/own")
    async with TestServer(app) as source, Fetcher(FAST) as fetcher:
        result = await fetcher.fetch(str(source.make_url("/hop")))
    assert result.body == b"own page" and result.url.endswith("/own")


async def test_a_redirect_to_a_non_web_link_fails() -> None:
    async with TestServer(redirecting("file:///etc/passwd")) as source, Fetcher(FAST) as fetcher:
        with pytest.raises(FetchError, match="redirected to a file: link"):
            await fetcher.fetch(str(source.make_url("/hop")))


def test_hops_from_a_public_address_stay_public() -> None:
    hops = _Hops()
    hops.admit(["93.184.215.14"], 443)  # the configured source: public
    hops.admit(["151.101.1.69", "2a04:4e42::69"], 443)  # public to public
    for inside in (["10.1.2.3"], ["192.168.0.1"], ["127.0.0.1"], ["::1"], ["fe80::1"]):
        with pytest.raises(_Refused, match="from a public address"):
            hops.admit(inside, 443)
    with pytest.raises(_Refused):  # one internal answer among public ones is enough
        hops.admit(["151.101.1.69", "172.16.0.9"], 443)
    with pytest.raises(_Refused):
        hops.admit(["224.0.0.251"], 443)  # multicast


def test_internal_addresses() -> None:
    for address in ("127.0.0.2", "10.0.0.1", "100.64.0.1", "169.254.169.254", "0.0.0.0", "::1"):
        assert is_internal(address), address
    for address in ("::ffff:10.0.0.1", "fc00::1", "fe80::1%eth0", "240.0.0.1", "239.1.1.1"):
        assert is_internal(address), address
    assert not is_internal("93.184.215.14") and not is_internal("2a04:4e42::69")
