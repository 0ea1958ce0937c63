"""Feeds of items whose own page was read: the full text beside the summary and the
documents as enclosures / attachments, parsed back by feedparser without bozo."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import feedparser
from lxml import etree
from tests.conftest import make_item

from wcofeed.config import Settings
from wcofeed.models import Attachment, Deadline, Item
from wcofeed.publish.build import spec_doc
from wcofeed.publish.render import render_atom, render_json, render_rss
from wcofeed.publish.specs import FeedSpec

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FORM = Attachment("https://www.wcoomd.org/-/media/form.docx", DOCX, "Application form", 49152)
TERMS = Attachment("https://www.wcoomd.org/-/media/terms.pdf", "application/pdf", "Terms")
STAMP = datetime(2025, 2, 1, tzinfo=UTC)


def read_call() -> Item:
    return make_item(
        guid="https://www.wcoomd.org/en/about-us/vacancies/cdp-2025.aspx",
        url="https://www.wcoomd.org/en/about-us/vacancies/cdp-2025.aspx",
        kind="call",
        title="Career Development Programme",
        summary="The list's one line.",
        summary_html="<p>The list's one line.</p>",
        content_html=(
            "<h2>Who may apply</h2><p>Officials with <a href='https://www.wcoomd.org/x'>five"
            " years</a> of experience.</p><script>alert(1)</script>"
            '<img src="https://www.wcoomd.org/p.jpg" alt="Brussels">'
        ),
        content_text="Who may apply\n\nOfficials with five years of experience.",
        attachments=(FORM, TERMS),
        deadline=Deadline(date(2025, 3, 30), time(17, 0), "Europe/Brussels"),
    ).with_times(STAMP, STAMP)


def parse(data: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_atom_carries_full_text_as_content_and_documents_as_enclosures(
    pub_settings: Settings,
) -> None:
    item, plain = read_call(), make_item().with_times(STAMP, STAMP)
    doc = spec_doc(pub_settings, FeedSpec("en", "all"), "atom", [item, plain], [])
    data = render_atom(doc)
    parsed = parse(data)
    entry, other = parsed.entries
    assert entry.summary == doc.entries[0].text  # the summary stays the list's
    assert "The list's one line." in entry.summary
    content = entry.content[0].value
    assert "Officials with" in content and "Who may apply" in content
    assert "<script" not in content and "alert(1)" not in content
    assert 'rel="noopener noreferrer nofollow"' in content
    assert content.startswith("<p><strong>Deadline: March 30, 2025, 17:00 (Europe/Brussels)")
    assert [(e.href, e.type, e.get("length")) for e in entry.enclosures] == [
        (FORM.url, DOCX, "49152"),
        (TERMS.url, "application/pdf", None),
    ]
    root = etree.fromstring(data)
    titles = [ln.get("title") for ln in root.iter(f"{ATOM}link") if ln.get("rel") == "enclosure"]
    assert titles == ["Application form", "Terms"]
    # An item whose page was not read keeps its summary as content, and no enclosure.
    assert other.content[0].value == doc.entries[1].html and not other.enclosures


def test_rss_carries_content_encoded_beside_the_description(pub_settings: Settings) -> None:
    item = read_call()
    doc = spec_doc(pub_settings, FeedSpec("en", "calls"), "rss", [item], [])
    data = render_rss(doc)
    (entry,) = parse(data).entries
    assert "The list's one line." in entry.summary and "Officials with" not in entry.summary
    assert "Officials with" in entry.content[0].value
    root = etree.fromstring(data)
    (encoded,) = root.iter(CONTENT)
    assert "Application form" in (encoded.text or "")  # every document listed
    assert "Terms" in (encoded.text or "")
    (enclosure,) = root.iter("enclosure")  # RSS allows one
    assert enclosure.attrib == {"url": FORM.url, "length": "49152", "type": DOCX}


def test_json_feed_carries_content_html_text_and_attachments(pub_settings: Settings) -> None:
    item = read_call()
    doc = spec_doc(pub_settings, FeedSpec("en", "all"), "json", [item], [])
    feed = json.loads(render_json(doc))
    (entry,) = feed["items"]
    assert entry["summary"] == doc.entries[0].text
    assert "Officials with" in entry["content_html"] and "<script" not in entry["content_html"]
    assert "Who may apply\n\nOfficials with five years" in entry["content_text"]
    assert entry["attachments"] == [
        {"url": FORM.url, "mime_type": DOCX, "title": "Application form", "size_in_bytes": 49152},
        {"url": TERMS.url, "mime_type": "application/pdf", "title": "Terms"},
    ]
