"""`publish_all`: write every feed file that needs it, then tell the WebSub hub.

A full run (no `touched`) renders every feed; after an ingest only the feeds that the
new and changed items, or the versions they replaced, belong to are rendered, plus the
calls feeds that the clock changed since they were written (a call closed or came
within the closing-soon window: a few indexed counts tell). Either way a file is only replaced
when its bytes differ, and only those feeds are announced to the hub.

The index pages and OPML lists name only the feeds that have entries (one indexed
look-up each for the feeds not rendered); an empty feed's file stays where it is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wcofeed.config import Settings
from wcofeed.i18n import language_name, site_title, texts
from wcofeed.isolate import Skipped
from wcofeed.models import UpsertOutcome, UpsertResult
from wcofeed.publish.build import ViewMemo, file_name, file_url, spec_doc, versions_of
from wcofeed.publish.files import remove_stale_temp_files, write_if_changed
from wcofeed.publish.ics import render_ics
from wcofeed.publish.index import index_name, opml_name, render_index
from wcofeed.publish.listing import listing
from wcofeed.publish.opml import render_opml
from wcofeed.publish.render import RENDERERS, render_feed
from wcofeed.publish.specs import FeedSpec, all_specs, closing_window
from wcofeed.publish.websub import ping_hub
from wcofeed.store import ItemQuery, Store, Version

log = logging.getLogger("wcofeed.publish")


@dataclass
class PublishReport:
    """Which files were written or left alone, how the hub pings went, and which items
    were left out of a feed because they could not be rendered."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    pinged: list[str] = field(default_factory=list)
    ping_errors: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self) -> str:
        line = f"{len(self.written)} written, {len(self.unchanged)} unchanged"
        if self.skipped:
            guids = {s.guid for s in self.skipped}
            line += f", {len(guids)} items left out ({len(self.skipped)} times)"
        if self.pinged:
            line += f", {len(self.pinged)} announced to the hub"
        if self.ping_errors:
            line += f", {len(self.ping_errors)} hub errors"
        return line


def selected_specs(
    specs: Iterable[FeedSpec], touched: Iterable[UpsertResult] | None
) -> list[FeedSpec]:
    """The feeds to render: all, or those a changed item (old or new version) belongs to."""
    specs = list(specs)
    if touched is None:
        return specs
    versions = [
        version
        for result in touched
        if result.outcome is not UpsertOutcome.UNCHANGED
        for version in (result.item, result.previous)
        if version is not None
    ]
    return [s for s in specs if any(s.touches(v) for v in versions)]


async def clock_moved(
    store: Store, spec: FeedSpec, since: datetime | None, now: datetime, window_days: int
) -> bool:
    """Whether time alone changed a feed written at `since`: a call closed (it leaves the
    calendar and the closing-soon feed) or came within the closing-soon window."""
    if not spec.time_dependent:
        return False
    if since is None or since >= now:
        return since is None

    async def open_calls(at: datetime) -> int:
        query = ItemQuery(edition=spec.languages, kinds=("call",), open_at=at)
        return await store.count_items(query)

    if await open_calls(since) != await open_calls(now):
        return True
    if spec.section != "closing-soon":
        return False
    window = timedelta(days=window_days)
    return await open_calls(since + window) != await open_calls(now + window)


async def has_entries(store: Store, spec: FeedSpec, now: datetime, window_days: int) -> bool:
    """Whether the feed lists anything now: its first entry (the soonest call, for the
    closing-soon feed) is enough to tell."""
    items = await store.query_items(spec.query(1, now))
    if spec.section == "closing-soon":
        # a call it cannot place is skipped (and counted) when the feed is rendered
        items = closing_window(items, now, window_days, [])
    return bool(items)


def _written_at(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return None


async def publish_all(
    settings: Settings,
    store: Store,
    touched: Iterable[UpsertResult] | None = None,
    *,
    now: datetime | None = None,
) -> PublishReport:
    """Write the feeds (all, or those `touched` affects), index.html and feeds.opml."""
    now = now or datetime.now(UTC)
    root = settings.publish.feeds_dir
    report = PublishReport()
    specs = all_specs(
        settings, await store.counts(), lambda spec: (root / file_name(spec, "atom")).exists()
    )
    changed_urls: list[str] = []
    memo: ViewMemo = {}
    known: dict[str, list[Version]] = {}
    listed: set[FeedSpec] = set()

    def put(name: str, data: bytes) -> bool:
        path = root / name
        written = write_if_changed(path, data)
        (report.written if written else report.unchanged).append(path)
        return written

    chosen = selected_specs(specs, touched)
    if touched is not None:
        for spec in specs:
            stamp = _written_at(root / file_name(spec, spec.formats[-1]))
            if spec not in chosen and await clock_moved(
                store, spec, stamp, now, settings.publish.closing_soon_days
            ):
                chosen.append(spec)
    for spec in chosen:
        items = await store.query_items(spec.query(settings.publish.items_per_feed, now))
        if spec.section == "closing-soon":
            items = closing_window(items, now, settings.publish.closing_soon_days, report.skipped)
        if items:
            listed.add(spec)
        versions = await versions_of(store, items, known)
        for fmt in RENDERERS:
            doc = spec_doc(settings, spec, fmt, items, report.skipped, memo, versions)
            if put(file_name(spec, fmt), render_feed(fmt, doc, report.skipped)):
                changed_urls.append(file_url(settings, spec, fmt))
        if "ics" in spec.formats:
            limit = settings.publish.calendar_events
            calls = await store.query_items(spec.calendar_query(now, limit))
            # The memo's entries carry their versions, whichever feed makes them first.
            versions = await versions_of(store, calls, known)
            doc = spec_doc(settings, spec, "ics", calls, report.skipped, memo, versions)
            name = texts(spec.language).gettext(
                "%(site)s: open calls for applications (%(language)s)",
                site=site_title(settings.site.title, spec.language),
                language=language_name(spec.language),
            )
            calendar = render_ics(name, spec.language, doc.self_url, doc.entries, report.skipped)
            if put(file_name(spec, "ics"), calendar):
                changed_urls.append(doc.self_url)
    for spec in specs:
        if spec not in chosen and await has_entries(
            store, spec, now, settings.publish.closing_soon_days
        ):
            listed.add(spec)
    groups = listing(settings, [spec for spec in specs if spec in listed])
    default = settings.site.default_language
    put("index.html", render_index(settings, groups, default))
    put("feeds.opml", render_opml(settings, groups, default))
    for language in settings.site.languages:
        put(index_name(language), render_index(settings, groups, language))
        put(opml_name(language), render_opml(settings, groups, language))
    if touched is None:
        remove_stale_temp_files(root)
    if settings.publish.websub_hub and changed_urls:
        report.ping_errors = await ping_hub(settings.publish.websub_hub, changed_urls)
        report.pinged = changed_urls
    log.info("published", extra={"fields": {"result": report.summary()}})
    return report
