"""The state of reading items' own pages, in SQLite (`item_details`, migration 9)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from wcofeed.models import DetailState, findings_from_dict, findings_to_dict
from wcofeed.store.sqlite.base import SQLiteBase, parse_stamp

log = logging.getLogger("wcofeed.store")

_COLUMNS = "guid, url, list_hash, due, fetched_at, etag, last_modified, failures, error, findings"
_NAMES = _COLUMNS.split(", ")


def state_row(state: DetailState) -> dict[str, Any]:
    """A state as its stored row, by column name (the PostgreSQL store writes the same)."""
    findings = json.dumps(findings_to_dict(state.findings)) if state.findings else None
    values = (
        state.guid,
        state.url,
        state.list_hash,
        state.due.isoformat(),
        state.fetched_at.isoformat() if state.fetched_at else None,
        state.etag,
        state.last_modified,
        state.failures,
        state.error,
        findings,
    )
    return dict(zip(_NAMES, values, strict=True))


def row_to_state(row: aiosqlite.Row | Mapping[str, Any]) -> DetailState:
    findings = None
    if row["findings"]:
        try:
            findings = findings_from_dict(json.loads(row["findings"]))
        except ValueError as exc:
            # An unreadable record costs its findings (read again), not the run.
            log.warning("unreadable page findings of %s: %s", row["guid"], exc)
    return DetailState(
        guid=row["guid"],
        url=row["url"],
        list_hash=row["list_hash"],
        due=datetime.fromisoformat(row["due"]),
        fetched_at=parse_stamp(row["fetched_at"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        failures=int(row["failures"]),
        error=row["error"],
        findings=findings,
    )


class DetailsSQL(SQLiteBase):
    async def detail_states(self, guids: Iterable[str]) -> dict[str, DetailState]:
        async with self._read() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_COLUMNS} FROM item_details "
                "WHERE guid IN (SELECT value FROM json_each(?))",
                (json.dumps(list(guids)),),
            )
        return {row["guid"]: row_to_state(row) for row in rows}

    async def save_detail_states(self, states: Sequence[DetailState]) -> None:
        if not states:
            return
        rows = [state_row(s) for s in states]
        values = ", ".join(f":{name}" for name in _NAMES)
        async with self._write() as db:
            # An item deleted meanwhile has no state to keep.
            await db.executemany(
                f"""INSERT INTO item_details ({_COLUMNS})
                    SELECT {values} WHERE EXISTS (SELECT 1 FROM items WHERE guid = :guid)
                    ON CONFLICT (guid) DO UPDATE SET url = excluded.url,
                        list_hash = excluded.list_hash, due = excluded.due,
                        fetched_at = excluded.fetched_at, etag = excluded.etag,
                        last_modified = excluded.last_modified,
                        failures = excluded.failures, error = excluded.error,
                        findings = excluded.findings""",
                rows,
            )
