"""Digest round throughput and memory against the raw SMTP limit, in one run.

Starts an aiosmtpd sink (a separate process, as a real server would be), fills a
temporary SQLite store with N active subscribers and a set of open calls and new
items, runs one `run_digest` round into the sink, then sends one pre-rendered
message the same number of times with a bare aiosmtplib loop over the same number
of connections (the limit). Prints messages/s of both, their ratio and peak RSS.

    python bench/digest_bench.py --subscribers 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosmtplib

from wcofeed.config import Settings, load_settings
from wcofeed.digest.render import Renderer
from wcofeed.digest.run import run_digest
from wcofeed.digest.select import DueCall
from wcofeed.digest.send import Outgoing
from wcofeed.digest.tokens import Signer
from wcofeed.models import Deadline, Item, Subscriber
from wcofeed.store import open_store

NOW = datetime(2025, 2, 1, 7, 0, tzinfo=UTC)
TOPICS = [
    "origin",
    "valuation",
    "enforcement",
    "capacity-building",
    "e-commerce",
    "security",
    "facilitation",
    "hs",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of another process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise RuntimeError("sink did not start")


def settings_for(folder: Path, port: int, concurrency: int) -> Settings:
    config = folder / "config.toml"
    config.write_text(
        textwrap.dedent(f"""
        [database]
        path = "bench.db"
        [smtp]
        host = "127.0.0.1"
        port = {port}
        security = "none"
        concurrency = {concurrency}
        [security]
        secret_key = "benchmark-secret-key-0123456789"
    """),
        encoding="utf-8",
    )
    return load_settings(config, env={})


def items(rng: random.Random) -> list[Item]:
    made = []
    for n in range(80):
        lang = ("en", "fr")[n % 2]
        made.append(
            Item(
                guid=f"https://www.wcoomd.org/call/{n}",
                kind="call",
                title=f"Call for applications {n}",
                url=f"https://www.wcoomd.org/{lang}/call/{n}",
                language=lang,
                published=date(2025, 1, 1),
                source="bench",
                summary="A scholarship programme.",
                topics=(rng.choice(TOPICS),),
                deadline=Deadline(date(2025, 2, 1) + timedelta(days=rng.randint(0, 20))),
            )
        )
    for n in range(100):
        lang = ("en", "fr")[n % 2]
        made.append(
            Item(
                guid=f"https://www.wcoomd.org/news/{n}",
                kind="news",
                title=f"News item {n}",
                url=f"https://www.wcoomd.org/{lang}/news/{n}",
                language=lang,
                published=date(2025, 1, 31),
                source="bench",
                topics=(rng.choice(TOPICS),),
            )
        )
    return made


def subscribers(count: int, rng: random.Random) -> Iterator[Subscriber]:
    """Generated as they are stored, so the set-up does not inflate the peak RSS."""
    return (
        Subscriber(
            email=f"user{n}@example.org",
            language=("en", "fr")[n % 2],
            topics=tuple(sorted(rng.sample(TOPICS, rng.randint(1, 2)))),
            digest="daily" if n % 5 == 0 else "off",
            timezone="Europe/Brussels",
            status="active",
        )
        for n in range(count)
    )


async def raw_loop(port: int, data: bytes, count: int, connections: int) -> float:
    """The limit: one pre-rendered message sent `count` times, no store, no rendering."""

    async def worker(share: int) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for _ in range(share):
            await client.sendmail("noreply@localhost", ["user@example.org"], data)
        await client.quit()

    started = time.perf_counter()
    shares = [count // connections + (i < count % connections) for i in range(connections)]
    await asyncio.gather(*(worker(share) for share in shares))
    return count / (time.perf_counter() - started)


async def main(count: int, raw: int, concurrency: int) -> None:
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = settings_for(Path(tmp), port, concurrency)
            rng = random.Random(5)
            async with await open_store(settings.database.path) as store:
                made = items(rng)
                await store.upsert_items(made, NOW - timedelta(hours=6))
                await store.import_subscribers(subscribers(count, rng), NOW - timedelta(days=30))
                rss_before = peak_rss_mb()
                started, cpu = time.perf_counter(), time.process_time()
                sink_cpu = cpu_seconds(sink.pid)
                report = await run_digest(store, settings, NOW)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                sink_cpu = cpu_seconds(sink.pid) - sink_cpu
                rss_after = peak_rss_mb()
            digest_rate = report.sent / elapsed
            # The raw loop's message: a typical email of this run (two topics' calls
            # and new items), rendered once.
            sample_sub = Subscriber("user@example.org", topics=("origin", "valuation"))
            chosen = [
                i for i in made if set(i.topics) & set(sample_sub.topics) and i.language == "en"
            ]
            calls = [DueCall(i, (14,)) for i in chosen if i.kind == "call"]
            news = [i for i in chosen if i.kind == "news"]
            one = Renderer(settings, Signer(settings.security.secret_key)).digest(
                sample_sub, calls, news, (NOW, NOW), "<x@y>", NOW
            )
            data = Outgoing.of(one).data
            raw_sink_cpu = cpu_seconds(sink.pid)
            raw_started, raw_cpu = time.perf_counter(), time.process_time()
            raw_rate = await raw_loop(port, data, raw, concurrency)
            raw_elapsed = time.perf_counter() - raw_started
            raw_cpu = time.process_time() - raw_cpu
            raw_sink_cpu = (cpu_seconds(sink.pid) - raw_sink_cpu) / raw_elapsed
    finally:
        sink.terminate()
        sink.wait()
    print(f"python {sys.version.split()[0]}, subscribers {count}, connections {concurrency}")
    print(
        f"digest round: {report.sent} emails in {elapsed:.1f} s = {digest_rate:.0f} msg/s "
        f"(this process busy {cpu / elapsed:.0%}, the sink {sink_cpu / elapsed:.0%})"
    )
    print(
        f"raw aiosmtplib loop: {raw} sends of one {len(data):,}-byte email = "
        f"{raw_rate:.0f} msg/s (this process busy {raw_cpu / raw_elapsed:.0%}, "
        f"the sink {raw_sink_cpu:.0%})"
    )
    print(f"ratio: {digest_rate / raw_rate:.0%}")
    round_ms, raw_ms = cpu / max(report.sent, 1) * 1000, raw_cpu / raw * 1000
    print(
        f"CPU time of this process per email: round {round_ms:.2f} ms, raw loop "
        f"{raw_ms:.2f} ms ({round_ms / raw_ms:.2f}x)"
    )
    print(f"peak RSS: {rss_before:.0f} MB before the round, {rss_after:.0f} MB after")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--raw", type=int, default=0, help="raw sends (default: as many)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.subscribers, args.raw or args.subscribers, args.concurrency))
