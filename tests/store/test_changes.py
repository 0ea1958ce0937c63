"""The journal of item changes (migration 10): what each write tells other processes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import NOW, make_item
from wcofeed.models import Deadline
from wcofeed.store import (
    ItemQuery,
    ItemState,
    Store,
    deadline_instant,
    item_rank,
    open_store,
    rarity,
)
from wcofeed.store.postgres import items as postgres_items
from wcofeed.store.postgres.base import JOURNAL_LOCK
from wcofeed.store.sqlite import items as sqlite_items

LINK = "https://www.wcoomd.org/{}/media/forum.aspx"


async def test_each_write_journals_old_and_new_states_and_the_other_versions(
    store: Store,
) -> None:
    start = (await store.item_changes(None)).cursor
    english = make_item(guid=LINK.format("en"), url=LINK.format("en"), topics=("origin",))
    french = dataclasses.replace(
        english, guid=LINK.format("fr"), url=LINK.format("fr"), language="fr"
    )
    await store.upsert_items([english], now=NOW)
    await store.upsert_items([english], now=NOW + timedelta(hours=1))  # unchanged: nothing
    call = dataclasses.replace(
        english, kind="call", topics=("data",), deadline=Deadline(date(2030, 1, 1))
    )
    await store.upsert_items([call, french], now=NOW + timedelta(hours=2))
    await store.delete_item(french.guid)

    found = await store.item_changes(start)
    assert found.complete
    new, edit, added, deleted = found.changes
    stored = await store.get_item(english.guid)
    assert stored is not None
    rank = item_rank(stored)
    assert new.guid == english.guid and new.old is None and new.versions == ()
    assert new.new == ItemState("en", "news", ("origin",), rank, None, english.guid)
    assert edit.old == new.new
    assert edit.new == ItemState("en", "call", ("data",), rank, deadline_instant(call), call.guid)
    assert edit.versions == (ItemState("fr", "news", ("origin",), rank, None, french.guid),)
    assert added.guid == french.guid and added.versions == (edit.new,)
    assert deleted.old == added.new and deleted.new is None and deleted.versions == (edit.new,)
    assert (await store.item_changes(found.cursor)).changes == ()
    assert (await store.item_changes(None)).cursor == found.cursor


async def test_ranks_agree_with_the_stores_order(store: Store) -> None:
    """`item_rank` is the scale of the stored rank: an undated item ranks by when it
    became news, back catalogue below every date."""
    dated = make_item(guid="https://wco.test/d", published=datetime(2025, 1, 2, 3, 4, 5, 6, UTC))
    undated = make_item(guid="https://wco.test/u", published=None)
    back = make_item(guid="https://wco.test/b", published=None)
    start = (await store.item_changes(None)).cursor
    await store.upsert_items([dated, undated], now=NOW)
    await store.upsert_items([back], now=NOW, baseline=True)
    changes = (await store.item_changes(start)).changes
    stored = await store.get_items([dated.guid, undated.guid, back.guid])
    for change in changes:
        assert change.new is not None
        assert change.new.rank == item_rank(stored[change.guid]), change.guid
    listed = await store.query_items(ItemQuery())
    assert [i.guid for i in listed] == sorted(stored, key=lambda g: -item_rank(stored[g]))


async def test_a_reader_left_behind_the_pruned_journal_is_told(
    database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_items, "JOURNAL_KEPT", 3)
    monkeypatch.setattr(postgres_items, "JOURNAL_KEPT", 3)
    async with await open_store(database) as store:
        start = (await store.item_changes(None)).cursor
        items = [make_item(guid=f"https://wco.test/{n}") for n in range(6)]
        await store.upsert_items(items[:3], now=NOW)
        early = await store.item_changes(start, limit=1)
        assert early.complete and len(early.changes) == 1
        await store.upsert_items(items[3:], now=NOW)
        late = await store.item_changes(early.cursor)
        assert not late.complete
        assert [c.guid for c in late.changes] == [i.guid for i in items[3:]]
        assert (await store.item_changes(late.cursor)).complete


async def test_a_store_without_a_journal_says_anything_may_have_changed(store: Store) -> None:
    """The interface's default (for a store that keeps no journal) is conservative."""
    from wcofeed.store.interface import ItemStore

    start = await ItemStore.item_changes(store, None)
    assert await ItemStore.item_changes(store, start.cursor) == start
    await store.upsert_items([make_item()], now=NOW)
    later = await ItemStore.item_changes(store, start.cursor)
    assert not later.complete and later.cursor > start.cursor and later.changes == ()


async def test_text_matches_tells_which_items_a_search_finds(store: Store) -> None:
    found = make_item(guid="https://wco.test/a", title="Customs valuation forum")
    other = make_item(guid="https://wco.test/b", title="Origin rules", summary="nothing")
    await store.upsert_items([found, other], now=NOW)
    guids = [found.guid, other.guid, "https://wco.test/none"]
    assert await store.text_matches(guids, "valuation FORUM") == {found.guid}
    assert await store.text_matches(guids, "!!!") == set()


async def test_text_matches_keeps_every_match_of_a_common_word(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word in more items than a search checks one by one may answer more guids than
    match (the cache re-renders), never fewer."""
    monkeypatch.setattr(rarity, "RARE_TEXT", 2)
    names = ("alpha", "beta", "gamma", "delta")
    items = [make_item(guid=f"https://wco.test/{n}", title=f"Forum {n}") for n in names]
    other = make_item(guid="https://wco.test/other", title="Origin rules", summary="nothing")
    await store.upsert_items([*items, other], now=NOW)
    asked = [items[0].guid, items[3].guid, other.guid, "https://wco.test/none"]
    found = await store.text_matches(asked, "forum")
    assert {items[0].guid, items[3].guid} <= found <= set(asked)
    assert await store.text_matches(asked, "forum delta") == {items[3].guid}


@pytest.mark.parametrize("backend", ["postgres"])
async def test_journal_rows_become_visible_in_id_order(database: str) -> None:
    """Several writers on PostgreSQL: a writer whose journal row is not committed yet
    holds back the later ones, so a reader's cursor never passes a row still to come."""
    async with await open_store(database) as store:
        start = (await store.item_changes(None)).cursor
        slow = await asyncpg.connect(database)
        try:
            committing = slow.transaction()
            await committing.start()
            await slow.execute("SELECT pg_advisory_xact_lock($1)", JOURNAL_LOCK)
            await slow.execute("INSERT INTO item_changes (guid) VALUES ('https://wco.test/slow')")
            item = make_item()
            writer = asyncio.create_task(store.upsert_items([item], now=NOW))
            waiting = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
            waiting += "AND NOT granted AND objid = $1)"
            while not writer.done() and not await slow.fetchval(waiting, JOURNAL_LOCK):
                await asyncio.sleep(0.01)
            assert not writer.done(), "the writer did not wait for the journal's order"
            seen = await store.item_changes(None)
            assert seen.cursor == start
            await committing.commit()
            await writer
        finally:
            await slow.close()
        found = await store.item_changes(seen.cursor)
        assert [c.guid for c in found.changes] == ["https://wco.test/slow", item.guid]
