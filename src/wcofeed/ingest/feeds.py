"""RSS 0.9x/1.0/2.0, Atom and JSON Feed through feedparser.

feedparser's own URI resolving and HTML sanitising are switched off (they are most of
its time on big feeds); summaries are sanitised by nh3 in `build` like every other text.
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from wcofeed.ingest.build import Entry, PageContext, ParseError, ParseResult, build_items
from wcofeed.ingest.identity import absolute_url
from wcofeed.ingest.language import declared_language


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value: time.struct_time | None = entry.get(key)
        if value is not None:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _summary(entry: Any) -> str:
    content = entry.get("content")
    if content:
        return str(content[0].get("value", ""))
    return str(entry.get("summary", ""))


def parse_feed(body: bytes, ctx: PageContext) -> ParseResult:
    """Items of one feed document; an HTML page or garbage raises ParseError."""
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed root element"
        hint = " (it looks like an HTML page)" if b"<html" in body[:4096].lower() else ""
        raise ParseError(f"source {ctx.source.id}: not a feed{hint}: {reason}")
    feed_language = declared_language(parsed.feed.get("language"), "")
    ctx.language = feed_language
    base = str(parsed.feed.get("link") or ctx.page_url)
    entries: list[Entry] = []
    for raw in parsed.entries:
        link = str(raw.get("link") or "")
        published = _when(raw)
        entries.append(
            Entry(
                title=str(raw.get("title", "")),
                url=absolute_url(link, base) if link else "",
                published=published,
                date_text="" if published else str(raw.get("published") or ""),
                summary_html=_summary(raw),
                language=declared_language(_entry_language(raw), "") or feed_language,
            )
        )
    return build_items(entries, ctx)


def _entry_language(raw: Any) -> str | None:
    for detail in ("title_detail", "summary_detail"):
        value = raw.get(detail) or {}
        if value.get("language"):
            return str(value["language"])
    return None
