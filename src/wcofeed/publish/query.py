"""The query form of a feed (`/feed.atom?lang=fr&topic=origin&page=2`): parse and render.

The filters are parsed by `filters.py`, as for the HTML pages; unknown parameters are
refused. `lang` is an edition (its feed says so in its `language`, each entry in its own
`xml:lang`), `content_lang` a strict filter. Pages follow RFC 5005: each page links to
the first, previous and next ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlencode

from wcofeed.config import Settings
from wcofeed.i18n import texts
from wcofeed.isolate import Skipped
from wcofeed.models import Item, as_utc, parse_iso_date_or_datetime
from wcofeed.publish.build import query_doc, section_title, site_url
from wcofeed.publish.filters import FILTERS, FilterError, Filters, one, parse_filters
from wcofeed.publish.ics import render_ics
from wcofeed.publish.render import render_feed
from wcofeed.publish.specs import Format
from wcofeed.store import ItemQuery, Store

PARAMETERS = (*FILTERS, "since", "limit", "page")
#: Deepest page a feed query may ask for; SQLite's OFFSET is a 64-bit integer, and no
#: reader pages this far back.
MAX_PAGE = 100_000
#: The kinds whose feed has a title of its own; others are named by their slug.
_KIND_SECTIONS = {"news": "news", "call": "calls"}


@dataclass(frozen=True, slots=True)
class FeedQuery(Filters):
    """The filters, plus the feed's own paging and `since`."""

    since: datetime | None = None
    limit: int = 50
    page: int = 1

    def query_string(self) -> str:
        """The first page's canonical query string (`_page_url` adds a page's): the
        filters' part, the same for many requests, is kept encoded (`_encoded`), and
        `since` and `limit` follow it."""
        own = [("since", self.since.isoformat())] if self.since is not None else []
        own.append(("limit", str(self.limit)))
        filters = _encoded(tuple(self.filter_params()))
        return f"{filters}&{urlencode(own)}" if filters else urlencode(own)


@lru_cache(maxsize=1024)
def _encoded(pairs: tuple[tuple[str, str], ...]) -> str:
    """Pairs encoded as a query string, kept: quoting each link's pairs anew was a
    tenth of a cache miss's time."""
    return urlencode(pairs)


def _whole(name: str, text: str | None, default: int, most: int) -> int:
    """A whole number from 1 to `most`: ASCII digits only (str.isdigit takes "²", which
    int() refuses), and few enough of them for int() and SQLite to take."""
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and 1 <= int(text) <= most):
        message = f"{name}: must be a whole number from 1 to {most}, got {text[:40]!r}"
        raise FilterError(400, message)
    return int(text)


def parse_query(settings: Settings, params: Mapping[str, Iterable[str]]) -> FeedQuery:
    """Check every parameter; `params` maps each name to all its values."""
    for name in params:
        if name not in PARAMETERS:
            raise FilterError(400, f"{name}: unknown parameter (known: {', '.join(PARAMETERS)})")
    filters = parse_filters(settings, params)
    since_text = one(params, "since")
    since = None
    if since_text:
        try:
            since = as_utc(parse_iso_date_or_datetime(since_text))
        except (ValueError, OverflowError):
            message = f"since: not an ISO 8601 date or datetime: {since_text!r}"
            raise FilterError(400, message) from None
    limit = _whole("limit", one(params, "limit"), settings.publish.items_per_feed, 10**18)
    return FeedQuery(
        lang=filters.lang,
        content_languages=filters.content_languages,
        topics=filters.topics,
        kinds=filters.kinds,
        q=filters.q,
        since=since,
        limit=min(limit, settings.publish.max_limit),
        page=_whole("page", one(params, "page"), 1, MAX_PAGE),
    )


def _what(settings: Settings, query: FeedQuery, words: str) -> str:
    parts = [
        section_title(_KIND_SECTIONS[k], words) if k in _KIND_SECTIONS else k for k in query.kinds
    ]
    parts += [settings.topic_label(t, words) for t in query.topics]
    text = texts(words)
    if query.q:
        parts.append(text.gettext("“%(words)s”", words=query.q))
    return text.pgettext("list", ", ").join(parts) or section_title("all", words)


def _page_url(first: str, page: int) -> str:
    """A page's link, made from the first page's: the page goes last."""
    return first if page == 1 else f"{first}&page={page}"


async def render_query(
    settings: Settings,
    store: Store,
    fmt: Format,
    query: FeedQuery,
    now: datetime,
    skipped: list[Skipped],
    seen: list[tuple[ItemQuery, Sequence[Item]]] | None = None,
) -> bytes:
    """The feed for `query` in `fmt`: one page of items, or every open call for `ics`;
    items that cannot be rendered are left out and recorded in `skipped`. Each store
    query and what it found is added to `seen` (a cache keeps the feed until a change
    reaches them)."""
    seen = [] if seen is None else seen
    only = query.content_languages[0] if len(query.content_languages) == 1 else None
    language = query.lang or only
    words = language or settings.site.default_language
    edition = query.edition(settings)
    base = site_url(settings, f"feed.{fmt}")
    if fmt == "ics":
        calls = ItemQuery(
            edition=edition,
            topics=query.topics,
            kinds=("call",),
            q=query.q,
            since=query.since,
            open_at=now,
            order="deadline",
            limit=settings.publish.calendar_events,
        )
        items = await store.query_items(calls)
        seen.append((calls, items))
        self_url = f"{base}?{query.query_string()}"
        doc = query_doc(
            settings,
            what=_what(settings, query, words),
            words=words,
            language=language,
            self_url=self_url,
            items=items,
            links={},
            skipped=skipped,
        )
        return render_ics(doc.title, words, self_url, doc.entries, skipped)
    listed = ItemQuery(
        edition=edition,
        topics=query.topics,
        kinds=query.kinds,
        q=query.q,
        since=query.since,
        limit=query.limit + 1,
        offset=(query.page - 1) * query.limit,
    )
    found, versions = await store.query_page(listed)
    seen.append((listed, found))
    items, more = found[: query.limit], len(found) > query.limit
    first = f"{base}?{query.query_string()}"
    links = {"first": first}
    if query.page > 1:
        links["previous"] = _page_url(first, query.page - 1)
    if more:
        links["next"] = _page_url(first, query.page + 1)
    doc = query_doc(
        settings,
        what=_what(settings, query, words),
        words=words,
        language=language,
        self_url=_page_url(first, query.page),
        items=items,
        links=links,
        skipped=skipped,
        versions=versions,
    )
    return render_feed(fmt, doc, skipped)
