"""Digest emails are written as MIME bytes directly (`digest.mime`); read back with the
`email` package they must be what its generator (compat32, which built them before)
makes of the same content: the same headers, parts, parameters and bodies, in all six
languages, with long lines, non-ASCII names and subjects and the .ics attachment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from email import encoders, message_from_bytes
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32, default
from email.utils import format_datetime, formataddr
from typing import Any

import icalendar
import pytest

from wcofeed.digest.mime import (
    MAX_LINE,
    Attachment,
    Bodies,
    HeaderError,
    base64_lines,
    header,
    quoted_printable,
    write,
)
from wcofeed.digest.render import Renderer
from wcofeed.digest.select import DueCall
from wcofeed.digest.tokens import Signer
from wcofeed.i18n import closing_when, texts
from wcofeed.models import Deadline, Item, Subscriber

NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
UNSUBSCRIBE, PREFERENCES = "\x00unsubscribe\x00", "\x00preferences\x00"
ICS = 'text/calendar; method="PUBLISH"; charset="utf-8"'

#: A subscriber's name and a call's title in each language of the site.
PEOPLE = {
    "en": ("Ana Smith", "Call for applications: customs valuation fellowship"),
    "fr": ("Anaïs Lefèvre", "Appel à candidatures : bourse d’évaluation en douane"),
    "es": ("José Núñez", "Convocatoria: beca de valoración en aduana"),
    "ru": ("Анна Петрова", "Приём заявок: стипендия по таможенной стоимости"),
    "zh": ("王芳", "征集申请：海关估价奖学金"),
    "ar": ("أحمد علي", "دعوة لتقديم الطلبات: منحة التقييم الجمركي"),
}
LANGUAGES = list(PEOPLE)


def _generated(
    headers: Sequence[tuple[str, str]], text: str, html: str, boundary: str, ics: bytes | None
) -> bytes:
    """The same email as the `email` package's compat32 generator wrote it, the way the
    digest built its messages before they were written directly."""
    qp, b64 = Charset("utf-8"), Charset("utf-8")
    qp.body_encoding, b64.body_encoding = QP, BASE64

    def part(body: str, subtype: str, charset: Charset) -> Message:
        made = MIMENonMultipart("text", subtype)
        made.set_payload(body, charset)
        del made["MIME-Version"]
        return made

    message: Message = MIMEMultipart(
        "alternative", f"{boundary}_a", [part(text, "plain", qp), part(html, "html", b64)]
    )
    if ics is not None:
        attachment = MIMEBase("text", "calendar", method="PUBLISH", charset="utf-8")
        attachment.set_payload(ics)
        encoders.encode_base64(attachment)
        attachment.add_header("Content-Disposition", "attachment", filename="deadlines.ics")
        del message["MIME-Version"], attachment["MIME-Version"]
        message = MIMEMultipart("mixed", f"{boundary}_m", [message, attachment])
    for name, value in headers:
        message[name] = value
    return message.as_bytes(
        policy=Compat32(linesep="\r\n", max_line_length=998, mangle_from_=False)
    )


def _read(data: bytes) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    """What a reader gets: the decoded headers, and per part its type, parameters,
    transfer encoding, file name, decoded body and the parser's complaints."""
    message = message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    headers = sorted((name, str(value)) for name, value in message.items())
    parts = [
        (
            part.get_content_type(),
            part.get_params(),
            part.get("Content-Transfer-Encoding"),
            part.get_filename(),
            None if part.is_multipart() else part.get_content(),
            None if part.is_multipart() else part.get_payload(decode=True),
            [type(defect).__name__ for defect in part.defects],
        )
        for part in message.walk()
    ]
    return headers, parts


def _content(lang: str) -> tuple[str, str]:
    """A text and an HTML body in `lang` with what encoders trip on: lines far over 76
    and 998 bytes, trailing spaces and tabs, '=' signs, a lone dot, 'From ' at a line's
    start, CRLF and a bare CR, and the subscriber's links in the footer."""
    _, title = PEOPLE[lang]
    text = "\n".join(
        [
            title,
            "",
            " ".join([title] * 40),
            f"* {title}   ",
            f"\t{title}\t",
            "a = b =3D c ==",
            ".",
            f"From {title}",
            f"crlf {title}\r\nbare cr {title}\rend",
            "",
            f"Change your preferences: {PREFERENCES}",
            f"Unsubscribe: {UNSUBSCRIBE}",
            "",
        ]
    )
    rows = "".join(
        f'<li><a href="https://www.wcoomd.org/{lang}/{n}">{title}</a></li>\n' for n in range(60)
    )
    html = (
        f'<!doctype html>\n<html lang="{lang}"><body><h1>{title}</h1>\n<ul>\n{rows}</ul>\n'
        f"<p>{'&nbsp;'.join([title] * 30)}</p>\n"
        f'<p><a href="{PREFERENCES}">·</a> <a href="{UNSUBSCRIBE}">×</a></p>\n</body></html>\n'
    )
    return text, html


def _calendar(title: str) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//wcofeed//deadline reminders//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", "abc@reminders.example.org")
    event.add("summary", " ".join([title] * 5))
    event.add("dtstart", date(2025, 2, 4))
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def _headers(lang: str, unsubscribe: str, subject_repeats: int = 1) -> list[tuple[str, str]]:
    name, title = PEOPLE[lang]
    subject = " ".join([title] * subject_repeats)
    encoded = subject if subject.isascii() else Header(subject, "utf-8").encode(linesep=" ")
    return [
        ("Date", format_datetime(NOW)),
        ("Message-ID", "<5f1c0a@reminders.example.org>"),
        ("From", "WCO feeds <noreply@feeds.example.org>"),
        ("To", formataddr((name, "ana@example.org"), "utf-8")),
        ("Subject", encoded),
        ("Content-Language", lang),
        ("List-Id", "WCO calls <reminders.example.org>"),
        ("List-Unsubscribe", f"<{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]


def _assert_wire_lines(data: bytes) -> None:
    """CRLF only, no line over 998 characters, and body lines within 76."""
    assert data.count(b"\n") == data.count(b"\r\n") and data.count(b"\r") == data.count(b"\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert max(len(line) for line in head.split(b"\r\n")) <= MAX_LINE
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


@pytest.mark.parametrize("with_calendar", [True, False], ids=["with-ics", "without-ics"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_written_bytes_read_as_the_email_generator_wrote_them(
    lang: str, with_calendar: bool
) -> None:
    text, html = _content(lang)
    unsubscribe = "https://feeds.example.org/unsubscribe?token=unsubscribe.YW5h..c2ln&x=1"
    preferences = "https://feeds.example.org/preferences?token=preferences.YW5h.1739.c2ln"
    links = [(UNSUBSCRIBE, unsubscribe), (PREFERENCES, preferences)]
    escaped = [(UNSUBSCRIBE, unsubscribe.replace("&", "&amp;")), (PREFERENCES, preferences)]
    filled_text, filled_html = text, html
    for (placeholder, url), (_, escaped_url) in zip(links, escaped, strict=True):
        filled_text = filled_text.replace(placeholder, url)
        filled_html = filled_html.replace(placeholder, escaped_url)
    # Long enough in every language that the encoded subject must be folded.
    headers = _headers(lang, unsubscribe, subject_repeats=12)
    ics = _calendar(PEOPLE[lang][1]) if with_calendar else None
    boundary = "=_0123456789abcdef01234567"

    bodies = Bodies.of(text, html, (UNSUBSCRIBE, PREFERENCES)).fill(links, escaped)
    attachment = Attachment(ICS, "deadlines.ics", ics) if ics is not None else None
    written = write(headers, bodies, boundary, attachment)
    expected = _generated(headers, filled_text, filled_html, boundary, ics)

    written_headers, written_parts = _read(written)
    expected_headers, expected_parts = _read(expected)
    assert written_headers == expected_headers
    assert written_parts == expected_parts
    _assert_wire_lines(written)

    # And what the reader sees is the content put in, not only the same as the generator's.
    message = message_from_bytes(written, policy=default)
    assert isinstance(message, EmailMessage)
    name, title = PEOPLE[lang]
    assert str(message["Subject"]) == " ".join([title] * 12)
    assert message["To"].addresses[0].display_name == name
    assert message["Content-Language"] == lang
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    kinds = [part.get_content_type() for part in message.walk()]
    calendar_parts = ["text/calendar"] if with_calendar else []
    top = ["multipart/mixed"] if with_calendar else []
    assert kinds == [*top, "multipart/alternative", "text/plain", "text/html", *calendar_parts]
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    # Quoted-printable text reads back with the wire's CRLF line ends.
    lines = filled_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert plain.get_content().split("\r\n") == lines
    assert rich.get_content() == filled_html
    if with_calendar:
        (attached,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert attached.get_filename() == "deadlines.ics"
        assert attached.get_payload(decode=True) == ics


@pytest.mark.parametrize(
    "text",
    [
        "footer only: \x00a\x00\n",
        "\x00a\x00 first, then a line\nand \x00b\x00\n",
        "no links at all\nin two lines",
        "a long line " * 30 + "\x00a\x00 " + "tail " * 40,
        "trailing space \nthen\n\n\x00b\x00 and \x00a\x00",
        "",
    ],
)
def test_shared_heads_encode_as_the_whole_body(text: str) -> None:
    """Encoding a body once up to its first link and the rest per email gives the same
    bytes as encoding it whole, wherever the links fall."""
    html = f"<p>{text}</p>" * 7
    values = [("\x00a\x00", "https://x.example/a?t=1&u=2"), ("\x00b\x00", "https://x.example/b")]
    filled_text, filled_html = text, html
    for placeholder, value in values:
        filled_text = filled_text.replace(placeholder, value)
        filled_html = filled_html.replace(placeholder, value)
    got = Bodies.of(text, html, ("\x00a\x00", "\x00b\x00")).fill(values, values)
    assert got == (quoted_printable(filled_text), base64_lines(filled_html.encode()))


def test_headers_are_one_ascii_line_or_folded_at_spaces() -> None:
    assert header("Subject", "Hello") == "Subject: Hello\r\n"
    long = header("Subject", " ".join(["=?utf-8?b?2KPYrdmF2K8=?="] * 80))
    assert all(len(line) <= MAX_LINE for line in long.split("\r\n"))
    first, *continued, end = long.split("\r\n")
    assert first.startswith("Subject: =?utf-8?b?") and end == ""
    assert continued and all(line.startswith(" =?utf-8?b?") for line in continued)
    for bad in ("two\r\nlines", "line\nbreak", "naïve"):
        with pytest.raises(HeaderError, match="header Subject"):
            header("Subject", bad)
    with pytest.raises(HeaderError, match="longer than a line"):
        header("List-Unsubscribe", "<https://x.example/" + "a" * 1000 + ">")


@pytest.fixture
def renderer(digest_settings: Any) -> Renderer:
    return Renderer(digest_settings, Signer(digest_settings.security.secret_key))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rendered_emails_in_every_language(
    renderer: Renderer, item_factory: Callable[..., Item], lang: str
) -> None:
    """A reminder with a long title in the subscriber's language: its subject, name,
    parts and calendar read back whole, and a resend is the same bytes."""
    name, title = PEOPLE[lang]
    long_title = " ".join([title] * 8)
    item = item_factory(
        kind="call",
        title=long_title,
        summary=" ".join([title] * 30),
        language=lang,
        deadline=Deadline(date(2025, 2, 4)),
        topics=("origin",),
    )
    subscriber = Subscriber(
        "ana@example.org", language=lang, name=name, topics=("origin",), timezone="Europe/Brussels"
    )
    email = renderer.digest(subscriber, [DueCall(item, (3,))], [], None, "<m@x>", NOW)
    again = renderer.digest(subscriber, [DueCall(item, (3,))], [], None, "<m@x>", NOW)
    assert email.data == again.data

    words = texts(lang)
    when = closing_when(3, lang)
    message = message_from_bytes(email.data, policy=default)
    assert isinstance(message, EmailMessage)
    assert [type(d).__name__ for p in message.walk() for d in p.defects] == []
    _assert_wire_lines(email.data)
    subject = str(message["Subject"])
    assert subject == email.subject
    assert subject == words.gettext("Closes %(when)s: %(title)s", when=when, title=long_title)
    assert message["To"].addresses[0].display_name == name
    assert message["Message-ID"] == "<m@x>" and message["Date"].datetime == NOW
    assert message["Content-Language"] == lang
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    assert long_title in plain.get_content() and long_title in rich.get_content()
    assert words.gettext("Unsubscribe:") in plain.get_content()
    (attached,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    (event,) = icalendar.Calendar.from_ical(attached.get_content()).walk("VEVENT")
    assert str(event["SUMMARY"]) == long_title
