"""Emails written straight to MIME bytes, in the one shape wcofeed sends.

Building `email.message.Message` trees and flattening them with the `email` generator
was half of a digest round's CPU at 100,000 subscribers: the generator re-parses every
part's Content-Type parameters, looks up its boundary and encodes quoted-printable line
by line in Python. Every email here has the same shape, so it is written directly:

    multipart/mixed                 (only when there is an attachment)
      multipart/alternative
        text/plain; charset="utf-8"   quoted-printable (binascii, in C)
        text/html; charset="utf-8"    base64 (readers' HTML is long and rarely ASCII)
      the attachment (an .ics)        base64

The layout is the one compat32's generator wrote for the same email: CRLF line ends,
body lines at most 76 characters, header lines at most 998 (longer ones folded at
spaces). `tests/digest/test_mime.py` parses these bytes with `email` and compares them
with what the generator makes of the same content, in all six languages.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from dataclasses import dataclass

#: RFC 5322's limit on a line, without its CRLF.
MAX_LINE = 998


class HeaderError(ValueError):
    """A header value that would break the message (a line break, a word over 998)."""


class Attachment:
    """A file carried beside the alternative parts, its MIME part written once: one
    calendar goes to every subscriber who follows the same calls."""

    __slots__ = ("part",)

    def __init__(self, content_type: str, filename: str, data: bytes) -> None:
        """`content_type` with its parameters, as it goes in the header."""
        head = (
            header("Content-Type", content_type)
            + "Content-Transfer-Encoding: base64\r\n"
            + header("Content-Disposition", f'attachment; filename="{filename}"')
        )
        self.part = f"{head}\r\n".encode("ascii") + base64_lines(data)


@dataclass(frozen=True, slots=True)
class Bodies:
    """The text and HTML parts shared by the emails of one content, encoded once up to
    the first per-subscriber value (the links in the footer); `fill` encodes the rest
    for each subscriber. The result is the same bytes as encoding each whole body: the
    text is cut at a line end (quoted-printable encodes line by line) and the HTML at a
    multiple of 57 bytes (one line of base64)."""

    text_head: bytes
    text_tail: str
    html_head: bytes
    html_tail: bytes

    @classmethod
    def of(cls, text: str, html: str, placeholders: Sequence[str] = ()) -> Bodies:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        at = min((i for p in placeholders if (i := text.find(p)) >= 0), default=len(text))
        cut = text.rfind("\n", 0, at) + 1
        data = html.encode("utf-8")
        found = (data.find(p.encode("utf-8")) for p in placeholders)
        html_cut = min((i for i in found if i >= 0), default=len(data)) // 57 * 57
        return cls(
            quoted_printable(text[:cut]), text[cut:], base64_lines(data[:html_cut]), data[html_cut:]
        )

    def fill(
        self, text_values: Sequence[tuple[str, str]], html_values: Sequence[tuple[str, str]]
    ) -> tuple[bytes, bytes]:
        """The encoded text and HTML parts with each placeholder replaced by its value
        (the HTML values already escaped)."""
        text, html = self.text_tail, self.html_tail
        for placeholder, value in text_values:
            text = text.replace(placeholder, value)
        for placeholder, value in html_values:
            html = html.replace(placeholder.encode("utf-8"), value.encode("utf-8"))
        return self.text_head + quoted_printable(text), self.html_head + base64_lines(html)


@dataclass(frozen=True, slots=True)
class Email:
    """A rendered email: its envelope recipient, Message-ID, To and plain subject (for
    logs and dry runs), and the bytes that go over SMTP."""

    message_id: str
    recipient: str
    to: str
    subject: str
    data: bytes


def header(name: str, value: str) -> str:
    """`Name: value` and CRLF; an ASCII value only (non-ASCII goes in as RFC 2047 words
    first), folded at spaces when longer than a line may be."""
    if not value.isascii() or "\r" in value or "\n" in value:
        raise HeaderError(f"header {name}: not one line of ASCII: {value!r}")
    line = f"{name}: {value}"
    if len(line) <= MAX_LINE:
        return line + "\r\n"
    return _fold(line) + "\r\n"


def _fold(line: str) -> str:
    """Break a long header line at spaces, each continuation starting with one."""
    lines: list[str] = []
    current = ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > MAX_LINE:
            lines.append(current)
            current = ""
        current = f"{current} {word}" if current or lines else word
        if len(current) > MAX_LINE:
            raise HeaderError(f"header {line.split(':', 1)[0]}: a word longer than a line")
    lines.append(current)
    return "\r\n".join(lines)


def quoted_printable(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends, lines of at most 76 characters;
    `text` ends its lines with LF alone (`Bodies.of` sees to it)."""
    # Without a CR in its input binascii ends lines (hard and soft) with a bare LF.
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    if b"=20\n" in encoded or b"=09\n" in encoded or encoded.endswith((b"=20", b"=09")):
        encoded = _rewrap(encoded)
    return encoded.replace(b"\n", b"\r\n")


def _rewrap(encoded: bytes) -> bytes:
    """Lines of 76 again: binascii writes a line's last space or tab as `=20`/`=09`
    without counting them, so a line ending in whitespace can reach 77 characters.
    Such a line is broken (softly) before its last, encoded, character."""
    lines = encoded.split(b"\n")
    for n, line in enumerate(lines):
        if len(line) > 76 and line.endswith((b"=20", b"=09")):
            lines[n] = line[:-3] + b"=\n" + line[-3:]
    return b"\n".join(lines)


def base64_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ending in CRLF (as `base64.encodebytes`
    writes them, but encoded in one call rather than one per line)."""
    if not data:
        return b""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    lines.append(b"")
    return b"\r\n".join(lines)


def write(
    headers: Sequence[tuple[str, str]],
    bodies: tuple[bytes, bytes],
    boundary: str,
    attachment: Attachment | None = None,
) -> bytes:
    """The whole email: `headers` (already encoded, in order) on the outermost part,
    then the alternatives, `bodies` (text as quoted-printable, HTML as base64, from
    `Bodies.fill`), and the attachment if any. `boundary` must not occur in the bodies:
    one starting with "=_" cannot, as neither quoted-printable nor base64 writes that."""
    alternative = f"{boundary}_a"
    text, html = bodies
    parts = [
        (
            f'Content-Type: multipart/alternative; boundary="{alternative}"\r\n\r\n'
            f"--{alternative}\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii"),
        text,
        (
            f"\r\n--{alternative}\r\n"
            'Content-Type: text/html; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode("ascii"),
        html,
        f"\r\n--{alternative}--\r\n".encode("ascii"),
    ]
    head = "".join(header(name, value) for name, value in headers)
    if attachment is None:
        return b"".join([f"{head}MIME-Version: 1.0\r\n".encode("ascii"), *parts])
    mixed = f"{boundary}_m"
    outer = (
        f'Content-Type: multipart/mixed; boundary="{mixed}"\r\nMIME-Version: 1.0\r\n{head}\r\n'
        f"--{mixed}\r\n"
    )
    return b"".join(
        [
            outer.encode("ascii"),
            *parts,
            f"\r\n--{mixed}\r\n".encode("ascii"),
            attachment.part,
            f"\r\n--{mixed}--\r\n".encode("ascii"),
        ]
    )
