"""Generated hostile pages and feeds: parsing never raises anything but ParseError, and
every feed published from what they give is well-formed XML that feedparser reads
without complaint.

The generators build the structure real sources have (the WCO page kinds, a `css`
source, RSS 2.0, Atom, JSON Feed) and fill it with the text that breaks things: control
characters, right-to-left marks and scripts, `]]>`, `<script>`, mojibake, odd or huge
dates, stray markup. `GENERATED` counts the pages and feeds; the last test checks the
run made at least `MIN_GENERATED` of them (1,050 pages and feeds in CI; more with
WCOFEED_GENERATED_SCALE).
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

from tests.conftest import make_item
from wcofeed.config import Profile, SelectorSettings, Settings, SourceSettings, load_settings
from wcofeed.ingest.build import PageContext, ParseError, ParseResult
from wcofeed.ingest.charset import decode_body
from wcofeed.ingest.dates import parse_date
from wcofeed.ingest.deadlines import find_deadline_text, parse_deadline
from wcofeed.ingest.feeds import parse_feed
from wcofeed.ingest.html import parse_html
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.text import PageRepair, clean
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.markup import html_to_text, sanitise_html
from wcofeed.models import Item, ItemError
from wcofeed.publish.build import query_doc
from wcofeed.publish.render import render_atom, render_json, render_rss

pytestmark = pytest.mark.slow

NOW = datetime(2025, 2, 15, 9, 0, tzinfo=UTC)
#: WCOFEED_GENERATED_SCALE=10 runs ten times the examples (a longer local run).
SCALE = max(1, int(os.environ.get("WCOFEED_GENERATED_SCALE", "1")))
MIN_GENERATED = 1000 * SCALE
GENERATED: Counter[str] = Counter()
LANGUAGES = ["en", "fr", "es", "ru", "zh", "ar"]

# ---- text ------------------------------------------------------------------------------

NASTY = [
    "]]>",
    "<![CDATA[x]]>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "&amp;&lt;&#0;&#xD800;&#x1F600;&bogus;",
    "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\x9f",
    "\ufeff\ufffe\uffff",
    "\u202e\u200f\u200e\u061c",
    "مهلة التقديم: 14 فبراير 2025",
    "נא לשלוח עד",
    "fran√ßais",
    "Ð¢Ð°Ð¼Ð¾Ð¶Ð½Ñ\x8f",
    "â€™â€œâ€\x9d",
    "ðŸ“… Ã©tÃ©",
    "Таможня",
    "海关 2025年2月14日",
    "😀👩‍👩‍👧\u0301\u0301",
    "\r\n\t  \u00a0\u3000",
    "Deadline: 14 February 2025",
    "date limite : 31 février 2025 à 17h00 CET",
    "Срок подачи заявок: 30 октября 2020 года",
    "plazo: 1 de marzo de 99999",
    "closes 2025-13-45T25:61:00+99:00",
    "Read more",
]
printable = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
fragment = st.one_of(printable, st.sampled_from(NASTY))
hostile_text = st.lists(fragment, max_size=4).map("".join)


def escaped(text: str) -> st.SearchStrategy[str]:
    """The text as a careful page writes it, or as a careless one pastes it in."""
    return st.sampled_from([html.escape(text), text])


day = st.integers(min_value=-1, max_value=40)
month = st.integers(min_value=0, max_value=14)
year = st.one_of(
    st.integers(min_value=1900, max_value=2100), st.integers(min_value=-5, max_value=10**12)
)
MONTHS = ["January", "février", "marzo", "октября", "Oct.", "2月", "فبراير", "Smarch"]
date_text = st.one_of(
    st.builds(lambda d, m, y: f"{d} {m} {y}", day, st.sampled_from(MONTHS), year),
    st.builds(lambda d, m, y: f"{y}-{m:02d}-{d:02d}", day, month, year),
    st.builds(lambda d, m, y: f"{d}/{m}/{y}", day, month, year),
    st.builds(lambda d, m, y: f"{y}年{m}月{d}日", day, month, year),
    hostile_text,
)


# ---- pages -----------------------------------------------------------------------------

# Per WCO page kind: the marker wrapper and one item's markup (title, link, date, body).
KINDS = {
    "newsroom": (
        '<div class="newsroom-list">{items}</div>',
        '<div class="news-item"><div class="news-date">{date}</div>'
        '<h3 class="news-title"><a href="{href}">{title}</a></h3>'
        '<p class="news-summary">{body}</p><p class="news-deadline">{deadline}</p>'
        '<a class="read-more" href="{href}">Read more</a></div>',
    ),
    "home": (
        '<div id="highlights"><div class="highlight"><a href="{href0}">'
        '<span class="highlight-title">{title0}</span></a></div></div>'
        '<div id="calls">{items}</div>',
        '<div class="call"><span class="call-category">{date}</span>'
        '<a class="call-title" href="{href}">{title}</a>'
        '<span class="call-subtitle">{body}</span><span class="call-deadline">{deadline}</span>'
        "</div>",
    ),
    "topic": (
        '<div class="topic-page"><ul>{items}</ul></div>',
        '<li class="topic-item"><h4 class="topic-item-title">{title}</h4>'
        '<div class="topic-item-text">{body} {deadline} {date}</div>'
        '<a class="read-more" href="{href}">more</a></li>',
    ),
    "list": (
        '<ul class="tools-list">{items}</ul>',
        '<li class="tool-item"><span class="tool-date">{date}</span>'
        '<h4 class="tool-title">{title}</h4><p class="tool-text">{body}</p>'
        '<a class="read-more" href="{href}">more</a></li>',
    ),
    "css": (
        '<section class="board">{items}</section>',
        '<article class="post"><h2>{title}</h2><time>{date}</time><a href="{href}">link</a>'
        '<div class="text">{body}</div><em class="due">{deadline}</em></article>',
    ),
}
CSS_SELECTORS = SelectorSettings(
    item="article.post", title="h2", link="a", date="time", summary=".text", deadline=".due"
)
href = st.one_of(
    st.sampled_from(
        [
            "/en/media/newsroom/2025/x.aspx",
            "https://www.wcoomd.org/fr/a?b=1&c=2",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " \tjavascript:alert(1)",
            "java\nscript:alert(1)",
            "vbscript:msgbox(1)",
            "//evil.example/%00",
            "data:text/html,<script>",
            "http://[::1",
            "",
            "#",
            "mailto:a@b",
        ]
    ),
    printable,
)


@st.composite
def item_markup(draw: st.DrawFn, template: str) -> str:
    fields = {
        "title": draw(hostile_text.flatmap(escaped)),
        "body": draw(hostile_text),  # raw: markup in summaries is expected
        "date": draw(date_text.flatmap(escaped)),
        "deadline": draw(st.one_of(date_text, st.just("")).flatmap(escaped)),
        "href": html.escape(draw(href), quote=True),
    }
    return template.format(**fields)


@st.composite
def pages(draw: st.DrawFn) -> tuple[str, bytes, str | None, str]:
    """(page kind, body bytes, charset header, interface language)."""
    kind = draw(st.sampled_from(sorted(KINDS)))
    wrapper, template = KINDS[kind]
    items = "".join(draw(st.lists(item_markup(template), min_size=0, max_size=5)))
    page = wrapper.format(
        items=items,
        href0=html.escape(draw(href), quote=True),
        title0=draw(hostile_text.flatmap(escaped)),
    )
    ui = draw(st.sampled_from(LANGUAGES))
    encoding = draw(st.sampled_from(["utf-8", "windows-1251", "iso-8859-1", "gb18030", "utf-16"]))
    declared = draw(st.sampled_from([encoding, "utf-8", "koi8-r", "no-such-charset", ""]))
    meta = f'<meta charset="{declared}">' if declared else ""
    doc = (
        f'<!DOCTYPE html><html lang="{ui}"><head>{meta}<title>WCO</title>'
        f'<base href="{html.escape(draw(href), quote=True)}"></head><body>{page}'
        f"{draw(st.sampled_from(['', '</div></ul>', '<div><p>', '<!--', '<![CDATA[']))}"
        "</body></html>"
    )
    body = doc.encode(encoding, errors="replace")
    header = draw(st.sampled_from([None, encoding, declared or None, "x-unknown"]))
    return kind, body, header, ui


# ---- feeds -----------------------------------------------------------------------------


def _rss(entries: list[dict[str, str]], lang: str) -> str:
    items = "".join(
        f"<item><title>{e['title']}</title><link>{e['link']}</link>"
        f"<guid>{e['link']}</guid><pubDate>{e['date']}</pubDate>"
        f"<description>{e['body']}</description></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Partner</title><link>https://partner.example/</link><language>{lang}</language>"
        f"{items}</channel></rss>"
    )


def _atom(entries: list[dict[str, str]], lang: str) -> str:
    items = "".join(
        f'<entry><title type="html">{e["title"]}</title><link href="{e["link"]}"/>'
        f"<id>{e['link'] or 'urn:x'}</id><updated>{e['date']}</updated>"
        f'<content type="html">{e["body"]}</content></entry>'
        for e in entries
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:lang="{lang}"><title>Partner</title><id>urn:partner</id>'
        f"<updated>2025-02-14T00:00:00Z</updated>{items}</feed>"
    )


@st.composite
def feeds(draw: st.DrawFn) -> tuple[str, bytes]:
    """(format, body) of an RSS, Atom or JSON feed with hostile entries."""
    fmt = draw(st.sampled_from(["rss", "atom", "json"]))
    lang = draw(st.sampled_from([*LANGUAGES, "xx-bogus", ""]))
    raw = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "title": hostile_text,
                    "link": href,
                    "date": st.one_of(
                        date_text,
                        st.sampled_from(
                            [
                                "Fri, 14 Feb 2025 10:00:00 GMT",
                                "2025-02-14T10:00:00Z",
                                "9999-12-31T23:59:59+14:00",
                                "0000-00-00T00:00:00",
                                "Mon, 31 Feb 20250 99:99:99 +9999",
                            ]
                        ),
                    ),
                    "body": hostile_text,
                }
            ),
            max_size=5,
        )
    )
    if fmt == "json":
        items = [
            {
                "id": e["link"],
                "url": e["link"],
                "title": e["title"],
                "date_published": e["date"],
                draw(st.sampled_from(["content_html", "content_text"])): e["body"],
            }
            for e in raw
        ]
        doc: dict[str, object] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "P",
            "language": lang,
            "items": items,
        }
        return fmt, json.dumps(doc, ensure_ascii=draw(st.booleans())).encode()
    wrap = draw(st.sampled_from(["escape", "cdata", "raw"]))

    def put(text: str) -> str:
        if wrap == "escape":
            return html.escape(text)
        if wrap == "cdata":
            return f"<![CDATA[{text}]]>"
        return text

    entries = [{k: put(v) for k, v in e.items()} for e in raw]
    text = _rss(entries, lang) if fmt == "rss" else _atom(entries, lang)
    return fmt, text.encode("utf-8", errors="replace")


# ---- checks ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder: Path = tmp_path_factory.mktemp("generated")
    config = folder / "config.toml"
    config.write_text('[topics.origin]\nlabels = { en = "Origin" }\nkeywords = ["origin"]\n')
    yield load_settings(config, env={})


def context(
    ui: str, profile: Profile = "auto", url: str = "https://www.wcoomd.org/"
) -> PageContext:
    selectors = CSS_SELECTORS if profile == "css" else None
    source = SourceSettings(
        id="generated", url=url, ui_language=ui, profile=profile, selectors=selectors
    )
    return PageContext(
        source=source,
        now=NOW,
        topics=TopicMatcher({}),
        kinds=KindGuesser(),
        page_url=url,
        page_date=date(2025, 2, 14),
    )


def assert_publishable(settings: Settings, items: list[Item]) -> None:
    """Every format we publish, from these items, reads back clean."""
    for words in ("en", "ar"):
        doc = query_doc(
            settings,
            what="Generated",
            words=words,
            language=None,
            self_url="http://127.0.0.1:8080/feed.atom?q=%5D%5D%3E",
            items=items,
            links={"next": "http://127.0.0.1:8080/feed.atom?page=2&q=<x>"},
            skipped=[],
        )
        for render in (render_atom, render_rss):
            body = render(doc)
            etree.fromstring(body)  # well-formed, or XMLSyntaxError fails the test
            read = feedparser.parse(body)
            assert not read.bozo, (render.__name__, read.bozo_exception, body[:2000])
            assert len(read.entries) == len(items)
        data = json.loads(render_json(doc))
        assert data["version"] == "https://jsonfeed.org/version/1.1"
        assert len(data["items"]) == len(items)


def assert_safe_html(fragment: str) -> None:
    """No element or attribute that runs script survives sanitising."""
    for node in LexborHTMLParser(fragment).css("*"):
        assert node.tag not in ("script", "style", "iframe", "object", "svg"), fragment
        for name, value in node.attributes.items():
            assert not name.lower().startswith("on"), fragment
            if name.lower() in ("href", "src"):
                scheme = urlsplit((value or "").strip()).scheme.lower()
                assert scheme in ("", "http", "https", "mailto"), fragment


def assert_items_clean(result: ParseResult) -> None:
    for item in result.items:
        assert urlsplit(item.url).scheme in ("http", "https", "urn"), item.url
        for text in (item.title, item.summary):
            assert not set(text) & set("\x00\x01\x08\x0b\x1b\x7f"), text
        assert_safe_html(item.summary_html)


def _many(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@_many(550)
@given(page=pages())
def test_generated_wco_pages(site: Settings, page: tuple[str, bytes, str | None, str]) -> None:
    kind, body, header, ui = page
    GENERATED["page"] += 1
    profile: Profile = "css" if kind == "css" else "auto"
    try:
        result = parse_html(body, context(ui, profile), header)
    except ParseError as exc:  # a page with no WCO marker left: a clear, named error
        assert "source generated" in str(exc)
        return
    assert_items_clean(result)
    assert_publishable(site, result.items)


@_many(500)
@given(feed=feeds())
def test_generated_feeds(site: Settings, feed: tuple[str, bytes]) -> None:
    _, body = feed
    GENERATED["feed"] += 1
    try:
        result = parse_feed(body, context("en", url="https://partner.example/feed"))
    except ParseError as exc:
        assert "source generated" in str(exc)
        return
    assert_items_clean(result)
    assert_publishable(site, result.items)


@_many(300)
@given(text=date_text, language=st.sampled_from(LANGUAGES), deadline=hostile_text)
def test_generated_dates_and_deadlines(text: str, language: str, deadline: str) -> None:
    today = NOW.date()
    found = parse_date(text, language, today)
    assert found is None or isinstance(found, date)
    line = find_deadline_text(f"{deadline} {text}")
    if line is not None:
        parsed = parse_deadline(line, language, today)
        assert parsed is None or parsed.closes_at().tzinfo is not None
    labelled = parse_deadline(f"Deadline: {text}", language, today)
    assert labelled is None or labelled.closes_at().tzinfo is not None


@_many(300)
@given(text=hostile_text, sample=hostile_text, raw=st.binary(max_size=200))
def test_generated_text_repair(text: str, sample: str, raw: bytes) -> None:
    repaired = clean(text)
    assert "\x00" not in repaired and "\n" not in repaired
    assert PageRepair.for_page(sample).fix(text) == PageRepair.for_page(sample).fix(text)
    safe = sanitise_html(text)
    assert_safe_html(safe)
    html_to_text(safe)
    assert isinstance(decode_body(raw, "utf-8"), str)


@_many(200)
@given(
    title=hostile_text,
    path=hostile_text,
    summary=hostile_text,
    published=st.datetimes(timezones=st.sampled_from([UTC, ZoneInfo("Pacific/Kiritimati")])),
)
def test_generated_stored_items_publish(
    site: Settings, title: str, path: str, summary: str, published: datetime
) -> None:
    """Items that never went through ingest (admin API, hand-entered) publish cleanly too."""
    try:
        item = make_item(
            title=title,
            url=f"https://www.wcoomd.org/{path}",
            summary=summary,
            summary_html=summary,
            published=published,
        )
    except (ItemError, OverflowError):
        return  # refused at the door: nothing to publish
    assert_publishable(site, [item])


def test_enough_pages_and_feeds_were_generated() -> None:
    """Runs last (file order): the generators above made the promised number of inputs."""
    assert GENERATED["page"] + GENERATED["feed"] >= MIN_GENERATED, GENERATED
