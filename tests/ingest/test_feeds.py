"""Partner feeds: RSS 0.91, RSS 1.0, RSS 2.0, Atom and JSON Feed through feedparser."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from wcofeed.ingest.build import ParseError
from wcofeed.ingest.feeds import parse_feed
from wcofeed.models import Deadline

from .conftest import FIXTURES, context


def parse(name: str, ui_language: str = "en"):  # type: ignore[no-untyped-def]
    return parse_feed((FIXTURES / name).read_bytes(), context("partner", ui_language))


def test_rss2() -> None:
    result = parse("partner.rss")
    call, workshop = result.items
    assert call.title == "Call for applications: customs fellowship 2025"
    assert call.url == "https://partner.example.org/news/fellowship-2025?utm_campaign=rss"
    assert call.guid == "https://partner.example.org/news/fellowship-2025"
    assert call.published == datetime(2025, 2, 10, 8, 30, tzinfo=UTC)
    assert call.kind == "call" and call.language == "en"
    assert "script" not in call.summary_html and call.summary == "Apply now. Deadline soon."
    assert workshop.kind == "news"
    assert workshop.topics == ("procedures-facilitation",)


def test_atom_in_french() -> None:
    (item,) = parse("partner.atom", "fr").items
    assert item.language == "fr"
    assert item.kind == "call"
    assert item.guid == "https://partenaire.example.org/stage"
    assert item.published == datetime(2025, 2, 12, 9, 0, tzinfo=UTC)
    assert item.summary == "Les candidatures sont ouvertes. Date limite : 14 mars 2025."
    assert item.deadline == Deadline(date(2025, 3, 14))  # from the summary's deadline line


def test_rss091_without_dates() -> None:
    result = parse("partner-091.xml")
    (item,) = result.items
    assert item.title == "Rules of origin seminar" and item.language == "en"
    assert item.published is None and item.guid in result.undated  # no date made up
    assert item.topics == ("origin",)


def test_rss1_rdf() -> None:
    (item,) = parse("partner-rdf.xml", "es").items
    assert item.title == "Convocatoria de becas 2025"
    assert item.language == "es" and item.kind == "call"
    assert item.published == datetime(2025, 2, 11, 8, 0, tzinfo=UTC)


def test_json_feed() -> None:
    (item,) = parse("partner.json").items
    assert item.title == "Valuation guide published"
    assert item.url == "https://json.example.org/valuation"
    assert item.summary_html == "<p>A guide on customs valuation.</p>"
    assert item.published == datetime(2025, 2, 9, 12, 0, tzinfo=UTC)


def test_json_that_is_not_a_feed() -> None:
    with pytest.raises(ParseError, match="source partner: not a JSON Feed"):
        parse_feed(b'{"items": []}', context("partner"))


def test_an_entry_linking_its_other_versions_keeps_its_own_link() -> None:
    """An Atom entry with its French version linked after its own link (as wcofeed's
    feeds write them): feedparser's `link` is the last one; the item keeps the first."""
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>Partner</title><id>urn:partner</id><updated>2025-02-12T09:00:00Z</updated>
  <entry>
    <id>urn:partner:1</id><title>Workshop on transit</title>
    <updated>2025-02-12T09:00:00Z</updated>
    <link rel="alternate" type="text/html" hreflang="en" href="https://www.wcoomd.org/en/x.aspx"/>
    <link rel="alternate" type="text/html" hreflang="fr" href="https://www.wcoomd.org/fr/x.aspx"/>
  </entry>
</feed>"""
    (item,) = parse_feed(body, context("partner")).items
    assert item.url == "https://www.wcoomd.org/en/x.aspx"
    assert item.translation_key == "https://www.wcoomd.org/{lang}/x.aspx"
