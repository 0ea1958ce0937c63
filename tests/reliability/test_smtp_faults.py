"""SMTP faults the digest must survive, each against a loopback server we control:
greylisting at RCPT, a 5xx after DATA for one address, the connection dropped in the
middle of DATA or before the reply to it, a slow server inside and beyond
`smtp.timeout`, a busy server closing with 421 at the greeting, and `wcofeed digest`
with the server down for a round.

Faults already covered in tests/digest/test_run.py are not repeated here: 451 after
DATA (retried within the run, and deferred to the next run), 550 at RCPT for one
address, and the server down for a round with `run_digest` in-process."""

from __future__ import annotations

import asyncio
import email
import email.policy
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import Received, SmtpServer, free_port, make_item
from wcofeed.config import Settings, load_settings
from wcofeed.digest.run import run_digest
from wcofeed.digest.send import SmtpDownError
from wcofeed.models import Deadline, Subscriber
from wcofeed.store import Store, open_store

NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
SECRET = "smtp-faults-secret-0123456789abcd"
READERS = ("ana@example.org", "bo@example.org", "cy@example.org")

Configure = Callable[..., Settings]


@pytest.fixture
def configure(write_config: Callable[..., Path]) -> Configure:
    """Settings pointing at a loopback SMTP port, with fast retries."""

    def make(port: int, timeout: float = 5.0, retries: int = 2) -> Settings:
        path = write_config(
            f"""
            [smtp]
            host = "127.0.0.1"
            port = {port}
            security = "none"
            timeout = {timeout}
            retries = {retries}
            retry_delay = 0.01
            concurrency = 2
            [email]
            list_id = "faults.example.org"
            [security]
            secret_key = "{SECRET}"
            """
        )
        return load_settings(path, env={})

    return make


@pytest.fixture
async def readers(store: Store) -> Store:
    """Three active subscribers and two calls due for a reminder at NOW."""
    calls = [
        make_item(kind="call", deadline=Deadline(date(2025, 2, 3)), title="Call closing soon"),
        make_item(kind="call", deadline=Deadline(date(2025, 2, 10)), title="Call next week"),
    ]
    await store.upsert_items(calls, NOW - timedelta(days=3))
    for address in READERS:
        await store.save_subscriber(Subscriber(address, status="active"), NOW)
    return store


def message_ids(received: list[Received]) -> Counter[tuple[str, str]]:
    """How often each (recipient, Message-ID) arrived."""
    return Counter((r.recipient, str(r.message["Message-ID"])) for r in received)


def assert_each_reader_once(received: list[Received]) -> None:
    """Every reader got exactly one distinct Message-ID, whole (both calls listed)."""
    ids = message_ids(received)
    assert sorted(recipient for recipient, _ in ids) == sorted(READERS)
    for r in received:
        body = r.message.get_body(("plain",))
        assert body is not None
        assert "Call closing soon" in body.get_content()
        assert "Call next week" in body.get_content()


@dataclass
class FaultyHandler:
    """An aiosmtpd handler: greylists senders at RCPT, refuses one address after DATA,
    or answers DATA slowly (after it has stored the message, the worst case)."""

    received: list[Received] = field(default_factory=list)
    #: Seconds a (sender, recipient) pair is told 450 after its first attempt.
    greylist_for: float | None = None
    first_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    greylisted: int = 0
    refuse_data: dict[str, str] = field(default_factory=dict)
    data_delay: float = 0.0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.greylist_for is not None:
            pair = (envelope.mail_from, address)
            first = self.first_seen.get(pair)
            if first is None or time.monotonic() - first < self.greylist_for:
                self.first_seen.setdefault(pair, time.monotonic())
                self.greylisted += 1
                return "450 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = next(
            (self.refuse_data[r] for r in envelope.rcpt_tos if r in self.refuse_data), ""
        )
        if refusal:
            return refusal
        for rcpt in envelope.rcpt_tos:
            self.received.append(Received(rcpt, envelope.original_content))
        await asyncio.sleep(self.data_delay)
        return "250 2.0.0 accepted"


@pytest.fixture
def faulty() -> Iterator[tuple[FaultyHandler, int]]:
    handler = FaultyHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


async def test_greylisting_is_passed_by_the_retry_within_the_round(
    readers: Store, configure: Configure, faulty: tuple[FaultyHandler, int]
) -> None:
    handler, port = faulty
    handler.greylist_for = 0.0  # the first attempt of each pair is refused, the retry passes
    report = await run_digest(readers, configure(port), NOW)
    assert handler.greylisted == len(READERS)
    assert (report.sent, report.deferred) == (3, 0)
    assert_each_reader_once(handler.received)


async def test_greylisting_longer_than_the_retries_defers_to_the_next_round(
    readers: Store, configure: Configure, faulty: tuple[FaultyHandler, int]
) -> None:
    handler, port = faulty
    handler.greylist_for = 3600.0
    report = await run_digest(readers, configure(port), NOW)
    assert (report.sent, report.deferred) == (0, 3)
    assert handler.received == []
    assert await readers.delivery_states() == {"claimed": 3}

    handler.greylist_for = 0.0  # the greylist period has passed
    report = await run_digest(readers, configure(port), NOW + timedelta(hours=1))
    assert (report.sent, report.resent) == (3, 3)
    assert_each_reader_once(handler.received)
    assert await readers.delivery_states() == {"sent": 3}


async def test_5xx_after_data_for_one_address_does_not_hold_back_the_others(
    readers: Store, configure: Configure, faulty: tuple[FaultyHandler, int]
) -> None:
    handler, port = faulty
    handler.refuse_data["bo@example.org"] = "554 5.7.1 message refused"
    report = await run_digest(readers, configure(port), NOW)
    assert (report.sent, report.failed) == (2, 1)
    assert sorted(r.recipient for r in handler.received) == ["ana@example.org", "cy@example.org"]
    refused = await readers.get_subscriber("bo@example.org")
    assert refused is not None and refused.hard_bounces == 1
    assert refused.last_error is not None and "554" in refused.last_error


async def test_a_slow_server_within_the_timeout_still_delivers(
    readers: Store, configure: Configure, faulty: tuple[FaultyHandler, int]
) -> None:
    handler, port = faulty
    handler.data_delay = 0.4
    report = await run_digest(readers, configure(port, timeout=2.0), NOW)
    assert (report.sent, report.deferred) == (3, 0)
    assert_each_reader_once(handler.received)
    assert sum(message_ids(handler.received).values()) == 3


async def test_a_server_slower_than_the_timeout_leaves_emails_for_the_next_round(
    readers: Store, configure: Configure, faulty: tuple[FaultyHandler, int]
) -> None:
    handler, port = faulty
    handler.data_delay = 1.0
    with pytest.raises(SmtpDownError, match=f"127.0.0.1:{port} unreachable"):
        await run_digest(readers, configure(port, timeout=0.3, retries=1), NOW)
    assert (await readers.delivery_states()).get("sent", 0) == 0

    handler.data_delay = 0.0
    await asyncio.sleep(1.0)  # let the server finish the answers it was sitting on
    report = await run_digest(readers, configure(port, timeout=2.0), NOW + timedelta(hours=1))
    assert report.sent == 3 and report.resent >= 1
    assert await readers.delivery_states() == {"sent": 3}
    # The server stored what it answered too late: those copies carry the same
    # Message-ID as the resend, so each reader still has one distinct email.
    assert_each_reader_once(handler.received)


@dataclass
class RawSmtp:
    """A minimal SMTP server on a raw asyncio socket that can hang up inside DATA
    (after part of the message) or after all of it but before answering."""

    drop_inside_data: int = 0
    drop_before_reply: int = 0
    #: Connections greeted with 421 (too busy) and closed at once.
    busy_greetings: int = 0
    received: list[Received] = field(default_factory=list)
    partial: list[bytes] = field(default_factory=list)
    port: int = 0

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rcpt = ""
        if self.busy_greetings > 0:
            self.busy_greetings -= 1
            writer.write(b"421 4.7.0 too many connections, try later\r\n")
            await writer.drain()
            writer.close()
            return
        writer.write(b"220 raw.example.org ESMTP\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                if verb == b"RCPT":
                    rcpt = line.decode().split("<", 1)[1].split(">", 1)[0]
                if verb != b"DATA":
                    writer.write(b"250 ok\r\n")
                    await writer.drain()
                    continue
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                if self.drop_inside_data > 0:
                    self.drop_inside_data -= 1
                    self.partial.append(await reader.read(300))
                    break
                data = await reader.readuntil(b"\r\n.\r\n")
                self.received.append(Received(rcpt, data[: -len(b".\r\n")]))
                if self.drop_before_reply > 0:
                    self.drop_before_reply -= 1
                    break
                writer.write(b"250 2.0.0 accepted\r\n")
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def raw_smtp() -> AsyncIterator[RawSmtp]:
    raw = RawSmtp()
    server = await asyncio.start_server(raw.session, "127.0.0.1", 0)
    raw.port = server.sockets[0].getsockname()[1]
    async with server:
        yield raw


async def test_connection_dropped_inside_data_is_retried_on_a_new_connection(
    readers: Store, configure: Configure, raw_smtp: RawSmtp
) -> None:
    raw_smtp.drop_inside_data = 2
    report = await run_digest(readers, configure(raw_smtp.port), NOW)
    assert len(raw_smtp.partial) == 2 and all(raw_smtp.partial)
    assert (report.sent, report.deferred) == (3, 0)
    assert_each_reader_once(raw_smtp.received)
    assert sum(message_ids(raw_smtp.received).values()) == 3
    assert await readers.delivery_states() == {"sent": 3}


async def test_connection_always_dropped_inside_data_keeps_emails_for_the_next_round(
    readers: Store, configure: Configure, raw_smtp: RawSmtp
) -> None:
    raw_smtp.drop_inside_data = 1000
    with pytest.raises(SmtpDownError):
        await run_digest(readers, configure(raw_smtp.port), NOW)
    assert raw_smtp.received == []
    assert (await readers.delivery_states()).get("sent", 0) == 0

    raw_smtp.drop_inside_data = 0
    report = await run_digest(readers, configure(raw_smtp.port), NOW + timedelta(hours=1))
    assert report.sent == 3
    assert_each_reader_once(raw_smtp.received)
    assert await readers.delivery_states() == {"sent": 3}


async def test_hang_up_before_the_reply_to_data_resends_under_the_same_message_id(
    readers: Store, configure: Configure, raw_smtp: RawSmtp
) -> None:
    raw_smtp.drop_before_reply = 1
    report = await run_digest(readers, configure(raw_smtp.port), NOW)
    assert report.sent == 3
    ids = message_ids(raw_smtp.received)
    # The server kept the copy it never confirmed; the retry reuses its Message-ID.
    assert sorted(ids.values()) == [1, 1, 2]
    assert_each_reader_once(raw_smtp.received)


async def test_a_busy_server_closing_with_421_at_the_greeting_is_retried(
    readers: Store, configure: Configure, raw_smtp: RawSmtp
) -> None:
    raw_smtp.busy_greetings = 2
    report = await run_digest(readers, configure(raw_smtp.port), NOW)
    assert raw_smtp.busy_greetings == 0
    assert (report.sent, report.deferred) == (3, 0)
    assert_each_reader_once(raw_smtp.received)
    assert sum(message_ids(raw_smtp.received).values()) == 3


def test_digest_command_with_the_server_down_exits_1_then_sends_everything(
    tmp_path: Path, configure: Configure, smtp_server: SmtpServer
) -> None:
    settings = configure(smtp_server.port)
    config = tmp_path / "config.toml"

    async def fill() -> None:
        async with await open_store(settings.database.path) as store:
            await store.upsert_items(
                [make_item(kind="call", deadline=Deadline(date(2025, 2, 3)))], NOW
            )
            for address in READERS:
                await store.save_subscriber(Subscriber(address, status="active"), NOW)

    def digest(now: datetime) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "wcofeed", "--config", str(config), "digest", "--now", str(now)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    asyncio.run(fill())
    down = digest(NOW)
    assert down.returncode == 1
    assert f"127.0.0.1:{smtp_server.port} unreachable" in down.stderr + down.stdout
    assert smtp_server.recorder.received == []

    smtp_server.start()
    up = digest(NOW + timedelta(hours=1))
    assert up.returncode == 0, up.stderr
    assert sorted(r.recipient for r in smtp_server.recorder.received) == sorted(READERS)
    again = digest(NOW + timedelta(hours=2))
    assert again.returncode == 0 and len(smtp_server.recorder.received) == 3
    parsed = [
        email.message_from_bytes(r.data, policy=email.policy.default)
        for r in smtp_server.recorder.received
    ]
    assert len({str(m["Message-ID"]) for m in parsed}) == 3
