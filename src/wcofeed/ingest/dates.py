"""Dates as the WCO prints them, in en, fr, es, ru, zh and ar.

A fast path reads the common forms ("30 октября 2020", "14 février 2025", "2025年2月14日",
"30th march 2025", ISO, "14/02/2025") with one regex and a month table; anything else
goes to dateparser restricted to the page's language. Results are cached by string:
list pages repeat the same dates. A year outside `MIN_YEAR..now+10` is refused rather
than guessed, so a stray number never lands an item in the wrong century.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from functools import lru_cache

import dateparser

MIN_YEAR = 1950
_MONTHS: dict[str, int] = {}


def _months(*groups: tuple[int, tuple[str, ...]]) -> None:
    for number, names in groups:
        for name in names:
            _MONTHS[name] = number


_months(
    (
        1,
        (
            "january",
            "jan",
            "janvier",
            "janv",
            "enero",
            "ene",
            "января",
            "январь",
            "январе",
            "янв",
            "يناير",
            "كانون الثاني",
        ),
    ),
    (
        2,
        (
            "february",
            "feb",
            "février",
            "fevrier",
            "févr",
            "febrero",
            "feb",
            "февраля",
            "февраль",
            "феврале",
            "фев",
            "فبراير",
            "شباط",
        ),
    ),
    (3, ("march", "mar", "mars", "marzo", "марта", "март", "марте", "مارس", "آذار")),
    (
        4,
        (
            "april",
            "apr",
            "avril",
            "avr",
            "abril",
            "abr",
            "апреля",
            "апрель",
            "апреле",
            "апр",
            "أبريل",
            "ابريل",
            "نيسان",
        ),
    ),
    (5, ("may", "mai", "mayo", "мая", "май", "мае", "مايو", "أيار")),
    (6, ("june", "jun", "juin", "junio", "июня", "июнь", "июне", "يونيو", "حزيران")),
    (7, ("july", "jul", "juillet", "juil", "julio", "июля", "июль", "июле", "يوليو", "تموز")),
    (
        8,
        (
            "august",
            "aug",
            "août",
            "aout",
            "agosto",
            "ago",
            "августа",
            "август",
            "августе",
            "авг",
            "أغسطس",
            "آب",
        ),
    ),
    (
        9,
        (
            "september",
            "sep",
            "sept",
            "septembre",
            "septiembre",
            "setiembre",
            "сентября",
            "сентябрь",
            "сентябре",
            "сен",
            "سبتمبر",
            "أيلول",
        ),
    ),
    (
        10,
        (
            "october",
            "oct",
            "octobre",
            "octubre",
            "октября",
            "октябрь",
            "октябре",
            "окт",
            "أكتوبر",
            "اكتوبر",
            "تشرين الأول",
        ),
    ),
    (
        11,
        (
            "november",
            "nov",
            "novembre",
            "noviembre",
            "ноября",
            "ноябрь",
            "ноябре",
            "ноя",
            "نوفمبر",
            "تشرين الثاني",
        ),
    ),
    (
        12,
        (
            "december",
            "dec",
            "décembre",
            "decembre",
            "déc",
            "diciembre",
            "dic",
            "декабря",
            "декабрь",
            "декабре",
            "дек",
            "ديسمبر",
            "كانون الأول",
        ),
    ),
)
#: Every month name and abbreviation above, as a regex alternation (longest first).
MONTH_NAMES = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
#: Day-of-month suffixes: "30th", "1er", "1º".
ORDINAL = r"(?:st|nd|rd|th|er|ᵉʳ|e|º|°)?"
#: Arabic-Indic and Persian digits -> ASCII, one character for one (positions are kept).
EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(\d{{1,2}}){ORDINAL}\.?\s+(?:de\s+)?({MONTH_NAMES})\.?,?\s+(?:de\s+)?(\d{{4}})(?:\s*\u0433\.?)?",
    re.IGNORECASE,
)
_MONTH_DAY_YEAR = re.compile(
    rf"\b({MONTH_NAMES})\.?\s+(\d{{1,2}}){ORDINAL},?\s+(\d{{4}})", re.IGNORECASE
)
_DAY_MONTH = re.compile(
    rf"(?<!\d)(\d{{1,2}}){ORDINAL}\.?\s+(?:de\s+)?({MONTH_NAMES})\b\.?", re.IGNORECASE
)
_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CJK_NO_YEAR = re.compile(r"(?<!年)(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{4})(?!\d)")
#: Longest date text read (and quoted in warnings).
TEXT_MAX = 200
_DATEPARSER_LANGS = {"en", "fr", "es", "ru", "zh", "ar"}


def month_number(name: str) -> int:
    """1-12 for a month name or abbreviation matched by `MONTH_NAMES` (any case)."""
    return _MONTHS[name.lower()]


def checked_date(year: int, month: int, day: int, today: date) -> date | None:
    """The date, or None when it does not exist or its year is implausible (see above)."""
    if not MIN_YEAR <= year <= today.year + 10:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(text: str, language: str = "en", today: date | None = None) -> date | None:
    """The first full date in `text` (day, month and year), or None. Only the first
    `TEXT_MAX` characters are read: no date is longer, and dateparser takes seconds on
    a 100 KB string."""
    text = text.strip()[:TEXT_MAX].lower()
    return _parse(text, language.split("-")[0], today or date.today())


@lru_cache(maxsize=4096)
def _parse(text: str, language: str, today: date) -> date | None:
    text = text.translate(EASTERN_DIGITS)
    fast = _fast(text, today)
    if fast is not None or not text:
        return fast
    return _slow(text, language, today)


def _fast(text: str, today: date) -> date | None:
    if m := _DAY_MONTH_YEAR.search(text):
        return checked_date(int(m[3]), _MONTHS[m[2].lower()], int(m[1]), today)
    if m := _MONTH_DAY_YEAR.search(text):
        return checked_date(int(m[3]), _MONTHS[m[1].lower()], int(m[2]), today)
    if m := _CJK.search(text):
        return checked_date(int(m[1]), int(m[2]), int(m[3]), today)
    if m := _ISO.search(text):
        return checked_date(int(m[1]), int(m[2]), int(m[3]), today)
    if m := _NUMERIC.search(text):
        return checked_date(int(m[3]), int(m[2]), int(m[1]), today)
    return None


def _slow(text: str, language: str, today: date) -> date | None:
    languages = [language] if language in _DATEPARSER_LANGS else None
    with warnings.catch_warnings():
        # dateparser trips over its own regex and pytz deprecations on some inputs.
        warnings.simplefilter("ignore")
        parsed = dateparser.parse(
            text,
            languages=languages,
            settings={"REQUIRE_PARTS": ["day", "month", "year"], "DATE_ORDER": "DMY"},
        )
    if parsed is None:
        return None
    return checked_date(parsed.year, parsed.month, parsed.day, today)


def parse_day_month(text: str) -> tuple[int, int] | None:
    """(month, day) of a date printed without a year ("14 february", "2月14日")."""
    lowered = text.lower().translate(EASTERN_DIGITS)
    if m := _DAY_MONTH.search(lowered):
        return _MONTHS[m[2].lower()], int(m[1])
    if m := _CJK_NO_YEAR.search(lowered):
        return int(m[1]), int(m[2])
    return None


def next_occurrence(month: int, day: int, after: date) -> date | None:
    """The first `month`/`day` on or after `after` (29 February waits for a leap year)."""
    for year in range(after.year, after.year + 5):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= after:
            return candidate
    return None
