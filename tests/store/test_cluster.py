"""Several processes on one PostgreSQL store (two stores opened on one schema stand for
two processes): source leases, claims of a live or dead process, digest windows,
change notifications and the exclusive lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from tests.conftest import NOW, make_item
from wcofeed.models import Deadline, Subscriber
from wcofeed.store import Claim, PostgresStore, open_store

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


@pytest.fixture
async def other(database: str) -> AsyncIterator[PostgresStore]:
    """A second process's store on the same database."""
    async with await open_store(database) as opened:
        assert isinstance(opened, PostgresStore)
        yield opened


async def test_a_source_is_leased_to_one_process_until_due_again(
    store: PostgresStore, other: PostgresStore
) -> None:
    assert await store.lease_source("newsroom", lease=60) == 0.0
    held = await other.lease_source("newsroom", lease=60)
    assert 50 < held <= 60  # held by the first: ask again when its lease ends
    await store.release_source("newsroom", every=3600)
    due = await other.lease_source("newsroom", lease=60)
    assert 3500 < due <= 3600  # fetched: nobody fetches it before its interval is over
    assert await other.lease_source("partner", lease=60) == 0.0


async def test_an_expired_lease_is_taken_over(store: PostgresStore, other: PostgresStore) -> None:
    assert await store.lease_source("newsroom", lease=0.2) == 0.0
    await asyncio.sleep(0.3)
    assert await other.lease_source("newsroom", lease=60) == 0.0
    await store.release_source("newsroom", every=3600)  # too late: no longer its lease
    assert await store.lease_source("newsroom", lease=60) > 0


async def test_a_dead_holders_lease_is_taken_over_at_once(
    store: PostgresStore, database: str
) -> None:
    dying = await open_store(database)
    assert isinstance(dying, PostgresStore)
    assert await dying.lease_source("newsroom", lease=600) == 0.0
    assert await store.lease_source("newsroom", lease=600) > 0
    await dying.close()  # its connections go, as when a process is killed
    assert await store.lease_source("newsroom", lease=600) == 0.0


async def test_a_claim_is_resent_by_another_process_only_once_its_claimer_is_gone(
    store: PostgresStore, database: str
) -> None:
    claimer = await open_store(database)
    sub = await store.save_subscriber(Subscriber("ana@example.org", status="active"), NOW)
    assert sub.id is not None
    claim = Claim("<m1@x>", sub.id, "{}", reminders=(("k", 1, 3),))
    assert await claimer.claim_deliveries([claim], NOW) == ["<m1@x>"]
    assert [d.message_id for d in await claimer.stale_deliveries()] == ["<m1@x>"]
    assert await store.stale_deliveries() == []  # its claimer is sending it
    await claimer.close()
    assert [d.message_id for d in await store.stale_deliveries()] == ["<m1@x>"]


async def test_a_digest_window_moved_by_another_process_refuses_the_claim(
    store: PostgresStore, other: PostgresStore
) -> None:
    sub = await store.save_subscriber(
        Subscriber("ana@example.org", status="active", digest="daily"), NOW
    )
    assert sub.id is not None
    start = NOW - timedelta(days=1)
    first = Claim("<a@x>", sub.id, "{}", digest_until=NOW, digest_from=start)
    late = Claim("<b@x>", sub.id, "{}", digest_until=NOW + timedelta(seconds=1), digest_from=start)
    assert await store.claim_deliveries([first], NOW) == ["<a@x>"]
    assert await other.claim_deliveries([late], NOW) == []
    following = Claim("<c@x>", sub.id, "{}", digest_until=NOW + timedelta(days=1), digest_from=NOW)
    assert await other.claim_deliveries([following], NOW) == ["<c@x>"]


async def test_changes_are_announced_to_every_process(
    store: PostgresStore, other: PostgresStore
) -> None:
    heard = asyncio.Event()
    other.on_change(heard.set)
    call = make_item(kind="call", deadline=Deadline(date(2030, 1, 1)))
    await store.upsert_item(call, now=NOW)
    await asyncio.wait_for(heard.wait(), timeout=10)
    heard.clear()
    await store.upsert_item(call, now=NOW)  # unchanged: nothing to announce
    await store.delete_item(call.guid)
    await asyncio.wait_for(heard.wait(), timeout=10)


async def test_exclusive_is_held_by_one_process_at_a_time(
    store: PostgresStore, other: PostgresStore
) -> None:
    order: list[str] = []
    async with store.exclusive("publish"):
        waiting = asyncio.create_task(_hold(other, order))
        await asyncio.sleep(0.3)
        assert order == []  # still waiting for the first
        order.append("first done")
    await asyncio.wait_for(waiting, timeout=10)
    assert order == ["first done", "second"]


async def _hold(store: PostgresStore, order: list[str]) -> None:
    async with store.exclusive("publish"):
        order.append("second")


async def test_digest_batches_are_held_by_one_process_and_taken_again_once_it_dies(
    store: PostgresStore, other: PostgresStore, database: str
) -> None:
    for n in range(25):
        await store.save_subscriber(Subscriber(f"s{n}@example.org", status="active"), NOW)
    dying = await open_store(database)
    assert isinstance(dying, PostgresStore)
    for process in (store, other, dying):  # every worker opens the round: once
        await process.open_digest_round(7, 10)
    assert await dying.take_digest_batch(7, lease=600) == (0, 10)
    assert await store.take_digest_batch(7, lease=600) == (10, 20)
    assert await other.take_digest_batch(7, lease=600) == (20, 30)
    assert await other.take_digest_batch(7, lease=600) is None  # all held
    await store.finish_digest_batch(7, 10, done=True)
    await other.finish_digest_batch(7, 20, done=False)  # given up: free again
    assert await store.take_digest_batch(7, lease=600) == (20, 30)
    await store.finish_digest_batch(7, 20, done=True)
    assert not await store.digest_round_done(7)  # the dying one still holds its batch
    await dying.close()
    assert await other.take_digest_batch(7, lease=600) == (0, 10)
    await other.finish_digest_batch(7, 0, done=True)
    assert await store.digest_round_done(7)
    assert await store.take_digest_batch(7, lease=600) is None
    await store.open_digest_round(8, 10)  # another round: its own batches
    assert await store.take_digest_batch(8, lease=600) == (0, 10)
