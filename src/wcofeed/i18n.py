"""Localised words and dates for feeds, pages and emails.

Each part keeps its own `Catalog` of messages (publish, digest, web), so translations
sit beside the code that shows them. Lookup falls back to English, per message, so a
half-translated language still reads whole. Dates and "in 3 days" come from babel.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_date
from babel.dates import format_skeleton, format_timedelta

from wcofeed.models import Deadline

FALLBACK = "en"


class Catalog:
    """Messages per language: `{"en": {"key": "Text {name}"}, "fr": {...}}`."""

    def __init__(self, messages: Mapping[str, Mapping[str, str]]) -> None:
        if FALLBACK not in messages:
            raise ValueError("a catalog needs English messages")
        self._messages = messages

    def get(self, language: str, key: str, **values: object) -> str:
        """The message in `language` (or English), with `{name}` fields filled."""
        base = language.split("-")[0].lower()
        text = self._messages.get(base, {}).get(key) or self._messages[FALLBACK][key]
        return text.format(**values) if values else text

    def keys(self, language: str) -> set[str]:
        return set(self._messages.get(language, {}))


def format_day(value: date | datetime, language: str, form: str = "long") -> str:
    """`14 February 2025`, `14 février 2025`, `2025年2月14日`…"""
    day = value.date() if isinstance(value, datetime) else value
    return _babel_date(day, format=form, locale=_locale(language))


def format_deadline_day(deadline: Deadline, language: str) -> str:
    """The day a call closes, no more exact than its source: `14 February 2025`; `March
    2025` (`mars 2025`…) for a month; the source's own words ("mid-July 2026") for an
    approximate deadline, never the made-up day it is scheduled on."""
    if deadline.precision == "approximate" and deadline.wording:
        return deadline.wording
    if deadline.precision != "day":
        return format_skeleton("yMMMM", deadline.day, locale=_locale(language))
    return format_day(deadline.day, language)


def format_in(delta: timedelta, language: str) -> str:
    """`in 3 days`, `dans 3 jours`…, for a deadline ahead; always counted in days."""
    # babel picks the largest unit reaching `threshold`; one this high keeps days.
    return format_timedelta(
        delta, granularity="day", threshold=100_000, add_direction=True, locale=_locale(language)
    )


def _locale(language: str) -> str:
    return language.replace("-", "_") if language else FALLBACK


def language_name(language: str, in_language: str | None = None) -> str:
    """`français` (in its own words by default), `French` (named in English): from babel."""
    try:
        locale = Locale.parse(_locale(language))
        name = locale.get_display_name(_locale(in_language or language))
    except (UnknownLocaleError, ValueError):
        return language
    return name or language
