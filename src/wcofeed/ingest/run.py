"""fetch -> parse -> store, for every enabled source at once; one failure stops nothing.

`ingest` is what `wcofeed ingest` calls; `ingest_source` is the unit a scheduler runs
on each source's own clock. Both record the fetch outcome in the store (validators on
success, the error and a failure count otherwise).

A source's first successful fetch is its baseline: what it finds then is the source's
back catalogue, stored as such (`Store.upsert_items(baseline=True)`), so it is not
announced as new nor, when undated, ranked above dated items. Later fetches find news,
unless an item's own date is older than `ingest.new_item_max_age_days`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import aiohttp

from wcofeed.config import IngestSettings, Settings, SourceSettings, resolve_url
from wcofeed.ingest.build import PageContext, ParseError, ParseResult, Unread
from wcofeed.ingest.details import DetailReport, overlay, read_details, read_due_details
from wcofeed.ingest.feeds import parse_feed
from wcofeed.ingest.fetch import Fetcher, FetchError, FetchResult
from wcofeed.ingest.html import parse_html
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.manual import parse_manual
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.models import Item, UpsertOutcome, UpsertResult, in_year_range
from wcofeed.store import Store

log = logging.getLogger("wcofeed.ingest")


@dataclass(slots=True)
class SourceReport:
    """What one source did in one run."""

    id: str
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: bool = False
    error: str | None = None
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)  # dates and deadlines not understood
    details: DetailReport = field(default_factory=DetailReport)  # the items' own pages

    @property
    def items_with_warnings(self) -> int:
        return len({u.position for u in self.unread})


@dataclass(slots=True)
class IngestReport:
    sources: list[SourceReport] = field(default_factory=list)
    results: list[UpsertResult] = field(default_factory=list)  # new and changed only

    @property
    def all_failed(self) -> bool:
        return bool(self.sources) and all(s.failed for s in self.sources)


@dataclass(slots=True)
class Parsers:
    """What every source of a run shares: the compiled topic and call-cue matchers, and
    the size limits of what one page may give."""

    topics: TopicMatcher
    kinds: KindGuesser
    limits: IngestSettings = field(default_factory=IngestSettings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Parsers:
        return cls(
            TopicMatcher(settings.topics), KindGuesser(settings.ingest.call_cues), settings.ingest
        )


def parse_body(
    source: SourceSettings,
    fetched: FetchResult,
    parsers: Parsers,
    now: datetime,
    on_batch: Callable[[list[Item], set[str]], None] | None = None,
) -> ParseResult:
    """The items in a fetched body, by the source's type (see `PageContext.on_batch`)."""
    if source.type == "json":
        return parse_manual(
            fetched.body,
            source=source.id,
            language=source.ui_language,
            topics=parsers.topics,
            kinds=parsers.kinds,
            default_topics=source.topics,
        )
    ctx = PageContext(
        source=source,
        now=now,
        topics=parsers.topics,
        kinds=parsers.kinds,
        page_url=fetched.url,
        page_date=_http_day(fetched.last_modified),
        on_batch=on_batch,
        limits=parsers.limits,
    )
    if source.type == "feed":
        return parse_feed(fetched.body, ctx)
    return parse_html(fetched.body, ctx, fetched.charset)


def _http_day(value: str | None) -> date | None:
    """The day of a Last-Modified header, unless its year is outside what an item may
    carry (`models.in_year_range`): a page "modified" in 9999 says nothing of its age."""
    if not value:
        return None
    try:
        day = parsedate_to_datetime(value).date()
    except (TypeError, ValueError, OverflowError):
        return None
    return day if in_year_range(day) else None


@dataclass(frozen=True, slots=True)
class Sighting:
    """How this fetch's items are judged when first seen (see `models.announce_from`)."""

    baseline: bool
    max_age: timedelta


async def _store(
    store: Store, items: list[Item], undated: set[str], now: datetime, sighting: Sighting
) -> list[UpsertResult]:
    """Store items, with what their own pages gave laid over (`details.overlay`); an
    undated one keeps a date an earlier fetch found for it, so a page that stops
    printing a date does not make its item undated."""
    items = await overlay(store, items)
    stored = await store.get_items(i.guid for i in items if i.guid in undated) if undated else {}
    return await store.upsert_items(
        [
            dataclasses.replace(item, published=stored[item.guid].published)
            if item.guid in stored and stored[item.guid].published is not None
            else item
            for item in items
        ],
        now,
        baseline=sighting.baseline,
        max_age=sighting.max_age,
    )


async def parse_and_store(
    store: Store,
    source: SourceSettings,
    fetched: FetchResult,
    parsers: Parsers,
    now: datetime,
    sighting: Sighting,
) -> tuple[ParseResult, list[UpsertResult]]:
    """Parse on a worker thread and store each batch of a long page while the next is
    parsed: the store's statements run without the GIL, so a second core writes while
    the first parses. A page that fails half-way keeps the batches already stored."""
    loop = asyncio.get_running_loop()
    batches: asyncio.Queue[tuple[list[Item], set[str]] | None] = asyncio.Queue()

    def hand_over(items: list[Item], undated: set[str]) -> None:
        loop.call_soon_threadsafe(batches.put_nowait, (items, undated))

    async def parse() -> ParseResult:
        try:
            return await asyncio.to_thread(parse_body, source, fetched, parsers, now, hand_over)
        finally:
            batches.put_nowait(None)  # after the batches: the thread queued them first

    parsing = asyncio.create_task(parse())
    results: list[UpsertResult] = []
    handed = 0
    try:
        while (batch := await batches.get()) is not None:
            handed += len(batch[0])
            results += await _store(store, *batch, now, sighting)
    except BaseException:
        parsing.cancel()
        raise
    parsed = await parsing
    results += await _store(store, parsed.items[handed:], parsed.undated, now, sighting)
    return parsed, results


async def ingest_source(
    settings: Settings,
    store: Store,
    source: SourceSettings,
    fetcher: Fetcher,
    *,
    now: datetime | None = None,
    parsers: Parsers | None = None,
) -> tuple[SourceReport, list[UpsertResult]]:
    """Fetch, parse and store one source; never raises for a bad source."""
    now = now or datetime.now(UTC)
    parsers = parsers or Parsers.from_settings(settings)
    report = SourceReport(source.id)
    state = await store.source_state(source.id)
    url = resolve_url(settings, source.url)
    try:
        fetched = await fetcher.fetch(url, state.etag, state.last_modified)
        if fetched.not_modified:
            report.not_modified = True
            await store.record_fetch_success(source.id, now, fetched.etag, fetched.last_modified)
            log.info("not modified", extra={"fields": {"source": source.id}})
            return report, await _due_details(store, source, fetcher, now, report)
        sighting = Sighting(
            baseline=state.last_success is None,
            max_age=timedelta(days=settings.ingest.new_item_max_age_days),
        )
        parsed, results = await parse_and_store(store, source, fetched, parsers, now, sighting)
        # The list worked, whatever its items' pages do next.
        await store.record_fetch_success(source.id, now, fetched.etag, fetched.last_modified)
        results, report.details = await _with_details(
            store, source, fetcher, parsed, results, now, sighting
        )
        if not parsed.items:
            parsed.warnings.append(f"source {source.id}: no items found at {url}")
            log.warning("no items found", extra={"fields": {"source": source.id, "url": url}})
    except (FetchError, ParseError) as exc:
        return await _failed(store, report, now, str(exc)), []
    except Exception as exc:  # a bug in one source's parsing must not stop the others
        log.exception("source %s failed", source.id)
        return await _failed(store, report, now, f"source {source.id}: {exc!r}"), []
    report.warnings = parsed.warnings
    report.unread = parsed.unread
    for result in results:
        if result.outcome is UpsertOutcome.NEW:
            report.new += 1
        elif result.outcome is UpsertOutcome.CHANGED:
            report.changed += 1
        else:
            report.unchanged += 1
    log.info(
        "ingested",
        extra={
            "fields": {
                "source": source.id,
                "new": report.new,
                "changed": report.changed,
                "unchanged": report.unchanged,
            }
        },
    )
    return report, [r for r in results if r.outcome is not UpsertOutcome.UNCHANGED]


async def _with_details(
    store: Store,
    source: SourceSettings,
    fetcher: Fetcher,
    parsed: ParseResult,
    results: list[UpsertResult],
    now: datetime,
    sighting: Sighting,
) -> tuple[list[UpsertResult], DetailReport]:
    """The list's results, updated by the item pages this run reads (`details`): an
    item new in this run stays new, with its page's text."""
    updated, details = await read_details(store, source, fetcher, parsed.items, now)
    if not updated:
        return results, details
    stored = await store.upsert_items(
        updated, now, baseline=sighting.baseline, max_age=sighting.max_age
    )
    again = {result.item.guid: result for result in stored}
    merged = []
    for result in results:
        read = again.get(result.item.guid)
        if read is None:
            merged.append(result)
        elif result.outcome is UpsertOutcome.NEW:
            merged.append(dataclasses.replace(result, item=read.item))
        else:
            merged.append(read)
    return merged, details


async def _due_details(
    store: Store, source: SourceSettings, fetcher: Fetcher, now: datetime, report: SourceReport
) -> list[UpsertResult]:
    """The item pages due in a run whose list did not change (left over, or on schedule)."""
    updated, report.details = await read_due_details(store, source, fetcher, now)
    if not updated:
        return []
    stored = await store.upsert_items(updated, now)
    report.changed = sum(r.outcome is UpsertOutcome.CHANGED for r in stored)
    return [r for r in stored if r.outcome is not UpsertOutcome.UNCHANGED]


async def _failed(store: Store, report: SourceReport, now: datetime, error: str) -> SourceReport:
    log.warning("source failed: %s", error, extra={"fields": {"source": report.id}})
    report.failed = True
    report.error = error
    await store.record_fetch_failure(report.id, now, error)
    return report


def select_sources(settings: Settings, source_ids: Sequence[str] | None) -> list[SourceSettings]:
    """The enabled sources, or exactly the named ones (KeyError names an unknown id)."""
    if not source_ids:
        return [s for s in settings.sources if s.enabled]
    return [settings.source(source_id) for source_id in source_ids]


async def ingest(
    settings: Settings,
    store: Store,
    source_ids: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
    session: aiohttp.ClientSession | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
) -> IngestReport:
    """Every enabled source (or the named ones), concurrently; see module docstring."""
    sources = select_sources(settings, source_ids)
    parsers = Parsers.from_settings(settings)
    report = IngestReport()
    async with Fetcher(settings.fetch, session) as fetcher:

        async def one(source: SourceSettings) -> tuple[SourceReport, list[UpsertResult]]:
            outcome = await ingest_source(
                settings, store, source, fetcher, now=now, parsers=parsers
            )
            if on_done is not None:
                on_done(outcome[0])
            return outcome

        for source_report, results in await asyncio.gather(*(one(s) for s in sources)):
            report.sources.append(source_report)
            report.results.extend(results)
    return report
