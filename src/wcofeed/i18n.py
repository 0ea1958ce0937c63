"""Localised words and dates for feeds, pages and emails: gettext catalogs and babel.

Every interface string is an English gettext message, marked where it is written (in
Python with `gettext`/`ngettext`/`pgettext` or `N_`, in templates with `_()` and
`{% trans %}`), extracted by Babel into one catalog per language,
`wcofeed/locale/<lang>.po` (docs/translations.md). The catalogs are compiled when first
used, in memory, with babel's `read_po` and `write_mo`, so no binary file is kept in the
repository and an edited `.po` needs no build step. A message missing from a catalog
reads in English; a test holds every shipped catalog complete.

Placeholders are Python's `%(name)s`, the same in code and templates, so punctuation and
word order belong to each language's message ("Date limite : %(when)s").
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_date
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from wcofeed.models import Deadline
from wcofeed.resources import bundled

FALLBACK = "en"
#: The gettext domain of wcofeed's messages.
DOMAIN = "wcofeed"


def N_(message: str) -> str:
    """Mark `message` for extraction where it is defined; it is translated where shown."""
    return message


class Texts:
    """The messages of one language, with `%(name)s` fields filled from keywords."""

    def __init__(self, language: str, translations: NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def gettext(self, message: str, /, **values: object) -> str:
        text = self._translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The plural form for `n` (the language's own rules); `%(num)s` is `n` localised."""
        text = self._translations.ngettext(singular, plural, n)
        return text % {"num": format_decimal(n, locale=_locale(self.language)), **values}

    def plural_form(self, singular: str, plural: str, n: int) -> str:
        """The form for `n`, its fields left unfilled (templates fill them themselves)."""
        return self._translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str, /, **values: object) -> str:
        text = str(self._translations.pgettext(context, message))
        return text % values if values else text


@dataclass(frozen=True, slots=True)
class Message:
    """A message and its values, put into words once the reader's language is known:
    the same error reads in English on the command line and in Arabic on a page."""

    text: str
    values: Mapping[str, object] = field(default_factory=dict)

    def in_language(self, language: str) -> str:
        return texts(language).gettext(self.text, **self.values)

    def __str__(self) -> str:
        return self.in_language(FALLBACK)


class LocalisedError(ValueError):
    """An error whose explanation can be shown in the reader's language;
    `str()` is the English one (logs, the command line)."""

    def __init__(self, text: str, /, **values: object) -> None:
        self.message = Message(text, values)
        super().__init__(str(self.message))


def base_language(language: str) -> str:
    """`fr` for `fr-CA`: catalogs are kept per language, not per region."""
    return (language or FALLBACK).replace("_", "-").split("-")[0].lower()


@functools.lru_cache(maxsize=32)
def texts(language: str) -> Texts:
    """The catalog of `language`, compiled on first use; English text when there is none."""
    return Texts(language, _translations(base_language(language)))


@functools.lru_cache(maxsize=32)
def _translations(language: str) -> NullTranslations:
    path = bundled("locale") / f"{language}.po"
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def catalog_languages() -> list[str]:
    """The languages that have a catalog in `wcofeed/locale`."""
    return sorted(path.stem for path in bundled("locale").glob("*.po"))


def format_day(value: date | datetime, language: str, form: str = "long") -> str:
    """`14 February 2025`, `14 février 2025`, `2025年2月14日`…"""
    day = value.date() if isinstance(value, datetime) else value
    return _babel_date(day, format=form, locale=_locale(language))


def days_left(closes_at: datetime, now: datetime, zone: str) -> int:
    """Calendar days from today to the closing day, both read in `zone`.

    On 12 February at 08:00, a call closing at the end of 14 February closes "in 2
    days" (not 3, as rounding the 2 days and 16 hours would say): people count days on
    their calendar, and the reader's calendar is the one in `zone`.
    """
    where = ZoneInfo(zone)
    return (closes_at.astimezone(where).date() - now.astimezone(where).date()).days


def format_deadline_day(deadline: Deadline, language: str) -> str:
    """The day a call closes, no more exact than its source: `14 February 2025`; `March
    2025` (`mars 2025`…) for a month; the source's own words ("mid-July 2026") for an
    approximate deadline, never the made-up day it is scheduled on."""
    if deadline.precision == "approximate" and deadline.wording:
        return deadline.wording
    if deadline.precision != "day":
        return format_skeleton("yMMMM", deadline.day, locale=_locale(language))
    return format_day(deadline.day, language)


def closing_when(days: int, language: str, *, latest: bool = False) -> str:
    """`today`, `tomorrow` or `in 3 days`: when a call closes, for the messages that say
    so (`closes %(when)s`, `Closes %(when)s: %(title)s`), on pages and in emails alike.

    `latest` is for a deadline the source gives only as a month or a period: it is
    counted to the latest day the words allow, and the phrase says so ("in 3 days at
    the latest")."""
    words = texts(language)
    if days <= 0:
        when = words.pgettext("closes", "today")
    elif days == 1:
        when = words.pgettext("closes", "tomorrow")
    else:
        when = words.ngettext("in %(num)s day", "in %(num)s days", days)
    return words.gettext("%(when)s at the latest", when=when) if latest else when


def closing_phrase(days: int, language: str, *, latest: bool = False) -> str:
    """`closes today`, `closes in 3 days`… or `closed`, as a list of calls shows it."""
    words = texts(language)
    if days < 0:
        return words.gettext("closed")
    return words.gettext("closes %(when)s", when=closing_when(days, language, latest=latest))


def _locale(language: str) -> str:
    return language.replace("-", "_") if language else FALLBACK


@functools.lru_cache(maxsize=64)
def direction(language: str) -> str:
    """`rtl` for languages written right to left (Arabic…), else `ltr`: from babel."""
    try:
        order = Locale.parse(_locale(language)).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


@functools.lru_cache(maxsize=256)
def language_name(language: str, in_language: str | None = None) -> str:
    """`français` (in its own words by default), `French` (named in English): from babel
    (kept: every feed query names its language, and babel parses locales each time)."""
    try:
        locale = Locale.parse(_locale(language))
        name = locale.get_display_name(_locale(in_language or language))
    except (UnknownLocaleError, ValueError):
        return language
    return name or language


def language_note(content: str, language: str) -> str:
    """`in English`, in `language`'s words (`en anglais`, `باللغة الإنجليزية`), for
    content in another language than the page or email around it; "" when it is in
    that language."""
    if base_language(content) == base_language(language):
        return ""
    name = language_name(content, language)
    return texts(language).gettext("in %(language)s", language=name)


#: The site's name when `site.title` is left empty; translated like any other message.
DEFAULT_SITE_TITLE = N_("WCO news and calls")


def site_title(configured: str, language: str) -> str:
    """`site.title` as configured (a name, shown as written), else the default in
    `language`."""
    return configured or texts(language).gettext(DEFAULT_SITE_TITLE)


def negotiate(accept_language: str, offered: list[str]) -> str | None:
    """The offered language the `Accept-Language` header prefers most, or None.

    Ranges are tried by their q-value (then their order); `fr-CA` matches `fr`, and
    `q=0` refuses a language.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and q > 0:
            ranked.append((-q, position, base_language(tag.strip())))
    for _, _, language in sorted(ranked):
        if language in offered:
            return language
    return None
