"""Raw entries (strings as a page or feed gives them) -> validated, cleaned `Item`s.

Every parser fills `Entry`s and hands them here with a `PageContext`, so dates, kinds,
topics, language, identity and text repair are decided the same way for every source.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from wcofeed.config import IngestSettings, SourceSettings
from wcofeed.ingest.dates import TEXT_MAX, parse_date
from wcofeed.ingest.deadlines import find_deadline_text, parse_deadline
from wcofeed.ingest.identity import make_guid
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.language import content_language, detect_language, script_agrees
from wcofeed.ingest.text import PageRepair
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.markup import html_to_text, sanitise_html
from wcofeed.models import Deadline, Item, ItemError, Kind, in_year_range

log = logging.getLogger("wcofeed.ingest")

_SENTENCE_END = re.compile(r"[.!?。](?=\s)")
_ABBREVIATIONS = ("Dr", "Mr", "Ms", "Mrs", "No", "St", "Prof")
TITLE_MAX = 160
#: Longest deadline line given to the deadline reader: room for a sentence around the
#: date, not for the 100 KB that made the readers take seconds.
DEADLINE_TEXT_MAX = 500
_BADGE = re.compile(r"^(?:new|nouveau|nuevo|новое|新)\s*[-\u2013:]\s*", re.IGNORECASE)


class ParseError(Exception):
    """A page or feed that cannot be read at all; the message names the source."""


@dataclass(slots=True)
class Entry:
    """One item as found: text not yet repaired, date not yet read."""

    title: str = ""
    url: str = ""
    date_text: str = ""
    published: date | datetime | None = None
    summary_html: str = ""
    deadline_text: str = ""
    label: str = ""
    kind: Kind = "news"
    language: str | None = None


@dataclass(slots=True)
class PageContext:
    """What a whole page shares: its source, when it was read, how its text reads."""

    source: SourceSettings
    now: datetime
    topics: TopicMatcher
    kinds: KindGuesser
    repair: PageRepair = field(default_factory=PageRepair)
    language: str | None = None
    page_date: date | None = None  # when the page has no dates: its Last-Modified day
    page_url: str = ""
    # Called with each full batch of items (and the undated guids among them) while the
    # rest are still being built, so they can be stored meanwhile; the last, partial
    # batch is only in the result.
    on_batch: Callable[[list[Item], set[str]], None] | None = None
    batch_size: int = 1000
    limits: IngestSettings = field(default_factory=IngestSettings)


@dataclass(frozen=True, slots=True)
class Unread:
    """Text of an item that was not understood: the item's place on its page, its
    title, which field (`date` or `deadline`) and the text itself."""

    position: int
    title: str
    field: Literal["date", "deadline"]
    text: str


@dataclass(slots=True)
class ParseResult:
    """Items of one page; `undated` guids have no date of their own (`published` None)
    and keep one an earlier fetch stored.

    `warnings` are log lines for the whole page; `unread` lists the items kept with a
    date or deadline that could not be read.
    """

    items: list[Item] = field(default_factory=list)
    undated: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def note_unread(self, source: str, unread: Unread) -> None:
        message = f"source {source}: cannot read the {unread.field} {unread.text[:TEXT_MAX]!r}"
        if unread.field == "date":
            message += "; kept undated"
        self.warn(message)
        self.unread.append(unread)


def title_from_summary(text: str) -> str:
    """A title for entries that have none: the first sentence, cut at a word."""
    first = text
    for end in _SENTENCE_END.finditer(text, 0, TITLE_MAX + 1):
        if not text[: end.start()].endswith(_ABBREVIATIONS):
            first = text[: end.end()]
            break
    if len(first) <= TITLE_MAX:
        return first
    return first[:TITLE_MAX].rsplit(" ", 1)[0] + "…"


def build_items(entries: list[Entry], ctx: PageContext) -> ParseResult:
    result = ParseResult()
    entries = _within_limits(entries, ctx, result)
    dated = [(entry, _published(n, entry, ctx, result)) for n, entry in enumerate(entries)]
    ctx.language = _page_language(entries, ctx)
    newest = max((as_day(p) for _, p in dated if p is not None), default=None)
    page_date = newest or ctx.page_date or ctx.now.date()
    seen: set[str] = set()
    handed = 0
    for position, (entry, published) in enumerate(dated):
        item = _build_one(position, entry, published, page_date, ctx, result)
        if item is None or item.guid in seen:
            continue
        seen.add(item.guid)
        result.items.append(item)
        if published is None:
            result.undated.add(item.guid)
        if ctx.on_batch is not None and len(result.items) - handed == ctx.batch_size:
            batch = result.items[handed:]
            ctx.on_batch(batch, {i.guid for i in batch if i.guid in result.undated})
            handed = len(result.items)
    return result


def _within_limits(entries: list[Entry], ctx: PageContext, result: ParseResult) -> list[Entry]:
    """The entries cut to the configured sizes (`[ingest]` limits), each cut warned
    about: a page's text is cut before anything is made of it, so what one page costs
    stays bounded by the page itself, not by what repair, sanitising and the feeds make
    of a 9 MB title."""
    limits, source = ctx.limits, ctx.source.id
    if len(entries) > limits.max_items_per_page:
        result.warn(
            f"source {source}: {len(entries)} items on one page; "
            f"the first {limits.max_items_per_page} (ingest.max_items_per_page) are read"
        )
        entries = entries[: limits.max_items_per_page]
    for position, entry in enumerate(entries):
        if len(entry.title) > limits.max_title_chars:
            result.warn(
                f"source {source}: item {position + 1}: title of {len(entry.title)} characters "
                f"cut to {limits.max_title_chars} (ingest.max_title_chars)"
            )
            entry.title = entry.title[: limits.max_title_chars]
        if len(entry.summary_html) > limits.max_summary_chars:
            result.warn(
                f"source {source}: item {position + 1}: summary of {len(entry.summary_html)} "
                f"characters cut to {limits.max_summary_chars} (ingest.max_summary_chars)"
            )
            entry.summary_html = entry.summary_html[: limits.max_summary_chars]
        if len(entry.url) > limits.max_link_chars:
            result.warn(
                f"source {source}: item {position + 1}: link of {len(entry.url)} characters "
                f"dropped (ingest.max_link_chars is {limits.max_link_chars})"
            )
            entry.url = ""
        entry.date_text = entry.date_text[:TEXT_MAX]
        entry.deadline_text = entry.deadline_text[:DEADLINE_TEXT_MAX]
        entry.label = entry.label[: limits.max_title_chars]
    return entries


def as_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _published(
    position: int, entry: Entry, ctx: PageContext, result: ParseResult
) -> date | datetime | None:
    if entry.published is not None:
        return entry.published
    text = ctx.repair.fix(entry.date_text)
    if not text:
        return None
    day = parse_date(text, ctx.source.ui_language, today=ctx.now.date())
    if day is None:
        title = ctx.repair.fix(entry.title) or title_from_summary(
            html_to_text(ctx.repair.fix_block(entry.summary_html))
        )
        result.note_unread(ctx.source.id, Unread(position, title, "date", text))
    return day


def _build_one(
    position: int,
    entry: Entry,
    published: date | datetime | None,
    page_date: date,
    ctx: PageContext,
    result: ParseResult,
) -> Item | None:
    repair = ctx.repair
    summary_html = sanitise_html(repair.fix_block(entry.summary_html))
    summary = html_to_text(summary_html)
    title = _BADGE.sub("", repair.fix(entry.title)) or title_from_summary(summary)
    if not title:
        return None
    label = repair.fix(entry.label)
    deadline_line = repair.fix(entry.deadline_text)
    language = _language(entry, f"{title} {summary}", ctx)
    languages = (ctx.source.ui_language, language)
    deadline_text = deadline_line or find_deadline_text(summary, languages) or ""
    deadline: Deadline | None = None
    if deadline_text:
        deadline = parse_deadline(deadline_text, ctx.source.ui_language, page_date)
        if deadline is not None and not in_year_range(deadline.day):
            deadline = None  # "9999": kept as an item without a deadline, not lost
        if deadline is None:
            result.note_unread(ctx.source.id, Unread(position, title, "deadline", deadline_text))
    kind = ctx.kinds.guess(
        cue_text=f"{title} {label}",
        languages=languages,
        has_deadline=bool(deadline_line)
        and (deadline is not None or find_deadline_text(deadline_line, languages) is not None),
        default=entry.kind,
        forced=ctx.source.kind,
        summary=summary,
        summary_deadline=deadline is not None and not deadline_line,
    )
    guid = make_guid(entry.url, ctx.source.id, title, as_day(published) if published else None)
    topics = ctx.topics.match(f"{title} {label} {summary}", ctx.source.topics)
    try:
        return Item(
            guid=guid,
            kind=kind,
            title=title,
            url=entry.url or ctx.page_url or guid,
            language=language,
            published=published,
            source=ctx.source.id,
            summary=summary,
            summary_html=summary_html,
            topics=topics,
            deadline=deadline,
        )
    except ItemError as exc:
        message = f"source {ctx.source.id}: item {title[:60]!r} skipped: {exc}"
        log.warning(message)
        result.warnings.append(message)
        return None


def _page_language(entries: list[Entry], ctx: PageContext) -> str | None:
    """The language the items' text is in, read once per page from a sample of it.

    A fallback notice or a `lang` attribute is believed unless the items are written in
    another script (English news in the Russian interface, with only the dates in
    Russian); then the detector reads the sample.
    """
    sample = " ".join(f"{e.title} {html_to_text(e.summary_html)}" for e in entries[:20])
    if not sample.strip():
        return ctx.language
    if ctx.language and script_agrees(sample, ctx.language):
        return ctx.language
    return detect_language(sample) or ctx.language


def _language(entry: Entry, text: str, ctx: PageContext) -> str:
    """The page's content language unless this item's own text clearly says otherwise."""
    declared = entry.language or ctx.language
    if declared and script_agrees(text, declared):
        return declared
    if declared is None:
        return content_language(text, None, ctx.source.ui_language)
    return detect_language(text) or declared
