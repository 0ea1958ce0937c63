"""The plain data every part of wcofeed passes around: items, deadlines, source state,
subscribers, and the rules their fields follow.

No I/O here. One `Item` type travels from the parsers through the store to the feeds
and emails, so a field added once is seen everywhere. `item_to_dict` / `item_from_dict`
define the stable JSON form (field names as in `Item`, dates in ISO 8601) used by
`wcofeed items --json`, hand-entered JSON sources and the admin API.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import hashlib
import json
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Kind = Literal["news", "call", "publication", "event"]
KINDS: tuple[Kind, ...] = get_args(Kind)

#: How exactly a source gives a deadline: a day ("14 March 2025"), a month ("March
#: 2025") or an approximate period ("mid-July 2026", "early 2026").
Precision = Literal["day", "month", "approximate"]
PRECISIONS: tuple[Precision, ...] = get_args(Precision)

#: The WCO sits in Brussels: a deadline printed without a time zone is read there.
DEFAULT_DEADLINE_TZ = "Europe/Brussels"

#: The years an item's publication and deadline dates may fall in. RSS (RFC 822), Atom
#: (RFC 3339), JSON Feed and iCalendar all write a year in four digits, which
#: `strftime("%Y")` does not give before 1000; a deadline's end of day, a reminder's
#: lead days and a time zone's offset are added to these dates, and Python's datetime
#: overflows past 9999. No source means a date outside these bounds: such a date is a
#: typo or an attack, refused here so that it cannot fail a feed, a page or a store
#: write later.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200

SubscriberStatus = Literal["pending", "active", "paused", "unsubscribed"]
DigestFrequency = Literal["off", "daily", "weekly"]
FREQUENCIES: tuple[DigestFrequency, ...] = get_args(DigestFrequency)

_PAGE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: The WCO's language folder, first in a link's path: `https://www.wcoomd.org/fr/...`.
_LANGUAGE_FOLDER = re.compile(r"^(https?://[^/?#]*)/(?:en|fr|es|ru|zh|ar)(?=/)")
#: What stands for the language folder in a translation key.
LANGUAGE_PLACEHOLDER = "{lang}"
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
#: C0 and C1 controls, DEL, and the noncharacters XML 1.0 cannot carry: never part of a
#: link or an id, and a CR or LF in one would end an iCalendar line or an email header.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
#: Lone surrogates (Python strings hold them, UTF-8 cannot) and NUL (SQLite's C side
#: ends a string there): no text field may carry them.
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
#: The text fields of an item; identifiers must not hold any control character either.
_TEXT_FIELDS = (
    "guid",
    "title",
    "url",
    "source",
    "summary",
    "summary_html",
    "content_html",
    "content_text",
)
_IDENTIFIERS = ("guid", "source")


def is_slug(text: str) -> bool:
    """Topic and source slugs: lower-case words of a-z and 0-9 joined by single '-'."""
    return _SLUG.match(text) is not None


def is_language_code(text: str) -> bool:
    """A BCP-47 style code such as 'en', 'pt-BR' or 'zh-Hans'."""
    return _LANG.match(text) is not None


def is_web_url(text: str) -> bool:
    """An absolute http(s) URL with a host, no control character, no space at either end.

    The only links wcofeed lets out (feeds, calendars, emails, pages): `javascript:`
    or `data:` would run in a reader, and a CR or LF would start a calendar line.
    """
    if _CONTROL.search(text) or text != text.strip():
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host)


def web_url(text: str) -> str:
    """`text` when `is_web_url`, else ValueError: for outputs, which must not carry any
    other link even if one got past the model (an old row, a bug)."""
    if not is_web_url(text):
        raise ValueError(f"not an http(s) link: {text[:200]!r}")
    return text


def default_translation_key(guid: str) -> str:
    """The key the versions of one item share, when the source names none: its guid
    with the language folder replaced, since the WCO puts the French version of
    `/en/media/x.aspx` at `/fr/media/x.aspx`. Ingest makes the guid the canonical link
    (`ingest.identity`); a guid that is no such link is its own key."""
    return _LANGUAGE_FOLDER.sub(lambda m: f"{m[1]}/{LANGUAGE_PLACEHOLDER}", guid, count=1)


class FieldErrors(ValueError):
    """Values that break a model's rules; `errors` maps each bad field to why, so a form
    or an API answer can show them all at once."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class ItemError(FieldErrors):
    """An item that breaks the model's rules."""


class UpsertOutcome(enum.Enum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a call closes: a day, optionally a time of day and the zone it is read in.

    A deadline the source gives only as a month or a period is kept at the latest day
    the text allows (`day`: 31 March for "end of March", 20 July for "mid-July"), so it
    sorts, stays open and is reminded like any other; `precision` says how exact it is
    and `wording` keeps the source's phrase, which is what readers are shown.
    """

    day: date
    at: time | None = None
    tz: str | None = None
    precision: Precision = "day"
    wording: str = ""

    def closes_at(self) -> datetime:
        """The instant the call closes: the given time, or the end of the day, in its zone."""
        return _closes_at(self.day, self.at, self.tz)

    def isoformat(self) -> str:
        """`2025-02-14`, or `2025-02-14T17:00:00+01:00` when a time is known."""
        if self.at is None:
            return self.day.isoformat()
        zone = ZoneInfo(self.tz or DEFAULT_DEADLINE_TZ)
        return datetime.combine(self.day, self.at, tzinfo=zone).isoformat()


#: Documents by the file extension of their link, with their media type.
DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ppt": "application/vnd.ms-powerpoint",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".rtf": "application/rtf",
    ".zip": "application/zip",
}


@dataclass(frozen=True, slots=True)
class Attachment:
    """A document an item's page links to (an application form, terms of reference):
    `type` is its media type, `length` its size in bytes when the page states it."""

    url: str
    type: str = "application/octet-stream"
    title: str = ""
    length: int | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One dated piece of news, publication, event or call for applications.

    `language` is the language of the content, not of the page's interface. `published`
    is the source's own date (a date when it gives only a day), None when it gives none:
    wcofeed never makes one up. `translation_key` is shared by the versions of one item
    in several languages (left empty, `default_translation_key` of the guid).
    `content_html` / `content_text` are the full text of the item's own page (sanitised
    HTML and its plain-text twin; empty when the page was not read) and `attachments`
    the documents it links, both kept beside the list's summary.
    `first_seen`, `last_changed` and `announce_from` are set by the store;
    `content_hash` is derived from the content fields, so two items with the same
    content always hash alike and an edit always changes it.
    """

    guid: str
    kind: Kind
    title: str
    url: str
    language: str
    published: date | datetime | None
    source: str
    summary: str = ""
    summary_html: str = ""
    topics: tuple[str, ...] = ()
    deadline: Deadline | None = None
    translation_key: str = ""
    content_html: str = ""
    content_text: str = ""
    attachments: tuple[Attachment, ...] = ()
    first_seen: datetime | None = None
    last_changed: datetime | None = None
    #: From when the item may be announced as new (digests), decided when it is first
    #: seen (`announce_from`); None: never, it is back catalogue or old news.
    announce_from: datetime | None = None
    content_hash: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "topics", tuple(sorted(set(self.topics))))
        object.__setattr__(self, "attachments", tuple(self.attachments))
        if not self.translation_key and isinstance(self.guid, str):
            object.__setattr__(self, "translation_key", default_translation_key(self.guid))
        errors = _validate({name: getattr(self, name) for name in _ITEM_FIELDS})
        if errors:
            raise ItemError(errors)
        object.__setattr__(self, "content_hash", _content_hash(self))

    def __hash__(self) -> int:
        """By the content hash, which sums up the content fields, and the fields it
        leaves out but the wording of a day's deadline: equal items hash alike, and an
        item used as a cache key (a feed's prepared entries) hashes six values, not
        every field."""
        return hash(
            (
                self.guid,
                self.content_hash,
                self.source,
                self.first_seen,
                self.last_changed,
                self.announce_from,
            )
        )

    @property
    def published_at(self) -> datetime | None:
        """`published` as an aware UTC datetime (a bare date is midnight UTC), if any."""
        return None if self.published is None else as_utc(self.published)

    def with_times(
        self,
        first_seen: datetime,
        last_changed: datetime,
        announce_from: datetime | None = None,
    ) -> Item:
        """A copy with the store's timestamps; they are not content, so nothing is re-hashed."""
        clone = object.__new__(Item)
        for name, value in zip(_ITEM_FIELDS, _ITEM_VALUES(self), strict=True):
            object.__setattr__(clone, name, value)
        object.__setattr__(clone, "first_seen", first_seen)
        object.__setattr__(clone, "last_changed", last_changed)
        object.__setattr__(clone, "announce_from", announce_from)
        return clone


_ITEM_FIELDS = tuple(f.name for f in dataclasses.fields(Item))
_ITEM_VALUES = operator.attrgetter(*_ITEM_FIELDS)
_HASH_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store remembers about fetching one source."""

    id: str
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class PageFindings:
    """What an item's own page gave: its full text, documents, and the date, deadline
    and translation key it states (None / empty when it states none)."""

    content_html: str = ""
    content_text: str = ""
    attachments: tuple[Attachment, ...] = ()
    published: date | datetime | None = None
    deadline: Deadline | None = None
    translation_key: str = ""


@dataclass(frozen=True, slots=True)
class DetailState:
    """What the store remembers about reading one item's own page.

    `list_hash` is the content hash of the list's item when its page was last read, so a
    change on the list is seen; `due` is when the page is next read anyway (the slow
    schedule, or a retry after `failures`); `findings` is what the last good read gave,
    kept while later reads fail.
    """

    guid: str
    url: str
    list_hash: str
    due: datetime
    fetched_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    error: str | None = None
    findings: PageFindings | None = None


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What an upsert did; `previous` is the stored version it replaced, if any."""

    outcome: UpsertOutcome
    item: Item
    previous: Item | None = None


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A person on the mailing: what they want, in which language, and their standing.

    Empty `topics` or `kinds` mean "all". `language` is the language of the emails;
    `content_languages` the languages of the items they accept, best first, one version
    of each item (empty: `language`, then the site's fallbacks for it, as configured
    when each email is sent). `id` is set by the store.
    """

    email: str
    language: str = "en"
    content_languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    lead_days: tuple[int, ...] = (14, 3, 1)
    digest: DigestFrequency = "off"
    timezone: str = "UTC"
    name: str = ""
    status: SubscriberStatus = "pending"
    id: int | None = None
    created_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirm_sent_at: datetime | None = None
    last_digest_at: datetime | None = None
    hard_bounces: int = 0
    last_error: str | None = None


@functools.lru_cache(maxsize=4096)
def _closes_at(day: date, at: time | None, tz: str | None) -> datetime:
    # Cached: digest rounds ask for the same few deadlines once per subscriber.
    zone = ZoneInfo(tz or DEFAULT_DEADLINE_TZ)
    if at is None:
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        return (end - timedelta(seconds=1)).astimezone(UTC)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def as_utc(value: date | datetime) -> datetime:
    """An aware UTC datetime for a date (midnight UTC) or a datetime (naive = UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=UTC)


_YEAR_RANGE = f"year must be between {EARLIEST_YEAR} and {LATEST_YEAR}"


def in_year_range(value: date) -> bool:
    """Whether a date (or datetime) lies within `EARLIEST_YEAR`..`LATEST_YEAR`."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def announce_from(
    published: date | datetime | None,
    first_seen: datetime,
    *,
    baseline: bool,
    max_age: timedelta | None,
) -> datetime | None:
    """From when an item first seen at `first_seen` is news, or None if it never is.

    A source's first fetch (`baseline`) finds its back catalogue: an item of it is news
    only by its own date (a digest whose period holds that date announces it), an undated
    one never. Later, an item is news from the moment it is first seen, unless its own
    date is older than `max_age` then: a page that starts listing old news today does not
    make it new. Days are compared as days, so `max_age` of 7 keeps the whole 7th day.
    """
    if published is None:
        return None if baseline else first_seen
    own = as_utc(published)
    if max_age is not None and own.date() < (first_seen - max_age).date():
        return None
    return own if baseline else first_seen


def _validate(values: Mapping[str, Any]) -> dict[str, str]:
    """The model's rules over field values; an error message per bad field."""
    errors: dict[str, str] = {}
    for name in ("guid", "title", "url", "source"):
        value = values.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = "must be a non-empty string"
    for name in _TEXT_FIELDS:
        value = values.get(name)
        if isinstance(value, str) and _NOT_TEXT.search(value):
            errors.setdefault(name, "holds NUL or a lone surrogate (not text)")
    for name in _IDENTIFIERS:
        value = values.get(name)
        if isinstance(value, str) and _CONTROL.search(value):
            errors.setdefault(name, "holds a control character")
    url = values.get("url")
    if isinstance(url, str) and url.strip() and "url" not in errors and not is_web_url(url):
        errors["url"] = "must be an http(s) URL with a host and no control characters"
    key = values.get("translation_key", "")
    if not isinstance(key, str) or (key and not key.strip()):
        errors["translation_key"] = "must be a non-blank string (or left out: from the guid)"
    if values.get("kind") not in KINDS:
        errors["kind"] = f"must be one of {', '.join(KINDS)}"
    language = values.get("language")
    if not isinstance(language, str) or not is_language_code(language):
        errors["language"] = "must be a BCP-47 language code such as 'en' or 'pt-BR'"
    published = values.get("published")
    if published is not None and not isinstance(published, date):
        errors["published"] = "must be a date, a datetime or null"
    elif published is not None and not in_year_range(published):
        errors["published"] = _YEAR_RANGE
    topics = values.get("topics", ())
    bad_topics = [t for t in topics if not isinstance(t, str) or not is_slug(t)]
    if bad_topics:
        errors["topics"] = f"not slugs (a-z, 0-9, '-'): {', '.join(map(str, bad_topics))}"
    deadline = values.get("deadline")
    if deadline is not None and not isinstance(deadline, Deadline):
        errors["deadline"] = "must be a Deadline"
    elif deadline is not None and (problem := _deadline_problem(deadline)):
        errors["deadline"] = problem
    for attachment in values.get("attachments", ()):
        if problem := _attachment_problem(attachment):
            errors["attachments"] = problem
            break
    return errors


def _attachment_problem(attachment: Any) -> str | None:
    if not isinstance(attachment, Attachment):
        return "must be Attachments"
    if not is_web_url(attachment.url):
        return f"not an http(s) link: {attachment.url[:200]!r}"
    if not isinstance(attachment.type, str) or "/" not in attachment.type:
        return f"not a media type: {attachment.type!r}"
    if _CONTROL.search(attachment.type) or _NOT_TEXT.search(attachment.title):
        return "holds a control character"
    if attachment.length is not None and (
        not isinstance(attachment.length, int) or attachment.length < 0
    ):
        return "length must be a whole number of bytes, or null"
    return None


def _deadline_problem(deadline: Deadline) -> str | None:
    if not in_year_range(deadline.day):
        return _YEAR_RANGE
    if deadline.tz is not None:
        try:
            ZoneInfo(deadline.tz)
        except (ZoneInfoNotFoundError, ValueError):
            return f"unknown time zone {deadline.tz!r}"
    if deadline.precision not in PRECISIONS:
        return f"precision must be one of {', '.join(PRECISIONS)}"
    if deadline.precision == "day":
        return (
            "'wording' is only kept for month and approximate deadlines"
            if deadline.wording
            else None
        )
    if deadline.at is not None:
        return "a time of day needs precision 'day'"
    if deadline.precision == "month" and (deadline.day + timedelta(days=1)).day != 1:
        return "a month deadline's date is the last day of its month"
    if deadline.precision == "approximate" and not deadline.wording.strip():
        return "an approximate deadline needs its 'wording', as the source gives it"
    return None


def _content_hash(item: Item) -> str:
    content: list[Any] = [
        item.kind,
        item.title,
        item.summary,
        item.summary_html,
        item.url,
        item.language,
        list(item.topics),
        _iso(item.published),
        item.deadline.isoformat() if item.deadline else None,
        item.deadline.tz if item.deadline else None,
    ]
    if item.deadline is not None and item.deadline.precision != "day":
        # Only when not the default: items stored before precision existed keep their hash.
        content += [item.deadline.precision, item.deadline.wording]
    if item.translation_key != default_translation_key(item.guid):
        # Likewise: only a key given by the source is content.
        content += ["translation_key", item.translation_key]
    if item.content_html or item.content_text or item.attachments:
        # Likewise: only an item whose own page was read has any.
        content += [
            "content",
            item.content_html,
            item.content_text,
            [attachment_to_dict(a) for a in item.attachments],
        ]
    raw = _HASH_JSON.encode(content)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def item_to_dict(item: Item) -> dict[str, Any]:
    """The stable JSON form of an item: every model field, dates in ISO 8601."""
    return {
        "guid": item.guid,
        "kind": item.kind,
        "title": item.title,
        "summary": item.summary,
        "summary_html": item.summary_html,
        "url": item.url,
        "language": item.language,
        "topics": list(item.topics),
        "published": _iso(item.published),
        "deadline": deadline_to_dict(item.deadline),
        "translation_key": item.translation_key,
        "content_html": item.content_html,
        "content_text": item.content_text,
        "attachments": [attachment_to_dict(a) for a in item.attachments],
        "source": item.source,
        "first_seen": _iso(item.first_seen),
        "last_changed": _iso(item.last_changed),
        "announce_from": _iso(item.announce_from),
        "content_hash": item.content_hash,
    }


def attachment_to_dict(attachment: Attachment) -> dict[str, Any]:
    return {
        "url": attachment.url,
        "type": attachment.type,
        "title": attachment.title,
        "length": attachment.length,
    }


def attachments_from_value(value: Any) -> tuple[Attachment, ...]:
    """Attachments from their JSON form: a list of {url, type, title, length}."""
    if value in (None, ""):
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError("must be a list of {url, type, title, length}")
    found = []
    for entry in value:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
            raise ValueError("each attachment needs a 'url'")
        unknown = set(entry) - {"url", "type", "title", "length"}
        if unknown:
            raise ValueError(f"unknown attachment keys: {', '.join(sorted(unknown))}")
        length = entry.get("length")
        if length is not None and (type(length) is not int or length < 0):
            raise ValueError("an attachment's length is a whole number of bytes, or null")
        attachment = Attachment(
            entry["url"],
            str(entry.get("type") or "application/octet-stream"),
            str(entry.get("title") or ""),
            length,
        )
        if problem := _attachment_problem(attachment):
            raise ValueError(problem)
        found.append(attachment)
    return tuple(found)


def findings_to_dict(findings: PageFindings) -> dict[str, Any]:
    return {
        "content_html": findings.content_html,
        "content_text": findings.content_text,
        "attachments": [attachment_to_dict(a) for a in findings.attachments],
        "published": _iso(findings.published),
        "deadline": deadline_to_dict(findings.deadline),
        "translation_key": findings.translation_key,
    }


def findings_from_dict(data: Mapping[str, Any]) -> PageFindings:
    """The inverse of `findings_to_dict`; ValueError for a form it never writes."""
    published = data.get("published")
    return PageFindings(
        content_html=str(data.get("content_html") or ""),
        content_text=str(data.get("content_text") or ""),
        attachments=attachments_from_value(data.get("attachments")),
        published=parse_iso_date_or_datetime(published) if published else None,
        deadline=deadline_from_value(data.get("deadline")),
        translation_key=str(data.get("translation_key") or ""),
    )


def page_id(guid: str) -> str:
    """An item's id in the `/items/{id}` address: its guid in URL-safe base64, so any
    store finds the item by the key it already has, with nothing to keep in step."""
    return base64.urlsafe_b64encode(guid.encode("utf-8")).decode("ascii").rstrip("=")


def guid_from_page_id(value: str) -> str | None:
    """The guid a `page_id` stands for, or None when `value` is none."""
    if not value or len(value) > 4096 or not _PAGE_ID.match(value):
        return None
    try:
        guid = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return guid if page_id(guid) == value and not _NOT_TEXT.search(guid) else None


def deadline_to_dict(deadline: Deadline | None) -> dict[str, str | None] | None:
    if deadline is None:
        return None
    return {
        "date": deadline.day.isoformat(),
        "time": deadline.at.isoformat() if deadline.at else None,
        "timezone": deadline.tz,
        "precision": deadline.precision,
        "wording": deadline.wording or None,
    }


_REQUIRED = ("guid", "kind", "title", "url", "language", "source")
_KNOWN = frozenset(_ITEM_FIELDS)


def item_from_dict(data: Mapping[str, Any], *, defaults: Mapping[str, Any] | None = None) -> Item:
    """Build an item from its JSON form, reporting every bad field at once.

    `defaults` fills fields the data leaves out (a hand-entered file names its source once);
    `translation_key` left out comes from the guid (`default_translation_key`).
    `published` may be left out or null: the item is undated. Derived fields
    (`content_hash`, `first_seen`, `last_changed`, `announce_from`) are accepted and
    ignored: the store owns them.
    """
    merged = {**(defaults or {}), **data}
    errors: dict[str, str] = {}
    unknown = sorted(set(merged) - _KNOWN)
    for key in unknown:
        errors[key] = "unknown field"
    for key in _REQUIRED:
        if merged.get(key) in (None, ""):
            errors[key] = "required"
    values: dict[str, Any] = {}
    for key in (
        "guid",
        "kind",
        "title",
        "url",
        "language",
        "source",
        "summary",
        "summary_html",
        "translation_key",
        "content_html",
        "content_text",
    ):
        value = merged.get(key, "")
        if key == "translation_key" and value is None:
            value = ""
        if not isinstance(value, str):
            errors.setdefault(key, "must be a string")
        values[key] = value
    published = merged.get("published")
    values["published"] = None
    if published not in (None, ""):
        try:
            values["published"] = parse_iso_date_or_datetime(published)
        except ValueError as exc:
            errors["published"] = str(exc)
    topics = merged.get("topics", [])
    if isinstance(topics, str) or not isinstance(topics, Iterable):
        errors["topics"] = "must be a list of slugs"
    else:
        values["topics"] = tuple(topics)
    try:
        values["deadline"] = deadline_from_value(merged.get("deadline"))
    except ValueError as exc:
        errors["deadline"] = str(exc)
    try:
        values["attachments"] = attachments_from_value(merged.get("attachments"))
    except ValueError as exc:
        errors["attachments"] = str(exc)
    for key, message in _validate(values).items():
        errors.setdefault(key, message)
    if errors:
        raise ItemError(errors)
    return Item(**values)


def parse_json(text: str | bytes) -> Any:
    """A JSON document from outside (an API body, a file); ValueError saying why for
    anything the json module cannot take whole: a syntax error, bytes that are not
    UTF-8, a number longer than Python converts, nesting deeper than it recurses."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None


def parse_iso_date_or_datetime(value: Any) -> date | datetime:
    """`2025-02-14` gives a date; `2025-02-14T10:00:00+01:00` an aware datetime."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date or datetime string")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or datetime: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def deadline_from_value(value: Any) -> Deadline | None:
    """A deadline from its JSON form: null, an ISO date/datetime string, or a mapping."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = parse_iso_date_or_datetime(value)
        if isinstance(parsed, datetime):
            offset = parsed.utcoffset()
            zone = "UTC" if offset == timedelta(0) else _zone_name(parsed)
            return Deadline(parsed.date(), parsed.time().replace(tzinfo=None), zone)
        return Deadline(parsed)
    if isinstance(value, Mapping):
        unknown = set(value) - {"date", "time", "timezone", "precision", "wording"}
        if unknown:
            raise ValueError(f"unknown deadline keys: {', '.join(sorted(unknown))}")
        try:
            day = date.fromisoformat(str(value["date"]))
            at = time.fromisoformat(value["time"]) if value.get("time") else None
        except (KeyError, ValueError, TypeError):
            raise ValueError("needs 'date' as YYYY-MM-DD and optional 'time' as HH:MM") from None
        tz: str | None = value.get("timezone") or None
        if tz is not None:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError, TypeError):
                raise ValueError(f"unknown time zone {tz!r}") from None
        precision, wording = value.get("precision") or "day", value.get("wording") or ""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        if not isinstance(wording, str):
            raise ValueError("'wording' must be a string")
        deadline = Deadline(day, at, tz, cast(Precision, precision), wording.strip())
        if problem := _deadline_problem(deadline):
            raise ValueError(problem)
        return deadline
    raise ValueError(
        "must be null, an ISO date string or {date, time, timezone, precision, wording}"
    )


def _zone_name(value: datetime) -> str:
    """An IANA-style fixed-offset zone name (Etc/GMT-1 is UTC+1) for an offset in hours."""
    offset = value.utcoffset() or timedelta(0)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    if rest:
        raise ValueError("deadline offsets must be whole hours; give a 'timezone' name instead")
    return f"Etc/GMT{-hours:+d}"
