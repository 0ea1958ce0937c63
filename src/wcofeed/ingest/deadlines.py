"""Deadlines of calls as people write them, in en, fr, es, ru, zh and ar.

A deadline sits next to a label: a noun ("deadline", "date limite", "fecha límite",
"срок подачи заявок", "截止日期", "الموعد النهائي") or what is sent and by when
("applications must be received by", "au plus tard le", "a más tardar", "не позднее",
"…前提交", "في موعد أقصاه"). The date is looked for after the label, then right before it
("14 March 2025 is the deadline", "2025年2月28日截止"); a text without a label (a page's
own deadline line) is read whole. The date is a day, with ordinals ("1er", "1º",
"30th"), the end of a range ("1–30 November 2025", "from 25 January to 25 March"), or
a month or period (`periods`, kept as approximate). A day without a year is the next
occurrence on or after the page's date. A time of day and its zone (`zones`) are read
in the same sentence; forms the patterns do not know go to dateparser (`dates`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time

from wcofeed.ingest.cues import windows
from wcofeed.ingest.dates import (
    EASTERN_DIGITS,
    MONTH_NAMES,
    ORDINAL,
    checked_date,
    month_number,
    next_occurrence,
    parse_date,
)
from wcofeed.ingest.periods import find_period
from wcofeed.ingest.zones import find_zone
from wcofeed.models import Deadline

_NOUNS = (
    r"deadlines?|closing\s+date|due\s+date|(?:application|submission)\s+period"
    r"|(?:applications?|submissions?)\s+close"
    r"|dates?[\s-]+limites?|délai(?!s)|date\s+de\s+clôture|clôture\s+des\s+candidatures"
    r"|fechas?\s+l[ií]mites?|(?<!largo\s)(?<!medio\s)(?<!corto\s)plazo|fecha\s+de\s+cierre"
    r"|cierre\s+de\s+(?:la\s+)?convocatoria"
    r"|срок\w*\s+(?:подачи|при[её]ма|представления|направления)(?:\s+\w+)?|крайний\s+срок"
    r"|последний\s+срок|окончание\s+при[её]ма|срок(?=\s*[:—–-])"
    r"|الموعد\s+النهائي|آخر\s+موعد|الموعد\s+الأخير|تاريخ\s+الإغلاق|موعد\s+أقصاه|أجل\s+أقصاه"
)
# What is sent, then by when; the date must follow closely.
_SENT = (
    r"(?:appl(?:y|ications?)|submi\w*|nominat\w*|proposals?|bids?|tenders?|offers?|papers?"
    r"|abstracts?|candidat\w*|expressions?\s+of\s+interest|regist\w*|entries|received|sent"
    r"|dossiers?|propositions?|soumissions?|offres?|communications?|résumés?|inscriptions?"
    r"|désignations?|parvenir|déposée?s?|reçue?s?|soumettre|postul\w*|envoy\w*|adress\w*"
    r"|solicitudes|propuestas|ofertas|ponencias|resúmenes|nominaciones|documentos|enviarse"
    r"|presentar\w*|recibir\w*"
    r"|заявк\w*|документ\w*|предложени\w*|кандидат\w*|стать\w*|доклад\w*|резюме|анкет\w*"
    r"|принима\w*|направ\w*|подать|выдвин\w*"
    r"|طلبات|الطلبات|ترشيح\w*|مرشح\w*|عروض\w*|العروض|مقترحات|المقترحات|الأوراق|الملفات"
    r"|تقديم|إرسال)"
)
_BY = (
    r"(?:by|before|until|till|no\s+later\s+than|not\s+later\s+than|on\s+or\s+before|due(?!\s+to)"
    r"|au\s+plus\s+tard(?:\s+le)?|avant(?:\s+le)?|jusqu['’]\s*(?:au|à)|d['’]ici\s+(?:le|au|à)"
    r"|a\s+más\s+tardar(?:\s+el)?|antes\s+del?|hasta(?:\s+el)?"
    r"|не\s+позднее|до"
    r"|حتى|قبل|بحلول|في\s+موعد\s+أقصاه|في\s+أجل\s+أقصاه|لا\s+يتجاوز)"
)
# A date written before these: "2025年2月28日截止", "请于2025年3月30日前提交申请".
_AFTER_DATE = (
    r"(?:之)?前\s*(?:向\S{0,10})?(?:提交|报送|报名|申请|发送|递交|寄送|推荐|提名|注册|上传|投稿)"
)
# Chinese runs words together ("申请截止日期", application deadline): no boundary there.
_CJK_NOUNS = r"截止日期|截止时间|截止|截至|申请时间|报名时间|申请期限"
_NOUN = re.compile(rf"(?<![^\W\d_])(?:{_NOUNS})|{_CJK_NOUNS}", re.IGNORECASE)
_BY_WORD = re.compile(rf"(?<![^\W\d_]){_BY}(?![^\W\d_])", re.IGNORECASE)
_SENT_WORD = re.compile(rf"(?<![^\W\d_]){_SENT}", re.IGNORECASE)
_AFTER = re.compile(_AFTER_DATE)
_SENT_REACH = 60


@dataclass(frozen=True, slots=True)
class _Label:
    start: int
    end: int
    kind: str  # "noun", "by" (what is sent, then by when) or "after" (the date comes first)


def _labels(text: str, start: int = 0, end: int | None = None) -> list[_Label]:
    """Every deadline label in `text[start:end]`, in order. A "by" word counts after what
    is sent ("applications must be received by"), within the same sentence."""
    stop = len(text) if end is None else end
    found = [_Label(m.start(), m.end(), "noun") for m in _NOUN.finditer(text, start, stop)]
    found += [_Label(m.start(), m.end(), "after") for m in _AFTER.finditer(text, start, stop)]
    for m in _BY_WORD.finditer(text, start, stop):
        sent = _SENT_WORD.search(text, max(0, m.start() - _SENT_REACH), m.start())
        if sent is not None and not _STOP_OR_COLON.search(text, sent.end(), m.start()):
            found.append(_Label(sent.start(), m.end(), "by"))
    return sorted(found, key=lambda label: label.start)


# Words no label can do without, per language (lower-cased), so most texts are ruled
# out by substring search (`cues.windows`).
_HINTS: dict[str, tuple[str, ...]] = {
    "en": (
        "deadline",
        "closing",
        "due",
        "period",
        "close",
        "by",
        "before",
        "until",
        "till",
        "later",
    ),
    "fr": ("limite", "délai", "clôture", "tard", "avant", "jusqu", "d'ici", "d’ici"),
    "es": ("fecha", "plazo", "cierre", "tardar", "antes", "hasta"),
    "ru": ("срок", "окончание", "позднее", "до"),
    "zh": ("截止", "截至", "申请时间", "报名时间", "申请期限", "前"),
    "ar": ("موعد", "الإغلاق", "أجل", "حتى", "قبل", "بحلول", "يتجاوز"),
}

_DAY_FIRST = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}}){ORDINAL}\.?\s+(?:de\s+|of\s+)?(?P<month>{MONTH_NAMES})(?!\w)\.?"
    r"(?:,?\s+(?:de\s+|del\s+)?(?P<year>\d{4})(?!\d)(?:\s*(?:г\.|года|г(?!\w)))?)?",
    re.IGNORECASE,
)
_MONTH_FIRST = re.compile(
    rf"(?<!\w)(?P<month>{MONTH_NAMES})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)"
    r"(?:,?\s+(?P<year>\d{4})(?!\d))?",
    re.IGNORECASE,
)
_CJK = re.compile(
    r"(?:(?P<year>\d{4})\s*年\s*)?(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*[日号]"
)
_ISO = re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)")
_NUMERIC = re.compile(r"(?<![\d.])(?P<day>\d{1,2})[./](?P<month>\d{1,2})[./](?P<year>\d{4})(?!\d)")
_DAY_PATTERNS = (_DAY_FIRST, _MONTH_FIRST, _CJK, _ISO, _NUMERIC)
# `(?<!\s)`: a search enters each run of spaces once, not at every space of it.
_RANGE_TO = re.compile(
    r"(?<!\s)\s*(?:[-–—~]|to|until|till|through|au|à|al|a|hasta(?:\s+el)?|по|до|至|到|إلى|الى|حتى)\s*",
    re.IGNORECASE,
)
_DAY_ONLY = re.compile(r"(?P<day>\d{1,2})\s*[日号]")

_CLOCK = re.compile(
    r"(?<![\d.:])([01]?\d|2[0-3])\s*(?:[:h]\s*([0-5]\d)|\.([0-5]\d)(?!\.?\d)|h(?!\w))\s*"
    r"(am|pm|a\.m\.|p\.m\.)?"
    r"|(?<![\d.:])(1[0-2]|0?\d)\s*(am|pm|a\.m\.|p\.m\.)"
    # The spaces after a half-day word belong to it: an optional word followed by `\s*`
    # made every start in a run of spaces scan to its end (quadratic).
    r"|(?:(上午|下午|晚上|中午)\s*)?(\d{1,2})\s*[时點点](?:\s*(\d{1,2})\s*分)?",
    re.IGNORECASE,
)
_NOON = re.compile(
    r"(?<!\w)(?:noon|midday|midi|mediod[ií]a|полд(?:ень|ня))(?!\w)|中午", re.IGNORECASE
)
_STOP = re.compile(r"[.!?;。；！？]")
_STOP_OR_COLON = re.compile(r"[.;:。；]")
_NOUN_REACH = 80
# After "by", "au plus tard", "до"…: the date itself, or a time and then the date
# ("by 5 pm (EST) on 14 March"); "papers presented by experts … on 14 March" is no deadline.
_BY_GAP = re.compile(r"(?:\s*(?:the|le|la|el|on|by|of)(?!\w))*\s*", re.IGNORECASE)
_CLOCK_REACH = 30
_BEFORE_REACH = 20
_ASIDE = re.compile(r"\([^()]*\)|（[^（）]*）")
_WINDOW = 160
# A deadline line has a label or two; a text with dozens is not one, and each costs a
# look (and maybe a dateparser call).
_MAX_LABELS = 4
# How much of a text around a deadline label is its deadline line.
_BEFORE_LABEL, _AFTER_LABEL = 60, 160


@dataclass(frozen=True, slots=True)
class _Found:
    """A date in the text: where it is, and the deadline it gives without a time."""

    start: int
    end: int
    deadline: Deadline


def find_deadline_text(text: str, languages: Sequence[str] = ()) -> str | None:
    """The words around the first deadline label in `text` (room for a date before the
    label and a time after it), or None when there is no label: most texts, ruled out
    cheaply. Labels are looked for in `languages` and English."""
    for start, end in windows(text, _hints(tuple(languages)), 20, 40):
        labels = _labels(text, start, end)
        if labels:
            first = labels[0]
            return text[max(0, first.start - _BEFORE_LABEL) : first.end + _AFTER_LABEL]
    return None


@functools.lru_cache(maxsize=64)
def _hints(languages: tuple[str, ...]) -> tuple[str, ...]:
    chosen = {"en", *(language.split("-")[0].lower() for language in languages)}
    return tuple(w for language in sorted(chosen) for w in _HINTS.get(language, ()))


def parse_deadline(text: str, language: str, page_date: date) -> Deadline | None:
    """The deadline a line or a sentence gives (label optional), or None if no date."""
    text = text.translate(EASTERN_DIGITS)
    labels = _labels(text)
    if not labels:
        found = _first(text, 0, len(text), page_date, len(text))
        found = found or _dateparser(text, 0, len(text), language, page_date)
        return _with_time(text, found, 0, language) if found else None
    for label in labels[:_MAX_LABELS]:
        if label.kind == "after":
            found = _before(text, label.start, page_date)
        else:
            stop = _sentence_end(text, label.end, label.end + _WINDOW)
            reach = _by_reach(text, label.end) if label.kind == "by" else label.end + _NOUN_REACH
            found = _first(text, label.end, stop, page_date, reach)
            if found is None and label.kind == "noun":
                found = _before(text, label.start, page_date)
            if found is None and _first(text, label.end, stop, page_date, stop) is None:
                found = _dateparser(text, label.end, stop, language, page_date)
        if found is not None:
            return _with_time(text, found, min(found.start, label.start), language)
    return None


def _by_reach(text: str, start: int) -> int:
    """How far after a "by" label its date may start."""
    gap = _BY_GAP.match(text, start)
    end = gap.end() if gap else start
    clock = _CLOCK.match(text, end)
    return clock.end() + _CLOCK_REACH if clock else end


def _dateparser(text: str, start: int, stop: int, language: str, today: date) -> _Found | None:
    """A day in a form the patterns do not know, read by dateparser (`dates.parse_date`)."""
    part = text[start:stop]
    if not any(c.isdigit() for c in part):
        return None
    day = parse_date(part, language, today=today)
    return _Found(start, stop, Deadline(day)) if day is not None else None


def _first(text: str, start: int, stop: int, today: date, reach: int) -> _Found | None:
    """The earliest (then longest) day or period in text[start:stop] starting before
    `reach`; a day that opens a range gives way to the day that closes it."""
    best: _Found | None = None
    for pattern in _DAY_PATTERNS:
        for m in pattern.finditer(text, start, stop):
            day = _day(m, today)
            if day is not None:
                if best is None or (m.start(), -m.end()) < (best.start, -best.end):
                    best = _Found(m.start(), m.end(), Deadline(day))
                break
    period = find_period(text, today, start, stop)
    if period is not None and (
        best is None or (period.start, -period.end) < (best.start, -best.end)
    ):
        wording = period.wording
        deadline = Deadline(period.last_day, precision=period.precision, wording=wording)
        best = _Found(period.start, period.end, deadline)
    if best is None or best.start > reach:
        return None
    return _range_end(text, best, stop, today)


def _before(text: str, label_start: int, today: date) -> _Found | None:
    """The date ending just before a label ("14 March 2025 is the deadline")."""
    start = max(0, label_start - 100)
    found: _Found | None = None
    position = start
    while (candidate := _first(text, position, label_start, today, label_start)) is not None:
        found, position = candidate, candidate.end
    if found is None:
        return None
    gap = _ASIDE.sub("", text[found.end : label_start])
    if len(gap) > _BEFORE_REACH:
        return None
    if _sentence_end(text, found.end, label_start) < label_start:
        return None
    return found


def _day(m: re.Match[str], today: date, after: date | None = None) -> date | None:
    """The day a date pattern matched; without a year, the next one on or after `after`
    (the page's date, or the start of a range)."""
    month = int(m["month"]) if m["month"].isdigit() else month_number(m["month"])
    if m["year"]:
        return checked_date(int(m["year"]), month, int(m["day"]), today)
    if not 1 <= month <= 12:
        return None
    return next_occurrence(month, int(m["day"]), after=after or today)


def _range_end(text: str, found: _Found, stop: int, today: date) -> _Found:
    """`found`, or the day after it when the two make a range ("from X to Y")."""
    joint = _RANGE_TO.match(text, found.end, stop)
    if joint is None or found.deadline.precision != "day":
        return found
    first = found.deadline.day
    for pattern in _DAY_PATTERNS:
        m = pattern.match(text, joint.end(), stop)
        if m is not None and (day := _day(m, today, after=first)) is not None:
            return _Found(found.start, m.end(), Deadline(day))
    m = _DAY_ONLY.match(text, joint.end(), stop)  # "2025年11月1日至30日"
    if m is not None:
        day = checked_date(first.year, first.month, int(m["day"]), today)
        if day is not None and day >= first:
            return _Found(found.start, m.end(), Deadline(day))
    return found


def _sentence_end(text: str, start: int, limit: int) -> int:
    """Where the sentence holding `start` ends (not at "p.m.", "г." or "17.00")."""
    limit = min(limit, len(text))
    for m in _STOP.finditer(text, start, limit):
        i = m.start()
        if m[0] in ".!?;" and i + 1 < len(text) and not text[i + 1].isspace():
            continue
        if m[0] == "." and i and text[i - 1].isalpha() and (i < 2 or not text[i - 2].isalpha()):
            continue  # a one-letter abbreviation
        return i
    return limit


def _with_time(text: str, found: _Found, phrase_start: int, language: str) -> Deadline:
    """`found`'s deadline with the time of day and zone given in its sentence."""
    end = _sentence_end(text, found.end, found.end + 80)
    phrase = text[phrase_start:end]
    deadline = found.deadline
    at, clock_end = _clock(phrase) if deadline.precision == "day" else (None, None)
    zone = find_zone(phrase, language, clock_end)
    return Deadline(deadline.day, at, zone, deadline.precision, deadline.wording)


def _clock(text: str) -> tuple[time | None, int | None]:
    for m in _CLOCK.finditer(text):
        if m[1] is not None:
            hour, minute, half = int(m[1]), int(m[2] or m[3] or 0), m[4]
        elif m[5] is not None:
            hour, minute, half = int(m[5]), 0, m[6]
        else:
            hour, minute = int(m[8]), int(m[9] or 0)
            half = "pm" if m[7] in ("下午", "晚上") else None
            if hour > 23 or minute > 59:
                continue
        if half and half.lower().startswith("p") and hour < 12:
            hour += 12
        elif half and half.lower().startswith("a") and hour == 12:
            hour = 0
        return time(hour, minute), m.end()
    noon = _NOON.search(text)
    if noon is not None:
        return time(12, 0), noon.end()
    return None, None
