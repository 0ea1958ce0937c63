"""The public HTML pages: latest items with filters, and the open calls.

Plain forms and links, no JavaScript. The interface language comes from `?hl=`, then
the browser's Accept-Language, then the site default; the content filters (`lang`,
`topic`, `kind`, `q`) are the same words the feed query form uses, so "the feed of
this list" is the same query string on `/feed.atom`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from wcofeed.config import Settings
from wcofeed.i18n import format_day, format_deadline_day, format_in, language_name
from wcofeed.models import KINDS, Item
from wcofeed.store import ItemQuery
from wcofeed.web.app import SETTINGS, STORE, TEMPLATES
from wcofeed.web.messages import PAGES

PAGE_SIZE = 20
CALLS_ON_HOME = 5
_MAX_PAGE = 500
_MAX_Q = 200


@dataclass(frozen=True)
class Filters:
    lang: str = ""
    topic: str = ""
    kind: str = ""
    q: str = ""
    page: int = 1

    def query(self, **changes: Any) -> str:
        """The filters as a query string (empty values left out), with changes applied."""
        values = {"lang": self.lang, "topic": self.topic, "kind": self.kind, "q": self.q}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=reason + "\n")


def parse_filters(settings: Settings, params: Mapping[str, str]) -> Filters:
    """Validated filters; an unknown value is a 400 naming the parameter."""
    lang = params.get("lang", "")
    if lang and lang not in settings.site.languages:
        raise _bad_request(f"lang: unknown language {lang!r}")
    topic = params.get("topic", "")
    if topic and topic not in settings.topics:
        raise _bad_request(f"topic: unknown topic {topic!r}")
    kind = params.get("kind", "")
    if kind and kind not in KINDS:
        raise _bad_request(f"kind: must be one of {', '.join(KINDS)}")
    q = params.get("q", "").strip()
    if len(q) > _MAX_Q:
        raise _bad_request(f"q: longer than {_MAX_Q} characters")
    try:
        page = int(params.get("page", "1"))
    except ValueError:
        raise _bad_request("page: not a whole number") from None
    if not 1 <= page <= _MAX_PAGE:
        raise _bad_request(f"page: must be between 1 and {_MAX_PAGE}")
    return Filters(lang, topic, kind, q, page)


def interface_language(request: web.Request, settings: Settings) -> str:
    offered = settings.site.languages
    hl = request.query.get("hl", "")
    if hl in offered:
        return hl
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in offered:
            return code
    return settings.site.default_language


def safe_url(url: str) -> str:
    """Links scraped from the web are shown only when they are http(s)."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def closes_label(call: Item, today: date, hl: str) -> str:
    assert call.deadline is not None
    days = (call.deadline.day - today).days
    if days <= 0:
        return PAGES.get(hl, "closes_today")
    # An approximate deadline sits on the latest day its words allow: say so.
    key = "closes_in" if call.deadline.precision == "day" else "closes_by"
    return PAGES.get(hl, key, when=format_in(timedelta(days=days), hl))


def _render(request: web.Request, template: str, hl: str, **context: Any) -> web.Response:
    settings = request.app[SETTINGS]
    env = request.app[TEMPLATES]
    html = env.get_template(template).render(
        lang=hl,
        site_title=settings.site.title,
        t=lambda key, **kw: PAGES.get(hl, key, **kw),
        topic_label=lambda slug: settings.topic_label(slug, hl),
        day=lambda value: format_day(value, hl),
        deadline_day=lambda deadline: format_deadline_day(deadline, hl),
        safe_url=safe_url,
        languages=[(code, language_name(code)) for code in settings.site.languages],
        topics=sorted(settings.topics, key=lambda slug: settings.topic_label(slug, hl)),
        kinds=KINDS,
        **context,
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def _today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.site.timezone)).date()


async def home(request: web.Request) -> web.Response:
    settings, store = request.app[SETTINGS], request.app[STORE]
    hl = interface_language(request, settings)
    f = parse_filters(settings, request.query)
    languages = (f.lang,) if f.lang else ()
    topics = (f.topic,) if f.topic else ()
    items = await store.query_items(
        ItemQuery(
            languages=languages,
            topics=topics,
            kinds=(f.kind,) if f.kind else (),
            q=f.q,
            limit=PAGE_SIZE + 1,
            offset=(f.page - 1) * PAGE_SIZE,
        )
    )
    calls = await store.query_items(
        ItemQuery(
            languages=languages,
            topics=topics,
            open_at=datetime.now(UTC),
            order="deadline",
            limit=CALLS_ON_HOME,
        )
    )
    today = _today(settings)
    return _render(
        request,
        "site/home.html",
        hl,
        filters=f,
        items=items[:PAGE_SIZE],
        older=f.query(page=f.page + 1, hl=hl) if len(items) > PAGE_SIZE else "",
        newer=f.query(page=f.page - 1, hl=hl) if f.page > 1 else "",
        calls=[(call, closes_label(call, today, hl)) for call in calls],
        feed_query=f.query(),
    )


async def calls(request: web.Request) -> web.Response:
    settings, store = request.app[SETTINGS], request.app[STORE]
    hl = interface_language(request, settings)
    f = parse_filters(settings, request.query)
    found = await store.query_items(
        ItemQuery(
            languages=(f.lang,) if f.lang else (),
            topics=(f.topic,) if f.topic else (),
            q=f.q,
            open_at=datetime.now(UTC),
            order="deadline",
            limit=settings.publish.max_limit,
        )
    )
    today = _today(settings)
    return _render(
        request,
        "site/calls.html",
        hl,
        filters=f,
        calls=[(call, closes_label(call, today, hl)) for call in found],
        feed_query=f.query(kind="call"),
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/calls", calls)
    app.router.add_static("/static/", app[SETTINGS].templates_dir / "static")
