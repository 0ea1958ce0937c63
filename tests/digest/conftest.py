"""A real SMTP server (aiosmtpd) on loopback that records what it accepts, and settings
that point the digest at it (tiny retry delays so failure tests stay fast)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from wcofeed.config import Settings, load_settings
from wcofeed.models import Deadline, Item
from wcofeed.store import Store
from wcofeed.store.base import Subscriber

SECRET = "test-secret-key-0123456789abcdef"


@dataclass
class Received:
    recipient: str
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler: records messages; refuses or defers on request."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    defer_data: int = 0
    #: Seconds to sit on the first message before answering 250: the window in which
    #: the server has an email the client has not yet seen accepted.
    hold_first: float = 0.0
    got_first: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, peer: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, peer: Any, envelope: Any) -> str:
        if self.defer_data > 0:
            self.defer_data -= 1
            return "451 4.3.0 try again later"
        for rcpt in envelope.rcpt_tos:
            self.received.append(Received(rcpt, envelope.original_content))
        if not self.got_first.is_set():
            self.got_first.set()
            await asyncio.sleep(self.hold_first)
        return "250 2.0.0 accepted"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.recipient == address]

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.recorder = SmtpRecorder()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Not started: tests that need it running call `start()` (so "down" is testable)."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpRecorder:
    smtp_server.start()
    return smtp_server.recorder


@pytest.fixture
def digest_settings(write_config: Callable[..., Path], smtp_server: SmtpServer) -> Settings:
    path = write_config(
        f"""
        [site]
        base_url = "https://feeds.example.org"
        title = "WCO calls"

        [smtp]
        host = "127.0.0.1"
        port = {smtp_server.port}
        security = "none"
        timeout = 5.0
        retries = 2
        retry_delay = 0.01
        concurrency = 2

        [email]
        from_address = "WCO feeds <noreply@feeds.example.org>"
        list_id = "reminders.feeds.example.org"
        max_bounces = 2

        [security]
        secret_key = "{SECRET}"
        """
    )
    return load_settings(path, env={})


NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    """The fixed "now" of digest tests: Saturday 1 February 2025, 12:00 UTC."""
    return NOW


@pytest.fixture
def add_subscriber(store: Store) -> Callable[..., Awaitable[Subscriber]]:
    """Store an active subscriber (fields overridable)."""

    async def add(email_address: str = "ana@example.org", **fields: Any) -> Subscriber:
        values: dict[str, Any] = {"status": "active", "timezone": "Europe/Brussels"}
        values.update(fields)
        return await store.save_subscriber(Subscriber(email=email_address, **values), NOW)

    return add


@pytest.fixture
def make_call(item_factory: Callable[..., Item]) -> Callable[..., Item]:
    """A call for applications closing at the end of `day` (Brussels)."""

    def make(day: date, **fields: Any) -> Item:
        return item_factory(kind="call", deadline=Deadline(day), **fields)

    return make
