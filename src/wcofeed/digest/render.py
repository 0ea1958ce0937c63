"""Emails as MIME messages: jinja2 text and HTML parts, localised, with an .ics.

An email is in its subscriber's language (Content-Language says which, the HTML part
its direction), says "in English" beside an item in another language, and counts
"closes in N days" in calendar days of the subscriber's time zone, with the same words
as the pages (`i18n.closing_when`). Its calendar carries an alarm at each of the
subscriber's lead times that is still ahead.

Every header value built from stored data (a name, a title) goes through
`markup.one_line`, which turns CR, LF and other control characters into spaces, so no
stored value can start a header of its own. Addresses are checked on the way in
(`subscription.normalise_email`). Only http(s) links go out: `prepare` refuses an item
with any other, and the round (`run.py`) leaves such an item out of every email
rather than failing anyone's.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

import icalendar
from markupsafe import escape

from wcofeed.config import Settings
from wcofeed.digest.mime import Attachment, Bodies, Email, write
from wcofeed.digest.select import DueCall, Group, group_by_topic, group_calls
from wcofeed.digest.subscription import AddressError
from wcofeed.digest.tokens import Purpose, Signer
from wcofeed.i18n import (
    N_,
    Texts,
    closing_when,
    days_left,
    format_day,
    format_deadline_day,
    site_title,
    texts,
)
from wcofeed.markup import one_line
from wcofeed.models import DEFAULT_DEADLINE_TZ, Item, Subscriber, web_url
from wcofeed.templates import template_environment, templates_dir

#: Stand-ins for the per-subscriber links in shared bodies; NUL never occurs in text.
_UNSUBSCRIBE, _PREFERENCES = "\x00unsubscribe\x00", "\x00preferences\x00"


def _address(value: str) -> str:
    """A stored address, re-checked cheaply: it was validated when it was saved."""
    if value.count("@") != 1 or value != one_line(value) or " " in value:
        raise AddressError(N_("%(value)s: not an email address"), value=repr(value))
    return value


@functools.lru_cache(maxsize=4096)
def _encoded(value: str) -> str:
    """A header value, RFC 2047-encoded words (on one line) when it is not ASCII.

    Cached: subjects repeat across subscribers and encoding them is slow."""
    clean = one_line(value)
    return clean if clean.isascii() else Header(clean, "utf-8").encode(linesep=" ")


@functools.lru_cache(maxsize=16)
def _date(now: datetime) -> str:
    return format_datetime(now)


@dataclass(frozen=True, slots=True)
class Links:
    unsubscribe: str
    preferences: str
    feed: str


class Renderer:
    """Renders the emails of one site; reuse it for a whole run (templates are cached)."""

    def __init__(self, settings: Settings, signer: Signer, templates: Path | None = None) -> None:
        self.settings = settings
        self.signer = signer
        self.env = template_environment(templates or templates_dir(settings))
        self._base = settings.site.base_url.rstrip("/")
        # Subscribers who follow the same topics get the same calls: a run renders
        # each calendar and each call's localised deadline line once, not per email.
        self._calendars: dict[tuple[object, ...], Attachment] = {}
        self._views: dict[tuple[object, ...], dict[str, str]] = {}
        self._events: dict[tuple[object, ...], icalendar.Event] = {}
        self._bodies: dict[tuple[object, ...], Bodies] = {}
        self._subjects: dict[tuple[object, ...], str] = {}

    def _feed(self, subscriber: Subscriber) -> str:
        """The feed of the subscriber's edition and topics (kept to the content
        languages they accept when those are not the default): part of the shared
        bodies, so worked out only when a content is rendered."""
        query: list[tuple[str, str]] = [("lang", subscriber.language)]
        accepted = subscriber.content_languages
        if accepted and accepted != self.settings.edition(subscriber.language):
            query.append(("content_lang", ",".join(accepted)))
        query += [("topic", topic) for topic in subscriber.topics]
        return f"{self._base}/feed.atom?{urlencode(query)}"

    def _signed(self, purpose: Purpose, subscriber: Subscriber, now: datetime) -> str:
        """The subscriber's own link to `purpose`, with its signed token."""
        token = quote_plus(self.signer.make(purpose, subscriber.email, now))
        return f"{self._base}/{purpose}?token={token}"

    def digest(
        self,
        subscriber: Subscriber,
        calls: Sequence[DueCall],
        new_items: Sequence[Item],
        window: tuple[datetime, datetime] | None,
        message_id: str,
        now: datetime,
    ) -> Email:
        """One email with the due reminders (grouped) and the new items (by topic).

        The bodies are rendered once per distinct content (languages, zone, topics,
        calls, items) with placeholders for the two signed links, which are then
        filled in per subscriber: most subscribers share their content with others.
        """
        lang = subscriber.language
        unsubscribe = self._signed("unsubscribe", subscriber, now)
        key = (
            lang,
            subscriber.content_languages,
            subscriber.timezone,
            subscriber.lead_days,
            subscriber.topics,
            now,
            window,
            *((c.item.guid, c.item.content_hash) for c in calls),
            "|",
            *((i.guid, i.content_hash) for i in new_items),
        )
        bodies = self._bodies.get(key)
        if bodies is None:
            bodies = _bounded(self._bodies)[key] = self._bodies_for(
                subscriber, calls, new_items, window, now
            )
        personal = (
            (_UNSUBSCRIBE, unsubscribe),
            (_PREFERENCES, self._signed("preferences", subscriber, now)),
        )
        escaped = [(placeholder, str(escape(url))) for placeholder, url in personal]
        return self._message(
            subscriber,
            self._subject_for(calls, new_items, subscriber, now),
            now,
            message_id,
            bodies.fill(personal, escaped),
            calendar=self._calendar(calls, subscriber, now) if calls else None,
            unsubscribe=unsubscribe,
        )

    def _bodies_for(
        self,
        subscriber: Subscriber,
        calls: Sequence[DueCall],
        new_items: Sequence[Item],
        window: tuple[datetime, datetime] | None,
        now: datetime,
    ) -> Bodies:
        lang = subscriber.language
        words = texts(lang)
        context: dict[str, Any] = {
            "lang": lang,
            "site_title": site_title(self.settings.site.title, lang),
            "groups": [
                (
                    _group_heading(group, words),
                    [self._call_view(c.item, now, subscriber) for c in grouped],
                )
                for group, grouped in group_calls(calls, now, subscriber.timezone).items()
                if grouped
            ],
            "topics": [
                (label or words.gettext("Other"), [self._new_view(i) for i in items])
                for label, items in group_by_topic(
                    new_items, subscriber, lambda slug: self.settings.topic_label(slug, lang)
                )
            ],
            "since": format_day(window[0], lang) if window else "",
            "links": Links(
                unsubscribe=_UNSUBSCRIBE, preferences=_PREFERENCES, feed=self._feed(subscriber)
            ),
        }
        return Bodies.of(
            self.env.get_template("email/digest.txt").render(context),
            self.env.get_template("email/digest.html").render(context),
            (_UNSUBSCRIBE, _PREFERENCES),
        )

    def confirmation(self, subscriber: Subscriber, message_id: str, now: datetime) -> Email:
        lang = subscriber.language
        site = site_title(self.settings.site.title, lang)
        context: dict[str, Any] = {
            "lang": lang,
            "site_title": site,
            "confirm_url": self._signed("confirm", subscriber, now),
        }
        return self._message(
            subscriber,
            texts(lang).gettext("Confirm your subscription to %(site)s", site=site),
            now,
            message_id,
            Bodies.of(
                self.env.get_template("email/confirm.txt").render(context),
                self.env.get_template("email/confirm.html").render(context),
            ).fill((), ()),
        )

    def _message(
        self,
        subscriber: Subscriber,
        subject: str,
        now: datetime,
        message_id: str,
        bodies: tuple[bytes, bytes],
        calendar: Attachment | None = None,
        unsubscribe: str = "",
    ) -> Email:
        """multipart/alternative (text, HTML), inside multipart/mixed with an .ics,
        written as bytes by `mime.write` (the `email` package's generator took half the
        CPU of a round)."""
        # "=_" never occurs in quoted-printable or base64 text, so these boundaries
        # cannot collide with a body.
        boundary = "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]
        email = self.settings.email
        to = formataddr((one_line(subscriber.name), _address(subscriber.email)), "utf-8")
        subject = one_line(subject)
        list_name = site_title(self.settings.site.title, self.settings.site.default_language)
        message_id = one_line(message_id)
        headers = [
            ("Date", _date(now)),
            ("Message-ID", message_id),
            ("From", _encoded(email.from_address)),
            ("To", to),
            ("Subject", _encoded(subject)),
            ("Content-Language", one_line(subscriber.language)),
            ("List-Id", _encoded(f"{list_name} <{email.list_id}>")),
        ]
        if unsubscribe:
            headers.append(("List-Unsubscribe", f"<{one_line(unsubscribe)}>"))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        return Email(
            message_id=message_id,
            recipient=subscriber.email,
            to=to,
            subject=subject,
            data=write(headers, bodies, boundary, calendar),
        )

    def _subject_for(
        self,
        calls: Sequence[DueCall],
        new_items: Sequence[Item],
        subscriber: Subscriber,
        now: datetime,
    ) -> str:
        """The subject, kept when it names no call: babel formats the count anew on
        each call of `ngettext`, and most emails of a run share a few subjects."""
        if len(calls) == 1:
            return self._subject(calls, new_items, subscriber, now)
        key = (subscriber.language, len(calls), len(new_items))
        subject = self._subjects.get(key)
        if subject is None:
            subject = _bounded(self._subjects)[key] = self._subject(
                calls, new_items, subscriber, now
            )
        return subject

    def _subject(
        self,
        calls: Sequence[DueCall],
        new_items: Sequence[Item],
        subscriber: Subscriber,
        now: datetime,
    ) -> str:
        words = texts(subscriber.language)
        if len(calls) == 1:
            item = calls[0].item
            assert item.deadline is not None
            when = _when(item, now, subscriber)
            return words.gettext("Closes %(when)s: %(title)s", when=when, title=item.title)
        if calls:
            return words.ngettext(
                "%(num)s call for applications closes soon",
                "%(num)s calls for applications close soon",
                len(calls),
            )
        site = site_title(self.settings.site.title, subscriber.language)
        return words.ngettext(
            "New on %(site)s: %(num)s item",
            "New on %(site)s: %(num)s items",
            len(new_items),
            site=site,
        )

    def prepare(self, item: Item, now: datetime, subscriber: Subscriber, *, call: bool) -> Item:
        """Render what an email to `subscriber` shows of `item` (kept for the emails that
        list it), as a due call or as a new item; raises for an item that cannot be
        shown, so a round can leave it out before anything is claimed."""
        if call:
            self._call_view(item, now, subscriber)
            self._event(item, subscriber, now).to_ical()
        else:
            self._new_view(item)
        return item

    def _call_view(self, item: Item, now: datetime, subscriber: Subscriber) -> dict[str, Any]:
        key = (item.guid, item.content_hash, now, subscriber.language, subscriber.timezone)
        view = self._views.get(key)
        if view is None:
            view = _bounded(self._views)[key] = _call_view(item, now, subscriber)
        return view

    def _new_view(self, item: Item) -> dict[str, str]:
        key = (item.guid, item.content_hash)
        view = self._views.get(key)
        if view is None:
            view = _bounded(self._views)[key] = {
                "title": item.title,
                "url": web_url(item.url),
                "language": item.language,
            }
        return view

    def _calendar(
        self, calls: Sequence[DueCall], subscriber: Subscriber, now: datetime
    ) -> Attachment:
        key = (
            now,
            subscriber.language,
            subscriber.lead_days,
            *((c.item.guid, c.item.content_hash) for c in calls),
        )
        found = self._calendars.get(key)
        if found is None:
            found = _bounded(self._calendars)[key] = self._build_calendar(calls, subscriber, now)
        return found

    def _build_calendar(
        self, calls: Sequence[DueCall], subscriber: Subscriber, now: datetime
    ) -> Attachment:
        """One event per call, on its deadline, with an alarm at each lead time of the
        subscriber still ahead: a call due in 2 days gets its 1-day alarm, not its 3-day.

        A deadline without a time is an all-day event that ends when the call closes, so
        its alarms count back from the event's end (TRIGGER;RELATED=END); a timed one is
        an event at the closing instant, its alarms counting back from its start."""
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//wcofeed//deadline reminders//EN")
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        for call in calls:
            calendar.add_component(self._event(call.item, subscriber, now))
        return Attachment(
            'text/calendar; method="PUBLISH"; charset="utf-8"',
            "deadlines.ics",
            bytes(calendar.to_ical()),
        )

    def _event(self, item: Item, subscriber: Subscriber, now: datetime) -> icalendar.Event:
        """The call's event for calendars in `subscriber`'s language and lead days; kept,
        since subscribers who follow different topics still share many calls."""
        key = (item.guid, item.content_hash, now, subscriber.language, subscriber.lead_days)
        event = self._events.get(key)
        if event is None:
            deadline = item.deadline
            assert deadline is not None
            words = texts(subscriber.language)
            event = icalendar.Event()
            uid = hashlib.sha256(item.guid.encode()).hexdigest()[:24]
            event.add("uid", f"{uid}@{self.settings.email.list_id}")
            event.add("dtstamp", now)
            event.add("summary", item.title)
            event.add("url", web_url(item.url))
            related: dict[str, str] = {}
            if deadline.at is None:
                event.add("dtstart", deadline.day)
                event.add("dtend", deadline.day + timedelta(days=1))
                related = {"RELATED": "END"}
            else:
                event.add("dtstart", deadline.closes_at())
            line = words.gettext(
                "Deadline: %(date)s", date=_deadline_day(item, subscriber.language)
            )
            closes_at = deadline.closes_at()
            for lead in sorted(subscriber.lead_days, reverse=True):
                if closes_at - timedelta(days=lead) <= now:
                    continue
                alarm = icalendar.Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", f"{line}\n{item.title}")
                alarm.add("trigger", timedelta(days=-lead), parameters=related)
                event.add_component(alarm)
            _bounded(self._events)[key] = event
        return event


_CACHE_SIZE = 4096


def _bounded(cache: dict[tuple[object, ...], Any]) -> dict[tuple[object, ...], Any]:
    """The cache, emptied first when full: memory stays flat over a long run."""
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    return cache


def _group_heading(group: Group, words: Texts) -> str:
    headings = {
        "today": words.gettext("Closes today"),
        "week": words.gettext("Closes this week"),
        "later": words.gettext("Closes later"),
    }
    return headings[group]


def _when(item: Item, now: datetime, subscriber: Subscriber) -> str:
    """`today`, `tomorrow`, `in 3 days`: calendar days in the subscriber's zone."""
    assert item.deadline is not None
    days = days_left(item.deadline.closes_at(), now, subscriber.timezone)
    # An approximate deadline is scheduled at the latest day its words allow: say so.
    return closing_when(days, subscriber.language, latest=item.deadline.precision != "day")


def _deadline_day(item: Item, lang: str) -> str:
    """`14 February 2025`, or with its time `14 February 2025, 17:00 (Europe/Brussels)`."""
    assert item.deadline is not None
    day = format_deadline_day(item.deadline, lang)
    if item.deadline.at is None:
        return day
    return texts(lang).gettext(
        "%(day)s, %(time)s (%(zone)s)",
        day=day,
        time=item.deadline.at.strftime("%H:%M"),
        zone=item.deadline.tz or DEFAULT_DEADLINE_TZ,
    )


def _call_view(item: Item, now: datetime, subscriber: Subscriber) -> dict[str, Any]:
    """A due call as an email shows it: its summary's worth, and the links of the
    documents its page gives (the application form, the terms of reference)."""
    lang = subscriber.language
    closes = texts(lang).gettext(
        "Deadline %(date)s, %(when)s",
        date=_deadline_day(item, lang),
        when=_when(item, now, subscriber),
    )
    return {
        "title": item.title,
        "url": web_url(item.url),
        "summary": item.summary,
        "language": item.language,
        "closes": closes,
        "documents": [
            {"title": one_line(a.title) or a.url, "url": web_url(a.url)} for a in item.attachments
        ],
    }
