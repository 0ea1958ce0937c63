"""Fetching sources: one aiohttp session, polite per host, cheap when nothing changed.

Per host: at most `per_host_concurrency` requests in flight and `per_host_delay`
seconds between two starts. Conditional GET sends the stored ETag / Last-Modified so an
unchanged page costs a 304. Timeouts and 5xx answers are retried with doubling
backoff; a 429 is retried after the delay its Retry-After asks for (up to
`MAX_RETRY_AFTER`, beyond which the source fails now and its next run tries again);
other 4xx, refused connections, redirect loops, oversized bodies and bodies still
arriving at `total_timeout` fail at once.
Names under the reserved `.invalid` domain (RFC 6761) fail without asking DNS.
Redirects are followed hop by hand, each hop's addresses checked as it connects (see
`_Hops`): a source cannot lead the fetcher into the internal network.
Local files (the bundled snapshots) are read from disk under the same size cap, their
mtime standing in for Last-Modified.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

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


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def is_internal(address: str) -> bool:
    """Loopback, private, link-local, multicast, reserved or unspecified: any address
    that is not on the public internet (an IPv4-mapped IPv6 address by its IPv4 one)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class _Refused(Exception):
    """A hop the redirect policy does not allow; says why without naming the address."""


@dataclass(slots=True)
class _Hops:
    """The addresses a fetch has been led to, checked hop by hop.

    The first hop is the source's configured address, whatever it is: the operator
    chose it. A later hop may go to public addresses, or stay on the first hop's own
    internal address and port (a service on the host or the intranet redirecting within
    itself); a hop that leads anywhere else internal is refused. Names are checked by
    what they resolve to (in the resolver, so the connection uses exactly the checked
    addresses), IP literals before connecting, since they skip the resolver.
    """

    origin: frozenset[str] | None = None
    origin_port: int = 0
    refused: str | None = None

    def admit(self, addresses: Iterable[str], port: int) -> None:
        found = frozenset(addresses)
        if self.origin is None:
            self.origin, self.origin_port = found, port
            return
        inside = [a for a in found if is_internal(a)]
        if not inside:
            return
        if port == self.origin_port and found <= self.origin:
            return
        into = "its own address" if any(map(is_internal, self.origin)) else "a public address"
        self.refused = f"a redirect from {into} into an internal network was refused"
        raise _Refused(self.refused)


_HOPS: ContextVar[_Hops | None] = ContextVar("wcofeed_fetch_hops", default=None)


class _ReservedNamesResolver(AbstractResolver):
    """RFC 6761: `.invalid` never resolves, so say so at once instead of asking DNS.
    Every answer goes through the fetch's redirect policy (`_Hops`) before use."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.rstrip(".").lower().rsplit(".", 1)[-1] == "invalid":
            raise OSError(socket.EAI_NONAME, "reserved .invalid name never resolves")
        answers = await self._inner.resolve(host, port, family)
        hops = _HOPS.get()
        if hops is not None:
            try:
                hops.admit((a["host"] for a in answers), port)
            except _Refused as exc:
                raise OSError(str(exc)) from None
        return answers

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
    """Shared by every source of a run; owns its session unless one is given. A session
    given from outside keeps its own connector: the names it resolves escape the redirect
    policy (IP literals are still checked), so only tests give one."""

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
            # No DNS cache and no kept-alive connections: each hop resolves afresh through
            # the policy of its own fetch, and never reuses a connection another fetch
            # (with another policy) opened.
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": self.settings.user_agent},
                connector=aiohttp.TCPConnector(
                    resolver=_ReservedNamesResolver(), use_dns_cache=False, force_close=True
                ),
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

    async def _once(self, first: str, etag: str | None, last_modified: str | None) -> FetchResult:
        """One attempt: `first` and the redirects it leads to, each hop admitted by this
        attempt's `_Hops`."""
        settings, url = self.settings, first
        headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        whole = settings.total_timeout
        timeout = aiohttp.ClientTimeout(
            total=whole, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
        )
        hops = _Hops()
        token = _HOPS.set(hops)
        try:
            for _ in range(settings.max_redirects):
                self._admit_literal(hops, url)
                async with self._client().get(
                    url, headers=headers, timeout=timeout, allow_redirects=False
                ) as response:
                    location = response.headers.get("Location")
                    if response.status in _REDIRECTS and location:
                        url = self._next_hop(first, url, location)
                        continue
                    return await self._answer(first, url, response, etag, last_modified)
            raise FetchError(
                f"{first}: more than {settings.max_redirects} redirects (a redirect loop?)"
            )
        except _Refused as exc:
            raise FetchError(f"{first}: {exc}") from None
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
                f"{first}: response not complete after {whole:g} s (total_timeout)"
            ) from None
        except aiohttp.ClientError as exc:
            if hops.refused is not None:
                raise FetchError(f"{first}: {hops.refused}") from None
            raise FetchError(f"{first}: {self._hop_error(first, url, exc)}") from None
        finally:
            _HOPS.reset(token)

    @staticmethod
    def _admit_literal(hops: _Hops, url: str) -> None:
        """An IP literal host skips the resolver, so its hop is checked here."""
        parts = urlsplit(url)
        try:
            ipaddress.ip_address((parts.hostname or "").split("%", 1)[0])
        except ValueError:
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        hops.admit([parts.hostname or ""], port)

    @staticmethod
    def _next_hop(first: str, url: str, location: str) -> str:
        target = urljoin(url, location)
        if urlsplit(target).scheme not in ("http", "https"):
            raise FetchError(f"{first}: redirected to a {urlsplit(target).scheme}: link, not http")
        return target

    @staticmethod
    def _hop_error(first: str, url: str, exc: aiohttp.ClientError) -> str:
        """The client's reason, unless a redirect led elsewhere: then where it led stays
        out of the message, which the health page and logs show."""
        return str(exc) if url == first else "a redirect target could not be fetched"

    async def _answer(
        self,
        first: str,
        url: str,
        response: aiohttp.ClientResponse,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        if response.status == 304:
            return FetchResult(url, 304, etag=etag, last_modified=last_modified)
        if response.status >= 500:
            raise _Retryable(f"server error HTTP {response.status}")
        if response.status == 429:
            raise self._too_many(first, response)
        if response.status >= 400:
            raise FetchError(f"{first}: HTTP {response.status} {response.reason or ''}")
        body = await self._read_capped(first, response)
        return FetchResult(
            url=url,
            status=response.status,
            body=body,
            charset=response.charset,
            content_type=response.content_type,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )

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
