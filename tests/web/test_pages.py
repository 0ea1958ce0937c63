from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from lxml import html

from tests.conftest import english_leftovers, make_item
from wcofeed.models import Deadline, ItemError
from wcofeed.store import Store

TOPICS = """
[topics.origin]
labels = { en = "Origin", fr = "Origine" }

[topics.capacity-building]
labels = { en = "Capacity building", fr = "Renforcement des capacités" }
"""


@pytest.fixture
def web_config() -> str:
    return TOPICS


def _today() -> datetime:
    return datetime.now(ZoneInfo("Europe/Brussels"))


async def page(client: TestClient[Any, Any], path: str, **headers: str) -> html.HtmlElement:
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return html.fromstring(await response.text())


async def test_home_lists_latest_items_and_open_calls(
    client: TestClient[Any, Any], store: Store
) -> None:
    today = _today()
    call = make_item(
        kind="call",
        title="Master's degree programme (GRIPS)",
        topics=("capacity-building",),
        deadline=Deadline((today + timedelta(days=3)).date()),
    )
    closed = make_item(kind="call", title="Closed call", deadline=Deadline(date_ago(10)))
    news = make_item(title="WCO launches origin forum", topics=("origin",), language="en")
    await store.upsert_items([call, closed, news])

    doc = await page(client, "/")
    assert doc.get("lang") == "en"
    calls = [li.text_content() for li in doc.cssselect("section.calls li")]
    assert len(calls) == 1
    assert "Master's degree programme (GRIPS)" in calls[0] and "closes in 3 days" in calls[0]
    titles = [h.text_content().strip() for h in doc.cssselect("article.item h3")]
    assert set(titles) == {call.title, closed.title, news.title}
    alternate = {
        link.get("type"): link.get("href") for link in doc.cssselect('link[rel="alternate"]')
    }
    # The page lists the English edition (its interface language): so does its feed.
    assert alternate["application/atom+xml"] == "/feed.atom?lang=en"
    assert alternate["application/rss+xml"] == "/feed.rss?lang=en"


def date_ago(days: int):  # type: ignore[no-untyped-def]
    return (_today() - timedelta(days=days)).date()


async def test_filters_narrow_the_list_and_the_feed_link(
    client: TestClient[Any, Any], store: Store
) -> None:
    origin = make_item(title="Rules of origin workshop", topics=("origin",))
    french = make_item(title="Atelier sur l'origine", topics=("origin",), language="fr")
    other = make_item(title="Capacity building mission", topics=("capacity-building",))
    await store.upsert_items([origin, french, other])

    doc = await page(client, "/?topic=origin&lang=en")
    titles = [h.text_content().strip() for h in doc.cssselect("article.item h3")]
    assert titles == ["Rules of origin workshop"]
    atom = doc.cssselect('link[type="application/atom+xml"]')[0].get("href")
    assert atom == "/feed.atom?lang=en&topic=origin"
    selected = doc.cssselect("#topic option[selected]")[0]
    assert selected.get("value") == "origin"

    doc = await page(client, "/?q=workshop")
    assert [h.text_content().strip() for h in doc.cssselect("article.item h3")] == [
        "Rules of origin workshop"
    ]


async def test_interface_language_from_hl_or_browser(client: TestClient[Any, Any]) -> None:
    doc = await page(client, "/?hl=fr")
    assert doc.get("lang") == "fr"
    assert doc.cssselect("#calls-heading")[0].text == "Appels à candidatures ouverts"
    assert "Renforcement des capacités" in [o.text for o in doc.cssselect("#topic option")]
    doc = await page(client, "/", **{"Accept-Language": "ar;q=0.9, en;q=0.5"})
    assert doc.get("lang") == "ar" and doc.get("dir") == "rtl"
    assert doc.cssselect("#calls-heading")[0].text == "الدعوات المفتوحة لتقديم الطلبات"
    assert doc.cssselect("button")[0].text == "تطبيق"
    switch = {a.get("lang"): a.get("href") for a in doc.cssselect("nav.languages a")}
    assert switch["fr"] == "?hl=fr"


async def test_hostile_item_text_is_escaped_and_bad_links_dropped(
    client: TestClient[Any, Any], store: Store
) -> None:
    with pytest.raises(ItemError, match="url"):  # the model keeps such links out
        make_item(url="javascript:alert(1)")
    evil = make_item(
        title='<script>alert("x")</script>Call',
        summary='<img src=x onerror="alert(1)">',
        url="https://example.org/evil",
    )
    await store.upsert_item(evil)
    response = await client.get("/")
    text = await response.text()
    assert "<script>alert" not in text and "<img src=x" not in text
    assert "&lt;script&gt;" in text
    doc = html.fromstring(text)
    assert not [a for a in doc.iter("a") if "javascript:" in (a.get("href") or "")]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("lang=xx", "lang: unknown language"),
        ("topic=astrology", "topic: unknown topic"),
        ("kind=memo", "kind: must be one of"),
        ("page=0", "page: must be between"),
        ("page=two", "page: not a whole number"),
        ("q=" + "x" * 300, "q: longer than 200"),
    ],
)
async def test_bad_filters_are_400_naming_the_parameter(
    client: TestClient[Any, Any], query: str, reason: str
) -> None:
    response = await client.get(f"/?{query}")
    assert response.status == 400
    assert reason in await response.text()


async def test_paging_walks_every_item_once(client: TestClient[Any, Any], store: Store) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    items = [make_item(published=base + timedelta(hours=n)) for n in range(45)]
    await store.upsert_items(items)
    seen: list[str] = []
    path = "/"
    while path:
        doc = await page(client, path)
        seen += [h.text_content().strip() for h in doc.cssselect("article.item h3")]
        older = doc.cssselect('a[rel="next"]')
        path = "/" + older[0].get("href") if older else ""
    assert sorted(seen) == sorted(i.title for i in items) and len(seen) == 45


async def test_calls_page_orders_by_deadline(client: TestClient[Any, Any], store: Store) -> None:
    today = _today().date()
    later = make_item(kind="call", title="Later", deadline=Deadline(today + timedelta(days=20)))
    today_call = make_item(kind="call", title="Today", deadline=Deadline(today))
    await store.upsert_items([later, today_call])
    doc = await page(client, "/calls?hl=fr")
    entries = [li.text_content() for li in doc.cssselect("section.calls li")]
    assert "Today" in entries[0] and "clôture aujourd’hui" in entries[0]
    assert "Later" in entries[1] and "dans 20 jours" in entries[1]
    # English calls in the French edition, each marked as such.
    assert "(en anglais)" in entries[0]
    ics = doc.cssselect('link[type="text/calendar"]')[0].get("href")
    assert ics == "/feed.ics?lang=fr&kind=call"


async def test_an_undated_item_shows_since_when_it_is_listed(
    client: TestClient[Any, Any], store: Store
) -> None:
    dated = make_item(title="Dated news", published=date(2025, 2, 14))
    undated = make_item(title="Undated guide", kind="publication", published=None)
    # first seen at 23:30 UTC: already 3 March in Brussels, the site's time zone
    await store.upsert_items([dated, undated], now=datetime(2025, 3, 2, 23, 30, tzinfo=UTC))
    doc = await page(client, "/")
    metas = {
        a.cssselect("h3")[0].text_content().strip(): a.cssselect(".meta")[0]
        for a in doc.cssselect("article.item")
    }
    assert list(metas) == ["Undated guide", "Dated news"]
    assert "listed since March 3, 2025" in metas["Undated guide"].text_content()
    assert [t.get("datetime") for t in metas["Undated guide"].cssselect("time")] == ["2025-03-03"]
    assert "listed since" not in metas["Dated news"].text_content()
    assert "February 14, 2025" in metas["Dated news"].text_content()
    fr = await page(client, "/?hl=fr")
    assert (
        "répertorié depuis le 3 mars 2025" in fr.cssselect("article.item .meta")[0].text_content()
    )


async def test_calls_page_shows_the_recently_closed_below_the_open(
    client: TestClient[Any, Any], store: Store
) -> None:
    today = _today().date()
    open_call = make_item(kind="call", title="Open", deadline=Deadline(today + timedelta(days=5)))
    recent = [
        make_item(kind="call", title=f"Closed {n} days ago", deadline=Deadline(date_ago(n)))
        for n in (3, 80)
    ]
    long_ago = make_item(kind="call", title="Closed long ago", deadline=Deadline(date_ago(200)))
    await store.upsert_items([open_call, *recent, long_ago])
    doc = await page(client, "/calls?hl=fr")
    (still_open,) = [
        " ".join(li.text_content().split()) for li in doc.cssselect("section.calls li")
    ]
    assert still_open.startswith("Open") and still_open.endswith("clôture dans 5 jours")
    assert doc.cssselect("#closed-heading")[0].text_content() == "Clôturés récemment"
    closed = [
        " ".join(li.text_content().split()) for li in doc.cssselect("section.closed-calls li")
    ]
    # English calls in the French edition, each marked as such.
    assert [c.split(" Date limite")[0] for c in closed] == [
        "Closed 3 days ago (en anglais) · Détails",
        "Closed 80 days ago (en anglais) · Détails",
    ]
    assert all(c.endswith("— clos") for c in closed)


async def test_calls_page_shows_every_call_closed_lately_even_beyond_five(
    client: TestClient[Any, Any], store: Store
) -> None:
    days = (*range(1, 8), 120)
    await store.upsert_items(
        [
            make_item(kind="call", title=f"Closed {n} days ago", deadline=Deadline(date_ago(n)))
            for n in days
        ]
    )
    doc = await page(client, "/calls?hl=en")
    titles = [a.text_content() for a in doc.cssselect("section.closed-calls li > a[hreflang]")]
    assert titles == [f"Closed {n} days ago" for n in range(1, 8)]


async def test_closed_calls_are_listed_from_the_pages_edition(
    client: TestClient[Any, Any], store: Store
) -> None:
    """A closed call in English and French shows once on /calls: in French on the French
    page, linking its English version, and in English on the English page."""
    link = "https://www.wcoomd.org/{}/about-us/vacancies/call.aspx"
    closed = Deadline(date_ago(10))
    english = make_item(
        guid=link.format("en"), url=link.format("en"), kind="call", title="Call", deadline=closed
    )
    french = make_item(
        guid=link.format("fr"),
        url=link.format("fr"),
        kind="call",
        title="Appel",
        language="fr",
        deadline=closed,
    )
    await store.upsert_items([english, french])
    doc = await page(client, "/calls?hl=fr")
    (entry,) = doc.cssselect("section.closed-calls li")
    assert entry.cssselect("a")[0].text_content() == "Appel"
    assert not entry.cssselect(".language-note")
    (version,) = entry.cssselect(".versions a")
    assert (version.get("href"), version.get("hreflang")) == (english.url, "en")
    doc = await page(client, "/calls?hl=en")
    titles = [
        li.cssselect("a")[0].text_content() for li in doc.cssselect("section.closed-calls li")
    ]
    assert titles == ["Call"]


async def test_calls_page_with_none_closed_lately_shows_the_last_to_close(
    client: TestClient[Any, Any], store: Store
) -> None:
    calls = [
        make_item(kind="call", title=f"Closed {n} days ago", deadline=Deadline(date_ago(n)))
        for n in range(100, 107)
    ]
    await store.upsert_items(calls)
    doc = await page(client, "/calls")
    assert "No call for applications is open right now." in doc.text_content()
    assert doc.cssselect("#closed-heading")[0].text_content() == "The last calls to close"
    closed = [
        " ".join(li.text_content().split()) for li in doc.cssselect("section.closed-calls li")
    ]
    assert [c.split(" Deadline")[0] for c in closed] == [
        f"Closed {n} days ago · Details" for n in range(100, 105)
    ]
    day = date_ago(100)
    assert closed[0].endswith(f"Deadline: {day:%B} {day.day}, {day.year} — closed")


async def test_month_and_approximate_deadlines_claim_no_day(
    client: TestClient[Any, Any], store: Store
) -> None:
    year = _today().year + 1
    month = make_item(
        kind="call", title="Month", deadline=Deadline(date(year, 3, 31), precision="month")
    )
    approximate = make_item(
        kind="call",
        title="Approximate",
        deadline=Deadline(date(year, 7, 20), precision="approximate", wording=f"mid-July {year}"),
    )
    await store.upsert_items([month, approximate])
    doc = await page(client, "/calls?hl=fr")
    entries = [li.text_content() for li in doc.cssselect("section.calls li")]
    assert "Month" in entries[0] and f"mars {year}" in entries[0]
    assert "31 mars" not in entries[0] and "au plus tard" in entries[0]
    assert "Approximate" in entries[1] and f"mid-July {year}" in entries[1]
    assert "20 juillet" not in entries[1] and "au plus tard" in entries[1]


async def test_stylesheet_is_served(client: TestClient[Any, Any]) -> None:
    response = await client.get("/static/style.css")
    assert response.status == 200 and "grid-template-columns" in await response.text()


async def test_every_link_keeps_the_interface_language(
    client: TestClient[Any, Any], store: Store
) -> None:
    today = _today()
    items = [
        make_item(published=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n))
        for n in range(25)
    ]
    items.append(
        make_item(
            kind="call", topics=("origin",), deadline=Deadline((today + timedelta(days=9)).date())
        )
    )
    await store.upsert_items(items)
    for path in ("/?hl=es", "/calls?hl=es", "/?hl=es&topic=origin", "/?hl=es&page=2"):
        doc = await page(client, path)
        switcher = set(doc.cssselect("nav.languages a"))
        checked = 0
        for link in doc.cssselect("a[href]"):
            href = link.get("href")
            target = urlsplit(href)
            if link in switcher or target.scheme or href.startswith("#"):
                continue
            if target.path.startswith(("/feed.", "/static/")):
                continue
            if target.path.startswith("/feeds/"):
                assert target.path == "/feeds/index.es.html", href
            else:
                assert ("hl", "es") in parse_qsl(target.query), href
            checked += 1
        assert checked >= 5, path
        assert english_leftovers(doc.itertext(), "es") == [], path


async def test_closing_words_count_calendar_days_in_the_site_zone(
    client: TestClient[Any, Any], store: Store
) -> None:
    today = _today().date()
    calls = [
        make_item(kind="call", title=f"In {n}", deadline=Deadline(today + timedelta(days=n)))
        for n in (0, 1, 2, 3)
    ]
    await store.upsert_items(calls)
    doc = await page(client, "/calls?hl=ru")
    closes = [s.text for s in doc.cssselect("section.calls li strong")]
    assert closes == [
        "срок истекает сегодня",
        "срок истекает завтра",
        "срок истекает через 2 дня",
        "срок истекает через 3 дня",
    ]
    # The English title of a call in a Russian page says it is English, and its direction.
    title = doc.cssselect("section.calls li a")[0]
    assert (title.get("lang"), title.get("dir")) == ("en", "ltr")


async def test_a_page_lists_its_languages_edition(
    client: TestClient[Any, Any], store: Store
) -> None:
    """One item in English and French, one in English only: the French page shows the
    first in French, linking the English version, and the second in English, marked."""
    link = "https://www.wcoomd.org/{}/media/forum.aspx"
    english = make_item(
        guid=link.format("en"),
        url=link.format("en"),
        title="Origin forum",
        topics=("origin",),
        published=date(2025, 1, 3),
    )
    french = make_item(
        guid=link.format("fr"),
        url=link.format("fr"),
        title="Forum sur l’origine",
        language="fr",
        topics=("origin",),
        published=date(2025, 1, 3),
    )
    only_english = make_item(title="Capacity building mission", published=date(2025, 1, 2))
    await store.upsert_items([english, french, only_english])

    doc = await page(client, "/?hl=fr")
    entries = doc.cssselect("article.item")
    assert [e.cssselect("h3")[0].text_content().strip() for e in entries] == [
        "Forum sur l’origine",
        "Capacity building mission",
    ]
    assert [e.cssselect("h3")[0].get("lang") for e in entries] == ["fr", "en"]
    assert not entries[0].cssselect(".language-note")
    assert entries[1].cssselect(".language-note")[0].text_content() == "(en anglais)"
    (version,) = entries[0].cssselect(".versions a")
    assert (version.get("href"), version.get("hreflang"), version.text) == (
        english.url,
        "en",
        "English",
    )
    assert "Aussi en\u00a0:" in entries[0].cssselect(".versions")[0].text_content()
    atom = doc.cssselect('link[type="application/atom+xml"]')[0].get("href")
    assert atom == "/feed.atom?lang=fr"

    english_page = await page(client, "/?hl=en")
    titles = [h.text_content().strip() for h in english_page.cssselect("article.item h3")]
    assert titles == ["Origin forum", "Capacity building mission"]
    assert english_page.cssselect(".versions a")[0].get("hreflang") == "fr"

    # The strict filter: French content only, whatever the page's language.
    strict = await page(client, "/?hl=en&content_lang=fr")
    titles = [h.text_content().strip() for h in strict.cssselect("article.item h3")]
    assert titles == ["Forum sur l’origine"]
    assert strict.cssselect("#content_lang option[selected]")[0].get("value") == "fr"
    arabic = await page(client, "/?hl=ar")
    notes = [n.text_content() for n in arabic.cssselect(".language-note")]
    assert notes == ["(باللغة الإنجليزية)", "(باللغة الإنجليزية)"]
    # Another edition than the page's language: named by lang=, kept by the filter form.
    other = await page(client, "/?hl=ar&lang=fr")
    assert other.cssselect('form.filters input[name="lang"]')[0].get("value") == "fr"
    assert len(other.cssselect(".language-note")) == 2  # French and English, in Arabic
