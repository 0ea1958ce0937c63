"""Feeds over HTTP: the published files under `/feeds/`, and `/feed.{fmt}?filters`.

Feed readers poll, so the hot path is a cache hit answered from memory: each rendered
feed is kept with its gzip form, ETag and Last-Modified, keyed by the raw query string,
until a write touches what it lists (`cache.py`); the store's journal of changes is read
at most once every `server.change_check_seconds`, so a burst of polls costs no database
round trip. A published file is kept until its modification time or size changes, which
is looked at as often (`FeedFiles`).

`/feeds/` and `/feeds/index.html` answer with the index in the reader's language (`?hl=`,
else Accept-Language), which is also at its own address, `/feeds/index.<lang>.html`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from aiohttp import web

from wcofeed.config import Settings
from wcofeed.i18n import negotiate
from wcofeed.isolate import Skipped
from wcofeed.models import Item
from wcofeed.publish.filters import FilterError
from wcofeed.publish.index import index_name
from wcofeed.publish.query import parse_query, render_query
from wcofeed.publish.render import CONTENT_TYPES
from wcofeed.publish.specs import Format
from wcofeed.store import ItemQuery
from wcofeed.web.cache import CACHE, Made, Read, Rendered, closing, respond
from wcofeed.web.errors import text_error
from wcofeed.web.guards import add_routes
from wcofeed.web.state import METRICS, SETTINGS, STATUS_COUNTS, STORE, Handler

_FILE_TYPES = {
    ".atom": CONTENT_TYPES["atom"],
    ".rss": CONTENT_TYPES["rss"],
    ".json": CONTENT_TYPES["json"],
    ".ics": CONTENT_TYPES["ics"],
    ".html": CONTENT_TYPES["html"],
    ".opml": CONTENT_TYPES["opml"],
}
_PATHS_KEPT = 512


@dataclass(slots=True)
class FeedFile:
    """A feed file found under the feeds folder, and when its state was last looked at."""

    path: Path
    content_type: str
    #: `time.monotonic()` of the last `stat`; -inf: never.
    checked: float = -math.inf
    #: What that `stat` saw (modification time, size): every answer kept from the file
    #: (one per Vary) is compared with it, so one seeing a change renews them all.
    version: tuple[int, int] = (0, -1)


class FeedFiles:
    """The feed files asked for, resolved once (resolving costs a syscall per folder).

    A file's size and modification time are looked at no more than once per
    `server.change_check_seconds`, as the store's journal is for rendered feeds: under
    thousands of polls a second the `stat` alone was a tenth of the route's time. The
    publisher replaces files whole (a rename), so an answer is never a torn file, at
    worst the previous one for that long."""

    def __init__(self) -> None:
        self._files: dict[str, FeedFile] = {}

    def find(self, root: Path, tail: str) -> FeedFile | None:
        """The feed file `tail` names under `root` (`safe_file`), with a type we serve."""
        found = self._files.get(tail)
        if found is None:
            path = safe_file(root, tail)
            content_type = _FILE_TYPES.get(path.suffix) if path else None
            if path is None or content_type is None:
                return None
            if len(self._files) >= _PATHS_KEPT:
                self._files.clear()
            found = self._files[tail] = FeedFile(path, content_type)
        return found

    def forget(self, tail: str) -> None:
        self._files.pop(tail, None)


FEED_FILES = web.AppKey("feed_files", FeedFiles)


def _counted(handler: Handler) -> Handler:
    """Feed answers by status, so monitoring sees the 304 ratio (readers' cache hits):
    a counter increment in the handler, summed into `/metrics` when it is read."""
    counts = STATUS_COUNTS

    async def counting(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            request.app[counts][exc.status] += 1
            raise
        request.app[counts][response.status] += 1
        return response

    return counting


async def feed_query(request: web.Request) -> web.StreamResponse:
    fmt = cast(Format, request.match_info["fmt"])
    cache = request.app[CACHE]
    await cache.refresh()
    # Keyed by the raw query string, so a hit skips parsing (only valid queries are cached).
    key = (fmt, request.query_string)
    cached = cache.get(key) or await cache.answer(key, lambda: _render(request, fmt))
    return respond(request, cached)


async def _render(request: web.Request, fmt: Format) -> Made:
    settings = request.app[SETTINGS]
    params = {name: request.query.getall(name) for name in request.query}
    try:
        query = parse_query(settings, params)
    except FilterError as exc:
        raise text_error(exc.status, str(exc)) from None
    now = datetime.now(UTC)
    skipped: list[Skipped] = []
    seen: list[tuple[ItemQuery, Sequence[Item]]] = []
    body = await render_query(settings, request.app[STORE], fmt, query, now, skipped, seen)
    request.app[METRICS].skipped(skipped)
    rendered = Rendered.of(body, CONTENT_TYPES[fmt], now, None, settings.publish.cache_seconds)
    reads = tuple(Read.of(q, found) for q, found in seen)
    return Made(rendered, reads, closing(seen))


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


async def feed_file(request: web.Request) -> web.StreamResponse:
    settings: Settings = request.app[SETTINGS]
    files = request.app[FEED_FILES]
    root = settings.publish.feeds_dir
    tail = request.match_info["path"]
    vary = "Accept-Encoding"
    if tail in ("", "index.html"):
        vary = "Accept-Encoding, Accept-Language"
        wanted = _index_in_language(request, settings)
        if wanted and files.find(root, wanted):
            tail = wanted
    found = files.find(root, tail)
    if found is None:
        raise text_error(404, "no such feed file")
    cache = request.app[CACHE]
    key = (found.path, vary)
    cached = cache.get(key)
    clock = time.monotonic()
    if cached is None or clock - found.checked >= settings.server.change_check_seconds:
        try:
            stat = os.stat(found.path)
        except FileNotFoundError:
            files.forget(tail)
            raise text_error(404, "no such feed file") from None
        found.checked, found.version = clock, (stat.st_mtime_ns, stat.st_size)
    if cached is None or cached.version != found.version:
        modified = datetime.fromtimestamp(found.version[0] / 1e9, UTC)
        max_age = settings.publish.cache_seconds
        body = found.path.read_bytes()
        cached = Rendered.of(body, found.content_type, modified, found.version, max_age, vary)
        cache.put(key, cached)
    return respond(request, cached)


def setup(app: web.Application) -> None:
    """Add the feed routes to an app made by `create_app` (which holds the cache)."""
    app[FEED_FILES] = FeedFiles()
    routes = [
        web.get("/feed.{fmt:(atom|rss|json|ics)}", _counted(feed_query)),
        web.get("/feeds/{path:.*}", _counted(feed_file)),
    ]
    add_routes(app.router, routes)
