"""What every HTML page shares: its language, its language switcher and the words and
helpers its templates use.

The interface language is `?hl=` when the site offers it, else a language the page has
reason to prefer (a subscriber's, on their own pages), else what the browser's
Accept-Language prefers among the offered ones, else the site default. Every page links
to itself in each language, keeping its own query, so a switch keeps the reader where
they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup, escape

from wcofeed.config import Settings
from wcofeed.i18n import (
    direction,
    format_day,
    format_deadline_day,
    language_name,
    negotiate,
    site_title,
    texts,
)
from wcofeed.web.state import SETTINGS, TEMPLATES


def interface_language(request: web.Request, settings: Settings, preferred: str = "") -> str:
    offered = settings.site.languages
    hl = request.query.get("hl", "")
    if hl in offered:
        return hl
    if preferred in offered:
        return preferred
    found = negotiate(request.headers.get("Accept-Language", ""), offered)
    return found or settings.site.default_language


def switch_links(
    settings: Settings, params: Iterable[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """(code, name in its own language, link) for each offered language."""
    kept = [(k, v) for k, v in params if k != "hl"]
    return [
        (code, language_name(code), "?" + urlencode([*kept, ("hl", code)]))
        for code in settings.site.languages
    ]


def kind_label(kind: str, language: str) -> str:
    """What one item is: `News`, `Call for applications`…"""
    words = texts(language)
    labels = {
        "news": words.pgettext("kind", "News"),
        "call": words.pgettext("kind", "Call for applications"),
        "publication": words.pgettext("kind", "Publication"),
        "event": words.pgettext("kind", "Event"),
    }
    return labels.get(kind, kind)


def isolate(value: object, lang: str) -> Markup:
    """A value set into a sentence of a `lang` page (an address), escaped and, in a
    right-to-left page, bidi-isolated, so the left-to-right fragment keeps its
    punctuation where it belongs. (In a left-to-right page the addresses and names shown
    are left-to-right too: they need nothing.)"""
    if direction(lang) == "rtl":
        return Markup("<bdi>%s</bdi>") % value
    return escape(value)


def render(
    request: web.Request,
    template: str,
    lang: str,
    status: int = 200,
    keep: Mapping[str, str] | None = None,
    **context: Any,
) -> web.Response:
    """The page `template` in `lang`. The switcher keeps `keep`, or by default the
    query of a GET (a POST's answer switches to the empty form)."""
    html = render_text(request, template, lang, keep, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def render_text(
    request: web.Request,
    template: str,
    lang: str,
    keep: Mapping[str, str] | None = None,
    **context: Any,
) -> str:
    """The text of `render`'s page, for answers that are cached before being sent."""
    settings = request.app[SETTINGS]
    params: Iterable[tuple[str, str]] = ()
    if keep is not None:
        params = keep.items()
    elif request.method == "GET":
        params = request.query.items()
    return (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            lang=lang,
            site_title=site_title(settings.site.title, lang),
            switch_links=switch_links(settings, params),
            kind_label=lambda kind: kind_label(kind, lang),
            topic_label=lambda slug: settings.topic_label(slug, lang),
            day=lambda value: format_day(value, lang),
            deadline_day=lambda deadline: format_deadline_day(deadline, lang),
            isolate=lambda value: isolate(value, lang),
            **context,
        )
    )
