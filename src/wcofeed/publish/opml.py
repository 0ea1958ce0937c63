"""OPML 2.0 subscription list: every Atom feed, one outline per language."""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from wcofeed.config import Settings
from wcofeed.markup import xml_safe
from wcofeed.publish.listing import LanguageGroup


def render_opml(settings: Settings, groups: Sequence[LanguageGroup]) -> bytes:
    """Readers import one feed per subject: the Atom one (all formats carry the same)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = xml_safe(settings.site.title)
    body = etree.SubElement(root, "body")
    for group in groups:
        folder = etree.SubElement(body, "outline", text=group.heading, title=group.heading)
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
