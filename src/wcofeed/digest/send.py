"""Delivering rendered emails: SMTP (aiosmtplib) or, with no host set, an outbox folder.

A `Transport` hands out `Connection`s; each delivery worker keeps one connection for
all its messages. A connection sorts every outcome into three: sent (the server took
it), deferred (a 4xx that outlived its retries: try again next run), failed (a 5xx:
the address is refused). Losing the connection is retried with backoff; when the
server stays unreachable `SmtpDownError` ends the run and everything unsent stays
claimed for the next one.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path
from typing import Protocol

import aiosmtplib

from wcofeed.config import Settings, SmtpSettings
from wcofeed.digest.mime import Email

log = logging.getLogger("wcofeed.digest.send")

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


class SmtpDownError(RuntimeError):
    """The SMTP server cannot be reached; nothing more can be sent this run."""


class Outcome(enum.Enum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One serialised email and its envelope."""

    message_id: str
    recipient: str
    data: bytes

    @classmethod
    def of(cls, email: Email, recipient: str = "") -> Outgoing:
        """A rendered email, to its own address or to `recipient`."""
        return cls(email.message_id, recipient or email.recipient, email.data)


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    error: str = ""


class Connection(Protocol):
    async def send(self, outgoing: Outgoing) -> Result: ...

    async def close(self) -> None: ...


class Transport(Protocol):
    #: How many connections (delivery workers) to use at once.
    concurrency: int

    def connect(self) -> Connection:
        """A connection that opens on first use."""
        ...


def envelope_sender(from_header: str) -> str:
    """The bare address of a From header such as `wcofeed <noreply@example.org>`."""
    return getaddresses([from_header])[0][1] or Address(addr_spec=from_header).addr_spec


class SmtpConnection:
    """One SMTP connection reused for many messages, reconnecting when it drops."""

    def __init__(self, smtp: SmtpSettings, sender: str) -> None:
        self.smtp = smtp
        self.sender = sender
        self._client: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.smtp.host,
            port=self.smtp.port,
            timeout=self.smtp.timeout,
            use_tls=self.smtp.security == "tls",
            start_tls=self.smtp.security == "starttls",
            username=self.smtp.username or None,
            password=self.smtp.password or None,
        )
        await client.connect()
        return client

    async def send(self, outgoing: Outgoing) -> Result:
        retries, delay = self.smtp.retries, self.smtp.retry_delay
        error = ""
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(delay * 2 ** (attempt - 1))
            try:
                if self._client is None or not self._client.is_connected:
                    self._client = await self._connect()
                await self._client.sendmail(self.sender, [outgoing.recipient], outgoing.data)
                return Result(Outcome.SENT)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                code, text = exc.recipients[0].code, exc.recipients[0].message
            except aiosmtplib.SMTPResponseException as exc:
                code, text = exc.code, exc.message
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self.close()
                if attempt == retries:
                    raise SmtpDownError(
                        f"SMTP server {self.smtp.host}:{self.smtp.port} unreachable: {exc}"
                    ) from exc
                continue
            error = f"{outgoing.recipient}: {code} {text}"
            if code >= 500:
                return Result(Outcome.FAILED, error)
            log.info("temporary failure, will retry: %s", error)
        return Result(Outcome.DEFERRED, error)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.smtp = settings.smtp
        self.sender = envelope_sender(settings.email.from_address)
        self.concurrency = max(1, settings.smtp.concurrency)

    def connect(self) -> SmtpConnection:
        return SmtpConnection(self.smtp, self.sender)


class OutboxConnection:
    """Writes each email as `<message-id>.eml`: a resend overwrites the same file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, outgoing: Outgoing) -> Result:
        await asyncio.to_thread(self._write, outgoing)
        return Result(Outcome.SENT)

    def _write(self, outgoing: Outgoing) -> None:
        # Owner-only, whatever the umask: an email holds its reader's signed links.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = _UNSAFE.sub("_", outgoing.message_id.strip("<>")) + ".eml"
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(outgoing.data)
        os.replace(tmp, self.folder / name)

    async def close(self) -> None:
        return None


class OutboxTransport:
    concurrency = 1

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def connect(self) -> OutboxConnection:
        return OutboxConnection(self.folder)


def transport_for(settings: Settings) -> SmtpTransport | OutboxTransport:
    """SMTP when a host is configured, else the outbox folder."""
    if settings.smtp.host:
        return SmtpTransport(settings)
    return OutboxTransport(settings.email.outbox_dir)
