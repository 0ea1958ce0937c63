"""Text repair, content language, topics, call cues and identity."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from urllib.parse import quote, urljoin, urlsplit

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wcofeed.config import TopicSettings, load_settings
from wcofeed.ingest.identity import absolute_url, canonical_url, make_guid
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.language import (
    content_language,
    declared_language,
    detect_language,
    fallback_language,
)
from wcofeed.ingest.text import PageRepair, clean, strip_forbidden
from wcofeed.ingest.topics import TopicMatcher
from wcofeed.markup import html_to_text, sanitise_html

from .conftest import REPO


def test_page_repair_fixes_short_mojibake_with_page_context() -> None:
    page = "üìÖ deadline: 14 february 2025\nfrench : fran√ßais\nwco news n¬∞105"
    repair = PageRepair.for_page(page)
    assert repair.fix("üìÖ deadline") == "📅 deadline"
    assert repair.fix("üóìÔ∏è deadline") == "🗓️ deadline"
    assert repair.fix("fran√ßais") == "français"


def test_clean_removes_forbidden_characters_and_squashes() -> None:
    assert clean("  A\x00 title\x0b with\u00a0 \n spaces\x81 ") == "A title with spaces"
    assert strip_forbidden("ok\ufffe\x1f") == "ok"


def test_sanitise_html_keeps_text_drops_script() -> None:
    html = '<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:x">j</a></p>'
    safe = sanitise_html(html)
    assert "script" not in safe and "onclick" not in safe and "javascript" not in safe
    assert html_to_text(safe) == "Hi j"


@pytest.mark.parametrize(
    ("notice", "language"),
    [
        ("所选语言本页无任何内容 Chinese : 中文 因此返回到 English : English", "en"),
        (
            "Эта страница не доступна на выбранном вами языке Russian : русский, "
            "поэтому предлагаем вернуться к версии English : English",
            "en",
        ),
        (
            "Cette page n'est pas disponible dans la langue choisie Spanish : español, "
            "retour à la version French : français",
            "fr",
        ),
        (
            "Esta página no está disponible en el idioma seleccionado Arabic, "
            "volviendo a la versión English",
            "en",
        ),
        ("هذه الصفحة غير متوفرة باللغة المختارة، العودة إلى النسخة English", "en"),
    ],
)
def test_fallback_notices(notice: str, language: str) -> None:
    assert fallback_language(f"header {notice} body") == language


def test_no_fallback_notice() -> None:
    assert fallback_language("Пресс-центр 30 октября 2020") is None


def test_declared_and_detected_language() -> None:
    assert declared_language("fr-BE", "https://x.org/") == "fr"
    assert declared_language(None, "https://www.wcoomd.org/es/media.aspx") == "es"
    assert declared_language(None, "https://x.org/news") is None
    english = "The World Customs Organization held a workshop on rules of origin in Cameroon."
    assert content_language(english, "ru") == "en"  # script contradicts the interface
    assert content_language("Всемирная таможенная организация провела семинар", "ru") == "ru"
    french = "L'Organisation mondiale des douanes a tenu un atelier régional."
    assert detect_language(french) == "fr"
    assert detect_language("ok") is None


def test_topics_match_whole_words_and_defaults() -> None:
    matcher = TopicMatcher(
        {
            "origin": TopicSettings(labels={"en": "Origin"}, keywords=["rules of origin"]),
            "valuation": TopicSettings(labels={"en": "Valuation"}, keywords=["valuation", "TCCV"]),
        }
    )
    assert matcher.match("New RULES OF ORIGIN guide", ["research"]) == ("origin", "research")
    assert matcher.match("50th session of the tccv") == ("valuation",)
    assert matcher.match("devaluations") == ()
    assert matcher.match("rules for origin; origin rules") == ()
    assert matcher.match("the rules of originality") == ()
    assert matcher.match("rules, of: origin!") == ("origin",)


def test_call_cues_by_language_and_config() -> None:
    kinds = KindGuesser({"en": ["expression of interest"]})
    assert kinds.is_call("Appel à candidatures : bourses", ["fr"])
    assert kinds.is_call("Call for expression of interest", ["en"])
    assert not kinds.is_call("Mercator Programme news", ["en"])
    assert kinds.guess(cue_text="x", languages=["en"], has_deadline=True, default="news") == "call"
    assert (
        kinds.guess(
            cue_text="vacancy", languages=["en"], has_deadline=False, default="news", forced="event"
        )
        == "event"
    )


def test_canonical_guid() -> None:
    url = "HTTPS://WWW.WCOOMD.ORG:443/en/a.aspx?id=3&utm_source=x&fbclid=y#details"
    assert canonical_url(url) == "https://www.wcoomd.org/en/a.aspx?id=3"
    assert make_guid(url, "s", "T", None) == "https://www.wcoomd.org/en/a.aspx?id=3"
    no_link = make_guid("", "s", "Title", date(2025, 1, 1))
    assert no_link.startswith("urn:wcofeed:")
    assert no_link == make_guid(None, "s", "TITLE", date(2025, 1, 1))
    assert no_link != make_guid(None, "s", "Title", date(2025, 1, 2))


LINKS = [
    "/en/media/newsroom/2025/item-1.aspx",
    "/a;b?x=1&utm_source=y#top",
    "/a/../b",
    "/./x",
    "//other.example.org/x",
    "/a\\b",
    "/ünïcode/päge",
    "/a\x01b",
    "relative/page",
    "?q=1",
    "#frag",
    "/",
    "/a//b",
]
BASES = [
    "https://www.wcoomd.org/en/media/newsroom.aspx",
    "HTTP://WWW.Example.ORG:80/a/b?c#d",
    "https://user:pw@example.org:8443/x",
    "/srv/samples/page.html",
    "file:///srv/samples/page.html",
    "http://[::1",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("href", LINKS)
def test_root_relative_links_resolve_as_urljoin_does(base: str, href: str) -> None:
    expected = ""
    with contextlib.suppress(ValueError):
        joined = urljoin(base, href)
        if urlsplit(joined).scheme.lower() in ("http", "https", ""):
            expected = re.sub("[\x00-\x1f\x7f-\x9f]", lambda m: quote(m[0], safe=""), joined)
    assert absolute_url(href, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://www.wcoomd.org/en/media/newsroom/2025/item-1.aspx",
        "HTTP://Example.ORG:80/A/b",
        "https://example.org:443",
        "https://example.org:8443/x",
        "http://example.org/a?utm_source=x&b=1#f",
        "http://[::1]/x",
        "http://[::1",
        " http://example.org/x ",
        "http://user:PW@Example.org/x",
        "http://example.org/ä",
        "http://example.org/a\tb",
    ],
)
def test_plain_links_are_canonical_as_urllib_makes_them(url: str) -> None:
    try:
        expected = canonical_url(url)
    except ValueError:
        expected = make_guid(None, "s", "t", None)
    assert make_guid(url, "s", "t", None) == expected


SHIPPED_TOPICS = load_settings(REPO / "config.toml", env={}).topics
SHIPPED_KEYWORDS = sorted({k for t in SHIPPED_TOPICS.values() for k in t.keywords})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(SHIPPED_KEYWORDS)
        | st.text(alphabet="abcxyzRULES_-., 09\t\n()'", max_size=8),
        max_size=12,
    ),
    st.sampled_from([" ", "", "-", ", ", "_", "\n"]),
)
def test_ascii_text_is_matched_as_the_word_pattern_matches_it(
    parts: list[str], separator: str
) -> None:
    text = separator.join(parts)
    matcher = TopicMatcher(SHIPPED_TOPICS)
    assume(text.isascii())
    assert matcher.match(text, ["x"]) == matcher._match_text(text, {"x"})
