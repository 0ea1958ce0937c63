"""Shared test helpers: a temporary store (SQLite, and PostgreSQL for the tests of the
store and of what drives it: see `backend`), an item factory, a config writer, a real
SMTP server (aiosmtpd) on loopback that records what it accepts, and the check that
finds English interface strings left in a page or email of another language."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import functools
import itertools
import os
import re
import socket
import sqlite3
import textwrap
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from wcofeed.config import Settings, load_settings
from wcofeed.models import Item
from wcofeed.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOCALE = REPO / "src" / "wcofeed" / "locale"
LANGUAGES = ("en", "fr", "es", "ru", "zh", "ar")

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


def published_at(item: Item) -> datetime:
    """The publication instant of a test item made with a date (make_item's default)."""
    assert item.published_at is not None, item
    return item.published_at


def forged_item(**fields: Any) -> Item:
    """An item that skipped the model's rules, as a bug could hand one to an output:
    `make_item`'s values with `fields` set over them, unchecked."""
    base = make_item()
    forged = object.__new__(Item)
    for f in dataclasses.fields(Item):
        object.__setattr__(forged, f.name, fields.get(f.name, getattr(base, f.name)))
    return forged


async def break_row(
    database: Path | str, guid: str, *, table: str = "items", **columns: Any
) -> None:
    """Overwrite columns of a stored item (or of another `table` keyed by guid) straight
    in the database (a SQLite file or a PostgreSQL URL), past the model, as an older
    wcofeed with looser rules (or a hand edit) would have left them."""
    if isinstance(database, str):
        assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, start=1))
        db = await asyncpg.connect(database)
        try:
            status = await db.execute(
                f"UPDATE {table} SET {assignments} WHERE guid = ${len(columns) + 1}",
                *columns.values(),
                guid,
            )
        finally:
            await db.close()
        assert status == "UPDATE 1", guid
        return
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with sqlite3.connect(database) as db3:
        changed = db3.execute(
            f"UPDATE {table} SET {assignments} WHERE guid = ?", [*columns.values(), guid]
        ).rowcount
    assert changed == 1, guid


@pytest.fixture
def item_factory() -> Callable[..., Item]:
    return make_item


#: The PostgreSQL server tests use (trust authentication); `skip` leaves PostgreSQL out
#: on purpose, on a machine without it (CI never sets it: .ci/run starts one).
POSTGRES = os.environ.get("WCOFEED_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres")
#: The test folders (and modules) whose tests run against both stores: the store's own
#: and those of the parts whose promises rest on it (digest claims, the service, the web
#: caches following the journal of item changes).
BOTH_BACKENDS = ("store", "digest", "test_service.py", "test_cache.py")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests of the store and of what drives it run once per backend; the rest use
    SQLite only (their store calls are the same, already tested on both). A test
    parametrised on `backend` itself (one store's own concern) is left as it is."""
    explicit = metafunc.definition.iter_markers("parametrize")
    if "backend" in metafunc.fixturenames and all(m.args[0] != "backend" for m in explicit):
        parts = metafunc.definition.path.relative_to(REPO / "tests").parts
        both = any(part in BOTH_BACKENDS for part in parts)
        metafunc.parametrize("backend", BACKENDS if both else BACKENDS[:1])


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh, empty schema in the test database, dropped afterwards: its store URL."""
    if POSTGRES == "skip":
        pytest.skip("WCOFEED_TEST_POSTGRES=skip: PostgreSQL left out on purpose")
    name = f"wcofeed_test_{uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        yield f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}search_path={name}"
    finally:
        await admin.execute(f"DROP SCHEMA {name} CASCADE")
        await admin.close()


@pytest.fixture
async def database(backend: str, tmp_path: Path) -> AsyncIterator[Path | str]:
    """Where the test's store lives: a SQLite file, or a fresh PostgreSQL schema's URL."""
    if backend == "sqlite":
        yield tmp_path / "test.db"
        return
    async with postgres_schema() as url:
        yield url


@pytest.fixture
async def store(database: Path | str) -> AsyncIterator[Store]:
    async with await open_store(database) as s:
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
def settings(write_config: Callable[[str], Path], database: Path | str) -> Settings:
    """Settings from a minimal config whose outputs live in the temp folder, on the
    test's database (`store`'s)."""
    return on_database(load_settings(write_config(""), env={}), database)


def on_database(settings: Settings, database: Path | str) -> Settings:
    """`settings` with the store at `database` (a SQLite file or a PostgreSQL URL)."""
    if isinstance(database, str):
        where = dataclasses.replace(settings.database, url=database)
    else:
        where = dataclasses.replace(settings.database, path=database)
    return dataclasses.replace(settings, database=where)


NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)

#: A call as schema 6 stored it (before translation keys), for migration tests: give
#: its guid, title, link and language.
V6_ITEM = """INSERT INTO items (guid, kind, title, summary, summary_html, url, language, published,
    published_ts, deadline_date, deadline_ts, source, first_seen, first_seen_ts, last_changed,
    content_hash)
    VALUES (?, 'call', ?, '', '', ?, ?, '2025-02-01', 1738368000, '2025-02-14', 1739573999,
    'legacy', '2025-02-01T00:00:00+00:00', 1738368000000000, '2025-02-01T00:00:00+00:00', 'x')"""


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


@functools.cache
def catalog(language: str) -> Catalog:
    """The shipped message catalog of `language`, as Babel reads it."""
    with (LOCALE / f"{language}.po").open("rb") as po:
        return read_po(po, locale=language, domain="wcofeed")


def message_forms(string: str | Sequence[str] | None) -> tuple[str, ...]:
    """A message's id or translation: one string, or each plural form."""
    if not string:
        return ()
    return (string,) if isinstance(string, str) else tuple(f for f in string if f)


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@functools.cache
def _english_patterns(language: str) -> tuple[re.Pattern[str], ...]:
    """Patterns of the English interface strings that `language` says otherwise.

    A message without fields matches a text that is exactly it, or (two words or more)
    that contains it; one with fields matches a whole text with anything in the fields.
    Messages whose literal part has fewer than three letters are left out: they would
    match anything.
    """
    theirs = catalog(language)
    patterns: list[re.Pattern[str]] = []
    for message in catalog("en"):
        if not message.id:
            continue
        other = theirs.get(message.id, context=message.context)
        translated = set(message_forms(other.string if other else None))
        for form in message_forms(message.string):
            literal = _PLACEHOLDER.sub("", form)
            if form in translated or sum(c.isalpha() for c in literal) < 3:
                continue
            if _PLACEHOLDER.search(form):
                parts = _PLACEHOLDER.split(form)[::2]
                body = ".+?".join(re.escape(part) for part in parts)
                patterns.append(re.compile(f"^{body}$", re.DOTALL))
            elif " " in form.strip():
                patterns.append(re.compile(rf"(?<!\w){re.escape(form.strip())}(?!\w)"))
            else:
                patterns.append(re.compile(f"^{re.escape(form.strip())}$"))
    return tuple(patterns)


def english_leftovers(texts: Iterable[str], language: str) -> list[str]:
    """The texts (a page's text nodes, an email's lines) that are English interface
    strings left in a `language` page or email."""
    if language == "en":
        return []
    patterns = _english_patterns(language)
    found = []
    for text in texts:
        line = " ".join(text.split())
        if line and any(pattern.search(line) for pattern in patterns):
            found.append(line)
    return found
