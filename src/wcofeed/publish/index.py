"""The static `index.html` that lists every feed, with autodiscovery links."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import jinja2

from wcofeed.config import Settings
from wcofeed.publish import messages
from wcofeed.publish.build import site_url
from wcofeed.publish.listing import LanguageGroup
from wcofeed.templates import template_environment, templates_dir


@lru_cache(maxsize=4)
def _environment(templates: Path) -> jinja2.Environment:
    """Kept per folder: a full publish renders the index once, the service many times."""
    return template_environment(templates)


def render_index(settings: Settings, groups: Sequence[LanguageGroup]) -> bytes:
    """The index page in the site's default language; each section in its own language."""
    lang = settings.site.default_language
    template = _environment(templates_dir(settings)).get_template("feeds/index.html")
    page = template.render(
        lang=lang,
        site_title=settings.site.title,
        base_path="",
        groups=groups,
        opml_url=site_url(settings, "feeds/feeds.opml"),
        t=lambda key: messages.text(lang, key),
        tl=messages.text,
    )
    return page.encode("utf-8")
