"""Feeds over HTTP: the published files under `/feeds/`, and `/feed.{fmt}?filters`.

Feed readers poll, so the hot path is a cache hit answered from memory: each rendered
feed is kept with its gzip form, ETag and Last-Modified, keyed by the query and by the
store's last change. The store is asked about that change at most once every
`server.change_check_seconds`, so a burst of polls costs no database round trip.

`/feeds/` and `/feeds/index.html` answer with the index in the reader's language (`?hl=`,
else Accept-Language), which is also at its own address, `/feeds/index.<lang>.html`.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import cast

from aiohttp import web

from wcofeed.config import Settings
from wcofeed.i18n import negotiate
from wcofeed.isolate import Skipped
from wcofeed.publish.filters import FilterError
from wcofeed.publish.index import index_name
from wcofeed.publish.query import parse_query, render_query
from wcofeed.publish.render import CONTENT_TYPES
from wcofeed.publish.specs import Format
from wcofeed.store import Store
from wcofeed.web.errors import text_error
from wcofeed.web.state import METRICS, SETTINGS, STORE

_CACHE_SIZE = 512
#: Rendered bodies kept at most (plain + gzip), so many distinct queries cannot exhaust memory.
_CACHE_BYTES = 64 * 1024 * 1024
_FILE_TYPES = {
    ".atom": CONTENT_TYPES["atom"],
    ".rss": CONTENT_TYPES["rss"],
    ".json": CONTENT_TYPES["json"],
    ".ics": CONTENT_TYPES["ics"],
    ".html": CONTENT_TYPES["html"],
    ".opml": CONTENT_TYPES["opml"],
}


@dataclass(frozen=True, slots=True)
class Rendered:
    """One response body, ready to send: plain and gzip forms and its validators."""

    body: bytes
    gzipped: bytes
    etag: str
    last_modified: datetime
    content_type: str
    version: Hashable
    #: Headers of a 304, of a plain 200 and of a gzip 200: built once, sent many times.
    validators: Mapping[str, str]
    headers: Mapping[str, str]
    gzip_headers: Mapping[str, str]

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped)

    @classmethod
    def of(
        cls,
        body: bytes,
        content_type: str,
        modified: datetime,
        version: Hashable,
        max_age: int,
        vary: str = "Accept-Encoding",
    ) -> Rendered:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = modified.replace(microsecond=0)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            "Cache-Control": f"public, max-age={max_age}",
            "Vary": vary,
        }
        plain = {**headers, "Content-Type": content_type}
        zipped = {**plain, "Content-Encoding": "gzip"}
        gzipped = gzip.compress(body, 6, mtime=0)
        return cls(body, gzipped, etag, modified, content_type, version, headers, plain, zipped)


class FeedCache:
    """Rendered feeds (valid while the store's last change stays the same) and the
    resolved paths of feed files, least recently used dropped first."""

    def __init__(self, store: Store, check_seconds: float) -> None:
        self._store = store
        self._check_seconds = check_seconds
        self._checked = float("-inf")
        self._version: Hashable = None
        self._entries: OrderedDict[Hashable, Rendered] = OrderedDict()
        self._bytes = 0
        self._paths: dict[str, Path] = {}

    async def version(self) -> Hashable:
        """The store's last change, asked at most once per `check_seconds`.

        The check is marked done before the store answers, so requests arriving
        meanwhile use the version known so far instead of each asking the store: under
        200 concurrent polls that herd of queries took most of the database's time.
        """
        clock = time.monotonic()
        if clock - self._checked >= self._check_seconds:
            self._checked = clock
            self._version = await self._store.last_change()
        return self._version

    def changed(self) -> None:
        """The store changed (another process said so): ask it again on the next request."""
        self._checked = float("-inf")

    def get(self, key: Hashable) -> Rendered | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: Rendered) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._entries[key] = value
        self._bytes += value.size
        while len(self._entries) > _CACHE_SIZE or self._bytes > _CACHE_BYTES:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size

    def path(self, root: Path, tail: str) -> Path | None:
        """`safe_file(root, tail)`, remembered: resolving costs a syscall per folder."""
        found = self._paths.get(tail)
        if found is None:
            found = safe_file(root, tail)
            if found is not None:
                if len(self._paths) >= _CACHE_SIZE:
                    self._paths.clear()
                self._paths[tail] = found
        return found

    def forget_path(self, tail: str) -> None:
        self._paths.pop(tail, None)


FEED_CACHE = web.AppKey("feed_cache", FeedCache)


def _accepts_gzip(request: web.Request) -> bool:
    accepted = request.headers.get("Accept-Encoding")
    if not accepted:
        return False
    for part in accepted.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip()
            return not q or q.replace("0", "").replace(".", "") != ""
    return False


def _not_modified(request: web.Request, rendered: Rendered) -> bool:
    """RFC 9110: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or rendered.etag in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return rendered.last_modified <= when
    return False


def respond(request: web.Request, rendered: Rendered) -> web.Response:
    if _not_modified(request, rendered):
        return web.Response(status=304, headers=rendered.validators)
    if _accepts_gzip(request):
        return web.Response(body=rendered.gzipped, headers=rendered.gzip_headers)
    return web.Response(body=rendered.body, headers=rendered.headers)


async def feed_query(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    fmt = cast(Format, request.match_info["fmt"])
    cache = request.app[FEED_CACHE]
    version = await cache.version()
    # Keyed by the raw query string, so a hit skips parsing (only valid queries are
    # cached). A calendar of open calls also changes as calls close: hourly buckets.
    bucket = time.strftime("%Y%m%d%H", time.gmtime()) if fmt == "ics" else ""
    key = (fmt, request.query_string, bucket)
    cached = cache.get(key)
    if cached is None or cached.version != version:
        params = {name: request.query.getall(name) for name in request.query}
        try:
            query = parse_query(settings, params)
        except FilterError as exc:
            raise text_error(exc.status, str(exc)) from None
        now = datetime.now(UTC)
        skipped: list[Skipped] = []
        body = await render_query(settings, request.app[STORE], fmt, query, now, skipped)
        request.app[METRICS].skipped(skipped)
        modified = now
        if cached is not None and cached.body == body:
            modified = cached.last_modified
        max_age = settings.publish.cache_seconds
        cached = Rendered.of(body, CONTENT_TYPES[fmt], modified, version, max_age)
        cache.put(key, cached)
    return respond(request, cached)


def safe_file(root: Path, tail: str) -> Path | None:
    """The file `tail` names under `root`, or None: no `..`, hidden names or escapes."""
    parts = [p for p in tail.split("/") if p]
    if any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return None
    path = root.joinpath(*parts) if parts else root
    if path.is_dir():
        path = path / "index.html"
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
        return None
    return resolved


def _index_in_language(request: web.Request, settings: Settings) -> str | None:
    """The index file in the reader's language, when `?hl=` or Accept-Language names one."""
    offered = settings.site.languages
    hl = request.query.get("hl", "")
    found = hl if hl in offered else negotiate(request.headers.get("Accept-Language", ""), offered)
    return index_name(found) if found else None


async def feed_file(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    cache = request.app[FEED_CACHE]
    tail = request.match_info["path"]
    vary = "Accept-Encoding"
    if tail in ("", "index.html"):
        vary = "Accept-Encoding, Accept-Language"
        wanted = _index_in_language(request, settings)
        if wanted and cache.path(settings.publish.feeds_dir, wanted):
            tail = wanted
    path = cache.path(settings.publish.feeds_dir, tail)
    content_type = _FILE_TYPES.get(path.suffix) if path else None
    if path is None or content_type is None:
        raise text_error(404, "no such feed file")
    try:
        stat = path.stat()
    except FileNotFoundError:
        cache.forget_path(tail)
        raise text_error(404, "no such feed file") from None
    version = (stat.st_mtime_ns, stat.st_size)
    cached = cache.get((path, vary))
    if cached is None or cached.version != version:
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        max_age = settings.publish.cache_seconds
        cached = Rendered.of(path.read_bytes(), content_type, modified, version, max_age, vary)
        cache.put((path, vary), cached)
    return respond(request, cached)


def setup(app: web.Application) -> None:
    """Add the feed routes and their cache to an app made by `create_app`."""
    settings = app[SETTINGS]
    app[FEED_CACHE] = FeedCache(app[STORE], settings.server.change_check_seconds)
    app.router.add_get("/feed.{fmt:(atom|rss|json|ics)}", feed_query)
    app.router.add_get("/feeds/{path:.*}", feed_file)
