"""OPML 2.0 subscription list: every Atom feed, one outline per language."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from wcofeed.config import Settings
from wcofeed.i18n import site_title, texts
from wcofeed.markup import xml_safe
from wcofeed.publish.listing import LanguageGroup, first


def render_opml(settings: Settings, groups: Sequence[LanguageGroup], lang: str) -> bytes:
    """Readers import one feed per subject: the Atom one (all formats carry the same).

    The list is titled in `lang`, with `lang`'s feeds first; each language's outline is
    in its own words."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    site = site_title(settings.site.title, lang)
    title = texts(lang).gettext("%(site)s: all feeds", site=site)
    etree.SubElement(head, "title").text = xml_safe(title)
    body = etree.SubElement(root, "body")
    for group in first(groups, lang):
        folder = etree.SubElement(
            body, "outline", text=group.heading, title=group.heading, language=group.language
        )
        for feed in group.feeds:
            for link in feed.links:
                if link.format != "atom":
                    continue
                title = xml_safe(feed.title)
                etree.SubElement(
                    folder,
                    "outline",
                    type="rss",
                    text=title,
                    title=title,
                    xmlUrl=link.url,
                    htmlUrl=settings.site.base_url.rstrip("/") + "/feeds/",
                    language=group.language,
                )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
