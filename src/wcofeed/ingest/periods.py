"""Deadlines given as a month or a period, in en, fr, es, ru, zh and ar.

Each is kept at the latest day its words allow, with a precision and the words
themselves (`Period.wording`), which readers are shown instead of a made-up day:

- a month ("March 2025", "avril", "2025年4月", "أبريل 2025"): its last day, `month`;
- early / mid / end of a month ("end of March", "mi-juillet", "finales de junio",
  "середина июля", "3月下旬", "منتصف يوليو"): its first, second or last ten days, as
  Chinese 上旬 / 中旬 / 下旬 define them, so "mid-July" closes on 20 July; `approximate`;
- early / mid / end of a year: its first, second or last four months ("early 2026"
  closes on 30 April 2026); halves, quarters and seasons (northern, meteorological: spring
  is March to May; winter runs into the next year) close on their last day; `approximate`.

A period without a year is the next one that has not ended on the page's date.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from wcofeed.ingest.dates import MONTH_NAMES, month_number

_FIRST, _MID, _LAST = 0, 1, 2
_THIRDS = {
    **dict.fromkeys(
        ("early", "beginning", "start", "début", "principios", "inicios", "comienzos"), _FIRST
    ),
    **dict.fromkeys(("начало", "начале", "начала", "初", "上旬", "أوائل", "بداية", "مطلع"), _FIRST),
    **dict.fromkeys(("mid", "middle", "mi", "milieu", "mediados", "mitad"), _MID),
    **dict.fromkeys(("середина", "середине", "середины", "中旬", "中", "منتصف", "أواسط"), _MID),
    **dict.fromkeys(("end", "late", "close", "fin", "finales", "fines", "final"), _LAST),
    **dict.fromkeys(("конец", "конце", "конца", "下旬", "底", "末", "نهاية", "أواخر"), _LAST),
}
_QUALIFIER = (
    r"(?<!\w)(?:(?:the\s+)?(?P<q1>beginning|start|middle|end|close)\s+of(?:\s+the)?\s+"
    r"|(?P<q2>early|late|mid)(?:\s*-\s*|\s+)"
    r"|(?P<q3>début|mi|milieu|fin)(?:\s*-\s*|\s*d['’]\s*|\s+(?:de\s+|d['’]\s*)?)"
    r"|(?P<q4>principios|inicios|comienzos|mediados|mitad|finales|fines|final)\s+de\s+"
    r"|(?P<q5>начал[оеа]|середин[аеы]|кон(?:ец|це|ца))\s+"
    r"|(?P<q6>أوائل|بداية|مطلع|منتصف|أواسط|نهاية|أواخر)\s+(?:شهر\s+|عام\s+)?)"
)
_YEAR = r"(?P<year>\d{4})(?!\d)(?:\s*(?:г\.|года|год|г(?!\w)))?"
_OF_YEAR = rf"(?:\.?,?\s*(?:of\s+|de\s+|del\s+|d['’]\s*)?{_YEAR})"
_MONTH = rf"(?P<month>{MONTH_NAMES})(?!\w)"
# Seasons: the month they start in (northern hemisphere, meteorological).
_SEASONS = {
    **dict.fromkeys(("spring", "printemps", "primavera", "весна", "весной", "春季", "春"), 3),
    **dict.fromkeys(("الربيع", "ربيع"), 3),
    **dict.fromkeys(("summer", "été", "verano", "лето", "летом", "夏季", "夏", "الصيف", "صيف"), 6),
    **dict.fromkeys(("autumn", "fall", "automne", "otoño", "осень", "осенью", "秋季", "秋"), 9),
    **dict.fromkeys(("الخريف", "خريف"), 9),
    **dict.fromkeys(("winter", "hiver", "invierno", "зима", "зимой", "冬季", "冬", "الشتاء"), 12),
    "شتاء": 12,
}
_SEASON_WORDS = "|".join(
    sorted((re.escape(w) for w in _SEASONS if not "\u4e00" <= w[0] <= "\u9fff"), key=len)[::-1]
)
_ORDINALS = {
    **dict.fromkeys(("first", "1st", "premier", "1er", "primer", "primero", "перв", "一"), 1),
    **dict.fromkeys(("1", "i", "الأول"), 1),
    **dict.fromkeys(("second", "2nd", "deuxième", "2e", "segundo", "втор", "二", "2", "ii"), 2),
    "الثاني": 2,
    **dict.fromkeys(("third", "3rd", "troisième", "3e", "tercer", "tercero", "трет", "三"), 3),
    **dict.fromkeys(("3", "iii", "الثالث"), 3),
    **dict.fromkeys(("fourth", "4th", "quatrième", "4e", "cuarto", "четверт", "четвёрт"), 4),
    **dict.fromkeys(("四", "4", "iv", "الرابع"), 4),
}
_HALF_WORDS = ("half", "semestre", "полугоди", "половин", "半年", "النصف")


@dataclass(frozen=True, slots=True)
class Period:
    """A month or period found in a text: where, its last day, how exact, its words."""

    start: int
    end: int
    last_day: date
    precision: Literal["month", "approximate"]
    wording: str


@dataclass(frozen=True, slots=True)
class _Span:
    """Months `first`..`first + months - 1` of `year` (or of the next one it fits)."""

    first: int
    months: int
    third: int | None = None
    year: int | None = None

    def last_day(self, after: date) -> date:
        year = self.year if self.year is not None else after.year
        end = self._end(year)
        if self.year is None and end < after:
            end = self._end(year + 1)
        return end

    def _end(self, year: int) -> date:
        if self.months == 1:
            last = calendar.monthrange(year, self.first)[1]
            day = last if self.third in (None, _LAST) else 10 * (self.third + 1)
            return date(year, self.first, day)
        months = self.months if self.third is None else self.months // 3 * (self.third + 1)
        index = year * 12 + self.first - 1 + months - 1
        end_year, end_month = divmod(index, 12)
        return date(end_year, end_month + 1, calendar.monthrange(end_year, end_month + 1)[1])


def _year(m: re.Match[str]) -> int | None:
    return int(m["year"]) if m["year"] else None


def _third(m: re.Match[str]) -> int:
    word = next(g for g in (m[f"q{i}"] for i in range(1, 7)) if g)
    return _THIRDS[word.lower()]


def _ordinal(word: str) -> int:
    lowered = word.lower()
    return _ORDINALS.get(lowered) or next(n for w, n in _ORDINALS.items() if lowered.startswith(w))


def _month_part(m: re.Match[str]) -> _Span:
    return _Span(month_number(m["month"]), 1, _third(m), _year(m))


def _year_part(m: re.Match[str]) -> _Span:
    return _Span(1, 12, _third(m), _year(m))


def _month(m: re.Match[str]) -> _Span | None:
    if m["year"] is None and not _bare_month_allowed(m["month"]):
        return None
    return _Span(month_number(m["month"]), 1, None, _year(m))


def _bare_month_allowed(name: str) -> bool:
    """A month without a year must be named in full: "ago", "mar", "sept" are words too."""
    return len(name) > 3 or name.lower() in ("may", "mai", "май", "мае", "آب")


def _half_or_quarter(m: re.Match[str]) -> _Span:
    if "n2" in m.re.groupindex:  # "Q3 2025", "H1 2026", "T1 2026"
        n, half = int(m["n2"]), m["unit2"].lower() == "h"
    else:
        n, half = _ordinal(m["n"]), m["unit"].lower().startswith(_HALF_WORDS)
    if half:
        return _Span(6 * n - 5, 6, None, _year(m))
    return _Span(3 * n - 2, 3, None, _year(m))


def _season(m: re.Match[str]) -> _Span | None:
    if m["year"] is None and not any(m[f"q{i}"] for i in range(1, 7)):
        return None  # "été" is also "been": a season alone needs a year or a qualifier
    third = _third(m) if any(m[f"q{i}"] for i in range(1, 7)) else None
    return _Span(_SEASONS[m["season"].lower()], 3, third, _year(m))


def _cjk_month_part(m: re.Match[str]) -> _Span:
    return _Span(int(m["month"]), 1, _THIRDS[m["q"]], _year(m))


def _cjk_year_part(m: re.Match[str]) -> _Span:
    word = m["q"]
    if word in ("上半年", "下半年"):
        return _Span(1 if word == "上半年" else 7, 6, None, _year(m))
    if m["n"]:
        return _Span(3 * _ordinal(m["n"]) - 2, 3, None, _year(m))
    if word in _SEASONS:
        return _Span(_SEASONS[word], 3, None, _year(m))
    return _Span(1, 12, _THIRDS[word], _year(m))


def _cjk_month(m: re.Match[str]) -> _Span | None:
    month = int(m["month"])
    return _Span(month, 1, None, _year(m)) if 1 <= month <= 12 else None


_Reader = Callable[[re.Match[str]], _Span | None]
_APPROXIMATE: list[tuple[re.Pattern[str], _Reader]] = [
    (re.compile(rf"{_QUALIFIER}{_MONTH}{_OF_YEAR}?", re.IGNORECASE), _month_part),
    (re.compile(rf"{_QUALIFIER}{_YEAR}", re.IGNORECASE), _year_part),
    (
        re.compile(
            rf"(?<!\w)(?:(?P<n>first|second|third|fourth|1st|2nd|3rd|4th|premier|1er|second|deuxième|"
            rf"troisième|quatrième|2e|3e|4e|primer|primero|segundo|tercer|tercero|cuarto|"
            rf"перв\w*|втор\w*|трет\w*|четв[её]рт\w*|[1-4](?:-й)?|i{{1,3}}|iv)\s+"
            rf"(?P<unit>half|quarter|semestre|trimestre|полугоди\w*|половин\w*|квартал\w*)"
            rf"\s+(?:of\s+|de\s+|del\s+|d['’]\s*)?{_YEAR})",
            re.IGNORECASE,
        ),
        _half_or_quarter,
    ),
    (
        re.compile(rf"(?<!\w)(?P<unit2>q|h|t)(?P<n2>[1-4])\s*{_YEAR}", re.IGNORECASE),
        _half_or_quarter,
    ),
    (
        re.compile(
            rf"(?P<unit>النصف|الربع)\s+(?P<n>الأول|الثاني|الثالث|الرابع)\s+"
            rf"(?:من\s+)?(?:عام\s+)?{_YEAR}"
        ),
        _half_or_quarter,
    ),
    (
        re.compile(
            rf"(?:{_QUALIFIER})?(?:(?:au|en|el|la|l['’])\s*)?(?<!\w)(?P<season>{_SEASON_WORDS})(?!\w)"
            rf"(?:\s+(?:of\s+|de\s+|del\s+|d['’]\s*)?{_YEAR})?",
            re.IGNORECASE,
        ),
        _season,
    ),
    (
        re.compile(
            rf"(?:{_YEAR}\s*年\s*)?(?P<month>\d{{1,2}})\s*月\s*(?P<q>上旬|中旬|下旬|初|中|底|末)"
        ),
        _cjk_month_part,
    ),
    (
        re.compile(
            rf"{_YEAR}\s*年\s*(?:度\s*)?(?P<q>上半年|下半年|初|中|底|末|第(?P<n>[一二三四1-4])季度"
            rf"|春季|夏季|秋季|冬季)"
        ),
        _cjk_year_part,
    ),
]
_MONTHS: list[tuple[re.Pattern[str], _Reader]] = [
    (
        re.compile(rf"(?<!\w){_MONTH}(?:{_OF_YEAR}|(?=\s*(?:[^\w\s]|$)))", re.IGNORECASE),
        _month,
    ),
    (re.compile(rf"(?:{_YEAR}\s*年\s*)?(?P<month>\d{{1,2}})\s*月(?!\s*\d|份\s*\d)"), _cjk_month),
]


def find_period(text: str, after: date, start: int = 0, end: int | None = None) -> Period | None:
    """The first month or period in `text[start:end]` (the longest of those starting
    first), with its last day counted from `after` when it has no year."""
    stop = len(text) if end is None else end
    best: tuple[int, int, _Span, str] | None = None
    for table, precision in ((_APPROXIMATE, "approximate"), (_MONTHS, "month")):
        for pattern, read in table:
            for m in pattern.finditer(text, start, stop):
                span = read(m)
                if span is None:
                    continue
                if best is None or (m.start(), -m.end()) < (best[0], -best[1]):
                    best = (m.start(), m.end(), span, precision)
                break
    if best is None:
        return None
    first, last, span, precision = best
    wording = text[first:last].strip(" \t,;:-–—()")
    try:
        day = span.last_day(after)
    except ValueError:
        return None
    return Period(first, last, day, "month" if precision == "month" else "approximate", wording)
