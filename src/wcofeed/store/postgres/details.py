"""The state of reading items' own pages, in PostgreSQL (`item_details`, migration 4):
the rows of the SQLite store's `sqlite/details.py`, written and read the same way."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from wcofeed.models import DetailState
from wcofeed.store.postgres.base import PostgresBase
from wcofeed.store.sqlite.details import _COLUMNS, _NAMES, row_to_state, state_row

_RECORD = ", ".join(f"{n} {'integer' if n == 'failures' else 'text'}" for n in _NAMES)

# An item deleted meanwhile has no state to keep: its row, locked against deletion until
# commit, must exist (a concurrent delete makes the lock skip it).
_SAVE = f"""INSERT INTO item_details ({_COLUMNS})
    SELECT {", ".join(f"j.{n}" for n in _NAMES)}
    FROM jsonb_to_recordset($1::jsonb) AS j({_RECORD}) JOIN items ON items.guid = j.guid
    ORDER BY j.guid FOR KEY SHARE OF items
    ON CONFLICT (guid) DO UPDATE SET url = excluded.url,
        list_hash = excluded.list_hash, due = excluded.due,
        fetched_at = excluded.fetched_at, etag = excluded.etag,
        last_modified = excluded.last_modified,
        failures = excluded.failures, error = excluded.error,
        findings = excluded.findings"""


class DetailsPG(PostgresBase):
    async def detail_states(self, guids: Iterable[str]) -> dict[str, DetailState]:
        async with self._read() as db:
            rows = await db.fetch(
                f"SELECT {_COLUMNS} FROM item_details WHERE guid = ANY($1::text[])",
                list(guids),
            )
        return {row["guid"]: row_to_state(dict(row)) for row in rows}

    async def save_detail_states(self, states: Sequence[DetailState]) -> None:
        if not states:
            return
        # The last state of a guid wins, as SQLite's one statement per state gives.
        rows = {state.guid: state_row(state) for state in states}
        async with self._write() as db:
            await db.execute(_SAVE, json.dumps(list(rows.values())))
