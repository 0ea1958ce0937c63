"""Feeds over HTTP: the published files under `/feeds/`, and `/feed.{fmt}?filters`.

Feed readers poll, so the hot path is a cache hit answered from memory: each rendered
feed is kept with its gzip form, ETag and Last-Modified, keyed by the query and by the
store's last change. The store is asked about that change at most once every
`server.change_check_seconds`, so a burst of polls costs no database round trip.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import cast

from aiohttp import web

from wcofeed.config import Settings
from wcofeed.publish.query import QueryError, parse_query, render_query
from wcofeed.publish.render import CONTENT_TYPES
from wcofeed.publish.specs import Format
from wcofeed.store import Store
from wcofeed.web.app import SETTINGS, STORE

_CACHE_SIZE = 512
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

    @classmethod
    def of(cls, body: bytes, content_type: str, modified: datetime, version: Hashable) -> Rendered:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return cls(body, gzip.compress(body, 6, mtime=0), etag, modified.replace(microsecond=0),
                   content_type, version)


class FeedCache:
    """Rendered feeds by key, valid while the store's last change stays the same."""

    def __init__(self, store: Store, check_seconds: float) -> None:
        self._store = store
        self._check_seconds = check_seconds
        self._checked = float("-inf")
        self._version: Hashable = None
        self._entries: OrderedDict[Hashable, Rendered] = OrderedDict()

    async def version(self) -> Hashable:
        """The store's last change, asked at most once per `check_seconds`."""
        clock = time.monotonic()
        if clock - self._checked >= self._check_seconds:
            self._version = await self._store.last_change()
            self._checked = clock
        return self._version

    def get(self, key: Hashable) -> Rendered | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, rendered: Rendered) -> None:
        self._entries[key] = rendered
        self._entries.move_to_end(key)
        while len(self._entries) > _CACHE_SIZE:
            self._entries.popitem(last=False)


FEED_CACHE = web.AppKey("feed_cache", FeedCache)


def _accepts_gzip(request: web.Request) -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
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


def respond(request: web.Request, rendered: Rendered, max_age: int) -> web.Response:
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": format_datetime(rendered.last_modified, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, rendered):
        return web.Response(status=304, headers=headers)
    body = rendered.body
    if _accepts_gzip(request):
        body = rendered.gzipped
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = rendered.content_type
    return web.Response(body=body, headers=headers)


async def feed_query(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    fmt = cast(Format, request.match_info["fmt"])
    params = {name: request.query.getall(name) for name in request.query}
    try:
        query = parse_query(settings, params)
    except QueryError as exc:
        raise _error(exc.status, str(exc)) from None
    cache = request.app[FEED_CACHE]
    version = await cache.version()
    now = datetime.now(UTC)
    # A calendar of open calls changes as calls close, with or without new items.
    key = (fmt, query, now.strftime("%Y%m%d%H") if fmt == "ics" else "")
    cached = cache.get(key)
    if cached is None or cached.version != version:
        body = await render_query(settings, request.app[STORE], fmt, query, now)
        modified = now
        if cached is not None and cached.body == body:
            modified = cached.last_modified
        cached = Rendered.of(body, CONTENT_TYPES[fmt], modified, version)
        cache.put(key, cached)
    return respond(request, cached, settings.publish.cache_seconds)


def _error(status: int, message: str) -> web.HTTPException:
    cls = web.HTTPNotFound if status == 404 else web.HTTPBadRequest
    return cls(text=message + "\n")


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


async def feed_file(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    root = settings.publish.feeds_dir
    path = safe_file(root, request.match_info["path"])
    content_type = _FILE_TYPES.get(path.suffix) if path else None
    if path is None or content_type is None:
        raise _error(404, "no such feed file")
    stat = path.stat()
    cache = request.app[FEED_CACHE]
    version = (stat.st_mtime_ns, stat.st_size)
    cached = cache.get(path)
    if cached is None or cached.version != version:
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        cached = Rendered.of(path.read_bytes(), content_type, modified, version)
        cache.put(path, cached)
    return respond(request, cached, settings.publish.cache_seconds)


def setup(app: web.Application) -> None:
    """Add the feed routes and their cache to an app made by `create_app`."""
    settings = app[SETTINGS]
    app[FEED_CACHE] = FeedCache(app[STORE], settings.server.change_check_seconds)
    app.router.add_get("/feed.{fmt:(atom|rss|json|ics)}", feed_query)
    app.router.add_get("/feeds/{path:.*}", feed_file)
