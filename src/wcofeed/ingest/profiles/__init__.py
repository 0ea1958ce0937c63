"""Page profiles: where items sit in a page, as CSS selectors per section.

A profile is data, not code: a WCO page kind and a user's `css` profile are read by
the same extractor (`extract`), so a fix to extraction helps every site.
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from wcofeed.ingest.build import Entry
from wcofeed.ingest.identity import absolute_url
from wcofeed.models import Kind


@dataclass(frozen=True, slots=True)
class Section:
    """One repeated block of a page and where each field sits inside it."""

    item: str
    title: str
    link: str = "a"
    date: str = ""
    summary: str = ""
    deadline: str = ""
    label: str = ""
    kind: Kind = "news"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    sections: tuple[Section, ...]
    marker: str = ""  # a selector whose presence says the page is of this kind


def _text(node: Node, selector: str) -> str:
    if not selector:
        return ""
    found = node.css_first(selector)
    return found.text(separator=" ") if found is not None else ""


def _html(node: Node, selector: str) -> str:
    if not selector:
        return ""
    return "".join(found.html or "" for found in node.css(selector))


def _link(node: Node, selector: str, base: str) -> str:
    found = node if node.tag == "a" and selector == "a" else node.css_first(selector)
    href = found.attributes.get("href") if found is not None else None
    if not href or href.startswith(("javascript:", "#")):
        return ""
    return absolute_url(href, base)


def extract(tree: HTMLParser, profile: Profile, base_url: str) -> list[Entry]:
    """Entries of every section of `profile`, in page order per section.

    Items are read last to first and each is removed once read: on a broken page an
    unclosed item swallows the ones after it, and must not take their text as its own.
    """
    entries: list[Entry] = []
    for section in profile.sections:
        found: list[Entry] = []
        for node in reversed(tree.css(section.item)):
            found.append(
                Entry(
                    title=_text(node, section.title),
                    url=_link(node, section.link, base_url),
                    date_text=_text(node, section.date),
                    summary_html=_html(node, section.summary),
                    deadline_text=_text(node, section.deadline),
                    label=_text(node, section.label),
                    kind=section.kind,
                )
            )
            node.decompose()
        entries.extend(reversed(found))
    return entries
