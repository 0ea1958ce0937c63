"""asyncpg against psycopg 3 (with its pool) on the PostgreSQL store's own statements.

    pip install 'psycopg[binary,pool]'   # not a dependency of wcofeed: only compared here
    python bench/pg_driver_bench.py [--url postgresql://postgres@127.0.0.1:5432/test]
        [--items 20000] [--rounds 3]

Fills a fresh schema through the store (not timed), then, with each driver in turn on
a pool of 4 connections: the filtered feed query (an edition, two topics, a kind and
text, the latest 50) run 8 at a time for 2 s, and upserts of new 200-item batches
(the store's INSERT from one JSON parameter plus its topics) for 2 s. Each figure is
the median of `--rounds` rounds taken in turn; the ratio is psycopg / asyncpg.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import psycopg
from bench.edition_bench import make_items
from psycopg_pool import AsyncConnectionPool

from wcofeed.store import ItemQuery, open_store
from wcofeed.store.postgres import PostgresStore
from wcofeed.store.postgres.items import _INSERT, _INSERT_TOPICS, _row

QUERY = ItemQuery(
    edition=("fr", "en"), topics=("origin", "valuation"), kinds=("news",), q="summary item"
)
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def numbered_to_named(sql: str) -> str:
    """`$n` placeholders as psycopg's `%(pn)s` (the same value may be used twice)."""
    return re.sub(r"\$(\d+)", r"%(p\1)s", sql)


async def timed(call: Callable[[], Awaitable[None]], seconds: float, parallel: int) -> float:
    """Calls per second of `call`, `parallel` at once, for `seconds`."""
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < end:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(parallel)))
    return done / (time.perf_counter() - started)


def batch_json(n: int) -> tuple[str, list[str], list[str]]:
    """A batch of 200 new items, as the store's upsert sends it."""
    stamp = NOW.isoformat()
    rows, guids, topics = [], [], []
    for i in range(200):
        guid = f"https://bench.example.org/{n}/{i}/{uuid4().hex}"
        rows.append(
            {**_row(make_items(1)[0], stamp, 0, NOW), "guid": guid, "translation_key": guid}
        )
        guids.append(guid)
        topics.append("origin")
    return json.dumps(rows), guids, topics


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    schema = f"bench_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(args.url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    url = f"{args.url}?search_path={schema}"
    try:
        store = await open_store(url)
        assert isinstance(store, PostgresStore)
        items = make_items(args.items)
        for start in range(0, len(items), 1000):
            await store.upsert_items(items[start : start + 1000], now=NOW)
        await admin.execute(f"ANALYZE {schema}.items; ANALYZE {schema}.item_topics")
        sql, params = store._select_sql(QUERY)
        await store.close()
        apg = await asyncpg.create_pool(url, min_size=4, max_size=4)
        ppg = AsyncConnectionPool(
            args.url,
            min_size=4,
            max_size=4,
            open=False,
            kwargs={"options": f"-c search_path={schema}"},
        )
        await ppg.open()
        named = numbered_to_named(sql)
        pparams = {f"p{i}": v for i, v in enumerate(params, start=1)}
        batches = iter(range(10**9))

        async def apg_query() -> None:
            async with apg.acquire() as db:
                await db.fetch(sql, *params)

        async def ppg_query() -> None:
            async with ppg.connection() as db:
                await (await db.execute(named, pparams)).fetchall()

        async def apg_upsert() -> None:
            payload, guids, topics = batch_json(next(batches))
            async with apg.acquire() as db, db.transaction():
                await db.execute(_INSERT, payload)
                await db.execute(_INSERT_TOPICS, guids, topics)

        async def ppg_upsert() -> None:
            payload, guids, topics = batch_json(next(batches))
            async with ppg.connection() as db, db.transaction():
                await db.execute(numbered_to_named(_INSERT), {"p1": payload})
                await db.execute(numbered_to_named(_INSERT_TOPICS), {"p1": guids, "p2": topics})

        results: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, call, parallel in (
                ("asyncpg query", apg_query, 8),
                ("psycopg query", ppg_query, 8),
                ("asyncpg upsert", apg_upsert, 2),
                ("psycopg upsert", ppg_upsert, 2),
            ):
                results.setdefault(name, []).append(await timed(call, 2.0, parallel))
        await apg.close()
        await ppg.close()
        med: dict[str, Any] = {k: statistics.median(v) for k, v in results.items()}
        print(f"asyncpg {asyncpg.__version__}, psycopg {psycopg.__version__}, {args.items} items")
        for name, value in med.items():
            rounds = ", ".join(f"{v:.1f}" for v in results[name])
            print(f"{name:16} {value:8.1f}/s  (rounds: {rounds})")
        print(
            f"psycopg / asyncpg: query {med['psycopg query'] / med['asyncpg query']:.2f}, "
            f"upsert {med['psycopg upsert'] / med['asyncpg upsert']:.2f}"
        )
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
