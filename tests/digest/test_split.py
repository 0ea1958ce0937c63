"""A digest round split between two workers on one PostgreSQL store (two stores opened
on one schema stand for two processes), against a real SMTP sink."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any

import pytest
from tests.conftest import NOW

from wcofeed.config import Settings
from wcofeed.digest.run import Share, run_digest
from wcofeed.models import Item, Subscriber
from wcofeed.store import PostgresStore, ReminderKey, Store

pytestmark = pytest.mark.parametrize("backend", ["postgres"])

SmtpRecorder = Any
SUBSCRIBERS = 200
#: Subscriber ids per batch: ten batches for the 200 subscribers.
SIZE = 20


class Worker(PostgresStore):
    """The store of one worker, noting which subscribers its rounds planned."""

    planned: list[int]

    async def reminded_keys(
        self, subscriber_ids: Sequence[int], now: datetime
    ) -> dict[int, set[ReminderKey]]:
        self.planned = [*getattr(self, "planned", []), *subscriber_ids]
        return await super().reminded_keys(subscriber_ids, now)


@pytest.fixture
async def workers(database: str) -> AsyncIterator[tuple[Worker, Worker]]:
    first, second = await Worker.open(database), await Worker.open(database)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def due(
    store: Store,
    add_subscriber: Callable[..., Awaitable[Subscriber]],
    make_call: Callable[..., Item],
) -> dict[int, str]:
    """200 subscribers (id: address), each due a reminder of a call closing in ~2.5 days."""
    call = make_call(date(2025, 2, 3), title="Scholarship closing soon")
    await store.upsert_items([call], NOW)
    added = [await add_subscriber(f"s{n}@example.org") for n in range(SUBSCRIBERS)]
    return {sub.id: sub.email for sub in added if sub.id is not None}


def share(store: PostgresStore) -> Share:
    return Share(store, round_id=1, lease=60, poll=0.05, size=SIZE)


def assert_each_once(smtp: SmtpRecorder, addresses: Sequence[str]) -> None:
    """Every address got exactly one email, and no Message-ID was sent twice."""
    assert Counter(r.recipient for r in smtp.received) == Counter(addresses)
    ids = smtp.message_ids()
    assert len(ids) == len(set(ids)) == len(addresses)


async def test_two_workers_split_a_round_and_send_each_email_once(
    workers: tuple[Worker, Worker],
    due: dict[int, str],
    digest_settings: Settings,
    smtp: SmtpRecorder,
) -> None:
    first, second = workers
    reports = await asyncio.gather(
        run_digest(first, digest_settings, NOW, share=share(first)),
        run_digest(second, digest_settings, NOW, share=share(second)),
    )
    assert_each_once(smtp, list(due.values()))
    assert all(report.sent > 0 for report in reports)  # both did part of the work
    assert sum(report.sent for report in reports) == SUBSCRIBERS
    # each subscriber was planned by one of them only
    assert not set(first.planned) & set(second.planned)
    assert sorted(first.planned + second.planned) == sorted(due)
    # the round is over for everyone: a late worker finds nothing left to do
    late = await run_digest(first, digest_settings, NOW, share=share(first))
    assert late.sent == 0
    assert len(smtp.received) == SUBSCRIBERS


async def test_a_batch_whose_worker_died_is_taken_by_another(
    workers: tuple[Worker, Worker],
    database: str,
    due: dict[int, str],
    digest_settings: Settings,
    smtp: SmtpRecorder,
) -> None:
    survivor, _ = workers
    dying = await PostgresStore.open(database)
    await dying.open_digest_round(1, SIZE)
    taken = await dying.take_digest_batch(1, lease=600)
    assert taken is not None
    held = [sub_id for sub_id in due if taken[0] <= sub_id < taken[1]]
    assert held

    running = asyncio.create_task(run_digest(survivor, digest_settings, NOW, share=share(survivor)))

    # the survivor does every other batch, then waits for the one still held...
    async def others_sent() -> None:
        while len(smtp.received) < SUBSCRIBERS - len(held):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(others_sent(), timeout=60)
    assert not running.done()
    assert not set(held) & set(survivor.planned)
    await dying.close()  # ...until its holder dies, as when a process is killed
    report = await asyncio.wait_for(running, timeout=60)
    assert report.sent == SUBSCRIBERS
    assert_each_once(smtp, list(due.values()))
