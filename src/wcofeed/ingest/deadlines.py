"""Deadlines of calls, from the line that announces them, in any WCO language.

"📅 deadline: 14 february 2025", "Deadline: 30th march 2025 - details", "date limite :
14 février 2025 à 17h00 (heure de Bruxelles)", "срок подачи заявок: 1 марта 2025",
"截止日期: 2025年2月14日". A time and zone are kept when printed; a date without a year
is the next occurrence on or after the page's date.
"""

from __future__ import annotations

import re
from datetime import date, time

from wcofeed.ingest.dates import next_occurrence, parse_date, parse_day_month
from wcofeed.models import Deadline

_LABELS = (
    "deadline for applications",
    "application deadline",
    "deadline",
    "closing date",
    "apply by",
    "date limite de candidature",
    "date limite",
    "délai",
    "date de clôture",
    "fecha límite",
    "plazo",
    "fecha de cierre",
    "срок подачи заявок",
    "крайний срок",
    "срок подачи",
    "截止日期",
    "截止时间",
    "申请截止",
    "الموعد النهائي",
    "آخر موعد",
)
_LABEL = re.compile(
    "(?:" + "|".join(re.escape(label) for label in _LABELS) + r")\s*[:\uff1a]?\s*", re.IGNORECASE
)
_CLOCK = re.compile(
    r"(?<![\d.])([01]?\d|2[0-3])\s*(?:[:h]\s*([0-5]\d)|h(?!\w))\s*(am|pm)?|"
    r"(?<![\d.])(1[0-2]|0?\d)\s*(am|pm|a\.m\.|p\.m\.)",
    re.IGNORECASE,
)
_ZONES = (
    (re.compile(r"\b(?:utc|gmt|temps universel)\b", re.IGNORECASE), "UTC"),
    (
        re.compile(r"\b(?:cet|cest|brussels|bruxelles|bruselas)\b|брюссел", re.IGNORECASE),
        "Europe/Brussels",
    ),
    (re.compile(r"\b(?:jst|tokyo)\b", re.IGNORECASE), "Asia/Tokyo"),
)


def find_deadline_text(text: str) -> str | None:
    """The part of `text` after a deadline label, or None when there is no label."""
    lowered = text.lower()
    if not any(label in lowered for label in _LABELS):
        return None  # the common case, checked without the regex
    match = _LABEL.search(text)
    return text[match.end() :] if match else None


def parse_deadline(text: str, language: str, page_date: date) -> Deadline | None:
    """A deadline from a deadline line (label optional), or None if it holds no date."""
    rest = find_deadline_text(text)
    body = rest if rest is not None else text
    day = parse_date(body, language, today=page_date)
    if day is None:
        month_day = parse_day_month(body)
        if month_day is None:
            return None
        day = next_occurrence(*month_day, after=page_date)
        if day is None:
            return None
    at = _clock(body)
    return Deadline(day, at, _zone(body) if at else None)


def _clock(text: str) -> time | None:
    for match in _CLOCK.finditer(text):
        if match[1] is not None:
            hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
        else:
            hour, minute, half = int(match[4]), 0, match[5]
        if half and half.lower().startswith("p") and hour < 12:
            hour += 12
        elif half and half.lower().startswith("a") and hour == 12:
            hour = 0
        return time(hour, minute)
    return None


def _zone(text: str) -> str | None:
    for pattern, zone in _ZONES:
        if pattern.search(text):
            return zone
    return None
