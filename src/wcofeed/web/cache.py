"""Rendered answers kept in memory, each rendered again only when a write can change it.

An entry remembers the store reads it was made from (`Read`: the `ItemQuery` and, when
the query filled its limit, the rank or deadline of its last row). The cache follows the
store's journal of item changes (`Store.item_changes`) by cursor, at most once every
`server.change_check_seconds`, and marks the entries a change could reach (one of its
states, before, after, or another version of the same item, which an edition may now
show or hide, passes a read's filters and falls inside its rows) for a new render, which
the next request for it waits for (`ResponseCache.answer`). Everything else stays
cached, so a writer busy with old items or other languages costs the readers nothing.
Because the journal is in the database, a write by another process (an ingest, another
worker of `wcofeed serve --workers N`) reaches every process's cache.

The comparison is conservative: changes are folded per language and kind, and per topic,
into the widest rank and deadline span they cover, and filters a state does not carry
(`q`, `source`, `news_since`) are taken to match. A false match costs one re-render; a
missed one would serve a stale list, which the tests hold against a fresh render.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from aiohttp import web

from wcofeed.models import Item, as_utc
from wcofeed.store import ItemChange, ItemQuery, ItemState, Store, deadline_instant, item_rank

log = logging.getLogger("wcofeed.web.cache")

_CACHE_SIZE = 512
#: Rendered bodies kept at most (plain + gzip), so many distinct queries cannot exhaust memory.
_CACHE_BYTES = 64 * 1024 * 1024
#: Journal rows read (and changes folded) per step while catching up: each step holds
#: the event loop, so a busy writer's thousand changes a second must not be one step.
_CHANGES_PER_READ = 250
#: Changes remembered in detail, so an answer rendered while some arrived is not kept stale.
_RECENT = 5000
#: Seconds a request waits for a look at the journal or a new render, when it could be
#: answered without (a touched answer): past it, the reader gets what was known before.
_WAIT = 0.05


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
        max_age: int | None,
        vary: str = "Accept-Encoding",
    ) -> Rendered:
        """`max_age` None: caches must ask again each time (they get a 304 when the
        ETag still holds)."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = modified.replace(microsecond=0)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            "Cache-Control": "no-cache" if max_age is None else f"public, max-age={max_age}",
            "Vary": vary,
        }
        plain = {**headers, "Content-Type": content_type}
        zipped = {**plain, "Content-Encoding": "gzip"}
        gzipped = gzip.compress(body, 6, mtime=0)
        return cls(body, gzipped, etag, modified, content_type, version, headers, plain, zipped)


def accepts_gzip(request: web.Request) -> bool:
    accepted = request.headers.get("Accept-Encoding")
    if not accepted:
        return False
    for part in accepted.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip()
            return not q or q.replace("0", "").replace(".", "") != ""
    return False


def not_modified(request: web.Request, rendered: Rendered) -> bool:
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
    if not_modified(request, rendered):
        return web.Response(status=304, headers=rendered.validators)
    if accepts_gzip(request):
        return web.Response(body=rendered.gzipped, headers=rendered.gzip_headers)
    return web.Response(body=rendered.body, headers=rendered.headers)


def _seconds(moment: datetime) -> int:
    """An instant as the store compares it (`int(timestamp)`, as the SQL parameters)."""
    return int(as_utc(moment).timestamp())


@dataclass(frozen=True, slots=True)
class Read:
    """One store query an answer was made from, and how far down its rows went.

    `bound` is set when the query filled its limit: the rank (newest first) or deadline
    (by deadline) of the last row. A change beyond it (older, or closing later) cannot
    enter those rows, nor leave them."""

    query: ItemQuery
    bound: int | None = None
    #: The guids listed, kept for a search (`q`): a change to one of them may change the
    #: list whatever its text; another item changes it only if its text matches.
    listed: frozenset[str] = frozenset()

    @classmethod
    def of(cls, query: ItemQuery, found: Sequence[Item]) -> Read:
        listed = frozenset(item.guid for item in found) if query.q else frozenset()
        if not found or len(found) < query.limit:
            return cls(query, None, listed)
        last = found[-1]
        bound = item_rank(last) if query.order == "published" else deadline_instant(last)
        return cls(query, bound, listed)


def closing(seen: Sequence[tuple[ItemQuery, Sequence[Item]]]) -> float:
    """When the first open call listed closes (it then leaves an open-calls list that no
    write touched); inf when no read lists open calls."""
    moments = [
        deadline
        for query, found in seen
        if query.open_at is not None and found
        for deadline in [deadline_instant(found[0])]
        if deadline is not None
    ]
    return min(moments, default=math.inf)


@dataclass(slots=True)
class _Span:
    """The widest rank and deadline range of the states folded into it."""

    rank: int
    earliest: float = math.inf
    latest: float = -math.inf

    def widen(self, state: ItemState) -> None:
        self.rank = max(self.rank, state.rank)
        if state.deadline is not None:
            self.earliest = min(self.earliest, state.deadline)
            self.latest = max(self.latest, state.deadline)

    def within(self, read: Read) -> bool:
        """Whether a state in this span could be in the read's rows (or leave them)."""
        q, bound = read.query, read.bound
        if q.since is not None and self.rank < _seconds(q.since):
            return False
        if q.open_at is not None and self.latest < _seconds(q.open_at):
            return False
        if q.closed_at is not None and self.earliest >= _seconds(q.closed_at):
            return False
        if q.order == "published":
            return bound is None or self.rank >= bound
        if self.latest == -math.inf:  # by deadline lists only items with one
            return False
        if bound is None:
            return True
        return self.earliest <= bound if q.order == "deadline" else self.latest >= bound


class Touched:
    """The item states a run of changes touched, folded per (language, kind) and topic."""

    def __init__(self, states: Iterable[ItemState] = ()) -> None:
        self._groups: dict[tuple[str, str], dict[str | None, _Span]] = {}
        for state in states:
            self.add(state)

    def add(self, state: ItemState) -> None:
        group = self._groups.setdefault((state.language, state.kind), {})
        for topic in (None, *state.topics):
            span = group.get(topic)
            if span is None:
                group[topic] = span = _Span(state.rank)
            span.widen(state)

    def __bool__(self) -> bool:
        return bool(self._groups)

    def reaches(self, read: Read) -> bool:
        q = read.query
        for (language, kind), group in self._groups.items():
            if (q.edition and language not in q.edition) or (
                q.languages and language not in q.languages
            ):
                continue
            if q.kinds and kind not in q.kinds:
                continue
            if (q.open_at is not None or q.closed_at is not None) and kind != "call":
                continue
            spans = [group[t] for t in q.topics if t in group] if q.topics else [group[None]]
            if any(span.within(read) for span in spans):
                return True
        return False


@dataclass(slots=True)
class _Entry:
    rendered: Rendered
    reads: tuple[Read, ...]
    #: Wall-clock second after which the answer is stale whatever the store says (a
    #: deadline passing, a day count turning); inf: never.
    expires: float = math.inf
    #: A change reached it: answered only to requests arriving while its next render
    #: is under way, never on its own.
    touched: bool = False


@dataclass(frozen=True, slots=True)
class Made:
    """A fresh answer, the store reads it was made from, and when it expires at the
    latest (wall-clock seconds)."""

    rendered: Rendered
    reads: tuple[Read, ...]
    expires: float = math.inf


class ResponseCache:
    """Rendered answers by key, least recently used dropped first, each marked for a new
    render when a journalled change reaches one of its reads, dropped when it expires."""

    def __init__(self, store: Store, check_seconds: float) -> None:
        self._store = store
        self._check_seconds = check_seconds
        #: How long a request waits for a look or a new render when it could be answered
        #: without: fully when answers must always be checked (`check_seconds` 0).
        self._wait = None if check_seconds == 0 else min(check_seconds, _WAIT)
        self._checked = -math.inf
        self._looking: asyncio.Task[None] | None = None
        self._cursor: int | None = None
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._pending: dict[Hashable, asyncio.Future[Rendered]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: The states of the latest changes read, by journal id, so an answer rendered
        #: while changes arrived is checked against those made after it began.
        self._recent: deque[tuple[int, tuple[ItemState, ...]]] = deque(maxlen=_RECENT)
        #: Answers begun at or before this cursor are not kept: what changed after it
        #: is no longer known in detail (forgotten, or the journal was pruned past us).
        self._unknown_until = -1

    def changed(self) -> None:
        """Another process said the store changed: look at the journal on the next request
        instead of waiting for `check_seconds`."""
        self._checked = -math.inf

    async def refresh(self) -> None:
        """Mark what the changes since the last look touch, looking at most once per
        `check_seconds`.

        The look is marked done before the store answers, so requests arriving meanwhile
        use the entries known so far instead of each asking the store: under 200
        concurrent polls that herd of queries took most of the database's time. For the
        same reason one look runs at a time: a look that outlasts `check_seconds` (a
        burst of writes to check searches against) is not joined by more, which would
        read the same changes again and hold every reader connection. The request that
        starts a look waits for it no longer than `_WAIT` (unless `check_seconds` is 0)."""
        clock = time.monotonic()
        if self._looking is not None or clock - self._checked < self._check_seconds:
            return
        self._checked = clock
        self._looking = self._spawn(self._look())
        self._looking.add_done_callback(self._looked)
        await self._waited(self._looking)

    def _looked(self, task: asyncio.Task[None]) -> None:
        self._looking = None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` beside the requests, kept until done (or `close`)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _waited(self, work: asyncio.Future[Any]) -> bool:
        """Wait for `work` as long as a request may (`_wait`): whether it is done."""
        await asyncio.wait({work}, timeout=self._wait)
        return work.done()

    async def close(self) -> None:
        """Stop the looks and renders under way (the server is going away)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _look(self) -> None:
        """Read the journal from the cursor on and mark the entries its changes reach."""
        touched: Touched | None = Touched()
        read_now: list[ItemChange] = []
        try:
            if self._cursor is None:
                self._cursor = (await self._store.item_changes(None)).cursor
                return
            while True:
                found = await self._store.item_changes(self._cursor, _CHANGES_PER_READ)
                if not found.complete:
                    touched = None
                    self._unknown_until = found.cursor
                read_now.extend(found.changes)
                for change in found.changes:
                    states = change.states
                    if len(self._recent) == self._recent.maxlen:
                        self._unknown_until = max(self._unknown_until, self._recent[0][0])
                    self._recent.append((change.cursor, states))
                    if touched is not None:
                        for state in states:
                            touched.add(state)
                self._cursor = found.cursor
                if len(found.changes) < _CHANGES_PER_READ:
                    break
        except Exception:  # the store failing: what changed is unknown, so drop it all
            log.exception("reading the store's changes failed; dropping every cached list")
            touched = None
            self._unknown_until = max(self._unknown_until, self._cursor or 0) + 1
        if touched is None or touched:
            try:
                await self._apply(touched, read_now)
            except Exception:  # a search's look-up failing: drop everything instead
                log.exception("checking searches against changes failed; dropping them all")
                await self._apply(None, ())

    async def _apply(self, touched: Touched | None, changes: Sequence[ItemChange]) -> None:
        stale: list[Hashable] = []
        searches: list[tuple[Hashable, Read]] = []
        for key, entry in self._entries.items():
            if not entry.reads:
                continue
            if touched is None:
                stale.append(key)
                continue
            reached = [read for read in entry.reads if touched.reaches(read)]
            if any(not read.query.q for read in reached):
                stale.append(key)
            else:
                searches += [(key, read) for read in reached]
        stale.extend(await self._searches_reached(changes, searches))
        for key in dict.fromkeys(stale):
            marked = self._entries.get(key)  # the searches' look-ups let others run:
            if marked is not None:  # an entry may have been pushed out meanwhile
                marked.touched = True

    async def _searches_reached(
        self, changes: Sequence[ItemChange], reads: Sequence[tuple[Hashable, Read]]
    ) -> list[Hashable]:
        """The searches some change reaches: one of its states passes the filters, and
        it or one of its versions (which it may show or hide) was listed, or its text
        matches now. One store look-up per distinct search."""
        # Each changed guid (the item's and its versions') with the changes naming it:
        # a search is tested only against the few of them it listed or whose text it
        # matches, not against every change of the refresh.
        if not reads:
            return []
        named: dict[str, list[Touched]] = {}
        for count, change in enumerate(changes, 1):
            touched = Touched(change.states)
            for guid in (change.guid, *(v.guid for v in change.versions)):
                named.setdefault(guid, []).append(touched)
            if not count % _CHANGES_PER_READ:
                await asyncio.sleep(0)  # requests go on between slices
        matching: dict[str, set[str]] = {}
        reached = []
        for key, read in reads:
            q = read.query.q
            if q not in matching:
                matching[q] = await self._store.text_matches(named, q) if named else set()
            candidates = (read.listed | matching[q]) & named.keys()
            if any(t.reaches(read) for guid in candidates for t in named[guid]):
                reached.append(key)
        return reached

    async def begin(self) -> int:
        """The store's cursor now: what an answer about to be rendered already sees."""
        try:
            return (await self._store.item_changes(None)).cursor
        except Exception:  # unknown: the answer will not be kept
            return -1

    async def answer(self, key: Hashable, render: Callable[[], Awaitable[Made]]) -> Rendered:
        """The cached answer for `key`, or one rendered now (once, however many requests
        ask for it meanwhile) and kept if still valid.

        The request that finds an answer touched by a change waits for the new one; those
        arriving while it renders get the touched answer, as they would have a moment
        earlier, instead of queueing behind the render: under a busy writer, every list
        was touched each second and hundreds of polls waited on their re-renders (p99
        of seconds). An expired or missing answer is waited for by everyone.

        Unless `check_seconds` is 0, even the request that starts the render waits no
        longer than `_WAIT` before it too is given the touched answer: when the store's
        readers are queued deep, a render can take seconds; the new answer is kept when
        done. A list is then at most one look and one render behind the store."""
        found = self.get(key)
        if found is not None:
            return found
        touched = self._entries.get(key)  # `get` dropped it if expired
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.get_running_loop().create_future()
            self._spawn(self._make(key, render, pending))
        elif touched is not None:
            return touched.rendered
        if touched is None or await self._waited(pending):
            return await asyncio.shield(pending)
        return touched.rendered

    async def _make(
        self, key: Hashable, render: Callable[[], Awaitable[Made]], into: asyncio.Future[Rendered]
    ) -> None:
        """Render the answer for `key` into `into`, and keep it if still valid."""
        try:
            began = await self.begin()
            made = await render()
            self.put(key, made.rendered, made.reads, since=began, expires=made.expires)
        except asyncio.CancelledError:
            into.cancel()
            raise
        except Exception as exc:
            into.set_exception(exc)
            into.exception()  # the waiters, if any, get it; none is no error
            entry = self._entries.get(key)
            if entry is not None and entry.touched:
                # No longer given in its place: the next request waits for a render and
                # gets its error, rather than the previous answer for ever, unnoticed.
                self._drop(key)
                log.warning("rendering %r again failed (%s); its last answer is dropped", key, exc)
        else:
            into.set_result(made.rendered)
        finally:
            del self._pending[key]

    def get(self, key: Hashable) -> Rendered | None:
        """The answer kept for `key`, unless a change touched it or it expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= time.time():
            self._drop(key)
            return None
        if entry.touched:
            return None
        self._entries.move_to_end(key)
        return entry.rendered

    def put(
        self,
        key: Hashable,
        rendered: Rendered,
        reads: Sequence[Read] = (),
        *,
        since: int | None = None,
        expires: float = math.inf,
    ) -> None:
        """Keep `rendered`, made from `reads` by a render that began at store cursor
        `since` (`begin`), unless a change read after that cursor reaches them."""
        if since is not None:
            if since < 0 or since < self._unknown_until:
                return
            later = Touched()
            for cursor, states in reversed(self._recent):  # newest first: stop at `since`
                if cursor <= since:
                    break
                for state in states:
                    later.add(state)
            if later and any(map(later.reaches, reads)):
                return
        self._drop(key)
        self._entries[key] = _Entry(rendered, tuple(reads), expires)
        self._bytes += rendered.size
        while len(self._entries) > _CACHE_SIZE or self._bytes > _CACHE_BYTES:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.rendered.size

    def _drop(self, key: Hashable) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.rendered.size

    def __contains__(self, key: Hashable) -> bool:
        """Whether `get` would answer `key` from memory (touched answers are not)."""
        entry = self._entries.get(key)
        return entry is not None and not entry.touched


CACHE = web.AppKey("response_cache", ResponseCache)
