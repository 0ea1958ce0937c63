"""Fetching sources: one aiohttp session, polite per host, cheap when nothing changed.

Per host: at most `per_host_concurrency` requests in flight and `per_host_delay`
seconds between two starts. Conditional GET sends the stored ETag / Last-Modified so an
unchanged page costs a 304. Timeouts and 5xx answers are retried with doubling
backoff; a 429 is retried after the delay its Retry-After asks for (up to
`MAX_RETRY_AFTER`, beyond which the source fails now and its next run tries again);
other 4xx, refused connections, redirect loops, oversized bodies and bodies still
arriving at `total_timeout` fail at once.
Names under the reserved `.invalid` domain (RFC 6761) fail without asking DNS.
Local files (the bundled snapshots) are read from disk under the same size cap, their
mtime standing in for Last-Modified.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from wcofeed.config import FetchSettings

#: Longest Retry-After (seconds) a fetch waits for; a longer one fails the fetch now.
MAX_RETRY_AFTER = 60.0


class FetchError(Exception):
    """A fetch that failed for good; the message names the address and the reason."""


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    status: int
    body: bytes = b""
    charset: str | None = None
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class _Host:
    def __init__(self, concurrency: int) -> None:
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.lock = asyncio.Lock()
        self.last_start = 0.0


class _Retryable(Exception):
    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class _ReservedNamesResolver(AbstractResolver):
    """RFC 6761: `.invalid` never resolves, so say so at once instead of asking DNS."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.rstrip(".").lower().rsplit(".", 1)[-1] == "invalid":
            raise OSError(socket.EAI_NONAME, "reserved .invalid name never resolves")
        return await self._inner.resolve(host, port, family)

    async def close(self) -> None:
        await self._inner.close()


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), if readable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Fetcher:
    """Shared by every source of a run; owns its session unless one is given."""

    def __init__(
        self, settings: FetchSettings, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.settings = settings
        self._session = session
        self._owns_session = session is None
        self._hosts: dict[str, _Host] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": self.settings.user_agent},
                connector=aiohttp.TCPConnector(resolver=_ReservedNamesResolver()),
            )
        return self._session

    async def fetch(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """The body of `url` (or a 304 result); FetchError when it cannot be had."""
        if urlsplit(url).scheme not in ("http", "https"):
            return self._read_file(url, last_modified)
        attempt = 0
        while True:
            try:
                async with self._polite(url):
                    return await self._once(url, etag, last_modified)
            except _Retryable as exc:
                if attempt >= self.settings.retries:
                    raise FetchError(f"{url}: {exc} (after {attempt + 1} attempts)") from None
                delay = exc.delay if exc.delay is not None else self.settings.backoff * 2**attempt
                await asyncio.sleep(delay)
                attempt += 1

    @asynccontextmanager
    async def _polite(self, url: str) -> AsyncIterator[None]:
        key = urlsplit(url).netloc.lower()
        host = self._hosts.setdefault(key, _Host(self.settings.per_host_concurrency))
        async with host.slots:
            async with host.lock:
                wait = host.last_start + self.settings.per_host_delay - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.last_start = time.monotonic()
            yield

    async def _once(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        settings = self.settings
        headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        whole = settings.total_timeout
        timeout = aiohttp.ClientTimeout(
            total=whole, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
        )
        try:
            async with self._client().get(
                url, headers=headers, timeout=timeout, max_redirects=settings.max_redirects
            ) as response:
                if response.status == 304:
                    return FetchResult(
                        str(response.url), 304, etag=etag, last_modified=last_modified
                    )
                if response.status >= 500:
                    raise _Retryable(f"server error HTTP {response.status}")
                if response.status == 429:
                    raise self._too_many(url, response)
                if response.status >= 400:
                    raise FetchError(f"{url}: HTTP {response.status} {response.reason or ''}")
                body = await self._read_capped(url, response)
                return FetchResult(
                    url=str(response.url),
                    status=response.status,
                    body=body,
                    charset=response.charset,
                    content_type=response.content_type,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except aiohttp.TooManyRedirects:
            raise FetchError(
                f"{url}: more than {settings.max_redirects} redirects (a redirect loop?)"
            ) from None
        except aiohttp.ConnectionTimeoutError:
            raise _Retryable(
                f"timed out connecting (connect_timeout {settings.connect_timeout:g} s)"
            ) from None
        except aiohttp.ServerTimeoutError:
            raise _Retryable(
                f"timed out waiting for the server (read_timeout {settings.read_timeout:g} s)"
            ) from None
        except TimeoutError:
            raise FetchError(
                f"{url}: response not complete after {whole:g} s (total_timeout)"
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"{url}: {exc}") from None

    def _too_many(self, url: str, response: aiohttp.ClientResponse) -> Exception:
        """A retry after the Retry-After delay (backoff when none), or a failure if too long."""
        asked = response.headers.get("Retry-After")
        delay = retry_after(asked)
        if delay is not None and delay > MAX_RETRY_AFTER:
            return FetchError(
                f"{url}: HTTP 429 Too Many Requests, Retry-After {asked} "
                f"is longer than {MAX_RETRY_AFTER:g} s; the next run tries again"
            )
        shown = f" (Retry-After {delay:g} s)" if delay is not None else ""
        return _Retryable(f"HTTP 429 Too Many Requests{shown}", delay)

    async def _read_capped(self, url: str, response: aiohttp.ClientResponse) -> bytes:
        cap = self.settings.max_bytes
        if response.content_length is not None and response.content_length > cap:
            raise FetchError(f"{url}: body of {response.content_length} bytes exceeds {cap}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                raise FetchError(f"{url}: body exceeds the {cap}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    def _read_file(self, location: str, last_modified: str | None) -> FetchResult:
        path = Path(urlsplit(location).path if location.startswith("file:") else location)
        try:
            stat = path.stat()
            stamp = formatdate(stat.st_mtime, usegmt=True)
            if last_modified == stamp:
                return FetchResult(str(path), 304, last_modified=stamp)
            if stat.st_size > self.settings.max_bytes:
                raise FetchError(
                    f"{path}: file of {stat.st_size} bytes exceeds {self.settings.max_bytes}"
                )
            body = path.read_bytes()
        except OSError as exc:
            raise FetchError(f"{path}: cannot read: {exc.strerror}") from None
        return FetchResult(str(path), 200, body=body, last_modified=stamp)
