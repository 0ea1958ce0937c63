"""PostgreSQL against SQLite: filtered queries over many items, and digest rounds with
several worker processes on one PostgreSQL database.

    python -m bench.pg_bench query [--items 1000000] [--requests 200]
    python -m bench.pg_bench digest [--subscribers 100000] [--workers 1 2 3] [--split]

`query` fills a SQLite file and a PostgreSQL schema with the same items (edition_bench's
mix: most in English, some in five other languages; not timed), then times, on each,
the filtered feed query through the store (a French edition, two topics, news, one word
of text, the latest 50; the topics and word vary per request) and `GET /` with the same
filters from a `wcofeed serve` process (sequential requests, varied so no cache answers
twice the same). p50 and p99 per store; PostgreSQL / SQLite as the ratio.

`digest` fills a PostgreSQL schema with the subscribers, calls and news of
digest_bench.py, then runs `wcofeed digest --now …` as 1, 2 and 3 processes at once
into an aiosmtpd sink (each round on a fresh copy of the subscribers' state), and
reports emails/s, the ratio to one process, and that every subscriber due got exactly
one email (the sink's count equals the outbox's). With `--split`, the processes run the
round as the service's workers do, splitting its subscribers between them in batches
(`digest-worker`: one such worker, for one round, at the same `--now`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
from bench.digest_bench import NOW as DIGEST_NOW
from bench.digest_bench import items as digest_items
from bench.digest_bench import start_sink, subscribers
from bench.edition_bench import NOW, TOPICS, make_items

from wcofeed.config import load_settings
from wcofeed.digest.run import Share, run_digest
from wcofeed.store import ItemQuery, PostgresStore, Store, open_store
from wcofeed.store.interface import Cluster

BASE = os.environ.get("WCOFEED_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
WORDS = ["summary", "item", "customs", "news", "origin"]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def timed(calls: list[Callable[[], Awaitable[Any]]]) -> list[float]:
    spent = []
    for call in calls:
        started = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def queries(count: int) -> list[ItemQuery]:
    rng = random.Random(7)
    return [
        ItemQuery(
            edition=("fr", "en"),
            topics=tuple(rng.sample(TOPICS, 2)),
            kinds=("news",),
            q=rng.choice(WORDS),
            limit=50,
        )
        for _ in range(count)
    ]


def page_paths(count: int) -> list[str]:
    rng = random.Random(8)
    paths = []
    for n in range(count):
        one, two = rng.sample(TOPICS, 2)
        paths.append(f"/?lang=fr&topic={one}&topic={two}&kind=news&q={rng.choice(WORDS)}&n={n}")
    return paths


def serve(folder: Path, database: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = folder / f"serve-{port}.toml"
    topics = "".join(f'[topics.{t}]\nlabels = {{ en = "{t}" }}\n' for t in TOPICS)
    config.write_text(
        f"[database]\n{database}\n[server]\nport = {port}\n{topics}", encoding="utf-8"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "wcofeed", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("wcofeed serve did not start")


async def fill(store: Store, count: int) -> float:
    started = time.perf_counter()
    made = make_items(count)
    for start in range(0, len(made), 2000):
        await store.upsert_items(made[start : start + 2000], now=NOW)
    return time.perf_counter() - started


async def query_bench(count: int, requests: int) -> None:
    schema = f"bench_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(BASE)
    await admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{BASE}?search_path={schema}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            stores: dict[str, tuple[Path | str, str]] = {
                "sqlite": (folder / "bench.db", f'path = "{folder / "bench.db"}"'),
                "postgres": (url, f'url = "{url}"'),
            }
            figures: dict[str, dict[str, Any]] = {}
            for name, (location, line) in stores.items():
                async with await open_store(location) as store:
                    filled = await fill(store, count)
                    if isinstance(store, PostgresStore):
                        async with store.pool().acquire() as db:
                            await db.execute("VACUUM ANALYZE items")
                            await db.execute("VACUUM ANALYZE item_topics")
                            size = await db.fetchval(
                                "SELECT pg_total_relation_size('items') "
                                "+ pg_total_relation_size('item_topics')"
                            )
                    else:
                        size = os.path.getsize(folder / "bench.db")
                    asked = queries(requests)
                    await store.query_items(asked[0])  # warm
                    spent = await timed([lambda q=q: store.query_items(q) for q in asked])
                process, port = serve(folder, line)
                try:
                    paths = page_paths(requests)

                    async def get(path: str, port: int = port) -> None:
                        url = f"http://127.0.0.1:{port}{path}"
                        await asyncio.to_thread(lambda: urllib.request.urlopen(url).read())

                    await get("/?lang=fr")
                    pages = await timed([lambda p=p: get(p) for p in paths])
                finally:
                    process.terminate()
                    process.wait()
                figures[name] = {
                    "fill": filled,
                    "size": size / 2**20,
                    "query": percentiles(spent),
                    "page": percentiles(pages),
                }
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    print(f"{count} items, {requests} requests each, python {sys.version.split()[0]}")
    for name, f in figures.items():
        print(
            f"{name:8} filled in {f['fill']:.0f} s, {f['size']:.0f} MiB; "
            f"query p50 {f['query'][0]:.1f} ms p99 {f['query'][1]:.1f} ms; "
            f"GET / p50 {f['page'][0]:.1f} ms p99 {f['page'][1]:.1f} ms"
        )
    pg, lite = figures["postgres"], figures["sqlite"]
    print(
        f"postgres / sqlite: query p50 {pg['query'][0] / lite['query'][0]:.2f}, "
        f"p99 {pg['query'][1] / lite['query'][1]:.2f}; "
        f"GET / p50 {pg['page'][0] / lite['page'][0]:.2f}, "
        f"p99 {pg['page'][1] / lite['page'][1]:.2f}"
    )


async def digest_worker(config: Path, round_id: int) -> None:
    """One worker's part of a split round, as `wcofeed run`'s digest loop runs it."""
    settings = load_settings(config)
    async with await open_store(settings.database.url) as store:
        assert isinstance(store, Cluster)
        share = Share(store, round_id, settings.workers.lease_seconds, poll=0.2)
        await run_digest(store, settings, DIGEST_NOW, share=share)


async def digest_bench(count: int, workers: list[int], split: bool) -> None:
    schema = f"bench_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(BASE)
    await admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{BASE}?search_path={schema}"
    port = free_port()
    sink = start_sink(port)
    results: list[tuple[int, int, float, list[int], int]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.toml"
            config.write_text(
                textwrap.dedent(f"""
                [database]
                url = "{url}"
                [smtp]
                host = "127.0.0.1"
                port = {port}
                security = "none"
                concurrency = 8
                [security]
                secret_key = "benchmark-secret-key-0123456789"
                """),
                encoding="utf-8",
            )
            rng = random.Random(5)
            async with await open_store(url) as store:
                await store.upsert_items(digest_items(rng), DIGEST_NOW - timedelta(hours=6))
                await store.import_subscribers(
                    subscribers(count, rng), DIGEST_NOW - timedelta(days=30)
                )
            await admin.execute(f"ANALYZE {schema}.subscribers")
            for n in workers:
                await admin.execute(
                    f"TRUNCATE {schema}.outbox, {schema}.reminders; "
                    f"UPDATE {schema}.subscribers SET last_digest_at = NULL"
                )
                started = time.perf_counter()
                command = [sys.executable, "-m", "wcofeed", "digest", "--config", str(config),
                           "--now", DIGEST_NOW.isoformat()]  # fmt: skip
                if split:  # a round of its own for each measurement
                    command = [sys.executable, "-m", "bench.pg_bench", "digest-worker",
                               "--config", str(config), "--round", str(len(results))]  # fmt: skip
                procs = [subprocess.Popen(command, stdout=subprocess.DEVNULL) for _ in range(n)]
                codes = [p.wait() for p in procs]
                elapsed = time.perf_counter() - started
                sent = await admin.fetchval(
                    f"SELECT count(*) FROM {schema}.outbox WHERE state = 'sent'"
                )
                doubled = await admin.fetchval(
                    f"SELECT count(*) FROM (SELECT subscriber_id FROM {schema}.outbox "
                    "GROUP BY subscriber_id HAVING count(*) > 1) AS d"
                )
                results.append((n, sent, elapsed, codes, doubled))
    finally:
        sink.terminate()
        sink.wait()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    mode = "split rounds" if split else "every worker plans everyone"
    print(f"{count} subscribers ({mode}), python {sys.version.split()[0]}")
    one = results[0][1] / results[0][2]
    for n, sent, elapsed, codes, doubled in results:
        rate = sent / elapsed
        print(
            f"{n} worker(s): {sent} emails in {elapsed:.1f} s = {rate:.0f} msg/s "
            f"({rate / one:.2f}x one), exit codes {codes}, subscribers emailed twice: {doubled}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("query")
    q.add_argument("--items", type=int, default=1_000_000)
    q.add_argument("--requests", type=int, default=200)
    d = sub.add_parser("digest")
    d.add_argument("--subscribers", type=int, default=100_000)
    d.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    d.add_argument("--split", action="store_true")
    w = sub.add_parser("digest-worker")
    w.add_argument("--config", type=Path, required=True)
    w.add_argument("--round", type=int, required=True)
    args = parser.parse_args()
    if args.what == "query":
        asyncio.run(query_bench(args.items, args.requests))
    elif args.what == "digest-worker":
        asyncio.run(digest_worker(args.config, args.round))
    else:
        asyncio.run(digest_bench(args.subscribers, args.workers, args.split))


if __name__ == "__main__":
    main()
