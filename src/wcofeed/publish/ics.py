"""Open calls as an iCalendar feed: one all-day event on each call's deadline day.

An all-day event is what makes a calendar say "closes today" on the right day in every
time zone; the exact closing time, when the source gives one, is in the description.
Event stamps come from the item's last change, so the file changes only when a call
does (calendar apps poll it like a feed). The calendar's name may hold words typed into
a query: it is made one line of text, so no value can start a property of its own. An
event that cannot be rendered is left out alone (`wcofeed.isolate`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

from icalendar import Calendar, Event

from wcofeed.i18n import texts
from wcofeed.isolate import Skipped, render_or_skip
from wcofeed.markup import one_line, xml_safe
from wcofeed.publish.render import ItemView


def render_ics(
    name: str,
    language: str,
    self_url: str,
    entries: Sequence[ItemView],
    skipped: list[Skipped],
) -> bytes:
    """A VCALENDAR named `name` with one VEVENT per call that has a deadline; entries
    that fail are left out and recorded in `skipped`."""
    return render_or_skip(
        lambda chosen: _calendar(one_line(xml_safe(name)), language, self_url, chosen),
        entries,
        lambda entry: entry.item.guid,
        "ics",
        skipped,
    )


def _calendar(name: str, language: str, self_url: str, entries: Sequence[ItemView]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//wcofeed//open calls//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    cal.add("source", self_url)
    cal.add("refresh-interval", timedelta(hours=12), parameters={"VALUE": "DURATION"})
    words = texts(language)
    for entry in entries:
        deadline = entry.item.deadline
        if deadline is None:
            continue
        event = Event()
        event.add("uid", _uid(entry.item.guid))
        event.add("dtstamp", entry.updated)
        event.add("last-modified", entry.updated)
        event.add("dtstart", deadline.day)
        event.add("dtend", deadline.day + timedelta(days=1))
        event.add("summary", words.gettext("Closes: %(title)s", title=entry.title))
        event.add("description", f"{entry.text}\n\n{entry.link}")
        event.add("url", entry.link)
        event.add("transp", "TRANSPARENT")
        if entry.topics:
            event.add("categories", [label for _, label in entry.topics])
        cal.add_component(event)
    return bytes(cal.to_ical())


def _uid(guid: str) -> str:
    """A stable UID per call; the guid itself may hold characters calendars mangle."""
    return hashlib.sha256(guid.encode("utf-8")).hexdigest()[:32] + "@wcofeed"
