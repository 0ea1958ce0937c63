"""Dates and deadlines as the WCO prints them in its six languages."""

from __future__ import annotations

from datetime import date, time

import pytest

from wcofeed.ingest.dates import next_occurrence, parse_date
from wcofeed.ingest.deadlines import parse_deadline
from wcofeed.models import Deadline

TODAY = date(2025, 2, 15)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("30 октября 2020", "ru", date(2020, 10, 30)),
        ("03 декабря 2018", "ru", date(2018, 12, 3)),
        ("13 february 2025", "en", date(2025, 2, 13)),
        ("14 février 2025", "fr", date(2025, 2, 14)),
        ("2025年2月14日", "zh", date(2025, 2, 14)),
        ("30th march 2025", "en", date(2025, 3, 30)),
        ("14 de febrero de 2025", "es", date(2025, 2, 14)),
        ("14 فبراير 2025", "ar", date(2025, 2, 14)),
        ("١٤ فبراير ٢٠٢٥", "ar", date(2025, 2, 14)),
        ("2025-02-14", "en", date(2025, 2, 14)),
        ("2025-02-14T10:00:00Z", "en", date(2025, 2, 14)),
        ("14/02/2025", "fr", date(2025, 2, 14)),
        ("14.02.2025", "ru", date(2025, 2, 14)),
        ("February 14, 2025", "en", date(2025, 2, 14)),
        ("14 de febrero del 2025", "es", date(2025, 2, 14)),  # dateparser path
    ],
)
def test_printed_forms(text: str, language: str, expected: date) -> None:
    assert parse_date(text, language, today=TODAY) == expected


@pytest.mark.parametrize("text", ["30 October 1820", "12 Sep 2099", "31 февраля 2020", "soon", ""])
def test_refused_rather_than_guessed(text: str) -> None:
    assert parse_date(text, "ru", today=TODAY) is None


def test_next_occurrence_waits_for_leap_year() -> None:
    assert next_occurrence(2, 29, date(2025, 3, 1)) == date(2028, 2, 29)
    assert next_occurrence(3, 2, date(2025, 2, 10)) == date(2025, 3, 2)
    assert next_occurrence(1, 5, date(2025, 2, 10)) == date(2026, 1, 5)


@pytest.mark.parametrize(
    ("line", "language", "expected"),
    [
        ("📅 deadline: 14 february 2025", "en", Deadline(date(2025, 2, 14))),
        ("🗓️ deadline: 30th march 2025 - details", "en", Deadline(date(2025, 3, 30))),
        ("Deadline: 30th march 2025 - details", "en", Deadline(date(2025, 3, 30))),
        ("date limite : 14 février 2025", "fr", Deadline(date(2025, 2, 14))),
        ("срок подачи заявок: 1 марта 2025", "ru", Deadline(date(2025, 3, 1))),
        ("截止日期\uff1a2025年3月1日", "zh", Deadline(date(2025, 3, 1))),
        ("fecha límite: 14 de marzo de 2025", "es", Deadline(date(2025, 3, 14))),
        ("الموعد النهائي: 14 مارس 2025", "ar", Deadline(date(2025, 3, 14))),
        (
            "Deadline: 14 March 2025, 23:59 CET",
            "en",
            Deadline(date(2025, 3, 14), time(23, 59), "Europe/Brussels"),
        ),
        (
            "deadline: 5 March 2025 at 5 pm UTC",
            "en",
            Deadline(date(2025, 3, 5), time(17, 0), "UTC"),
        ),
        ("deadline: 24 march", "en", Deadline(date(2025, 3, 24))),
        ("deadline: 10 january", "en", Deadline(date(2026, 1, 10))),
    ],
)
def test_deadline_lines(line: str, language: str, expected: Deadline) -> None:
    assert parse_deadline(line, language, TODAY) == expected


def test_deadline_without_a_date() -> None:
    assert parse_deadline("deadline: to be announced", "en", TODAY) is None
