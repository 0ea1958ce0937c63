"""Words, days and directions: the catalogs as the code reads them, calendar-day
counting, language negotiation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from wcofeed.i18n import (
    Message,
    closing_phrase,
    closing_when,
    days_left,
    direction,
    negotiate,
    site_title,
    texts,
)
from wcofeed.models import Deadline

BRUSSELS = ZoneInfo("Europe/Brussels")


def test_a_call_closing_at_the_end_of_14_february_closes_in_2_days_on_the_12th() -> None:
    closes_at = Deadline(date(2025, 2, 14)).closes_at()
    now = datetime(2025, 2, 12, 8, 0, tzinfo=BRUSSELS)
    assert days_left(closes_at, now, "Europe/Brussels") == 2
    assert closing_phrase(2, "en") == "closes in 2 days"
    # Late on the 13th it closes tomorrow, whatever the hours left.
    assert days_left(closes_at, datetime(2025, 2, 13, 23, 30, tzinfo=BRUSSELS), "UTC") == 1
    # In Tokyo the end of the 14th in Brussels is the morning of the 15th.
    assert days_left(closes_at, now, "Asia/Tokyo") == 3


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("closes today", "closes tomorrow", "closes in 5 days", "closed")),
        ("fr", ("clôture aujourd’hui", "clôture demain", "clôture dans 5 jours", "clos")),
        ("es", ("cierra hoy", "cierra mañana", "cierra dentro de 5 días", "cerrada")),
        (
            "ru",
            (
                "срок истекает сегодня",
                "срок истекает завтра",
                "срок истекает через 5 дней",
                "срок истёк",
            ),
        ),
        ("zh", ("今天截止", "明天截止", "5 天后截止", "已截止")),
        ("ar", ("تُغلق اليوم", "تُغلق غدًا", "تُغلق بعد 5 أيام", "مغلقة")),
    ],
)
def test_closing_words(language: str, words: tuple[str, str, str, str]) -> None:
    assert tuple(closing_phrase(days, language) for days in (0, 1, 5, -1)) == words


@pytest.mark.parametrize(
    ("days", "text"),
    [(2, "через 2 дня"), (5, "через 5 дней"), (21, "через 21 день"), (22, "через 22 дня")],
)
def test_russian_plural_forms(days: int, text: str) -> None:
    assert closing_when(days, "ru") == text


@pytest.mark.parametrize(
    ("days", "text"),
    [(2, "بعد يومين"), (3, "بعد 3 أيام"), (11, "بعد 11 يومًا"), (100, "بعد 100 يوم")],
)
def test_arabic_plural_forms(days: int, text: str) -> None:
    assert closing_when(days, "ar") == text


def test_a_language_without_a_catalog_reads_in_english() -> None:
    assert texts("pt").gettext("Apply") == "Apply"
    assert texts("fr-CA").gettext("Apply") == "Appliquer"


def test_messages_are_put_into_words_late() -> None:
    message = Message("unknown topics: %(topics)s", {"topics": "x"})
    assert str(message) == "unknown topics: x"
    assert message.in_language("fr") == "thèmes inconnus\u00a0: x"


def test_site_title_is_translated_unless_configured() -> None:
    assert site_title("", "en") == "WCO news and calls"
    assert site_title("", "es") == "Noticias y convocatorias de la OMA"
    assert site_title("My feeds", "es") == "My feeds"


def test_directions() -> None:
    assert [direction(code) for code in ("en", "fr", "ar", "zh", "xx")] == [
        "ltr",
        "ltr",
        "rtl",
        "ltr",
        "ltr",
    ]


@pytest.mark.parametrize(
    ("header", "found"),
    [
        ("fr-CA,fr;q=0.9,en;q=0.8", "fr"),
        ("de, en;q=0.5, ar;q=0.9", "ar"),
        ("ar;q=0, en;q=0.1", "en"),
        ("de, it", None),
        ("", None),
        ("*;q=1, zh-Hans-CN;q=0.4", "zh"),
        ("fr;q=bad, es", "es"),
    ],
)
def test_accept_language(header: str, found: str | None) -> None:
    assert negotiate(header, ["en", "fr", "es", "ru", "zh", "ar"]) == found


def test_days_left_counts_in_the_readers_zone_not_utc() -> None:
    closes_at = datetime(2025, 2, 14, 22, 59, 59, tzinfo=UTC)
    now = datetime(2025, 2, 13, 23, 30, tzinfo=UTC)  # already the 14th in Brussels
    assert days_left(closes_at, now, "Europe/Brussels") == 0
    assert days_left(closes_at, now, "UTC") == 1
