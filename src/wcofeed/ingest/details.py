"""Reading each item's own page: which pages a run reads, and what they add to items.

A source whose `details` are on reads, after its list, the pages of its items: a new
item's page once, then again only when the list shows the item changed or when
`details_every` has passed; at most `details_per_run` of them per run, new items
first, the rest in later runs. Pages go through the run's `Fetcher`, so the per-host
limits, retries, size cap and conditional GET of lists apply to them too. A page that
fails leaves the item as the list (and any earlier read) gave it; the store keeps why,
and the page is tried again after a wait that doubles with each failure.

What a page gave (`PageFindings`, kept in the store) is laid over the list's item on
every later run (`with_findings`), so the list alone never takes the full text away.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from wcofeed.config import SourceSettings
from wcofeed.ingest.article import read_page
from wcofeed.ingest.fetch import Fetcher, FetchError
from wcofeed.models import DetailState, Item, PageFindings, default_translation_key
from wcofeed.store import ItemQuery, Store

log = logging.getLogger("wcofeed.ingest")

#: First wait before a failed page is tried again; it doubles with each failure.
RETRY_AFTER = timedelta(hours=1)
#: Most stored items of one source looked through when its list did not change.
_STORED_ITEMS = 10_000


def with_findings(item: Item, findings: PageFindings | None) -> Item:
    """The list's item with what its page gave: the full text and documents always;
    the page's date when the list gives none; the page's deadline (calls only) when the
    list gives none or only its day; the page's translation key unless the source
    named one."""
    if findings is None:
        return item
    deadline, found = item.deadline, findings.deadline
    if (
        item.kind == "call"
        and found is not None
        and (deadline is None or (deadline.at is None and found.at is not None))
    ):
        deadline = found
    key = item.translation_key
    if findings.translation_key and key == default_translation_key(item.guid):
        key = findings.translation_key
    return dataclasses.replace(
        item,
        content_html=findings.content_html,
        content_text=findings.content_text,
        attachments=findings.attachments,
        published=item.published if item.published is not None else findings.published,
        deadline=deadline,
        translation_key=key,
    )


async def overlay(store: Store, items: Sequence[Item]) -> list[Item]:
    """The list's items with what their pages gave (stored findings) laid over."""
    states = await store.detail_states(item.guid for item in items) if items else {}
    return [
        with_findings(item, states[item.guid].findings) if item.guid in states else item
        for item in items
    ]


def due(
    items: Iterable[Item], states: dict[str, DetailState], now: datetime, limit: int
) -> list[Item]:
    """The items whose page this run reads: never read, then changed on the list, then
    due by schedule (or retry), in the list's order within each, at most `limit`."""
    never, changed, scheduled = [], [], []
    for item in items:
        state = states.get(item.guid)
        if state is None:
            never.append(item)
        elif state.list_hash != item.content_hash:
            changed.append(item)
        elif state.due <= now:
            scheduled.append(item)
    return [*never, *changed, *scheduled][: max(0, limit)]


def snapshot_path(folder: Path, url: str) -> Path | None:
    """Where a saved copy of the page at `url` lies under `folder` (`<host>/<path>`),
    if there is one; a path that climbs out of the folder is none."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    path = (folder / parts.hostname / parts.path.lstrip("/")).resolve()
    root = folder.resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


@dataclasses.dataclass(slots=True)
class DetailReport:
    """What reading a source's item pages did in one run."""

    read: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)


async def read_details(
    store: Store,
    source: SourceSettings,
    fetcher: Fetcher,
    items: Sequence[Item],
    now: datetime,
) -> tuple[list[Item], DetailReport]:
    """Read the due pages of `items` (the list's items, before any findings); return
    the items whose page gave something new, with it laid over, to be stored."""
    items = _readable(source, items) if source.reads_details() else []
    if not items:
        return [], DetailReport()
    states = await store.detail_states(item.guid for item in items)
    chosen = due(items, states, now, source.details_per_run)
    return await _read(store, source, fetcher, [(i, i.content_hash) for i in chosen], states, now)


async def read_due_details(
    store: Store, source: SourceSettings, fetcher: Fetcher, now: datetime
) -> tuple[list[Item], DetailReport]:
    """`read_details` for a run whose list did not change (a 304): the pages left over
    from earlier runs, and those due by schedule, of the source's stored items."""
    if not source.reads_details():
        return [], DetailReport()
    items = _readable(
        source, await store.query_items(ItemQuery(source=source.id, limit=_STORED_ITEMS))
    )
    states = await store.detail_states(item.guid for item in items)
    waiting = [i for i in items if i.guid not in states or states[i.guid].due <= now]
    chosen = due(waiting, states, now, source.details_per_run)
    pairs = [(i, states[i.guid].list_hash if i.guid in states else i.content_hash) for i in chosen]
    return await _read(store, source, fetcher, pairs, states, now)


def _readable(source: SourceSettings, items: Sequence[Item]) -> list[Item]:
    """The items whose page can be read: all, or with `detail_pages` those saved there
    (chosen before the per-run limit, which the others must not use up)."""
    folder = source.detail_pages
    if folder is None:
        return list(items)
    return [item for item in items if snapshot_path(folder, item.url) is not None]


async def _read(
    store: Store,
    source: SourceSettings,
    fetcher: Fetcher,
    chosen: list[tuple[Item, str]],
    states: dict[str, DetailState],
    now: datetime,
) -> tuple[list[Item], DetailReport]:
    """Read the pages of `chosen` (each item with its list hash) and keep their states."""
    report = DetailReport()
    outcomes = await asyncio.gather(
        *(_read_one(source, fetcher, i, h, states.get(i.guid), now) for i, h in chosen)
    )
    updated: list[Item] = []
    for (item, _), (state, error, fresh) in zip(chosen, outcomes, strict=True):
        if error is not None:
            report.failed += 1
            report.errors.append(error)
        elif fresh:
            report.read += 1
            updated.append(with_findings(item, state.findings))
        else:
            report.unchanged += 1
    await store.save_detail_states([state for state, _, _ in outcomes])
    return updated, report


async def _read_one(
    source: SourceSettings,
    fetcher: Fetcher,
    item: Item,
    list_hash: str,
    state: DetailState | None,
    now: datetime,
) -> tuple[DetailState, str | None, bool]:
    """The page's new state, the error if it failed, and whether it gave new findings."""
    every = timedelta(seconds=source.details_every)
    location = item.url
    if source.detail_pages is not None:
        location = str(snapshot_path(source.detail_pages, item.url) or item.url)
    etag = state.etag if state is not None and state.findings is not None else None
    modified = state.last_modified if state is not None and state.findings is not None else None
    try:
        fetched = await fetcher.fetch(location, etag, modified)
        if fetched.not_modified and state is not None:
            kept = dataclasses.replace(
                state, list_hash=list_hash, due=now + every, failures=0, error=None
            )
            return kept, None, False
        findings = await asyncio.to_thread(
            read_page,
            fetched.body,
            item.url,
            charset=fetched.charset,
            language=source.ui_language,
            today=now.date(),
        )
    except FetchError as exc:
        return _failed(item, list_hash, state, now, every, str(exc))
    except Exception as exc:  # a page the reader chokes on costs only its item's text
        log.exception("reading the page of %s failed", item.guid)
        return _failed(item, list_hash, state, now, every, f"{item.url}: {exc!r}")
    fresh = state is None or state.findings != findings
    read = DetailState(
        guid=item.guid,
        url=item.url,
        list_hash=list_hash,
        due=now + every,
        fetched_at=now,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        findings=findings,
    )
    return read, None, fresh


def _failed(
    item: Item,
    list_hash: str,
    state: DetailState | None,
    now: datetime,
    every: timedelta,
    error: str,
) -> tuple[DetailState, str, bool]:
    failures = (state.failures if state is not None else 0) + 1
    wait = min(every, RETRY_AFTER * 2 ** min(failures - 1, 16))
    message = f"source {item.source}: page of {item.guid}: {error}"
    log.warning("item page failed: %s", message, extra={"fields": {"source": item.source}})
    previous = state if state is not None else DetailState(item.guid, item.url, "", now)
    kept = dataclasses.replace(
        previous,
        url=item.url,
        list_hash=list_hash,
        due=now + wait,
        failures=failures,
        error=error,
    )
    return kept, message, False
