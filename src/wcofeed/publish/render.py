"""One feed document -> RSS 2.0, Atom 1.0 (feedgen) or JSON Feed 1.1 bytes.

The same `FeedDoc` feeds the static files and the HTTP query form, so both say the same
thing. Output is deterministic (no "now" in it): the feed's `updated` is its newest
entry's change, which is what lets an unchanged feed keep its bytes and its ETag.
An item the source gives no date has no publication date in any format (no Atom
`published`, RSS `pubDate` or JSON Feed `date_published`); its `updated` is its last
change. Entries keep the store's order.

Text from the store is made XML-safe here (control characters and stray surrogates
dropped: lxml refuses them) and item HTML is sanitised again with nh3, whatever ingest
did, because feeds are read by other people's software. Only http(s) links leave:
`make_view` refuses an item with any other, and an item that cannot be prepared or
rendered is left out of its feed alone (`wcofeed.isolate`), never the whole feed.
RSS readers render `<description>` as HTML, so it carries the sanitised HTML, never
plain text that a reader would take for markup.
An item whose own page was read carries its full text beside the summary: Atom
`content`, RSS `content:encoded`, JSON Feed `content_html` / `content_text`; its
documents are Atom enclosure links, JSON Feed attachments and, since RSS allows one,
the first as the RSS enclosure (all of them listed in the full text).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

from feedgen.ext.base import (
    BaseEntryExtension,
    BaseExtension,
)
from feedgen.feed import FeedEntry, FeedGenerator
from lxml import etree

from wcofeed.i18n import format_deadline_day, texts
from wcofeed.isolate import Skipped, render_or_skip
from wcofeed.markup import (
    ascii_url,
    content_to_text,
    html_to_text,
    sanitise_content,
    sanitise_html,
    xml_safe,
)
from wcofeed.models import DEFAULT_DEADLINE_TZ, Item, web_url
from wcofeed.publish.specs import Format

#: Namespace of the structured deadline element in RSS and Atom.
WCOFEED_NS = "https://github.com/wcofeed/wcofeed/ns/1.0"
#: Key of wcofeed's extension object on JSON Feed items (JSON Feed: keys start with "_").
JSON_EXTENSION = "_wcofeed"

_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_DCTERMS_NS = "http://purl.org/dc/terms/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: The `updated` of a feed with no entries: fixed, so an empty feed stays byte-stable.
EMPTY_FEED_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item as every format shows it, in the words of one feed language."""

    item: Item
    id: str
    link: str
    title: str
    text: str
    html: str
    topics: tuple[tuple[str, str], ...]
    deadline_text: str
    published: datetime | None
    updated: datetime
    #: The item's other language versions, (language, link) each.
    alternates: tuple[tuple[str, str], ...] = ()
    #: The full text of the item's own page (the deadline line first), when it was read.
    full_html: str = ""
    full_text: str = ""
    #: The documents it links: (link, media type, title, length in bytes or None).
    attachments: tuple[tuple[str, str, str, int | None], ...] = ()


def entry_id(item: Item) -> str:
    """The item's guid when it is an absolute URI (Atom ids must be), else a URN of it
    (also for a guid that only looks like one, such as `http://[::1`)."""
    try:
        parts = urlsplit(item.guid)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme and (parts.netloc or parts.scheme in ("urn", "tag")):
        return item.guid
    return "urn:wcofeed:" + quote(item.guid, safe="")


def deadline_text(item: Item, language: str) -> str:
    """`Deadline: 14 February 2025, 17:00 (Europe/Brussels)` in the feed's language
    (`Deadline: mid-July 2026` when the source gives no day)."""
    if item.deadline is None:
        return ""
    words = texts(language)
    when = format_deadline_day(item.deadline, language)
    if item.deadline.at is not None:
        when = words.gettext(
            "%(day)s, %(time)s (%(zone)s)",
            day=when,
            time=item.deadline.at.strftime("%H:%M"),
            zone=item.deadline.tz or DEFAULT_DEADLINE_TZ,
        )
    return words.gettext("Deadline: %(date)s", date=when)


def make_view(
    item: Item,
    language: str,
    topic_labels: Mapping[str, str],
    alternates: Sequence[tuple[str, str]] = (),
) -> ItemView:
    """Prepare one item for the feed language `language` (labels, deadline line), with
    links to its versions in other languages; ValueError for an item whose link is not
    http(s)."""
    link = ascii_url(web_url(item.url))
    body_html = sanitise_html(item.summary_html, nofollow=True) if item.summary_html else ""
    body_text = xml_safe(item.summary.strip()) or html_to_text(body_html)
    if not body_html and body_text:
        body_html = f"<p>{html.escape(body_text)}</p>"
    line = xml_safe(deadline_text(item, language))
    if line:
        body_text = f"{line}\n\n{body_text}" if body_text else line
        body_html = f"<p><strong>{html.escape(line)}</strong></p>{body_html}"
    published = item.published_at
    # Items come from the store, with their times; the fixed instant keeps bytes stable.
    changed = item.last_changed or published or EMPTY_FEED_UPDATED
    attachments = tuple(
        (ascii_url(web_url(a.url)), xml_safe(a.type), xml_safe(a.title), a.length)
        for a in item.attachments
    )
    full_html, full_text = _full_text(item, line, attachments, language)
    return ItemView(
        item=item,
        id=xml_safe(entry_id(item)),
        link=link,
        title=xml_safe(item.title.strip()) or xml_safe(item.guid),
        text=body_text,
        html=body_html,
        topics=tuple((t, xml_safe(topic_labels.get(t, t))) for t in item.topics),
        deadline_text=line,
        published=published,
        updated=max(changed, published) if published is not None else changed,
        alternates=tuple(alternates),
        full_html=full_html,
        full_text=full_text,
        attachments=attachments,
    )


def _full_text(
    item: Item,
    line: str,
    attachments: Sequence[tuple[str, str, str, int | None]],
    language: str,
) -> tuple[str, str]:
    """The HTML and plain text of the item's own page, deadline line first and a list
    of its documents last; empty when the page was not read."""
    content = sanitise_content(item.content_html, nofollow=True) if item.content_html else ""
    text = xml_safe(item.content_text.strip()) or content_to_text(content)
    if not content and not text and not attachments:
        return "", ""
    if not content and text:
        content = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
    if attachments:
        heading = texts(language).gettext("Documents")
        links = "".join(
            f'<li><a href="{html.escape(url)}" rel="noopener noreferrer nofollow">'
            f"{html.escape(title or url)}</a></li>"
            for url, _, title, _ in attachments
        )
        content += f"<p><strong>{html.escape(heading)}</strong></p><ul>{links}</ul>"
        text = "\n\n".join(
            [text, heading, *(f"{title or url}: {url}" for url, _, title, _ in attachments)]
        ).strip()
    if line:
        content = f"<p><strong>{html.escape(line)}</strong></p>{content}"
        text = f"{line}\n\n{text}" if text else line
    return content, text


@dataclass(frozen=True)
class FeedDoc:
    """Everything a feed says about itself, plus its entries (newest or soonest first).

    `language` is the content language when the feed has exactly one; `words` is the
    language of titles and labels. `links` holds paging links (first, next, previous,
    last) by relation.
    """

    title: str
    description: str
    author: str
    self_url: str
    home_url: str
    words: str
    entries: Sequence[ItemView]
    language: str | None = None
    hub: str = ""
    topic_scheme: str = ""
    links: Mapping[str, str] = field(default_factory=dict)

    @property
    def updated(self) -> datetime:
        return max((e.updated for e in self.entries), default=EMPTY_FEED_UPDATED)


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Namespaces, plus the atom:link elements RSS needs (feedgen writes only rel=self)."""

    def __init__(self) -> None:
        self.rss_links: list[tuple[str, str]] = []
        self.deadlines = False

    def extend_ns(self) -> dict[str, str]:
        # Declared only where used: validators warn about any namespace they don't know.
        namespaces = {"dc": _DC_NS, "dcterms": _DCTERMS_NS}
        if self.deadlines:
            namespaces["wcofeed"] = WCOFEED_NS
        return namespaces

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed[0]
        for rel, href in self.rss_links:
            etree.SubElement(channel, f"{{{_ATOM_NS}}}link", rel=rel, href=href)
        return feed


class _EntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Entry language, links to its other language versions and its documents (Atom),
    modification time (RSS) and the structured deadline."""

    def __init__(self) -> None:
        self.entry: ItemView | None = None

    def extend_atom(self, element: etree._Element) -> etree._Element:
        assert self.entry is not None
        language = self.entry.item.language
        element.set(_XML_LANG, language)
        # feedgen keeps only href on entry links (python-feedgen #135).
        links = list(element.iter("link"))
        for link in links:
            link.set("rel", "alternate")
            link.set("type", "text/html")
            link.set("hreflang", language)
        after = links[-1] if links else None
        for code, href in self.entry.alternates:
            version = etree.Element("link", rel="alternate", type="text/html")
            version.set("hreflang", code)
            version.set("href", href)
            if after is None:
                element.append(version)
            else:
                after.addnext(version)
            after = version
        for url, kind, title, length in self.entry.attachments:
            document = etree.Element("link", rel="enclosure", type=kind, href=url)
            if title:
                document.set("title", title)
            if length:
                document.set("length", str(length))
            if after is None:
                element.append(document)
            else:
                after.addnext(document)
            after = document
        self._deadline(element)
        return element

    def extend_rss(self, element: etree._Element) -> etree._Element:
        assert self.entry is not None
        etree.SubElement(element, f"{{{_DC_NS}}}language").text = self.entry.item.language
        modified = etree.SubElement(element, f"{{{_DCTERMS_NS}}}modified")
        modified.text = rfc3339(self.entry.updated)
        self._deadline(element)
        return element

    def _deadline(self, element: etree._Element) -> None:
        assert self.entry is not None
        deadline = self.entry.item.deadline
        if deadline is None:
            return
        node = etree.SubElement(element, f"{{{WCOFEED_NS}}}deadline")
        node.set("date", deadline.day.isoformat())
        if deadline.at is not None:
            node.set("time", deadline.at.isoformat(timespec="minutes"))
        if deadline.tz:
            node.set("timezone", deadline.tz)
        node.set("precision", deadline.precision)
        if deadline.wording:
            node.set("wording", xml_safe(deadline.wording))
        # The instant as an attribute too: feedparser keeps only attributes when present.
        node.set("closes", rfc3339(deadline.closes_at()))
        node.text = node.get("closes")


def rfc3339(value: datetime) -> str:
    """`2025-02-14T16:00:00Z`: UTC, seconds, `Z` (what validators like best)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _generator(doc: FeedDoc) -> FeedGenerator:
    """The feed's own elements; entries are made apart (`_entry_element`) and appended."""
    fg = FeedGenerator()
    fg.register_extension("wcofeed", _FeedExtension, _EntryExtension)
    fg.id(doc.self_url)
    fg.title(xml_safe(doc.title))
    fg.subtitle(xml_safe(doc.description))
    fg.description(xml_safe(doc.description))
    fg.updated(doc.updated)
    fg.generator("wcofeed")
    if doc.language:
        fg.language(doc.language)
    fg.link(href=doc.self_url, rel="self")
    rss_links: list[tuple[str, str]] = []
    if doc.hub:
        fg.link(href=doc.hub, rel="hub")
        rss_links.append(("hub", doc.hub))
    for rel, href in doc.links.items():
        fg.link(href=href, rel=rel)
        rss_links.append((rel, href))
    fg.wcofeed.rss_links = rss_links
    fg.wcofeed.deadlines = any(e.item.deadline is not None for e in doc.entries)
    fg.author(name=xml_safe(doc.author), uri=doc.home_url)
    # RSS takes its channel link from the last link given: the home page.
    fg.link(href=doc.home_url, rel="alternate", type="text/html")
    return fg


#: How many serialised entries `_entry_bytes` keeps, all formats together: forty pages
#: of 50 (bench/README.md, "Cache misses", has what they weigh).
ENTRY_CACHE_SIZE = 2_000

#: Where a feed's entries go in its serialised document, and where one entry's bytes
#: start and end in the document it is serialised in alone (comments: lxml indents
#: them on lines of their own, as it does elements). No item text can forge one: lxml
#: writes every `<` of text and attributes as `&lt;`.
_ENTRIES, _START, _END = (etree.Comment(mark) for mark in ("entries", "start", "end"))


def _entry_element(entry: ItemView, rss: bool, topic_scheme: str) -> etree._Element:
    """One entry as feedgen makes it."""
    fe = FeedEntry()
    fe.register_extension("wcofeed", _EntryExtension, True, True)
    fe.wcofeed.entry = entry
    fe.id(entry.id)
    fe.guid(entry.id, permalink=entry.id == entry.link)
    fe.title(entry.title)
    fe.link(href=entry.link, rel="alternate", type="text/html")
    fe.summary(entry.text or entry.title, type="text")
    if entry.full_html or entry.html:
        fe.content(entry.full_html or entry.html, type="html")
    if rss:
        fe.description(entry.html or html.escape(entry.title))
        if entry.attachments:
            # RSS carries one enclosure per item; every document is in the content.
            url, kind, _, length = entry.attachments[0]
            fe.enclosure(url, str(length or 0), kind)
    if entry.published is not None:
        fe.published(entry.published)
    fe.updated(entry.updated)
    for slug, label in entry.topics:
        fe.category(term=slug, label=label, scheme=topic_scheme or None)
    element: etree._Element = fe.rss_entry() if rss else fe.atom_entry()
    return element


@lru_cache(maxsize=ENTRY_CACHE_SIZE)
def _entry_bytes(
    entry: ItemView, rss: bool, topic_scheme: str, nsmap: tuple[tuple[str | None, str], ...]
) -> bytes:
    """One entry's bytes as lxml writes them inside a feed whose root declares `nsmap`,
    kept for the next feed that lists the same view: the key is the whole `ItemView`
    (its `Item`, content and times included), so an item that changes is written
    afresh. Serialising a feed's elements and copying them was most of the rendering
    of a cache miss; a feed is now its own elements' bytes with its entries' spliced in."""
    root = etree.Element("rss" if rss else f"{{{_ATOM_NS}}}feed", nsmap=dict(nsmap))
    parent = etree.SubElement(root, "channel") if rss else root
    parent.extend([deepcopy(_START), _entry_element(entry, rss, topic_scheme), deepcopy(_END)])
    text = bytes(etree.tostring(root, pretty_print=True, encoding="UTF-8"))
    start = text.index(b"<!--start-->\n") + len(b"<!--start-->\n")
    return text[start : text.rindex(b"\n", 0, text.index(b"<!--end-->")) + 1]


def _serialise(root: etree._Element, parent: etree._Element, doc: FeedDoc, rss: bool) -> bytes:
    parent.append(deepcopy(_ENTRIES))
    text = bytes(
        etree.tostring(
            etree.ElementTree(root), pretty_print=True, encoding="UTF-8", xml_declaration=True
        )
    )
    mark = text.index(b"<!--entries-->")
    before, after = text[: text.rindex(b"\n", 0, mark) + 1], text[mark + len(b"<!--entries-->\n") :]
    nsmap = tuple(sorted(root.nsmap.items(), key=str))
    entries = [_entry_bytes(entry, rss, doc.topic_scheme, nsmap) for entry in doc.entries]
    return b"".join([before, *entries, after])


def render_atom(doc: FeedDoc) -> bytes:
    feed, _ = _generator(doc)._create_atom()
    return _serialise(feed, feed, doc, rss=False)


def render_rss(doc: FeedDoc) -> bytes:
    fg = _generator(doc)
    fg.lastBuildDate(doc.updated)
    feed, _ = fg._create_rss()
    return _serialise(feed, feed[0], doc, rss=True)


def render_json(doc: FeedDoc) -> bytes:
    """JSON Feed 1.1, with wcofeed's fields (kind, topics, deadline) under `_wcofeed`."""
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": xml_safe(doc.title),
        "description": xml_safe(doc.description),
        "home_page_url": doc.home_url,
        "feed_url": doc.self_url,
        "authors": [{"name": xml_safe(doc.author), "url": doc.home_url}],
    }
    if doc.language:
        feed["language"] = doc.language
    if "next" in doc.links:
        feed["next_url"] = doc.links["next"]
    if doc.hub:
        feed["hubs"] = [{"type": "WebSub", "url": doc.hub}]
    feed["items"] = [_json_item(entry) for entry in doc.entries]
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def _json_item(entry: ItemView) -> dict[str, Any]:
    item = entry.item
    data: dict[str, Any] = {
        "id": entry.id,
        "url": entry.link,
        "title": entry.title,
        "summary": entry.text,
        "content_text": entry.full_text or entry.text,
        "date_modified": rfc3339(entry.updated),
        "language": item.language,
        "tags": [label for _, label in entry.topics],
    }
    if entry.published is not None:
        data["date_published"] = rfc3339(entry.published)
    if entry.full_html or entry.html:
        data["content_html"] = entry.full_html or entry.html
    if entry.attachments:
        data["attachments"] = [
            {"url": url, "mime_type": kind}
            | ({"title": title} if title else {})
            | ({"size_in_bytes": length} if length else {})
            for url, kind, title, length in entry.attachments
        ]
    ext: dict[str, Any] = {"guid": item.guid, "kind": item.kind, "topics": list(item.topics)}
    if entry.alternates:
        ext["alternates"] = [{"language": code, "url": url} for code, url in entry.alternates]
    if item.deadline is not None:
        ext["deadline"] = {
            "date": item.deadline.day.isoformat(),
            "time": item.deadline.at.isoformat(timespec="minutes") if item.deadline.at else None,
            "timezone": item.deadline.tz,
            "precision": item.deadline.precision,
            "wording": item.deadline.wording or None,
            "closes_at": rfc3339(item.deadline.closes_at()),
            "text": entry.deadline_text,
        }
    data[JSON_EXTENSION] = ext
    return data


RENDERERS: dict[Format, Callable[[FeedDoc], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json,
}


def render_feed(fmt: Format, doc: FeedDoc, skipped: list[Skipped]) -> bytes:
    """`doc` in `fmt`, leaving out (and recording in `skipped`) entries that fail."""
    render = RENDERERS[fmt]
    return render_or_skip(
        lambda entries: render(replace(doc, entries=entries)),
        doc.entries,
        _entry_guid,
        fmt,
        skipped,
    )


def _entry_guid(entry: ItemView) -> str:
    return entry.item.guid


CONTENT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "ics": "text/calendar; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "opml": "text/x-opml; charset=utf-8",
}
