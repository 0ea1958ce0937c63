"""The public HTML pages: latest items with filters, and the open calls.

Plain forms and links, no JavaScript. The interface language (`?hl=`) is chosen as
`web.html` says, and a page lists that language's edition (`lang=` names another): each
item once, in the page's language when it has a version in it, else in a fallback
language, marked "in English" and linked to its other versions. The filters (`lang`,
`content_lang`, `topic`, `kind`, `q`) are the same words the feed query form uses, so
"the feed of this list" is the same query string on `/feed.atom`. "Closes in N days"
counts calendar days in the site's time zone (`site.timezone`): a page has no reader's
zone to go by, and the site's is the one its dates are printed in.

`/items/{id}` shows one item whole: the full text its own page gave (sanitised again,
whatever the store holds), its deadline, documents and versions; the lists link to it.
`{id}` is `models.page_id` of the guid, so any store finds the item by its guid.

`/calls` shows, below the open calls, those closed in the last `RECENTLY_CLOSED_DAYS`,
or when none closed then the last `LAST_CLOSED` to close, so a reader sees what kind of
calls come even between two of them.

Both pages are cached like the feeds (`cache.py`), per path, query string and interface
language, with an ETag (a browser revalidating gets a 304), until a write touches one
of their lists, a listed call closes, or the quarter hour turns.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from wcofeed.config import Settings
from wcofeed.i18n import closing_phrase, days_left, language_name, texts
from wcofeed.markup import sanitise_content
from wcofeed.models import DOCUMENT_TYPES, KINDS, Item, guid_from_page_id, is_web_url, page_id
from wcofeed.publish.build import Versions, alternates
from wcofeed.publish.filters import FILTERS, FilterError, Filters, parse_filters
from wcofeed.store import ItemQuery, Store, Version
from wcofeed.templates import templates_dir
from wcofeed.web.cache import CACHE, Made, Read, Rendered, closing, respond
from wcofeed.web.errors import text_error
from wcofeed.web.guards import add_routes
from wcofeed.web.html import interface_language, render_text
from wcofeed.web.state import SETTINGS, STORE

PAGE_SIZE = 20
CALLS_ON_HOME = 5
RECENTLY_CLOSED_DAYS = 90
LAST_CLOSED = 5
_MAX_PAGE = 500
#: Seconds a cached page lasts at most: its day counts and "recently closed" window move
#: with the clock, and the quarter hour is when a time zone's day can turn.
_TURN = 900


@dataclass(frozen=True, slots=True)
class PageFilters(Filters):
    """The filters of a page, its page number, and the single values its form shows."""

    page: int = 1

    @property
    def content_lang(self) -> str:
        return self.content_languages[0] if self.content_languages else ""

    @property
    def topic(self) -> str:
        return self.topics[0] if self.topics else ""

    @property
    def kind(self) -> str:
        return self.kinds[0] if self.kinds else ""

    def query(self, **changes: Any) -> str:
        """The filters as a query string (empty values left out), with changes applied."""
        values: dict[str, Any] = dict.fromkeys(FILTERS, "")
        values.update(self.filter_params(), **changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


def parse_page_filters(settings: Settings, request: web.Request) -> PageFilters:
    """Validated filters and page; any bad value is a 400 naming the parameter."""
    params = {name: request.query.getall(name) for name in FILTERS if name in request.query}
    try:
        f = parse_filters(settings, params)
    except FilterError as exc:
        raise text_error(400, str(exc)) from None
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        raise text_error(400, "page: not a whole number") from None
    if not 1 <= page <= _MAX_PAGE:
        raise text_error(400, f"page: must be between 1 and {_MAX_PAGE}")
    return PageFilters(f.lang, f.content_languages, f.topics, f.kinds, f.q, page)


def safe_url(url: str) -> str:
    """A link is shown only when it is one the model lets out (http(s), no controls)."""
    return url if is_web_url(url) else ""


def closes_label(call: Item, now: datetime, settings: Settings, hl: str) -> str:
    assert call.deadline is not None
    days = days_left(call.deadline.closes_at(), now, settings.site.timezone)
    # An approximate deadline sits on the latest day its words allow: say so.
    return closing_phrase(days, hl, latest=call.deadline.precision != "day")


def _alternates(items: list[Item], versions: Versions) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each item's versions in other languages, by guid."""
    return {item.guid: alternates(item, versions) for item in items}


def _render(request: web.Request, template: str, hl: str, **context: Any) -> str:
    settings = request.app[SETTINGS]
    return render_text(
        request,
        template,
        hl,
        safe_url=safe_url,
        content_languages=[(code, language_name(code, hl)) for code in settings.site.languages],
        topics=sorted(settings.topics, key=lambda slug: settings.topic_label(slug, hl)),
        kinds=KINDS,
        site_day=lambda moment: moment.astimezone(ZoneInfo(settings.site.timezone)).date(),
        page_id=page_id,
        **context,
    )


Seen = list[tuple[ItemQuery, Sequence[Item]]]


async def _query(
    store: Store, query: ItemQuery, seen: Seen, versions: dict[str, list[Version]]
) -> list[Item]:
    """The items of `query`, noted in `seen`; their versions are added to `versions`
    (read with them: one round trip to the store per list)."""
    found, found_versions = await store.query_page(query)
    seen.append((query, found))
    versions.update(found_versions)
    return found


def _cached(
    build: Callable[[web.Request, str, Seen], Awaitable[str]],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page kept per path, query and interface language until a write touches one of
    its lists, a listed call closes or the quarter hour turns (day counts, windows)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        settings, cache = request.app[SETTINGS], request.app[CACHE]
        hl = interface_language(request, settings)
        await cache.refresh()

        async def page() -> Made:
            seen: Seen = []
            html = await build(request, hl, seen)
            quarter = (time.time() // _TURN + 1) * _TURN
            rendered = Rendered.of(
                html.encode(),
                "text/html; charset=utf-8",
                datetime.now(UTC),
                None,
                None,
                "Accept-Encoding, Accept-Language",
            )
            reads = tuple(Read.of(query, found) for query, found in seen)
            return Made(rendered, reads, min(quarter, closing(seen)))

        key = (request.path, request.query_string, hl)
        return respond(request, await cache.answer(key, page))

    return handler


async def home(request: web.Request, hl: str, seen: Seen) -> str:
    settings, store = request.app[SETTINGS], request.app[STORE]
    f = parse_page_filters(settings, request)
    edition = f.edition(settings, hl)
    now = datetime.now(UTC)
    versions: dict[str, list[Version]] = {}
    items = await _query(
        store,
        ItemQuery(
            edition=edition,
            topics=f.topics,
            kinds=f.kinds,
            q=f.q,
            limit=PAGE_SIZE + 1,
            offset=(f.page - 1) * PAGE_SIZE,
        ),
        seen,
        versions,
    )
    calls = await _query(
        store,
        ItemQuery(
            edition=edition,
            topics=f.topics,
            open_at=now,
            order="deadline",
            limit=CALLS_ON_HOME,
        ),
        seen,
        versions,
    )
    more, items = len(items) > PAGE_SIZE, items[:PAGE_SIZE]
    return _render(
        request,
        "site/home.html",
        hl,
        filters=f,
        items=items,
        older=f.query(page=f.page + 1, hl=hl) if more else "",
        newer=f.query(page=f.page - 1, hl=hl) if f.page > 1 else "",
        calls=[(call, closes_label(call, now, settings, hl)) for call in calls],
        alternates=_alternates([*items, *calls], versions),
        feed_query=f.query(lang=f.lang or hl),
    )


async def _recently_closed(
    store: Store,
    closed_in: ItemQuery,
    since: datetime,
    seen: Seen,
    versions: dict[str, list[Version]],
) -> list[Item]:
    """The closed calls the page may show, latest closed first: the last `LAST_CLOSED`,
    or more when all of those closed after `since`. Asking for five first keeps the
    page's read to those five in the usual case, so a write of a call that closed
    earlier than them leaves the cached page alone."""
    latest = replace(closed_in, order="deadline-desc")
    found = await _query(store, replace(latest, limit=LAST_CLOSED), seen, versions)
    last = found[-1].deadline if len(found) == LAST_CLOSED else None
    if last is not None and last.closes_at() >= since:
        found = await _query(store, latest, seen, versions)
    return found


async def calls(request: web.Request, hl: str, seen: Seen) -> str:
    settings, store = request.app[SETTINGS], request.app[STORE]
    f = parse_page_filters(settings, request)
    now, edition = datetime.now(UTC), f.edition(settings, hl)
    calls_in = ItemQuery(edition=edition, topics=f.topics, q=f.q, limit=settings.publish.max_limit)
    versions: dict[str, list[Version]] = {}
    found = await _query(store, replace(calls_in, open_at=now, order="deadline"), seen, versions)
    since = now - timedelta(days=RECENTLY_CLOSED_DAYS)
    closed = await _recently_closed(store, replace(calls_in, closed_at=now), since, seen, versions)
    recent = [c for c in closed if c.deadline is not None and c.deadline.closes_at() >= since]
    shown = recent or closed[:LAST_CLOSED]
    return _render(
        request,
        "site/calls.html",
        hl,
        filters=f,
        calls=[(call, closes_label(call, now, settings, hl)) for call in found],
        closed=[(call, texts(hl).gettext("closed")) for call in shown],
        closed_recently=bool(recent),
        alternates=_alternates([*found, *shown], versions),
        feed_query=f.query(kind="call", lang=f.lang or hl),
    )


#: Document types by their short name, shown beside a document's link.
_DOCUMENT_NAMES = {kind: extension[1:].upper() for extension, kind in DOCUMENT_TYPES.items()}


def document_label(kind: str, length: int | None) -> str:
    """`PDF, 312 KB`: the document's type and size as far as they are known."""
    parts = [_DOCUMENT_NAMES.get(kind, "")]
    if length:
        parts.append(
            f"{length / 1024:.0f} KB" if length < 1024**2 else f"{length / 1024**2:.1f} MB"
        )
    return ", ".join(p for p in parts if p)


async def item_page(request: web.Request) -> web.Response:
    """One item on its own: its full text (else its summary), deadline, documents and
    its versions in other languages, each linked to its own page here."""
    settings, store = request.app[SETTINGS], request.app[STORE]
    hl = interface_language(request, settings)
    guid = guid_from_page_id(request.match_info["id"])
    item = await store.get_item(guid) if guid is not None else None
    if item is None:
        raise text_error(404, "no such item")
    found = await store.versions([item.translation_key])
    others = [v for v in found.get(item.translation_key, []) if v.guid != item.guid]
    now = datetime.now(UTC)
    closes = ""
    if item.kind == "call" and item.deadline is not None:
        closes = closes_label(item, now, settings, hl)
        if item.deadline.closes_at() < now:
            closes = texts(hl).gettext("closed")
    content = sanitise_content(item.content_html) if item.content_html else ""
    page = _render(
        request,
        "site/item.html",
        hl,
        item=item,
        content=Markup(content),  # noqa: S704 (nh3-sanitised just above)
        closes=closes,
        documents=[
            (a, document_label(a.type, a.length)) for a in item.attachments if is_web_url(a.url)
        ],
        versions=[(v, page_id(v.guid)) for v in others],
        alternates={},
    )
    return web.Response(text=page, content_type="text/html", charset="utf-8")


def setup(app: web.Application) -> None:
    routes = [
        web.get("/", _cached(home)),
        web.get("/calls", _cached(calls)),
        web.get("/items/{id}", item_page),
    ]
    add_routes(app.router, routes)
    app.router.add_static("/static/", templates_dir(app[SETTINGS]) / "static")
