"""Hostile input: broken HTML, missing dates, wrong charsets, scripts, wrong types."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest

from wcofeed.config import SelectorSettings
from wcofeed.ingest.build import Entry, PageContext, ParseError, build_items
from wcofeed.ingest.charset import decode_body
from wcofeed.ingest.dates import parse_date
from wcofeed.ingest.depth import too_deep
from wcofeed.ingest.feeds import parse_feed
from wcofeed.ingest.html import parse_html
from wcofeed.ingest.run import _http_day

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


# ---- what a hostile source gives (issue 18) ---------------------------------------------


def css_page(blocks: str) -> bytes:
    return f"<html><body>{blocks}</body></html>".encode()


def css_context() -> PageContext:
    selectors = SelectorSettings(item="div.i", title="h2", deadline=".d")
    return context("hostile", profile="css", selectors=selectors)


def test_titles_summaries_and_links_over_the_limits_are_cut_with_a_warning() -> None:
    ctx = context("hostile")
    ctx.limits = dataclasses.replace(
        ctx.limits, max_title_chars=50, max_summary_chars=300, max_link_chars=100
    )
    entries = [
        Entry(title="T" * 5_000_000, url="https://example.org/a", summary_html="<p>ok</p>"),
        Entry(title="Long summary", url="https://example.org/b", summary_html="<p>" + "s " * 10**6),
        Entry(title="Long link", url="https://example.org/" + "x" * 100_000),
    ]
    result = build_items(entries, ctx)
    first, second, third = result.items
    assert first.title == "T" * 50
    assert len(second.summary) < 300 and len(second.summary_html) < 320  # tags closed again
    assert third.url == ctx.page_url and third.guid.startswith("urn:wcofeed:")
    assert any("title of 5000000 characters cut to 50" in w for w in result.warnings)
    assert any("summary of 2000003 characters cut to 300" in w for w in result.warnings)
    assert any("link of 100020 characters dropped" in w for w in result.warnings)


def test_items_past_the_limit_are_left_out_with_a_warning() -> None:
    ctx = context("hostile")
    ctx.limits = dataclasses.replace(ctx.limits, max_items_per_page=3)
    entries = [Entry(title=f"Item {n}", url=f"https://example.org/{n}") for n in range(10)]
    result = build_items(entries, ctx)
    assert [i.title for i in result.items] == ["Item 0", "Item 1", "Item 2"]
    assert result.warnings == [
        "source hostile: 10 items on one page; the first 3 (ingest.max_items_per_page) are read"
    ]


def test_long_date_and_deadline_texts_are_cut_before_the_readers() -> None:
    date_text = "14 février 2025 " + "x" * 100_000
    ctx = context("hostile", ui_language="fr")
    result = build_items([Entry(title="Dated", date_text="nope " * 20_000)], ctx)
    (warning,) = result.warnings
    assert len(warning) < 300  # the text quoted is cut too
    assert parse_date(date_text, "fr") == date(2025, 2, 14)
    assert parse_date("x" * 100_000 + " 14 février 2025", "fr") is None  # beyond the cut


def test_a_page_nested_too_deep_is_refused_before_parsing() -> None:
    ctx = context("hostile")
    with pytest.raises(ParseError, match=r"source hostile: page nested deeper than 512 elements"):
        parse_html(b"<html><body>" + b"<div>" * 200_000, ctx)
    with pytest.raises(ParseError, match="nested deeper"):  # end tags that close nothing
        parse_html(b"<html><body>" + b"<span></div>" * 1_000, ctx)
    with pytest.raises(ParseError, match="nested deeper"):
        parse_html(b"<html><body>" + b"<ul><li>" * 1_000, ctx)


def test_the_depth_count_passes_flat_pages_and_lists() -> None:
    assert too_deep(b"<div>x</div>" * 100_000, 512) is None
    assert too_deep(b"<ul>" + b"<li>item<br><img src=x>" * 5_000 + b"</ul>", 512) is None
    assert too_deep(b"<p>one<p>two" * 5_000, 512) is None  # paragraphs close each other
    assert too_deep(b"<DIV>" * 600 + b"</div>" * 600, 512) == 513
    assert too_deep(b"<div>" * 500 + b"</div>" * 500, 512) is None


@pytest.mark.parametrize("label", ["hex", "base64", "rot13", "zlib", "utf-16", "utf-32-le"])
def test_a_charset_label_that_cannot_be_right_falls_back_to_detection(label: str) -> None:
    body = "<p>Таможня — 14 février 2025</p>".encode()
    assert decode_body(body, label) == "<p>Таможня — 14 février 2025</p>"
    meta = f'<meta charset="{label}"><p>Таможня</p>'.encode()
    assert decode_body(meta).endswith("<p>Таможня</p>")


def test_a_real_utf16_page_is_still_read() -> None:
    assert decode_body("<p>Таможня</p>".encode("utf-16"), "utf-16") == "<p>Таможня</p>"
    assert decode_body("<p>Таможня</p>".encode("utf-16-le"), "utf-16-le") == "<p>Таможня</p>"


@pytest.mark.parametrize(
    ("feed", "kept", "warning"),
    [
        ({"language": 5}, 2, "JSON Feed `language` is a int, not a string; ignored"),
        ({"items": 5}, 0, "JSON Feed `items` is a int, not a list"),
        ({"items": {"a": 1}}, 0, "JSON Feed `items` is an object, not a list"),
        ({"home_page_url": ["x"]}, 2, "`home_page_url` is a list, not a string"),
    ],
)
def test_a_bad_json_feed_field_costs_only_what_it_belongs_to(
    feed: dict[str, object], kept: int, warning: str
) -> None:
    data = {"version": "https://jsonfeed.org/version/1.1", "items": GOOD_JSON_ITEMS, **feed}
    result = parse_feed(json.dumps(data).encode(), context("partner"))
    assert len(result.items) == kept
    assert any(warning in w for w in result.warnings), result.warnings


GOOD_JSON_ITEMS = [
    {"id": "1", "title": "Valuation workshop", "url": "https://json.example.org/1"},
    {"id": "2", "title": "Origin seminar", "url": "https://json.example.org/2"},
]


def test_a_bad_json_feed_entry_is_skipped_and_the_good_ones_kept() -> None:
    items = [
        GOOD_JSON_ITEMS[0],
        {
            "id": "x",
            "title": "List language",
            "url": "https://json.example.org/x",
            "language": ["en"],
        },
        {"id": "y", "title": 5, "url": "https://json.example.org/y"},
        7,
        GOOD_JSON_ITEMS[1],
    ]
    data = {"version": "https://jsonfeed.org/version/1.1", "items": items}
    result = parse_feed(json.dumps(data).encode(), context("partner"))
    assert [i.title for i in result.items] == ["Valuation workshop", "Origin seminar"]
    assert result.warnings[:3] == [
        "source partner: JSON Feed item 2 skipped: `language` is a list, not a string",
        "source partner: JSON Feed item 3 skipped: `title` is a int, not a string",
        "source partner: JSON Feed item 4 is a int, not an object; skipped",
    ]


def test_a_deadline_in_year_9999_keeps_its_item_without_it() -> None:
    page = css_page(
        '<div class="i"><h2>Call for experts</h2><p class="d">Deadline: 31 December 9999</p></div>'
    )
    result = parse_html(page, css_context())
    (item,) = result.items
    assert item.deadline is None
    assert result.warnings == [
        "source hostile: cannot read the deadline 'Deadline: 31 December 9999'"
    ]


def test_a_last_modified_in_year_9999_is_no_page_date() -> None:
    assert _http_day("Fri, 31 Dec 9999 23:59:59 GMT") is None
    assert _http_day("Fri, 14 Feb 2025 10:00:00 GMT") == date(2025, 2, 14)
