"""Feeds parsed back: every field through feedparser, plus strict XML checks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import feedparser
import pytest
from lxml import etree
from tests.conftest import published_at
from tests.publish.conftest import NOW

from wcofeed.config import Settings
from wcofeed.i18n import texts
from wcofeed.models import Deadline, Item
from wcofeed.publish import render as render_module
from wcofeed.publish.build import entries, file_url, section_title, spec_doc, versions_of
from wcofeed.publish.query import FeedQuery, render_query
from wcofeed.publish.render import (
    JSON_EXTENSION,
    RENDERERS,
    WCOFEED_NS,
    FeedDoc,
    entry_id,
    render_atom,
    render_json,
    render_rss,
)
from wcofeed.publish.specs import FIXED_SECTIONS, FeedSpec, Format
from wcofeed.store import ItemQuery, Store

RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
ATOM = "{http://www.w3.org/2005/Atom}"


def parse(data: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def strict_checks(data: bytes, self_url: str) -> etree._Element:
    root = etree.fromstring(data)
    ids = [e.text for e in root.iter(f"{ATOM}id", "guid")]
    if root.tag == f"{ATOM}feed":
        ids = ids[1:]
        for node in root.iter(f"{ATOM}updated", f"{ATOM}published"):
            assert RFC3339.match(node.text), node.text
    else:
        for node in root.iter("pubDate", "lastBuildDate"):
            assert RFC822.match(node.text), node.text
    assert len(ids) == len(set(ids))
    selfs = [ln.get("href") for ln in root.iter(f"{ATOM}link") if ln.get("rel") == "self"]
    assert selfs == [self_url]
    return root


def expected_topics(settings: Settings, item: Item, lang: str) -> list[str]:
    labels = {
        s: settings.topics[s].labels.get(lang, settings.topics[s].labels["en"])
        for s in settings.topics
    }
    return [labels[t] for t in item.topics]


async def test_atom_and_rss_round_trip_every_field(
    pub_settings: Settings, filled: list[Item]
) -> None:
    for lang in ("en", "fr", "ar"):
        spec = FeedSpec(lang, "all")
        items = sorted((i for i in filled if i.language == lang), key=published_at, reverse=True)
        renderers: tuple[tuple[Format, Callable[[FeedDoc], bytes]], ...] = (
            ("atom", render_atom),
            ("rss", render_rss),
        )
        for fmt, render in renderers:
            doc = spec_doc(pub_settings, spec, fmt, items, [])
            data = render(doc)
            strict_checks(data, file_url(pub_settings, spec, fmt))
            parsed = parse(data)
            assert parsed.feed.title == doc.title
            assert parsed.feed.language == lang
            assert len(parsed.entries) == len(items)
            for got, item, want in zip(parsed.entries, items, doc.entries, strict=True):
                assert got.id == entry_id(item)
                assert got.link == item.url
                assert got.title == item.title
                assert got.summary == (want.text if fmt == "atom" else want.html)
                assert got.content[0].value == want.html
                assert got.published_parsed[:6] == published_at(item).timetuple()[:6]
                assert got.updated_parsed[:6] == want.updated.timetuple()[:6]
                assert [t.term if fmt == "rss" else t.label for t in got.tags] == expected_topics(
                    pub_settings, item, lang
                )
                if fmt == "atom":
                    assert [t.term for t in got.tags] == list(item.topics)
                    assert got.links[0].hreflang == item.language
                    assert got.summary_detail.language == item.language
                else:
                    assert got.language == item.language
                if item.deadline:
                    closes = item.deadline.closes_at().strftime("%Y-%m-%dT%H:%M:%SZ")
                    want_deadline = {
                        "date": item.deadline.day.isoformat(),
                        "closes": closes,
                        "precision": item.deadline.precision,
                    }
                    if item.deadline.at:
                        want_deadline["time"] = item.deadline.at.strftime("%H:%M")
                    if item.deadline.tz:
                        want_deadline["timezone"] = item.deadline.tz
                    assert got.wcofeed_deadline == want_deadline
                    assert want.deadline_text in got.summary


async def test_deadline_element_and_words_per_language(
    pub_settings: Settings, filled: list[Item]
) -> None:
    call = next(i for i in filled if i.guid == "wco-call-7")
    doc = spec_doc(pub_settings, FeedSpec("en", "calls"), "atom", [call], [])
    root = etree.fromstring(render_atom(doc))
    node = root.find(f"{ATOM}entry/{{{WCOFEED_NS}}}deadline")
    assert node is not None
    assert node.attrib == {
        "date": "2025-02-14",
        "time": "17:00",
        "timezone": "Europe/Brussels",
        "precision": "day",
        "closes": "2025-02-14T16:00:00Z",
    }
    assert node.text == "2025-02-14T16:00:00Z"
    (fr,) = entries(pub_settings, [call], "fr", [])
    assert fr.deadline_text == "Date limite\u00a0: 14 février 2025, 17:00 (Europe/Brussels)"
    assert ("valuation", "Évaluation") in fr.topics
    fr_doc = spec_doc(pub_settings, FeedSpec("fr", "calls"), "rss", [], [])
    assert parse(render_rss(fr_doc)).feed.title.endswith("Appels à candidatures (fr)")


async def test_json_feed_carries_every_field(pub_settings: Settings, filled: list[Item]) -> None:
    spec = FeedSpec("en", "calls")
    calls = [i for i in filled if i.language == "en" and i.kind == "call"]
    doc = spec_doc(pub_settings, spec, "json", calls, [])
    feed = json.loads(render_json(doc))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == file_url(pub_settings, spec, "json")
    assert feed["language"] == "en"
    for got, item, want in zip(feed["items"], calls, doc.entries, strict=True):
        assert got["id"] == entry_id(item)
        assert got["url"] == item.url
        assert got["title"] == item.title
        assert got["content_text"] == want.text
        assert got["content_html"] == want.html
        assert got["language"] == item.language
        assert datetime.fromisoformat(got["date_published"]) == item.published_at
        assert got["tags"] == expected_topics(pub_settings, item, "en")
        ext = got[JSON_EXTENSION]
        assert ext["guid"] == item.guid
        assert ext["kind"] == "call"
        assert ext["topics"] == list(item.topics)
        assert item.deadline is not None
        assert ext["deadline"]["date"] == item.deadline.day.isoformat()
        assert datetime.fromisoformat(ext["deadline"]["closes_at"]) == item.deadline.closes_at()


def test_approximate_deadlines_keep_their_words_in_every_format(
    pub_settings: Settings, item_factory: Callable[..., Item]
) -> None:
    approximate = item_factory(
        kind="call",
        deadline=Deadline(date(2026, 7, 20), precision="approximate", wording="mid-July 2026"),
    )
    month = item_factory(kind="call", deadline=Deadline(date(2026, 3, 31), precision="month"))
    doc = spec_doc(pub_settings, FeedSpec("fr", "calls"), "atom", [approximate, month], [])
    root = etree.fromstring(render_atom(doc))
    first, second = root.findall(f"{ATOM}entry/{{{WCOFEED_NS}}}deadline")
    assert first.attrib == {
        "date": "2026-07-20",
        "precision": "approximate",
        "wording": "mid-July 2026",
        "closes": "2026-07-20T21:59:59Z",
    }
    assert second.get("precision") == "month"
    lines = [e.deadline_text for e in doc.entries]
    assert lines == ["Date limite\u00a0: mid-July 2026", "Date limite\u00a0: mars 2026"]
    assert all("20 juillet" not in e.text and "31 mars" not in e.text for e in doc.entries)
    feed = json.loads(
        render_json(spec_doc(pub_settings, FeedSpec("en", "calls"), "json", [approximate], []))
    )
    ext = feed["items"][0][JSON_EXTENSION]["deadline"]
    assert (ext["precision"], ext["wording"], ext["text"]) == (
        "approximate",
        "mid-July 2026",
        "Deadline: mid-July 2026",
    )


async def test_an_undated_item_has_no_publication_date_in_any_format(
    pub_settings: Settings, store: Store, item_factory: Callable[..., Item]
) -> None:
    """No date of our making: no Atom `published`, RSS `pubDate` or JSON Feed
    `date_published`; `updated` (required in Atom) is the item's last change."""
    seen = datetime(2025, 2, 1, 8, 0, tzinfo=UTC)
    dated = item_factory(title="Dated", published=date(2025, 1, 30))
    undated = item_factory(title="Undated", published=None)
    await store.upsert_items([dated, undated], now=seen)
    stored = await store.query_items(ItemQuery())
    assert [i.title for i in stored] == ["Undated", "Dated"]  # first seen after the date
    spec = FeedSpec("en", "all")
    atom = render_atom(spec_doc(pub_settings, spec, "atom", stored, []))
    strict_checks(atom, file_url(pub_settings, spec, "atom"))
    first, second = parse(atom).entries
    assert "published" not in first and first.updated_parsed[:6] == seen.timetuple()[:6]
    assert second.published_parsed[:3] == (2025, 1, 30)
    rss = render_rss(spec_doc(pub_settings, spec, "rss", stored, []))
    strict_checks(rss, file_url(pub_settings, spec, "rss"))
    items = etree.fromstring(rss).findall("channel/item")
    assert [item.find("pubDate") is None for item in items] == [True, False]
    assert [e.title for e in parse(rss).entries] == ["Undated", "Dated"]
    feed = json.loads(render_json(spec_doc(pub_settings, spec, "json", stored, [])))
    assert "date_published" not in feed["items"][0]
    assert feed["items"][0]["date_modified"] == "2025-02-01T08:00:00Z"
    assert feed["items"][1]["date_published"] == "2025-01-30T00:00:00Z"


def test_links_leave_as_ascii_so_readers_cannot_misread_them(
    pub_settings: Settings, item_factory: Callable[..., Item]
) -> None:
    """A link holding text that looks like mojibake or a character reference reaches
    readers unchanged: feedparser "repairs" `/Â¡` in an RSS `<link>` into `/¡`, and reads
    `/&lt;0` as `/&lt0`, different pages; `&` between query parameters stays."""
    item = item_factory(url="https://example.org/Â¡&lt;0&#60;?q=ça%20va&page=2&amp;#top")
    want = "https://example.org/%C3%82%C2%A1%26lt;0%26#60;?q=%C3%A7a%20va&page=2%26amp;#top"
    spec = FeedSpec("en", "all")
    atom = parse(render_atom(spec_doc(pub_settings, spec, "atom", [item], [])))
    rss = parse(render_rss(spec_doc(pub_settings, spec, "rss", [item], [])))
    for fmt, read in (("atom", atom), ("rss", rss)):
        (entry,) = read.entries
        assert entry.link == want, fmt
    feed = json.loads(render_json(spec_doc(pub_settings, spec, "json", [item], [])))
    assert feed["items"][0]["url"] == want


def test_hostile_text_yields_valid_escaped_xml(
    pub_settings: Settings, item_factory: Callable[..., Item]
) -> None:
    hostile = item_factory(
        title="End ]]> <script>alert('t')</script> \x01\x07\x1b bell \u202eRTL\u202c مرحبا",
        summary="A & B ]]> \x0b </description> <![CDATA[ x ]]>",
        summary_html=(
            "<p onclick='evil()'>ok</p><script>alert(1)</script>"
            "<a href='javascript:alert(1)'>x</a><img src=x onerror=alert(1)>]]>"
        ),
        last_changed=None,
    ).with_times(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    spec = FeedSpec("en", "all")
    clean_title = "End ]]> <script>alert('t')</script>  bell \u202eRTL\u202c مرحبا"
    renderers: tuple[tuple[Format, Callable[[FeedDoc], bytes]], ...] = (
        ("atom", render_atom),
        ("rss", render_rss),
        ("json", render_json),
    )
    for fmt, render in renderers:
        data = render(spec_doc(pub_settings, spec, fmt, [hostile], []))
        text = data.decode("utf-8")
        assert "\x01" not in text and "\x07" not in text and "\x1b" not in text
        assert "onclick" not in text and "javascript:" not in text and "onerror" not in text
        if fmt == "json":
            item = json.loads(data)["items"][0]
            assert "<script" not in item["content_html"]
            assert item["title"] == clean_title
            continue
        strict_checks(data, file_url(pub_settings, spec, fmt))
        assert "<script" not in text
        entry = parse(data).entries[0]
        assert entry.title == clean_title
        if fmt == "atom":
            assert entry.summary.startswith("A & B ]]>  </description> <![CDATA[ x ]]>")
        else:  # RSS readers render <description> as HTML: it carries the sanitised HTML
            assert entry.summary.startswith("<p>ok</p>") and "<script" not in entry.summary
        assert "<script" not in entry.content[0].value
        assert "<p>ok</p>" in entry.content[0].value


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_entries_spliced_in_are_the_bytes_of_the_whole_tree(
    pub_settings: Settings, filled: list[Item], item_factory: Callable[..., Item], fmt: Format
) -> None:
    """A feed is its own elements' bytes with each entry's kept bytes spliced in: byte
    for byte what lxml writes for the whole tree built at once, for feeds in three
    languages, of one entry, of none, and with text that needs escaping (the markers
    where entries are spliced in among it)."""
    hostile = item_factory(
        guid="https://wco.test/en/hostile",
        title="End ]]> <b>&amp;</b> <!--end--> \u202eRTL\u202c مرحبا",
        summary="A & B ]]> </entry> <!--entries--> <![CDATA[ x ]]> <!--start-->",
        summary_html="<p>ok &lt; <b>bold</b></p>]]>",
    )
    for lang in ("en", "fr", "ar"):
        items = [i for i in filled if i.language == lang]
        for chosen in (items, items[:1], [], [hostile, *items]):
            doc = spec_doc(pub_settings, FeedSpec(lang, "all"), fmt, chosen, [])
            assert RENDERERS[fmt](doc) == _whole_tree(doc, fmt), (lang, len(chosen))


def _whole_tree(doc: FeedDoc, fmt: Format) -> bytes:
    """`doc` written by lxml in one piece: every entry's element in the feed's tree."""
    generator = render_module._generator(doc)
    if fmt == "rss":
        generator.lastBuildDate(doc.updated)
        root, _ = generator._create_rss()
        parent = root[0]
    else:
        root, _ = generator._create_atom()
        parent = root
    for entry in doc.entries:
        parent.append(render_module._entry_element(entry, fmt == "rss", doc.topic_scheme))
    return bytes(
        etree.tostring(
            etree.ElementTree(root), pretty_print=True, encoding="UTF-8", xml_declaration=True
        )
    )


@pytest.mark.parametrize("language", ["fr", "es", "ru", "zh", "ar"])
def test_feed_words_are_translated(language: str) -> None:
    for section in FIXED_SECTIONS:
        assert section_title(section, language) != section_title(section, "en"), section
    deadline = texts(language).gettext("Deadline: %(date)s", date="D")
    assert "D" in deadline and deadline != "Deadline: D"


async def test_entries_link_their_other_language_versions(
    pub_settings: Settings, store: Store, filled: list[Item]
) -> None:
    """The Arabic news has an English version (same path under /en/): the Arabic
    edition lists it in Arabic, its own link first (readers open the first alternate),
    then the English one; the English edition the other way round. The feed's language
    is the edition's, each entry's its own."""
    arabic = next(i for i in filled if i.guid == "https://wco.test/ar/news-1")
    english = next(i for i in filled if i.guid == "https://wco.test/en/news-1")
    assert arabic.translation_key == english.translation_key
    spec = FeedSpec("ar", "news", edition=pub_settings.edition("ar"))
    items = await store.query_items(spec.query(10, datetime(2025, 2, 1, tzinfo=UTC)))
    assert [i.guid for i in items] == [arabic.guid]
    versions = await versions_of(store, items, {})

    atom = render_atom(spec_doc(pub_settings, spec, "atom", items, [], versions=versions))
    (entry,) = parse(atom).entries
    assert entry.title_detail.language == "ar"
    assert [(ln.rel, ln.hreflang, ln.href) for ln in entry.links] == [
        ("alternate", "ar", arabic.url),
        ("alternate", "en", english.url),
    ]
    assert parse(atom).feed.language == "ar"

    data = json.loads(
        render_json(spec_doc(pub_settings, spec, "json", items, [], versions=versions))
    )
    assert data["language"] == "ar"
    (item,) = data["items"]
    assert item["language"] == "ar" and item["url"] == arabic.url
    assert item[JSON_EXTENSION]["alternates"] == [{"language": "en", "url": english.url}]

    rss = parse(render_rss(spec_doc(pub_settings, spec, "rss", items, [], versions=versions)))
    assert rss.entries[0].language == "ar"

    (back,) = entries(pub_settings, [english], "en", [], versions=versions)
    assert back.alternates == (("ar", arabic.url),)
    lone = next(i for i in filled if i.guid == "wco-call-7")
    data = json.loads(
        render_json(spec_doc(pub_settings, FeedSpec("en", "calls"), "json", [lone], []))
    )
    assert "alternates" not in data["items"][0][JSON_EXTENSION]


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
async def test_a_changed_item_is_rendered_afresh_not_from_the_kept_entry(
    pub_settings: Settings, store: Store, item_factory: Callable[..., Item], fmt: Format
) -> None:
    """Entries are kept across feeds and requests (prepared views, feed elements); an
    edit must reach the next feed all the same, and an edit undone must come back."""
    query = FeedQuery(lang="en")

    async def feed_after(title: str, html: str, at: datetime) -> str:
        item = item_factory(
            guid="https://wco.test/en/edited",
            url="https://wco.test/en/edited",
            title=title,
            summary="",
            summary_html=html,
            published=date(2025, 1, 10),
        )
        await store.upsert_items([item], now=at)
        return (await render_query(pub_settings, store, fmt, query, NOW, [])).decode()

    first = await feed_after(
        "First title", "<p>First <b>words</b></p>", datetime(2025, 1, 11, tzinfo=UTC)
    )
    again = await feed_after(
        "First title", "<p>First <b>words</b></p>", datetime(2025, 1, 12, tzinfo=UTC)
    )
    assert again == first
    edited = await feed_after(
        "Second title", "<p>Second words</p>", datetime(2025, 1, 13, tzinfo=UTC)
    )
    assert "Second title" in edited and "Second words" in edited
    assert "First" not in edited
    assert "2025-01-13" in edited
    undone = await feed_after(
        "First title", "<p>First <b>words</b></p>", datetime(2025, 1, 14, tzinfo=UTC)
    )
    assert "First title" in undone and "Second" not in undone
    assert "2025-01-14" in undone and "2025-01-11" not in undone
