"""Rendered emails parsed back with the `email` package: parts, headers, links, languages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import lxml.html
import pytest
from tests.conftest import english_leftovers

from wcofeed.config import Settings, TopicSettings
from wcofeed.digest.mime import Email
from wcofeed.digest.render import Renderer
from wcofeed.digest.select import DueCall
from wcofeed.digest.send import Outgoing
from wcofeed.digest.subscription import AddressError, normalise_email
from wcofeed.digest.tokens import Signer
from wcofeed.i18n import closing_phrase, days_left
from wcofeed.models import Deadline, Item, Subscriber

NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
MID = "<abc@reminders.feeds.example.org>"


@pytest.fixture
def renderer(digest_settings: Settings) -> Renderer:
    return Renderer(digest_settings, Signer(digest_settings.security.secret_key))


def parsed(message: Email) -> EmailMessage:
    """What a receiver sees: the bytes sent over SMTP, parsed back."""
    result = message_from_bytes(Outgoing.of(message).data, policy=default)
    assert isinstance(result, EmailMessage)
    return result


def reminder(
    renderer: Renderer, item_factory: Callable[..., Item], lang: str = "en", **sub: Any
) -> EmailMessage:
    item = item_factory(
        kind="call",
        title="Scholarship <2025>",
        url="https://www.wcoomd.org/en/calls/scholarship?x=1&y=2",
        deadline=Deadline(date(2025, 2, 4)),
        topics=("capacity-building",),
        language=lang,
    )
    subscriber = Subscriber(
        "ana@example.org",
        language=lang,
        topics=("capacity-building", "origin"),
        name="Ana",
        timezone="Europe/Brussels",
        **sub,
    )
    return parsed(renderer.digest(subscriber, [DueCall(item, (3,))], [], None, MID, NOW))


def test_reminder_structure_headers_and_links(
    renderer: Renderer, item_factory: Callable[..., Item]
) -> None:
    message = reminder(renderer, item_factory)
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text, html = alternative.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"

    assert message["Message-ID"] == MID
    assert message["From"] == "WCO feeds <noreply@feeds.example.org>"
    assert message["To"] == "Ana <ana@example.org>"
    assert message["Date"].datetime == NOW
    assert message["List-Id"] == "WCO calls <reminders.feeds.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Closes in 3 days: Scholarship <2025>"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://feeds.example.org/unsubscribe?token=")
    token = parse_qs(urlsplit(unsubscribe).query)["token"][0]
    claims = renderer.signer.check(token, "unsubscribe", NOW + timedelta(days=900))
    assert claims.email == "ana@example.org"

    body = html.get_content()
    assert 'href="https://www.wcoomd.org/en/calls/scholarship?x=1&amp;y=2"' in body
    assert "Scholarship &lt;2025&gt;" in body
    feed = (
        "https://feeds.example.org/feed.atom?lang=en&amp;topic=capacity-building&amp;topic=origin"
    )
    assert feed in body
    assert "https://feeds.example.org/preferences?token=" in body
    plain = text.get_content()
    assert "https://www.wcoomd.org/en/calls/scholarship?x=1&y=2" in plain
    assert "Deadline February 4, 2025, in 3 days" in plain

    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "deadlines.ics"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Scholarship <2025>"
    assert event.decoded("DTSTART") == date(2025, 2, 4)


@pytest.mark.parametrize(
    ("lang", "heading", "deadline"),
    [
        ("en", "Closes this week", "February 4, 2025"),
        ("fr", "Clôture cette semaine", "4 février 2025"),
        ("es", "Cierran esta semana", "4 de febrero de 2025"),
        ("ru", "Срок истекает на этой неделе", "4 февраля 2025"),
        ("zh", "本周截止", "2025年2月4日"),
        ("ar", "تُغلق هذا الأسبوع", "فبراير"),
    ],
)
def test_every_language_renders_with_localised_dates(
    renderer: Renderer,
    item_factory: Callable[..., Item],
    lang: str,
    heading: str,
    deadline: str,
) -> None:
    message = reminder(renderer, item_factory, lang=lang)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert heading in text
    assert deadline in text
    assert f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}">' in html


def test_french_subject_and_relative_time(
    renderer: Renderer, item_factory: Callable[..., Item]
) -> None:
    message = reminder(renderer, item_factory, lang="fr")
    assert message["Subject"] == "Clôture dans 3 jours\u00a0: Scholarship <2025>"


def test_line_breaks_in_stored_fields_cannot_add_headers(
    renderer: Renderer, item_factory: Callable[..., Item], digest_settings: Settings
) -> None:
    item = item_factory(
        kind="call",
        title="Call\r\nBcc: victim@evil.example\r\n\r\nbody",
        deadline=Deadline(date(2025, 2, 4)),
    )
    subscriber = Subscriber("ana@example.org", name="Eve\nX-Injected: yes\r\nCc: a@b.example")
    evil_renderer = Renderer(
        dataclasses.replace(
            digest_settings,
            site=dataclasses.replace(digest_settings.site, title="Site\r\nX-Site: 1"),
        ),
        renderer.signer,
    )
    message = parsed(evil_renderer.digest(subscriber, [DueCall(item, (3,))], [], None, MID, NOW))
    for name in ("Bcc", "Cc", "X-Injected", "X-Site"):
        assert message[name] is None
    assert message["Subject"] == "Closes in 3 days: Call Bcc: victim@evil.example body"
    assert message["To"].addresses[0].addr_spec == "ana@example.org"
    assert len(message.get_all("To") or []) == 1


def test_new_items_are_grouped_by_topic_with_links(
    renderer: Renderer, item_factory: Callable[..., Item]
) -> None:
    items = [
        item_factory(title="On origin", topics=("origin",), url="https://x.example/1"),
        item_factory(title="On both", topics=("origin", "valuation"), url="https://x.example/2"),
        item_factory(title="Untagged", url="https://x.example/3"),
    ]
    subscriber = Subscriber("ana@example.org")
    window = (NOW - timedelta(days=1), NOW)
    message = parsed(renderer.digest(subscriber, [], items, window, MID, NOW))
    assert message["Subject"] == "New on WCO calls: 3 items"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "New since January 31, 2025" in text
    sections = text.split("### ")
    assert sections[1].startswith("origin\r\n") and "On origin" in sections[1]
    assert "On both" in sections[1] and "On both" in sections[2]
    assert sections[3].startswith("Other\r\n") and "https://x.example/3" in sections[3]


def test_new_items_are_grouped_under_topic_labels_in_the_subscribers_language(
    digest_settings: Settings, item_factory: Callable[..., Item]
) -> None:
    labels = {
        "origin": {"en": "Origin", "fr": "Origine"},
        "capacity-building": {"en": "Capacity building", "fr": "Renforcement des capacités"},
    }
    settings = dataclasses.replace(
        digest_settings,
        topics={slug: TopicSettings(labels=words) for slug, words in labels.items()},
    )
    renderer = Renderer(settings, Signer(settings.security.secret_key))
    items = [
        item_factory(title="Sans thème", language="fr"),
        item_factory(title="Sur l’origine", topics=("origin",), language="fr"),
        item_factory(title="Formation", topics=("capacity-building",), language="fr"),
    ]
    subscriber = Subscriber("ana@example.org", language="fr")
    window = (NOW - timedelta(days=1), NOW)
    message = parsed(renderer.digest(subscriber, [], items, window, MID, NOW))
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    headings = [line[4:] for line in text.splitlines() if line.startswith("### ")]
    assert headings == ["Origine", "Renforcement des capacités", "Autres"]
    html_part = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    h3 = [h.text_content() for h in lxml.html.fromstring(html_part).cssselect("h3")]
    assert h3 == headings


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ana",
        "ana@localhost",
        "a b@example.org",
        "ana@example.org\r\nBcc: x@y.z",
        "<ana@example.org>",
        "ana@example.org, bo@example.org",
    ],
)
def test_unusable_addresses_are_refused(bad: str) -> None:
    with pytest.raises(AddressError):
        normalise_email(bad)


def test_plain_addresses_are_accepted() -> None:
    assert normalise_email("  ana.maria+wco@sub.example.org ") == "ana.maria+wco@sub.example.org"


def test_approximate_deadline_line_shows_the_source_words(
    renderer: Renderer, item_factory: Callable[..., Item]
) -> None:
    item = item_factory(
        kind="call",
        title="Call for papers",
        deadline=Deadline(date(2025, 2, 20), precision="approximate", wording="mid-February"),
        topics=("capacity-building",),
    )
    subscriber = Subscriber("ana@example.org", language="en", timezone="Europe/Brussels")
    message = parsed(renderer.digest(subscriber, [DueCall(item, (14,))], [], None, MID, NOW))
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Deadline mid-February, in 19 days at the latest" in text
    assert "February 20" not in text
    assert message["Subject"] == "Closes in 19 days at the latest: Call for papers"


def _emails(renderer: Renderer, make: Callable[..., Item], lang: str) -> dict[str, EmailMessage]:
    """A reminder, a digest (several calls and new items) and a confirmation in `lang`."""
    subscriber = Subscriber("ana@example.org", language=lang, timezone="Asia/Tokyo")
    calls = [
        DueCall(make(kind="call", language=lang, deadline=Deadline(date(2025, 2, n))), (3,))
        for n in (1, 4, 20)
    ]
    news = [make(language=lang, topics=("origin",)), make(language=lang)]
    window = (NOW - timedelta(days=1), NOW)
    return {
        "reminder": parsed(renderer.digest(subscriber, calls[1:2], [], None, MID, NOW)),
        "digest": parsed(renderer.digest(subscriber, calls, news, window, MID, NOW)),
        "confirmation": parsed(renderer.confirmation(subscriber, MID, NOW)),
    }


def _interface_text(html: str) -> list[str]:
    """The text of an HTML email outside the elements that say they are in a language
    of their own (item titles)."""
    doc = lxml.html.fromstring(html)
    for foreign in doc.xpath("//body//*[@lang]"):
        foreign.drop_tree()
    return [*doc.itertext()]


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ru", "zh", "ar"])
def test_every_email_in_every_language(
    renderer: Renderer, item_factory: Callable[..., Item], lang: str
) -> None:
    english = _emails(renderer, item_factory, "en")
    for name, message in _emails(renderer, item_factory, lang).items():
        assert message["Content-Language"] == lang, name
        assert message["Message-ID"] == MID and message["To"] == "ana@example.org"
        if name != "confirmation":
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        root = lxml.html.fromstring(html)
        assert (root.get("lang"), root.get("dir")) == (lang, "rtl" if lang == "ar" else "ltr")
        assert english_leftovers(text.splitlines(), lang) == [], name
        assert english_leftovers(_interface_text(html), lang) == [], name
        if lang != "en":
            assert message["Subject"] != english[name]["Subject"], name
            lines = {line.strip() for line in text.splitlines()}
            english_text = english[name].get_body(("plain",)).get_content()  # type: ignore[union-attr]
            same = {
                line.strip()
                for line in english_text.splitlines()
                if line.strip() in lines and any(c.isalpha() for c in line)
            }
            # Only what is not interface text may read the same: titles, links, and
            # what the config names (the site; topics, here without labels).
            site = renderer.settings.site.title
            assert all(line.startswith(("* Item", "http", site, "### ")) for line in same), same


def test_the_same_calendar_days_as_the_pages(
    renderer: Renderer, item_factory: Callable[..., Item]
) -> None:
    """12 February, 08:00 in Brussels: a call closing at the end of the 14th closes in 2
    days (rounding the 2 days and 16 hours left would say 3)."""
    now = datetime(2025, 2, 12, 8, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    call = item_factory(kind="call", title="Fellowship", deadline=Deadline(date(2025, 2, 14)))
    subscriber = Subscriber("ana@example.org", timezone="Europe/Brussels")
    message = parsed(renderer.digest(subscriber, [DueCall(call, (3,))], [], None, MID, now))
    assert message["Subject"] == "Closes in 2 days: Fellowship"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Deadline February 14, 2025, in 2 days" in text
    assert call.deadline is not None
    assert closing_phrase(days_left(call.deadline.closes_at(), now, "Europe/Brussels"), "en") == (
        "closes in 2 days"
    )


def test_the_calendar_has_alarms_at_the_lead_times_still_ahead(
    renderer: Renderer, item_factory: Callable[..., Item]
) -> None:
    now = datetime(2025, 2, 12, 8, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    all_day = item_factory(kind="call", title="All day", deadline=Deadline(date(2025, 2, 14)))
    timed = item_factory(
        kind="call",
        title="Timed",
        deadline=Deadline(date(2025, 2, 20), time(17, 0), "Europe/Brussels"),
    )
    subscriber = Subscriber("ana@example.org", language="fr", lead_days=(14, 3, 1))
    calls = [DueCall(all_day, (3,)), DueCall(timed, (14,))]
    message = parsed(renderer.digest(subscriber, calls, [], None, MID, now))
    _, attachment = message.iter_parts()
    events = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    alarms = {
        str(event["SUMMARY"]): [
            (alarm.decoded("TRIGGER"), alarm["TRIGGER"].params.get("RELATED"))
            for alarm in event.walk("VALARM")
        ]
        for event in events
    }
    # The all-day call ends at the end of the 14th: the 3-day alarm (the 11th at
    # midnight) is past, the 1-day one ahead; both count back from the event's end.
    assert alarms["All day"] == [(-timedelta(days=1), "END")]
    assert alarms["Timed"] == [(-timedelta(days=3), None), (-timedelta(days=1), None)]
    (first, *_) = events[1].walk("VALARM")
    assert str(first["ACTION"]) == "DISPLAY"
    assert str(first["DESCRIPTION"]).startswith("Date limite\u00a0: 20 février 2025, 17:00")
    assert events[0].decoded("DTEND") == date(2025, 2, 15)
