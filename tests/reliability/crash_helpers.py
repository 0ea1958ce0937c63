"""A crash harness: `wcofeed ingest`, `publish` and `digest` run as subprocesses over
one database and feeds folder, SIGKILLed at seeded random moments and restarted until
each round completes, while the data grows and changes between rounds. Afterwards
`verify` checks what must have survived. Shared by tests/reliability/test_crash.py
(CI: 50 kills of each command) and bench/crash_soak.py (longer runs)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import feedparser
import icalendar
from lxml import etree, html

from tests.conftest import REPO, SmtpServer
from wcofeed.digest.select import due_leads
from wcofeed.models import Subscriber
from wcofeed.store import ItemQuery, open_store

COMMANDS = ("ingest", "publish", "digest")
SECRET = "crash-harness-secret-0123456789"
#: Round 0 runs at this instant; each later round 8 hours on (the `--now` of `digest`).
START = datetime(2025, 2, 1, 7, 0, tzinfo=UTC)
STEP = timedelta(hours=8)
#: The sample pages read as sources (copied into the run's folder, then edited there).
PAGES = {"home": ("wco-home-en.html", "en"), "newsroom": ("wco-newsroom-ru.html", "ru")}
LEAD_CHOICES = ((14, 3, 1), (7, 2), (1,), (3,))
#: A call title on the home page that rounds rename, so ingest rewrites a stored item.
EDITED_TITLE = "consultative group (pscg)"

ReminderKey = tuple[str, str, int]  # (address, call guid, lead days)


@dataclass
class Tally:
    """What the harness did: kills and completed runs per command."""

    kills: Counter[str] = field(default_factory=Counter)
    completed: Counter[str] = field(default_factory=Counter)
    finished_before_kill: Counter[str] = field(default_factory=Counter)
    #: Kills of a run that had already changed the database, a feed file or the sink.
    kills_after_writing: Counter[str] = field(default_factory=Counter)
    rounds: int = 0
    seconds: float = 0.0


@dataclass
class Harness:
    """One run folder: config, sources, database, feeds, and the SMTP sink."""

    root: Path
    smtp: SmtpServer
    rng: random.Random
    tally: Tally = field(default_factory=Tally)
    #: Seconds a command took when it ran to the end (the kill window), per command.
    durations: dict[str, float] = field(default_factory=dict)
    manual: list[dict[str, object]] = field(default_factory=list)
    subscribers: list[Subscriber] = field(default_factory=list)
    #: Every (address, translation key, lead) that some round was due to remind.
    due: set[ReminderKey] = field(default_factory=set)
    #: Draws the data apart from the kill moments, so a seed gives the same data
    #: however many restarts the machine's speed causes.
    data_rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.data_rng = random.Random(self.rng.getrandbits(64))

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def database(self) -> Path:
        return self.root / "wcofeed.db"

    def setup(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for name, _ in PAGES.values():
            shutil.copy(REPO / "samples" / name, self.root / name)
        sources = "".join(
            f'[[sources]]\nid = "{sid}"\nurl = "{name}"\nui_language = "{lang}"\n'
            for sid, (name, lang) in PAGES.items()
        )
        self.config.write_text(
            f"""[database]
path = "wcofeed.db"
[security]
secret_key = "{SECRET}"
[smtp]
host = "127.0.0.1"
port = {self.smtp.port}
security = "none"
timeout = 10.0
retry_delay = 0.01
concurrency = 2
[email]
list_id = "crash.example.org"
max_items = 200
[fetch]
per_host_delay = 0.0
retries = 0
{sources}[[sources]]
id = "manual"
url = "manual.json"
type = "json"
""",
            encoding="utf-8",
        )
        self._write_manual()
        self._check(self._command("init"))

    # --- data that changes between rounds ---------------------------------------

    def _write_manual(self) -> None:
        tmp = self.root / "manual.json.tmp"
        tmp.write_text(json.dumps(self.manual, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.root / "manual.json")

    def vary(self, round_no: int, now: datetime) -> None:
        """New calls and news, an edited item, an edited page and new subscribers."""
        for k in range(3):
            n = len(self.manual)
            entry: dict[str, object] = {
                "title": f"Generated item {n} of round {round_no}",
                "url": f"https://crash.example.org/items/{n}",
                "summary": f"Item {n}, first version.",
                "published": now.date().isoformat(),
            }
            if k < 2:
                closes = now + timedelta(hours=self.data_rng.uniform(6, 240))
                entry["deadline"] = {
                    "date": closes.date().isoformat(),
                    "time": "17:00",
                    "timezone": "Europe/Brussels",
                }
                entry["kind"] = "call"
            self.manual.append(entry)
        edited = self.manual[self.data_rng.randrange(len(self.manual))]
        edited["summary"] = f"Edited in round {round_no}."
        self._write_manual()
        page = self.root / PAGES["home"][0]
        text = re.sub(
            re.escape(EDITED_TITLE) + r"( round \d+)?",
            f"{EDITED_TITLE} round {round_no}",
            page.read_text(encoding="utf-8"),
        )
        page.write_text(text, encoding="utf-8")
        added = [
            Subscriber(
                email=f"reader{len(self.subscribers) + i}@example.org",
                lead_days=self.data_rng.choice(LEAD_CHOICES),
                status="active",
            )
            for i in range(2)
        ]
        asyncio.run(self._save_subscribers(added, now))
        self.subscribers.extend(added)

    async def _save_subscribers(self, subscribers: list[Subscriber], now: datetime) -> None:
        async with await open_store(self.database) as store:
            for sub in subscribers:
                await store.save_subscriber(sub, now)

    async def _note_due(self, now: datetime) -> None:
        """What this round must remind, from the calls the store holds and a schedule
        computed here (language en, no topic or kind filter, each subscriber's leads)."""
        query = ItemQuery(kinds=("call",), languages=("en",), limit=10_000)
        async with await open_store(self.database) as store:
            calls = await store.query_items(query)
        for item in calls:
            assert item.deadline is not None
            for sub in self.subscribers:
                for lead in due_leads(item.deadline.closes_at(), now, sub.lead_days):
                    self.due.add((sub.email, item.translation_key, lead))

    # --- running and killing -----------------------------------------------------

    def _command(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "wcofeed", "--config", str(self.config), *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    @staticmethod
    def _check(process: subprocess.Popen[bytes]) -> float:
        started = time.monotonic()
        out, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            raise AssertionError(f"{process.args!r} exited {process.returncode}:\n{out.decode()}")
        return time.monotonic() - started

    def _footprint(self) -> tuple[int, ...]:
        """Changes whenever a run writes the database, a feed file or an email."""
        files = [self.database, self.database.with_name(self.database.name + "-wal")]
        files.extend((self.root / "feeds").rglob("*"))
        stamps = [p.stat().st_mtime_ns for p in files if p.exists()]
        return (len(self.smtp.recorder.received), len(stamps), max(stamps, default=0))

    def _attempt(self, name: str, args: tuple[str, ...]) -> None:
        """Start the command and SIGKILL it at a random moment of the second half of its
        last run's length (the first half is mostly interpreter start-up)."""
        window = self.durations.get(name, 1.0)
        delay = self.rng.uniform(0.5, 1.0) * window
        before = self._footprint()
        started = time.monotonic()
        process = self._command(*args)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            self.tally.kills[name] += 1
            self.tally.kills_after_writing[name] += self._footprint() != before
        else:
            if process.returncode != 0:
                assert process.stdout is not None
                output = process.stdout.read().decode()
                raise AssertionError(f"{name} exited {process.returncode}: {output}")
            self.tally.finished_before_kill[name] += 1
            # A run with less left to do (a restart) is shorter: aim within it next time.
            self.durations[name] = time.monotonic() - started
        if process.stdout is not None:
            process.stdout.close()

    def _complete(self, name: str, args: tuple[str, ...]) -> None:
        started = time.monotonic()
        self._check(self._command(*args))
        self.durations[name] = time.monotonic() - started
        self.tally.completed[name] += 1

    def round(self, round_no: int, kills_each: int) -> None:
        """Vary the data, then each command: killed `kills_each` times, then run to the
        end (a killed run is restarted with the same arguments, as a supervisor would)."""
        now = START + round_no * STEP
        self.vary(round_no, now)
        for name in COMMANDS:
            args: tuple[str, ...] = (name,)
            if name == "digest":
                args = ("digest", "--now", now.isoformat())
            target = self.tally.kills[name] + kills_each
            tries = 0
            while self.tally.kills[name] < target and tries < 20 * kills_each:
                self._attempt(name, args)
                tries += 1
            self._complete(name, args)
            if name == "ingest":
                asyncio.run(self._note_due(now))
        self.tally.rounds += 1

    def soak(self, rounds: int, kills_each: int) -> Tally:
        started = time.monotonic()
        self.setup()
        for round_no in range(rounds):
            self.round(round_no, kills_each)
        self.tally.seconds = time.monotonic() - started
        return self.tally


# --- what must hold afterwards ---------------------------------------------------


@dataclass
class Findings:
    integrity: str = ""
    items: int = 0
    feed_files: int = 0
    leftover_temp_files: int = 0
    emails_received: int = 0
    distinct_message_ids: int = 0
    raw_duplicates: int = 0
    due_reminders: int = 0
    problems: list[str] = field(default_factory=list)


def _check_feed(path: Path) -> str | None:
    """Why the file is not a whole feed of its type, or None."""
    data = path.read_bytes()
    try:
        if path.suffix in (".atom", ".rss", ".xml", ".opml"):
            etree.fromstring(data)
            if path.suffix != ".opml":
                parsed = feedparser.parse(data)
                if parsed.bozo:
                    return f"feedparser bozo: {parsed.bozo_exception}"
        elif path.suffix == ".json":
            if "jsonfeed.org" not in json.loads(data)["version"]:
                return "not a JSON Feed"
        elif path.suffix == ".ics":
            icalendar.Calendar.from_ical(data)
            if not data.rstrip().endswith(b"END:VCALENDAR"):
                return "calendar cut short"
        elif path.suffix == ".html":
            if not data.rstrip().endswith(b"</html>"):
                return "page cut short"
            html.document_fromstring(data)
        else:
            return "unexpected file"
    except Exception as exc:  # any parse failure is the finding
        return f"{type(exc).__name__}: {exc}"
    return None


def _expected_items(harness: Harness, reference: Path) -> dict[str, tuple[str, str]]:
    """Items a clean, uninterrupted ingest of the final sources stores: guid -> (title,
    summary)."""
    reference.mkdir()
    for name in [*(n for n, _ in PAGES.values()), "manual.json", "config.toml"]:
        shutil.copy(harness.root / name, reference / name)
    config = reference / "config.toml"
    subprocess.run(
        [sys.executable, "-m", "wcofeed", "--config", str(config), "ingest"],
        cwd=reference,
        check=True,
        capture_output=True,
    )
    return asyncio.run(_items(reference / "wcofeed.db"))


async def _items(database: Path) -> dict[str, tuple[str, str]]:
    async with await open_store(database) as store:
        items = await store.query_items(ItemQuery(limit=100_000))
    return {item.guid: (item.title, item.summary) for item in items}


def verify(harness: Harness, reference: Path) -> Findings:
    found = Findings()
    with sqlite3.connect(harness.database) as db:
        found.integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        if found.integrity != "ok":
            found.problems.append(f"integrity_check: {found.integrity}")
        if db.execute("PRAGMA foreign_key_check").fetchall():
            found.problems.append("foreign_key_check found orphans")
        stored_count = db.execute("SELECT count(*) FROM items").fetchone()[0]
        unsent = db.execute("SELECT count(*) FROM outbox WHERE state != 'sent'").fetchone()[0]
        if unsent:
            found.problems.append(f"{unsent} outbox rows not sent after the last round")
        covers: dict[str, set[ReminderKey]] = defaultdict(set)
        for mid, address, key, lead in db.execute(
            "SELECT r.message_id, s.email, r.translation_key, r.lead_days FROM reminders r "
            "JOIN subscribers s ON s.id = r.subscriber_id"
        ):
            covers[mid].add((address, key, lead))

    stored = asyncio.run(_items(harness.database))
    expected = _expected_items(harness, reference)
    found.items = len(stored)
    if stored_count != len(stored):
        found.problems.append(f"{stored_count} item rows but {len(stored)} distinct guids")
    for guid in expected.keys() - stored.keys():
        found.problems.append(f"item lost: {guid}")
    for guid in stored.keys() - expected.keys():
        found.problems.append(f"item not in the sources: {guid}")
    for guid in expected.keys() & stored.keys():
        if expected[guid] != stored[guid]:
            found.problems.append(f"item {guid} stored as {stored[guid]}, not {expected[guid]}")
    generated = {str(entry["url"]) for entry in harness.manual}
    if missing := generated - stored.keys():
        found.problems.append(f"generated items missing: {sorted(missing)[:5]}")

    for path in (harness.root / "feeds").rglob("*"):
        if not path.is_file():
            continue
        if path.name.startswith("."):
            found.leftover_temp_files += 1
            continue
        found.feed_files += 1
        if (why := _check_feed(path)) is not None:
            found.problems.append(f"feed {path.relative_to(harness.root)}: {why}")

    received = harness.smtp.recorder.received
    found.emails_received = len(received)
    ids: Counter[str] = Counter()
    coverage: dict[ReminderKey, set[str]] = defaultdict(set)
    for mail in received:
        message = message_from_bytes(mail.data, policy=default_policy)
        mid = str(message["Message-ID"])
        ids[mid] += 1
        keys = covers.get(mid)
        if keys is None:
            found.problems.append(f"{mid} to {mail.recipient} is not in the outbox")
            continue
        for address, guid, lead in keys:
            if address != mail.recipient:
                found.problems.append(f"{mid} covers {address} but went to {mail.recipient}")
            coverage[(address, guid, lead)].add(mid)
    found.distinct_message_ids = len(ids)
    found.raw_duplicates = sum(n - 1 for n in ids.values())
    found.due_reminders = len(harness.due)
    for key in harness.due - coverage.keys():
        found.problems.append(f"reminder never delivered: {key}")
    for key in coverage.keys() - harness.due:
        found.problems.append(f"reminder delivered but never due: {key}")
    for key, mids in coverage.items():
        if len(mids) > 1:
            found.problems.append(f"reminder {key} delivered under {len(mids)} Message-IDs")
    return found
