"""The static feed index, `index.html`, with autodiscovery links: one per language.

`feeds/index.<lang>.html` is the index in that language (its own feeds listed first),
`feeds/index.html` the one in the site's default language; beside the language
folders, so that a language's folder holds its feeds alone. Each lists every feed, each
language's feeds in that language; the page around them, its language switcher (links
to the other indexes) and its links to the pages are in the index's own language.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import jinja2

from wcofeed.config import Settings
from wcofeed.i18n import language_name, site_title
from wcofeed.publish.build import site_url
from wcofeed.publish.listing import LanguageGroup, first
from wcofeed.templates import template_environment, templates_dir


@lru_cache(maxsize=4)
def _environment(templates: Path) -> jinja2.Environment:
    """Kept per folder: a full publish renders the index once, the service many times."""
    return template_environment(templates)


def index_name(language: str) -> str:
    """The index file of `language`, under the feeds folder."""
    return f"index.{language}.html"


def opml_name(language: str) -> str:
    """The OPML list of `language`, under the feeds folder."""
    return f"feeds.{language}.opml"


def render_index(settings: Settings, groups: Sequence[LanguageGroup], lang: str) -> bytes:
    """The index page in `lang`."""
    template = _environment(templates_dir(settings)).get_template("feeds/index.html")
    page = template.render(
        lang=lang,
        site_title=site_title(settings.site.title, lang),
        base_path="",
        groups=first(groups, lang),
        opml_url=site_url(settings, "feeds/" + opml_name(lang)),
        switch_links=[
            (code, language_name(code), "/feeds/" + index_name(code))
            for code in settings.site.languages
        ],
    )
    return page.encode("utf-8")
