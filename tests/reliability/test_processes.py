"""Three `wcofeed run` processes on one PostgreSQL database, a loopback source server
counting fetches and a real SMTP sink: each source is fetched once per interval between
them; then processes are SIGKILLed at seeded random moments during ingest and digest
rounds, and restarted each time: no item lost, every due reminder delivered in exactly
one email (by Message-ID at the sink), no source left unfetched past its interval plus
the lease time."""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from aiohttp import web

from tests.conftest import SmtpRecorder, SmtpServer, free_port, make_item
from wcofeed.models import Deadline, Subscriber
from wcofeed.service import JITTER
from wcofeed.store import PostgresStore, open_store

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", ["postgres"])]

SOURCES = ("alpha", "beta", "gamma")
EVERY = 2  # seconds between fetches of a source
LEASE = 6.0  # longer than an ingest takes here, three processes on two cores
POLL = 0.2
KILLS = 30
SUBSCRIBERS = 150
SEED = 15


class SourceServer:
    """RSS feeds that grow while the test runs, and when each was fetched."""

    def __init__(self) -> None:
        self.items: dict[str, list[tuple[str, str, datetime]]] = {s: [] for s in SOURCES}
        self.fetches: dict[str, list[float]] = defaultdict(list)
        self.port = free_port()

    def publish(self) -> None:
        """One new item in every feed."""
        for source, items in self.items.items():
            n = len(items)
            guid = f"http://127.0.0.1:{self.port}/{source}/{n}"
            items.append((guid, f"{source} news {n}", datetime.now(UTC)))

    async def feed(self, request: web.Request) -> web.Response:
        source = request.match_info["source"]
        self.fetches[source].append(time.monotonic())
        entries = "".join(
            f"<item><title>{escape(title)}</title><link>{escape(guid)}</link>"
            f"<guid>{escape(guid)}</guid><pubDate>{format_datetime(at)}</pubDate></item>"
            for guid, title, at in self.items[source][-200:]
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{source}</title><link>http://127.0.0.1/</link><description>d</description>"
            f"{entries}</channel></rss>"
        )
        return web.Response(body=body.encode(), content_type="application/rss+xml")

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/{source}.xml", self.feed)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        return runner


def _config(tmp_path: Path, database: str, smtp_port: int, feeds_port: int) -> Path:
    sources = "".join(
        f"""
[[sources]]
id = "{source}"
url = "http://127.0.0.1:{feeds_port}/{source}.xml"
type = "feed"
every = {EVERY}
"""
        for source in SOURCES
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[database]
url = "{database}"
[publish]
feeds_dir = "{tmp_path / "feeds"}"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
timeout = 5.0
[email]
send_hour = 0
from_address = "WCO feeds <noreply@feeds.example.org>"
[security]
secret_key = "processes-test-secret-0123456789abcdef"
[fetch]
retries = 0
[workers]
lease_seconds = {LEASE}
poll_seconds = {POLL}
digest_every_seconds = 2
{sources}""",
        encoding="utf-8",
    )
    return path


class Processes:
    """Three `wcofeed run` processes, each restartable."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config = config
        self.logs = logs
        self.running: dict[int, asyncio.subprocess.Process] = {}
        self.starts = Counter[int]()

    async def start(self, n: int) -> None:
        self.starts[n] += 1
        role = "worker" if n == 2 else "all"
        with (self.logs / f"process-{n}-{self.starts[n]}.log").open("wb") as log:
            self.running[n] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "wcofeed", "run", "--config", str(self.config),
                "--port", str(free_port()), "--role", role,
                stdout=log, stderr=log,
            )  # fmt: skip

    def ready(self) -> list[int]:
        """The processes whose schedules run (their first publish is done)."""
        return [
            n
            for n in sorted(self.running)
            if b"wcofeed.publish: published"
            in (self.logs / f"process-{n}-{self.starts[n]}.log").read_bytes()
        ]

    async def kill(self, n: int) -> None:
        process = self.running[n]
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def stop(self) -> None:
        for process in self.running.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            await asyncio.wait_for(process.wait(), timeout=60)


@pytest.fixture
async def sources() -> AsyncIterator[SourceServer]:
    server = SourceServer()
    runner = await server.start()
    yield server
    await runner.cleanup()


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_three_processes_share_sources_and_reminders_through_kills(
    tmp_path: Path,
    database: str,
    sources: SourceServer,
    smtp_server: SmtpServer,
    smtp: SmtpRecorder,
) -> None:
    rng = random.Random(SEED)
    closes = date.today() + timedelta(days=2)
    calls = [make_item(kind="call", deadline=Deadline(closes)) for _ in range(4)]
    async with await open_store(database) as store:
        await store.upsert_items(calls)
        for n in range(SUBSCRIBERS):
            subscriber = Subscriber(f"reader{n}@example.org", status="active")
            await store.save_subscriber(subscriber, datetime.now(UTC))
    sources.publish()
    config = _config(tmp_path, database, smtp_server.port, sources.port)
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = Processes(config, logs)
    try:
        for n in range(3):
            await processes.start(n)
        # 1. no kills: each source once per interval between the three processes
        for _ in range(600):
            if min(len(sources.fetches[s]) for s in SOURCES) >= 6:
                break
            await asyncio.sleep(0.1)
        calm = {s: list(sources.fetches[s]) for s in SOURCES}
        for source, times in calm.items():
            assert len(times) >= 6, (source, times)
            gaps = _gaps(times)
            assert min(gaps) >= EVERY * (1 - JITTER), (source, gaps)
            assert max(gaps) <= EVERY * (1 + JITTER) + LEASE + POLL, (source, gaps)

        # 2. kills at random moments while items appear and digest rounds run
        for _ in range(KILLS):
            sources.publish()
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            # a victim among the processes past their start, two at least: one to kill
            # and one to carry on (a source waits for a process to be up, not longer)
            while len(ready := processes.ready()) < 2:
                await asyncio.sleep(0.1)
            victim = rng.choice(ready)
            await processes.kill(victim)
            await processes.start(victim)

        # 3. calm again: everything published gets fetched
        sources.publish()
        await asyncio.sleep(EVERY * (1 + JITTER) + LEASE + 3)
    finally:
        await processes.stop()

    for source in SOURCES:
        gaps = _gaps(sources.fetches[source])
        assert max(gaps) <= EVERY * (1 + JITTER) + LEASE + POLL, (source, gaps)
    published = [guid for items in sources.items.values() for guid, _, _ in items]
    async with await open_store(database) as store:
        assert isinstance(store, PostgresStore)
        stored = await store.get_items(published)
        assert sorted(stored) == sorted(published)  # no item lost
        async with store.pool().acquire() as db:
            reminders = await db.fetch(
                "SELECT subscriber_id, translation_key, lead_days, message_id FROM reminders"
            )
            outbox = {r[0]: r[1] for r in await db.fetch("SELECT message_id, state FROM outbox")}
    received = Counter(smtp.message_ids())
    # every due reminder (each subscriber, each call, leads 3 and 14) claimed once...
    keys = {(r[0], r[1], r[2]) for r in reminders}
    assert len(keys) == len(reminders) == SUBSCRIBERS * len(calls) * 2
    # ...in an email the sink received, and recorded as sent; no other email was sent
    assert {r[3] for r in reminders} == set(received) == set(outbox)
    assert set(outbox.values()) == {"sent"}
    assert len(received) == SUBSCRIBERS  # one email per subscriber covers their calls
    assert sum(processes.starts.values()) == 3 + KILLS
