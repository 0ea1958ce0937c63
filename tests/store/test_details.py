"""What the store keeps of items' own pages: full text and documents on items, and the
reading state of each page (migration 9)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from tests.conftest import NOW, break_row, make_item
from wcofeed.models import (
    Attachment,
    Deadline,
    DetailState,
    PageFindings,
    UpsertOutcome,
    item_to_dict,
)
from wcofeed.store import ItemQuery, Store, open_store
from wcofeed.store.sqlite.migrations import MIGRATIONS

FORM = Attachment("https://www.wcoomd.org/-/media/form.docx", "application/msword", "Form", 4096)
FINDINGS = PageFindings(
    content_html="<p>Whole text</p>",
    content_text="Whole text",
    attachments=(FORM,),
    published=datetime(2025, 2, 3, 10, 30, tzinfo=UTC),
    deadline=Deadline(date(2025, 3, 14), time(17, 0), "Europe/Brussels"),
    translation_key="https://www.wcoomd.org/{lang}/x",
)


async def test_full_text_and_documents_are_stored_and_change_the_item(store: Store) -> None:
    listed = make_item(kind="call")
    await store.upsert_item(listed, now=NOW)
    read = make_item(
        guid=listed.guid,
        url=listed.url,
        title=listed.title,
        kind="call",
        content_html="<p>Whole text</p>",
        content_text="Whole text",
        attachments=(FORM,),
    )
    result = await store.upsert_item(read, now=NOW + timedelta(hours=1))
    assert result.outcome is UpsertOutcome.CHANGED
    assert result.previous is not None and result.previous.content_text == ""
    stored = await store.get_item(listed.guid)
    assert stored is not None
    assert (stored.content_html, stored.content_text, stored.attachments) == (
        "<p>Whole text</p>",
        "Whole text",
        (FORM,),
    )
    assert item_to_dict(stored)["attachments"] == [
        {"url": FORM.url, "type": "application/msword", "title": "Form", "length": 4096}
    ]
    again = await store.upsert_item(read, now=NOW + timedelta(hours=2))
    assert again.outcome is UpsertOutcome.UNCHANGED


async def test_detail_states_round_trip_and_go_with_their_item(store: Store) -> None:
    item = make_item()
    await store.upsert_item(item, now=NOW)
    state = DetailState(
        guid=item.guid,
        url=item.url,
        list_hash=item.content_hash,
        due=NOW + timedelta(days=7),
        fetched_at=NOW,
        etag='"abc"',
        last_modified="Sat, 01 Feb 2025 10:00:00 GMT",
        findings=FINDINGS,
    )
    failed = DetailState("https://example.org/never-stored", "https://example.org/x", "h", NOW)
    await store.save_detail_states([state, failed])
    assert await store.detail_states([item.guid, failed.guid]) == {item.guid: state}
    later = DetailState(item.guid, item.url, "other", NOW, failures=2, error="HTTP 404")
    await store.save_detail_states([later])
    assert await store.detail_states([item.guid]) == {item.guid: later}
    await store.delete_item(item.guid)
    assert await store.detail_states([item.guid]) == {}


async def test_unreadable_findings_cost_only_themselves(database: Path | str) -> None:
    item = make_item()
    async with await open_store(database) as store:
        await store.upsert_item(item, now=NOW)
        await store.save_detail_states(
            [DetailState(item.guid, item.url, "h", NOW, findings=FINDINGS)]
        )
    bad = json.dumps({"attachments": [{"url": "javascript:alert(1)"}]})
    await break_row(database, item.guid, table="item_details", findings=bad)
    async with await open_store(database) as store:
        (state,) = (await store.detail_states([item.guid])).values()
    assert state.findings is None and state.list_hash == "h"


async def test_the_last_state_of_a_guid_in_one_save_wins(store: Store) -> None:
    item = make_item()
    await store.upsert_item(item, now=NOW)
    first = DetailState(item.guid, item.url, "first", NOW)
    last = DetailState(item.guid, item.url, "last", NOW, failures=1, error="HTTP 500")
    await store.save_detail_states([first, last])
    assert await store.detail_states([item.guid]) == {item.guid: last}


async def test_full_text_is_not_searched(store: Store) -> None:
    """As the listing's summary is what the search promises, on both stores alike."""
    item = make_item(title="Customs forum", content_html="<p>Zanzibar</p>", content_text="Zanzibar")
    await store.upsert_item(item, now=NOW)
    assert [i.guid for i in await store.query_items(ItemQuery(q="forum"))] == [item.guid]
    assert await store.query_items(ItemQuery(q="Zanzibar")) == []


async def test_schema_8_gains_empty_full_text_and_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "v8.db"
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:8]) + "\nPRAGMA user_version = 8;")
        db.execute(
            """INSERT INTO items (guid, kind, title, summary, summary_html, url, language,
                published, published_ts, source, first_seen, first_seen_ts, last_changed,
                content_hash, announce_ts, translation_key)
               VALUES (?1, 'news', 'Forum', 'One line', '', ?1, 'en', '2025-01-19',
                1737244800, 'wco', ?2, 0, ?2, 'x', NULL, ?1)""",
            ("https://www.wcoomd.org/en/forum.aspx", NOW.isoformat()),
        )
    async with await open_store(path) as store:
        assert await store.schema_version() == len(MIGRATIONS)
        item = await store.get_item("https://www.wcoomd.org/en/forum.aspx")
        assert item is not None and item.summary == "One line"
        assert (item.content_html, item.content_text, item.attachments) == ("", "", ())
        assert await store.detail_states([item.guid]) == {}
