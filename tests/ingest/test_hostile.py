"""Hostile input: broken HTML, missing dates, wrong charsets, scripts, wrong types."""

from __future__ import annotations

from datetime import date

import pytest

from wcofeed.ingest.build import ParseError
from wcofeed.ingest.charset import decode_body
from wcofeed.ingest.feeds import parse_feed
from wcofeed.ingest.html import parse_html

from .conftest import FIXTURES, ParsePage, context


def test_broken_html_keeps_every_item(parse_page: ParsePage) -> None:
    result = parse_page("broken.html", "en", url="https://www.wcoomd.org/en/media/newsroom.aspx")
    titles = [i.title for i in result.items]
    assert titles == ["Title with script", "Bellandnullcontrols", "No date here"]
    first, second, third = result.items
    assert first.published == date(2025, 2, 14)
    assert "<script" not in first.summary_html and "alert" not in first.summary
    assert first.summary_html.startswith("<p>First <b>bold <i>summary</i></b></p>")
    assert "sometime soon" not in first.summary  # the unclosed item swallowed the next
    assert "onerror" not in second.summary_html
    # unreadable date: kept undated (no date made up), warning names source and text
    assert second.published is None and second.guid in result.undated
    assert any("broken" in w and "'sometime soon'" in w for w in result.warnings)
    assert second.guid.startswith("urn:wcofeed:")  # no link: source + title + date
    # no date at all: kept quietly; a javascript: link is no link
    assert third.published is None and third.guid.startswith("urn:wcofeed:")
    assert third.url == "https://www.wcoomd.org/en/media/newsroom.aspx"  # the page itself


def test_page_without_dates(parse_page: ParsePage) -> None:
    result = parse_page("wco-tools-zh.html", "zh")
    assert all(i.published is None for i in result.items)
    assert result.warnings == []


def test_wrong_charset_header() -> None:
    body = "<p>Таможня — 14 février 2025</p>".encode()
    assert decode_body(body, "iso-8859-1") == "<p>Таможня — 14 février 2025</p>"
    cp1251 = '<meta charset="windows-1251"><p>Таможня</p>'.encode("cp1251")
    assert decode_body(cp1251, "utf-8").endswith("<p>Таможня</p>")  # header lies
    assert decode_body(cp1251, None).endswith("<p>Таможня</p>")  # meta tag


def test_wrong_charset_header_on_a_page(parse_page: ParsePage) -> None:
    result = parse_page("wco-newsroom-ru.html", "ru", charset="iso-8859-1")
    assert result.items[0].published == date(2020, 10, 30)
    assert "\u2019" in result.items[5].title  # a right quote, not "â€\x99" mojibake


def test_html_served_as_feed_is_a_clear_error() -> None:
    body = (FIXTURES.parent.parent.parent / "samples" / "wco-tools-zh.html").read_bytes()
    with pytest.raises(ParseError, match=r"source partner: not a feed \(it looks like an HTML"):
        parse_feed(body, context("partner"))


def test_feed_served_as_html_is_read_as_a_feed() -> None:
    body = (FIXTURES / "partner.rss").read_bytes()
    result = parse_html(body, context("partner"), "utf-8")
    assert result.items[0].title == "Call for applications: customs fellowship 2025"
    assert "served a feed" in result.warnings[0]


def test_unknown_page_kind_names_the_source() -> None:
    with pytest.raises(ParseError, match="source odd: no WCO page kind recognised"):
        parse_html(b"<html><body><p>hello</p></body></html>", context("odd"))


def test_unknown_profile_names_the_source() -> None:
    with pytest.raises(ParseError, match="source odd: unknown profile 'wco-nope'"):
        parse_html(b"<html></html>", context("odd", profile="wco-nope"))


def test_the_config_knows_exactly_the_parsers_profiles() -> None:
    from typing import get_args

    from wcofeed.config import Profile
    from wcofeed.ingest.profiles.wco import PROFILES

    assert set(get_args(Profile)) == {"auto", "css", *PROFILES}
