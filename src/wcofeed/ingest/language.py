"""The language of the content, which is not always the language of the interface.

The WCO shows English content inside a Chinese or Russian interface and says so in a
fallback notice; such pages give English items whatever their `lang` attribute says.
Otherwise the page's `lang` attribute or its URL decides; when the declared language is
written in another script than the text (English text in a Russian interface), or
nothing is declared, a detector reads the text itself.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from langdetect import (
    DetectorFactory,
    LangDetectException,
    detect,
)

DetectorFactory.seed = 0  # langdetect is random unless seeded; results must be stable

WCO_LANGUAGES = ("en", "fr", "es", "ru", "zh", "ar")
# The notice names the language it fell back to after a fixed phrase, per interface.
_FALLBACK = re.compile(
    r"因此返回到\s*(?P<zh>[A-Za-zÀ-ÿ]+)"
    r"|поэтому предлагаем вернуться к версии\s*(?P<ru>[A-Za-zÀ-ÿ]+)"
    r"|n'est pas disponible dans la langue .{0,80}?(?:version|vers)\s*(?P<fr>[A-Za-zÀ-ÿ]+)"
    r"|no está disponible en el idioma .{0,80}?(?:versión|a)\s*(?P<es>[A-Za-zÀ-ÿ]+)"
    r"|غير متوفرة باللغة .{0,80}?(?:إلى|الى)\s*(?:النسخة\s*)?(?P<ar>[A-Za-zÀ-ÿ]+)",
    re.IGNORECASE | re.DOTALL,
)
_NAMES = {
    "english": "en",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "russian": "ru",
    "chinese": "zh",
    "arabic": "ar",
}
_URL_LANG = re.compile(r"^/(en|fr|es|ru|zh|ar)(?:[/-]|$)", re.IGNORECASE)
_SCRIPTS = {
    "ru": re.compile("[\u0400-\u04ff]"),
    "zh": re.compile("[\u4e00-\u9fff]"),
    "ar": re.compile("[\u0600-\u06ff]"),
}
_NOT_LATIN = re.compile("[^A-Za-z]+")


def fallback_language(page_text: str) -> str | None:
    """The language a fallback notice says the page shows instead, if there is one."""
    match = _FALLBACK.search(page_text[:20_000])
    if match is None:
        return None
    word = next(value for value in match.groupdict().values() if value)
    return _NAMES.get(word.lower(), "en")


def declared_language(lang_attribute: str | None, url: str) -> str | None:
    """`lang="fr-BE"` -> "fr"; else a /fr/ path prefix; else None."""
    if lang_attribute:
        code = lang_attribute.strip().split("-")[0].split("_")[0].lower()
        if re.fullmatch(r"[a-z]{2,3}", code):
            return code
    match = _URL_LANG.match(urlsplit(url).path)
    return match[1].lower() if match else None


def content_language(text: str, declared: str | None, default: str = "en") -> str:
    """`declared` unless the text's script contradicts it; else what the text looks like."""
    if declared and script_agrees(text, declared):
        return declared
    return detect_language(text) or declared or default


def script_agrees(text: str, language: str) -> bool:
    script = _SCRIPTS.get(language)
    if script is None:
        head = text[:120]
        return len(_NOT_LATIN.sub("", head)) >= min(20, len(head) // 4) or not text
    return bool(script.search(text[:400]))


def detect_language(text: str) -> str | None:
    """The detector's guess, reduced to a base code, or None on too little text."""
    if len(text.strip()) < 20:
        return None
    try:
        code = detect(text[:1000])
    except LangDetectException:
        return None
    return "zh" if code.startswith("zh") else code.split("-")[0]
