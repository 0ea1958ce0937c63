"""RSS 0.9x/1.0/2.0, Atom and JSON Feed through feedparser.

feedparser's own URI resolving and HTML sanitising are switched off (they are most of
its time on big feeds); summaries are sanitised by nh3 in `build` like every other text.
"""

from __future__ import annotations

import calendar
import contextlib
import html
import json
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from wcofeed.ingest.build import Entry, PageContext, ParseError, ParseResult, build_items
from wcofeed.ingest.dates import MIN_YEAR
from wcofeed.ingest.identity import absolute_url
from wcofeed.ingest.language import declared_language

log = logging.getLogger("wcofeed.ingest")

_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _char_ref(match: re.Match[bytes]) -> bytes:
    digits = match[1] or match[2]
    if len(digits) <= 8:
        value = int(digits, 16 if match[1] else 10)
        if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
            return match[0]
    return b"&#xFFFD;"


def _safe_char_refs(body: bytes) -> bytes:
    """feedparser's loose parser raises on `&#xD800;` or `&#99999999;`, losing the whole
    feed; such a reference becomes U+FFFD, as an HTML parser makes it."""
    return _CHAR_REF.sub(_char_ref, body) if b"&#" in body else body


def _plausible(when: datetime, now: datetime) -> datetime | None:
    """`when` in UTC if its year is one a feed can mean (see `dates.MIN_YEAR`), else None."""
    try:
        when = when.astimezone(UTC)
    except OverflowError:
        return None
    return when if MIN_YEAR <= when.year <= now.year + 10 else None


def _when(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: feedparser's own get maps a missing updated_parsed to published_parsed
        # with a DeprecationWarning; the published one was already tried.
        value: time.struct_time | None = dict.get(entry, key)
        if value is not None:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (ValueError, OverflowError, OSError):
                continue
            if (plausible := _plausible(when, now)) is not None:
                return plausible
    return None


def _summary(entry: Any) -> str:
    content = entry.get("content")
    if content:
        return str(content[0].get("value", ""))
    return str(entry.get("summary", ""))


def parse_feed(body: bytes, ctx: PageContext) -> ParseResult:
    """Items of one feed document; an HTML page or garbage raises ParseError."""
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return parse_json_feed(body, ctx)
    parsed = feedparser.parse(
        _safe_char_refs(body), sanitize_html=False, resolve_relative_uris=False
    )
    if not parsed.version and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed root element"
        hint = " (it looks like an HTML page)" if b"<html" in body[:4096].lower() else ""
        raise ParseError(f"source {ctx.source.id}: not a feed{hint}: {reason}")
    feed_language = declared_language(parsed.feed.get("language"), "")
    ctx.language = feed_language
    base = absolute_url(str(parsed.feed.get("link") or ""), ctx.page_url) or ctx.page_url
    entries: list[Entry] = []
    for raw in parsed.entries:
        link = _link(raw)
        published = _when(raw, ctx.now)
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


def _link(raw: Any) -> str:
    """The entry's first alternate HTML link. feedparser's `link` is the last one, which
    in an entry that also links its versions in other languages (each with its
    `hreflang`, after its own, as wcofeed writes them) is one of those."""
    for link in raw.get("links") or ():
        rel, kind = link.get("rel", "alternate"), link.get("type", "text/html")
        if rel == "alternate" and kind in ("text/html", "application/xhtml+xml"):
            return str(link.get("href") or "")
    return str(raw.get("link") or "")


def _entry_language(raw: Any) -> str | None:
    for detail in ("title_detail", "summary_detail"):
        value = raw.get(detail) or {}
        if value.get("language"):
            return str(value["language"])
    return None


def parse_json_feed(body: bytes, ctx: PageContext) -> ParseResult:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which this feedparser release does not read.

    A field of the wrong type costs only what it belongs to: a feed `language` that is
    no string is ignored, an entry with one is skipped, `items` that is no list gives no
    items; each with a warning.
    """
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"source {ctx.source.id}: not a JSON Feed: {exc}") from None
    if not isinstance(data, dict) or "jsonfeed.org" not in str(data.get("version", "")):
        raise ParseError(f"source {ctx.source.id}: not a JSON Feed (no jsonfeed.org version)")
    warnings: list[str] = []
    source = ctx.source.id
    ctx.language = declared_language(_text(data, "language", f"source {source}", warnings), "")
    home = _text(data, "home_page_url", f"source {source}", warnings)
    base = absolute_url(home, ctx.page_url) or ctx.page_url
    raw_items = data.get("items")
    if raw_items is not None and not isinstance(raw_items, list):
        warnings.append(f"source {source}: JSON Feed `items` is {_kind(raw_items)}, not a list")
        raw_items = []
    entries: list[Entry] = []
    for n, raw in enumerate(raw_items or []):
        where = f"source {source}: JSON Feed item {n + 1}"
        if not isinstance(raw, dict):
            warnings.append(f"{where} is {_kind(raw)}, not an object; skipped")
            continue
        try:
            entries.append(_json_entry(raw, base, ctx.language, ctx.now, where))
        except _BadField as exc:
            warnings.append(f"{where} skipped: {exc}")
    result = build_items(entries, ctx)
    for message in warnings:
        log.warning(message)
    result.warnings[:0] = warnings
    return result


class _BadField(Exception):
    """A JSON Feed field whose value is not of the type the spec gives it."""


def _kind(value: object) -> str:
    return {list: "a list", dict: "an object", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _text(raw: dict[str, Any], key: str, where: str, warnings: list[str] | None = None) -> str:
    """The string field `key` ("" when absent); another type is a `_BadField`, or only a
    warning when `warnings` collects them (feed-level fields)."""
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    message = f"`{key}` is {_kind(value)}, not a string"
    if warnings is None:
        raise _BadField(message)
    warnings.append(f"{where}: JSON Feed {message}; ignored")
    return ""


def _json_entry(
    raw: dict[str, Any], base: str, language: str | None, now: datetime, where: str
) -> Entry:
    published: datetime | None = None
    stamp = _text(raw, "date_published", where) or _text(raw, "date_modified", where)
    if stamp:
        with contextlib.suppress(ValueError):
            published = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if published.tzinfo is None:
                published = published.replace(tzinfo=UTC)
            published = _plausible(published, now)
    link = _text(raw, "url", where) or _text(raw, "external_url", where)
    summary = _text(raw, "content_html", where) or html.escape(_text(raw, "content_text", where))
    return Entry(
        title=_text(raw, "title", where),
        url=absolute_url(link, base) if link else "",
        published=published,
        summary_html=summary or _text(raw, "summary", where),
        language=declared_language(_text(raw, "language", where), "") or language,
    )
