"""Shared test helpers: a temporary store, an item factory, a config writer and a real
SMTP server (aiosmtpd) on loopback that records what it accepts."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import itertools
import socket
import sqlite3
import textwrap
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from wcofeed.config import Settings, load_settings
from wcofeed.models import Item
from wcofeed.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_counter = itertools.count(1)


def make_item(**fields: Any) -> Item:
    """An item with plausible defaults; every field can be overridden."""
    n = next(_counter)
    values: dict[str, Any] = {
        "guid": f"https://example.org/item/{n}",
        "kind": "news",
        "title": f"Item number {n}",
        "url": f"https://example.org/item/{n}",
        "language": "en",
        "published": date(2025, 1, 1),
        "source": "test",
        "summary": f"Summary of item {n}",
        "summary_html": f"<p>Summary of item {n}</p>",
    }
    values.update(fields)
    return Item(**values)


def forged_item(**fields: Any) -> Item:
    """An item that skipped the model's rules, as a bug could hand one to an output:
    `make_item`'s values with `fields` set over them, unchecked."""
    base = make_item()
    forged = object.__new__(Item)
    for f in dataclasses.fields(Item):
        object.__setattr__(forged, f.name, fields.get(f.name, getattr(base, f.name)))
    return forged


def break_row(database: Path, guid: str, **columns: Any) -> None:
    """Overwrite columns of a stored item straight in the SQLite file, past the model,
    as an older wcofeed with looser rules (or a hand edit) would have left them."""
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with sqlite3.connect(database) as db:
        changed = db.execute(
            f"UPDATE items SET {assignments} WHERE guid = ?", [*columns.values(), guid]
        ).rowcount
    assert changed == 1, guid


@pytest.fixture
def item_factory() -> Callable[..., Item]:
    return make_item


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await open_store(tmp_path / "test.db") as s:
        yield s


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config.toml (dedented) into the test's temp folder and return its path."""

    def write(text: str = "", name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def settings(write_config: Callable[[str], Path]) -> Settings:
    """Settings from a minimal config whose database and outputs live in the temp folder."""
    return load_settings(write_config(""), env={})


NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)


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
