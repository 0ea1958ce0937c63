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

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

#: RFC 5322's limit on a line, without its CRLF.
MAX_LINE = 998


class HeaderError(ValueError):
    """A header value that would break the message (a line break, a word over 998)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried beside the alternative parts; `content_type` with its parameters."""

    content_type: str
    filename: str
    data: bytes


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
    """UTF-8 quoted-printable with CRLF line ends, lines of at most 76 characters."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Without a CR in its input binascii ends lines (hard and soft) with a bare LF.
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def base64_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters, each ending in CRLF."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def write(
    headers: Sequence[tuple[str, str]],
    text: str,
    html: str,
    boundary: str,
    attachment: Attachment | None = None,
) -> bytes:
    """The whole email: `headers` (already encoded, in order) on the outermost part,
    then the text and HTML alternatives and the attachment if any. `boundary` must not
    occur in the bodies: one starting with "=_" cannot, as neither quoted-printable nor
    base64 writes that pair."""
    alternative = f"{boundary}_a"
    inner = "".join(
        (
            f'Content-Type: multipart/alternative; boundary="{alternative}"\r\n\r\n',
            f"--{alternative}\r\n",
            'Content-Type: text/plain; charset="utf-8"\r\n',
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        )
    ).encode("ascii")
    middle = (
        f"\r\n--{alternative}\r\n"
        'Content-Type: text/html; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii")
    parts = [inner, quoted_printable(text), middle, base64_lines(html.encode("utf-8"))]
    parts.append(f"\r\n--{alternative}--\r\n".encode("ascii"))
    head = "".join(header(name, value) for name, value in headers)
    if attachment is None:
        return b"".join([head.encode("ascii"), b"MIME-Version: 1.0\r\n", *parts])
    mixed = f"{boundary}_m"
    outer = (
        f'Content-Type: multipart/mixed; boundary="{mixed}"\r\nMIME-Version: 1.0\r\n{head}\r\n'
        f"--{mixed}\r\n"
    )
    attached = (
        f"\r\n--{mixed}\r\n"
        + header("Content-Type", attachment.content_type)
        + "Content-Transfer-Encoding: base64\r\n"
        + header("Content-Disposition", f'attachment; filename="{attachment.filename}"')
        + "\r\n"
    )
    return b"".join(
        [
            outer.encode("ascii"),
            *parts,
            attached.encode("ascii"),
            base64_lines(attachment.data),
            f"\r\n--{mixed}--\r\n".encode("ascii"),
        ]
    )
