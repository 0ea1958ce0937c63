"""The time zone a deadline is given in, as sources write it -> an IANA zone name.

Tried in this order on the words around a deadline:

1. an offset: "UTC+3", "GMT-5", "UTC+05:30" (Etc/GMT-3, Etc/GMT+5: IANA's signs are
   reversed; a half hour gives the zone that keeps it all year, Asia/Kolkata);
2. an abbreviation: "CET", "EST", "PT", "MSK", "JST"… Ambiguous ones are read by the
   page's language (`_BY_LANGUAGE`, documented in docs/ingest.md): CST is US Central time
   except on Chinese pages (China Standard Time), IST is India's except on Hebrew and
   Irish pages, AST is Arabia's on Arabic pages and the Atlantic's elsewhere. Letters
   that are also words ("est", "et", "pt", "ist") count only in capitals or right after
   the time;
3. a place next to a word for time: "Geneva time", "heure de Paris", "hora de Madrid",
   "по московскому времени", "北京时间", "بتوقيت جنيف", "local time (Italy)".
"""

from __future__ import annotations

import re

_UTC = "UTC"
_FIXED: dict[str, str] = {
    **dict.fromkeys(("CET", "CEST", "MEZ", "MESZ", "HEC", "HAEC"), "Europe/Brussels"),
    **dict.fromkeys(("UTC", "GMT", "UT"), _UTC),
    **dict.fromkeys(("WET", "WEST"), "Europe/Lisbon"),
    **dict.fromkeys(("EET", "EEST"), "Europe/Athens"),
    **dict.fromkeys(("MSK", "МСК"), "Europe/Moscow"),
    **dict.fromkeys(("ET", "EST", "EDT"), "America/New_York"),
    **dict.fromkeys(("HNE", "HAE"), "America/Toronto"),
    **dict.fromkeys(("CT", "CDT"), "America/Chicago"),
    **dict.fromkeys(("MT", "MST", "MDT"), "America/Denver"),
    **dict.fromkeys(("PT", "PST", "PDT"), "America/Los_Angeles"),
    **dict.fromkeys(("AKST", "AKDT"), "America/Anchorage"),
    "HST": "Pacific/Honolulu",
    "ADT": "America/Halifax",
    "BRT": "America/Sao_Paulo",
    "ART": "America/Argentina/Buenos_Aires",
    "GST": "Asia/Dubai",
    "PKT": "Asia/Karachi",
    "ICT": "Asia/Bangkok",
    "WIB": "Asia/Jakarta",
    "PHT": "Asia/Manila",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "KST": "Asia/Seoul",
    "JST": "Asia/Tokyo",
    **dict.fromkeys(("AEST", "AEDT"), "Australia/Sydney"),
    **dict.fromkeys(("NZST", "NZDT"), "Pacific/Auckland"),
    "SAST": "Africa/Johannesburg",
    "EAT": "Africa/Nairobi",
    "CAT": "Africa/Maputo",
    "WAT": "Africa/Lagos",
}
#: Abbreviations that name different zones in different places: by the page's language,
#: "" for every other language.
_BY_LANGUAGE: dict[str, dict[str, str]] = {
    "CST": {"zh": "Asia/Shanghai", "": "America/Chicago"},
    "IST": {"he": "Asia/Jerusalem", "ga": "Europe/Dublin", "": "Asia/Kolkata"},
    "AST": {"ar": "Asia/Riyadh", "": "America/Halifax"},
    "BST": {"bn": "Asia/Dhaka", "": "Europe/London"},
}
# Also words in one of our languages (or English): only in capitals, or right after a time.
_WORDLIKE = {"ET", "EST", "CT", "PT", "MT", "IST", "BST", "GST", "AST", "CAT", "EAT", "WAT"}
_WORDLIKE |= {"WET", "WEST", "ART", "UT", "ICT", "HAE", "ADT", "EET", "MEZ", "HEC"}
_NAMES = sorted([*_FIXED, *_BY_LANGUAGE], key=len, reverse=True)
_ABBREVIATION = re.compile(r"(?<![^\W\d_])(" + "|".join(_NAMES) + r")(?![^\W\d_])", re.IGNORECASE)
# Each space run is entered once (the lookbehind) and each optional part carries its
# own trailing spaces: three adjacent `\s*` made a run of spaces cubic.
_AFTER_CLOCK = re.compile(r"(?<!\s)\s*(?:(?:hrs?\.?|hours?|h)\s*)?(?:[,(]\s*)?$")
_OFFSET = re.compile(
    r"(?<![^\W\d_])(?:utc|gmt|ut)\s*([+\-−–])\s*(\d{1,2})(?:\s*[:.h]?\s*(\d{2}))?(?!\d)",
    re.IGNORECASE,
)
_HALF_HOURS = {
    (5, 30): "Asia/Kolkata",
    (5, 45): "Asia/Kathmandu",
    (3, 30): "Asia/Tehran",
    (4, 30): "Asia/Kabul",
    (6, 30): "Asia/Yangon",
    (9, 30): "Australia/Darwin",
    (-9, 30): "Pacific/Marquesas",
}
_TIME_WORD = re.compile(r"time|heure|hora|врем|时间|時間|توقيت|وقت", re.IGNORECASE)
_NEAR = 30
_PLACES: dict[str, tuple[str, ...]] = {
    "Europe/Brussels": (
        *("brussels", "bruxelles", "bruselas", "брюссел", "布鲁塞尔", "بروكسل", "belgi", "belge"),
        *("бельги", "比利时", "بلجيك", "central europe", "europe centrale", "europa central"),
        *("центральноевропей", "欧洲中部", "وسط أوروبا"),
    ),
    "Europe/Zurich": (
        *("geneva", "genève", "geneve", "ginebra", "женев", "日内瓦", "جنيف", "switzerland"),
        *("suisse", "suiza", "swiss", "швейцар", "瑞士", "سويسر"),
    ),
    "Europe/Paris": (
        *("paris", "parís", "париж", "巴黎", "باريس", "france", "français", "française"),
        *("francia", "франци", "法国", "فرنسا"),
    ),
    "Europe/Madrid": (
        *("madrid", "мадрид", "马德里", "مدريد", "spain", "spanish", "españa", "espagne"),
        *("española", "peninsular", "испан", "西班牙", "إسبانيا"),
    ),
    "Europe/Rome": (
        *("rome", "roma", "римск", "罗马", "روما", "italy", "italian", "italie", "italia"),
        *("итали", "意大利", "إيطاليا"),
    ),
    "Europe/Vienna": (
        *("vienna", "vienne", "viena", "венск", "维也纳", "فيينا", "austria", "autriche"),
        *("австри", "奥地利", "النمسا"),
    ),
    "Europe/Berlin": (
        *("berlin", "берлин", "柏林", "برلين", "germany", "german", "allemagne", "alemania"),
        *("германи", "德国", "ألمانيا"),
    ),
    "Europe/London": (
        *("london", "londres", "лондон", "伦敦", "لندن", "united kingdom", "royaume-uni"),
        *("reino unido", "британ", "英国", "بريطاني", "المملكة المتحدة", "uk"),
    ),
    "Europe/Moscow": ("moscow", "moscou", "moscú", "москв", "москов", "莫斯科", "موسكو"),
    "Asia/Shanghai": (
        *("beijing", "pékin", "pekin", "pekín", "пекин", "北京", "بكين", "china", "chine"),
        *("китай", "中国", "الصين"),
    ),
    "Asia/Tokyo": (
        *("tokyo", "tokio", "токи", "东京", "طوكيو", "japan", "japon", "japón", "япон", "日本"),
        "اليابان",
    ),
    "Asia/Seoul": (
        *("seoul", "séoul", "seúl", "сеул", "首尔", "سيول", "korea", "corée", "corea"),
        *("корей", "韩国", "كوريا"),
    ),
    "Asia/Kolkata": ("india", "inde", "инди", "印度", "الهند", "delhi", "дели", "دلهي"),
    "Asia/Singapore": ("singapore", "singapour", "singapur", "сингапур", "新加坡", "سنغافورة"),
    "Asia/Bangkok": (
        *("bangkok", "бангкок", "曼谷", "بانكوك", "thailand", "thaïlande", "tailandia"),
        *("таиланд", "泰国", "تايلاند"),
    ),
    "Asia/Dubai": ("dubai", "dubaï", "дубай", "迪拜", "دبي", "abu dhabi", "أبوظبي", "الإمارات"),
    "Asia/Riyadh": (
        *("riyadh", "riad", "riyad", "рияд", "利雅得", "الرياض", "saudi", "saoudite", "saudí"),
        *("саудовск", "沙特", "السعودية", "مكة"),
    ),
    "Africa/Cairo": (
        *("cairo", "caire", "каир", "开罗", "القاهرة", "egypt", "égypte", "egipto", "египет"),
        *("埃及", "مصر"),
    ),
    "Africa/Nairobi": (
        *("nairobi", "найроби", "内罗毕", "نيروبي", "kenya", "kenia", "кени", "肯尼亚"),
        "كينيا",
    ),
    "Africa/Johannesburg": (
        *("johannesburg", "pretoria", "south africa", "afrique du sud", "sudáfrica", "南非"),
        "جنوب أفريقيا",
    ),
    "America/New_York": (
        *("new york", "nueva york", "нью-йорк", "纽约", "نيويورك", "washington", "вашингтон"),
        *("华盛顿", "واشنطن", "eastern", "del este", "de l'est"),
    ),
    "America/Chicago": ("chicago", "чикаго", "芝加哥", "شيكاغو"),
    "America/Los_Angeles": (
        *("los angeles", "лос-анджелес", "洛杉矶", "pacific", "pacífico", "pacifique"),
        "тихоокеан",
    ),
    "America/Mexico_City": ("mexico city", "ciudad de méxico", "méxico", "mexique", "мехико"),
    "America/Bogota": (
        *("bogotá", "bogota", "богот", "波哥大", "بوغوتا", "colombia", "colombie", "колумби"),
        "哥伦比亚",
    ),
    "America/Lima": ("lima", "лима", "利马", "perú", "peru", "pérou", "перу", "秘鲁"),
    "America/Santiago": ("santiago", "chile", "chili", "чили", "智利"),
    "America/Argentina/Buenos_Aires": ("buenos aires", "argentin", "аргентин", "阿根廷"),
    "America/Sao_Paulo": (
        *("brasília", "brasilia", "são paulo", "sao paulo", "brazil", "brasil", "brésil"),
        *("бразили", "巴西"),
    ),
    "Australia/Sydney": ("sydney", "canberra", "сидне", "悉尼"),
    _UTC: (
        *("greenwich", "гринвич", "格林尼治", "格林威治", "غرينتش", "غرينيتش"),
        *("temps universel", "tiempo universal", "всемирн", "世界时"),
    ),
}
_STEMS = sorted((s for stems in _PLACES.values() for s in stems), key=len)[::-1]
# Latin and Cyrillic stems start a word ("inde" is not in "independent"), checked once
# for all of them rather than once per stem at every position; Chinese has no spaces
# and Arabic glues prepositions on.
_PLACE = re.compile(
    r"(?<![^\W\d_])(?:"
    + "|".join(
        re.escape(stem) + (r"(?![^\W\d_])" if len(stem) <= 3 else "")
        for stem in _STEMS
        if stem[0] < "\u0600"
    )
    + ")|"
    + "|".join(re.escape(stem) for stem in _STEMS if stem[0] >= "\u0600"),
    re.IGNORECASE,
)
_ZONE_OF = {stem: zone for zone, stems in _PLACES.items() for stem in stems}


def find_zone(text: str, language: str, clock_end: int | None = None) -> str | None:
    """The IANA zone named in `text` (the words around one deadline), or None.

    `clock_end` is where the deadline's time of day ends, if it has one: lower-case
    abbreviations that are also words count only right after it.
    """
    return _offset(text) or _abbreviation(text, language, clock_end) or _place(text, clock_end)


def _offset(text: str) -> str | None:
    m = _OFFSET.search(text)
    if m is None:
        return None
    sign = -1 if m[1] != "+" else 1
    hours, minutes = int(m[2]), int(m[3] or 0)
    if minutes:
        return _HALF_HOURS.get((sign * hours, minutes))
    if hours > 14:
        return None
    return _UTC if hours == 0 else f"Etc/GMT{-sign * hours:+d}"


def _abbreviation(text: str, language: str, clock_end: int | None) -> str | None:
    for m in _ABBREVIATION.finditer(text):
        name = m[1].upper()
        if name in _WORDLIKE and not m[1].isupper() and not _right_after(text, clock_end, m):
            continue
        if name in _BY_LANGUAGE:
            choices = _BY_LANGUAGE[name]
            return choices.get(language.split("-")[0].lower(), choices[""])
        return _FIXED[name]
    return None


def _right_after(text: str, clock_end: int | None, m: re.Match[str]) -> bool:
    return clock_end is not None and _AFTER_CLOCK.match(text[clock_end : m.start()]) is not None


def _place(text: str, clock_end: int | None) -> str | None:
    """The place nearest a word for time (or right after the time of day)."""
    anchors = [(m.start(), m.end()) for m in _TIME_WORD.finditer(text)]
    if clock_end is not None:
        anchors.append((clock_end, clock_end))
    best: tuple[int, str] | None = None
    for start, end in anchors:
        for m in _PLACE.finditer(text, max(0, start - _NEAR), min(len(text), end + _NEAR)):
            distance = max(start - m.end(), m.start() - end, 0)
            if best is None or distance < best[0]:
                best = (distance, _ZONE_OF[m[0].lower()])
    return best[1] if best else None
