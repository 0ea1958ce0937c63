"""The query form of a feed (`/feed.atom?lang=fr&topic=origin&page=2`): parse and render.

Parsing is strict so a typo is a clear 400 naming the parameter instead of a quietly
unfiltered feed; a well-formed language or topic the site does not have is a 404.
Pages follow RFC 5005: each page links to the first, previous and next ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from wcofeed.config import Settings
from wcofeed.models import KINDS, as_utc, parse_iso_date_or_datetime
from wcofeed.publish import messages
from wcofeed.publish.build import query_doc, site_url
from wcofeed.publish.ics import render_ics
from wcofeed.publish.render import RENDERERS
from wcofeed.publish.specs import Format
from wcofeed.store import ItemQuery, Store

PARAMETERS = ("lang", "topic", "kind", "q", "since", "limit", "page")
MAX_Q = 200
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: Plural spellings people type for kinds; the model's names are singular.
_KIND_ALIASES = {"calls": "call", "publications": "publication", "events": "event"}
_KIND_WORDS = {"news": "news", "call": "calls"}


class QueryError(ValueError):
    """A bad query: `status` is 400 (malformed) or 404 (unknown language or topic)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class FeedQuery:
    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    q: str = ""
    since: datetime | None = None
    limit: int = 50
    page: int = 1

    def params(self, page: int) -> list[tuple[str, str]]:
        """Canonical query-string pairs (the self and paging links use them)."""
        pairs: list[tuple[str, str]] = []
        if self.languages:
            pairs.append(("lang", ",".join(self.languages)))
        if self.topics:
            pairs.append(("topic", ",".join(self.topics)))
        if self.kinds:
            pairs.append(("kind", ",".join(self.kinds)))
        if self.q:
            pairs.append(("q", self.q))
        if self.since is not None:
            pairs.append(("since", self.since.isoformat()))
        pairs.append(("limit", str(self.limit)))
        if page > 1:
            pairs.append(("page", str(page)))
        return pairs


def _values(params: Mapping[str, Iterable[str]], name: str) -> list[str]:
    return [v.strip() for raw in params.get(name, ()) for v in raw.split(",") if v.strip()]


def _one(params: Mapping[str, Iterable[str]], name: str) -> str | None:
    values = list(params.get(name, ()))
    if len(values) > 1:
        raise QueryError(400, f"{name}: give it once")
    return values[0].strip() if values else None


def _whole(name: str, text: str | None, default: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise QueryError(400, f"{name}: must be a whole number of 1 or more, got {text!r}")
    return int(text)


def parse_query(settings: Settings, params: Mapping[str, Iterable[str]]) -> FeedQuery:
    """Check every parameter; `params` maps each name to all its values."""
    for name in params:
        if name not in PARAMETERS:
            raise QueryError(400, f"{name}: unknown parameter (known: {', '.join(PARAMETERS)})")
    languages = _values(params, "lang")
    for lang in languages:
        if not _LANG.match(lang):
            raise QueryError(400, f"lang: not a language code: {lang!r}")
        if lang not in settings.site.languages:
            raise QueryError(404, f"unknown language {lang!r}")
    topics = _values(params, "topic")
    for topic in topics:
        if not _SLUG.match(topic):
            raise QueryError(400, f"topic: not a topic slug: {topic!r}")
        if topic not in settings.topics:
            raise QueryError(404, f"unknown topic {topic!r}")
    kinds = [_KIND_ALIASES.get(k, k) for k in _values(params, "kind")]
    for kind in kinds:
        if kind not in KINDS:
            raise QueryError(400, f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    q = _one(params, "q") or ""
    if len(q) > MAX_Q:
        raise QueryError(400, f"q: at most {MAX_Q} characters")
    since_text = _one(params, "since")
    since = None
    if since_text:
        try:
            since = as_utc(parse_iso_date_or_datetime(since_text))
        except ValueError:
            message = f"since: not an ISO 8601 date or datetime: {since_text!r}"
            raise QueryError(400, message) from None
    limit = _whole("limit", _one(params, "limit"), settings.publish.items_per_feed)
    return FeedQuery(
        languages=tuple(dict.fromkeys(languages)),
        topics=tuple(dict.fromkeys(topics)),
        kinds=tuple(dict.fromkeys(kinds)),
        q=q,
        since=since,
        limit=min(limit, settings.publish.max_limit),
        page=_whole("page", _one(params, "page"), 1),
    )


def _what(settings: Settings, query: FeedQuery, words: str) -> str:
    parts = [messages.text(words, _KIND_WORDS[k]) if k in _KIND_WORDS else k for k in query.kinds]
    parts += [settings.topic_label(t, words) for t in query.topics]
    if query.q:
        parts.append(f"“{query.q}”")
    return ", ".join(parts) or messages.text(words, "all")


async def render_query(
    settings: Settings, store: Store, fmt: Format, query: FeedQuery, now: datetime
) -> bytes:
    """The feed for `query` in `fmt`: one page of items, or every open call for `ics`."""
    words = query.languages[0] if len(query.languages) == 1 else settings.site.default_language
    language = query.languages[0] if len(query.languages) == 1 else None
    base = site_url(settings, f"feed.{fmt}")
    if fmt == "ics":
        calls = ItemQuery(
            languages=query.languages,
            topics=query.topics,
            kinds=("call",),
            q=query.q,
            since=query.since,
            open_at=now,
            order="deadline",
            limit=settings.publish.calendar_events,
        )
        items = await store.query_items(calls)
        self_url = f"{base}?{urlencode(query.params(1))}"
        doc = query_doc(
            settings,
            what=_what(settings, query, words),
            words=words,
            language=language,
            self_url=self_url,
            items=items,
            links={},
        )
        return render_ics(doc.title, words, self_url, doc.entries)
    found = await store.query_items(
        ItemQuery(
            languages=query.languages,
            topics=query.topics,
            kinds=query.kinds,
            q=query.q,
            since=query.since,
            limit=query.limit + 1,
            offset=(query.page - 1) * query.limit,
        )
    )
    items, more = found[: query.limit], len(found) > query.limit
    links = {"first": f"{base}?{urlencode(query.params(1))}"}
    if query.page > 1:
        links["previous"] = f"{base}?{urlencode(query.params(query.page - 1))}"
    if more:
        links["next"] = f"{base}?{urlencode(query.params(query.page + 1))}"
    doc = query_doc(
        settings,
        what=_what(settings, query, words),
        words=words,
        language=language,
        self_url=f"{base}?{urlencode(query.params(query.page))}",
        items=items,
        links=links,
    )
    return RENDERERS[fmt](doc)
