"""The SQLite schema as an ordered list of forward migrations.

The database's `PRAGMA user_version` is the number of migrations applied; on open,
the store applies the rest in order, each in its own transaction. Never edit a
migration that has shipped: append a new one.

`item_topics` repeats each item's language, kind and publication time so that
"latest N for language L, topic T (and kind K)" is a walk down one index, O(N).
"""

from __future__ import annotations


def _translation_key(column: str) -> str:
    """SQL for `models.default_translation_key(column)`: an http(s) link's first path
    folder, when it is one of the WCO's six language codes, replaced by `{lang}`
    (GLOB, not LIKE: the scheme is matched case-sensitively, as in Python)."""
    rest = f"substr({column}, instr({column}, '://') + 3)"
    slash = f"instr({rest}, '/')"
    return f"""CASE WHEN ({column} GLOB 'http://*' OR {column} GLOB 'https://*')
        AND {slash} > 0 AND substr({rest}, 1, {slash} - 1) NOT GLOB '*[?#]*'
        AND substr({rest}, {slash}, 4) IN ('/en/', '/fr/', '/es/', '/ru/', '/zh/', '/ar/')
        THEN substr({column}, 1, instr({column}, '://') + 1 + {slash}) || '/{{lang}}'
            || substr({rest}, {slash} + 3)
        ELSE {column} END"""


MIGRATIONS: list[str] = [
    # 1: items, their topics, sources' fetch state
    """
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        guid TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        url TEXT NOT NULL,
        language TEXT NOT NULL,
        published TEXT NOT NULL,
        published_ts INTEGER NOT NULL,
        deadline_date TEXT,
        deadline_time TEXT,
        deadline_tz TEXT,
        deadline_ts INTEGER,
        source TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        first_seen_ts INTEGER NOT NULL,
        last_changed TEXT NOT NULL,
        content_hash TEXT NOT NULL
    );
    CREATE INDEX items_published ON items (published_ts);
    CREATE INDEX items_language ON items (language, published_ts);
    CREATE INDEX items_language_kind ON items (language, kind, published_ts);
    CREATE INDEX items_kind ON items (kind, published_ts);
    CREATE INDEX items_deadline ON items (kind, deadline_ts);
    CREATE INDEX items_first_seen ON items (first_seen_ts);
    CREATE INDEX items_source ON items (source);

    CREATE TABLE item_topics (
        item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        language TEXT NOT NULL,
        kind TEXT NOT NULL,
        published_ts INTEGER NOT NULL,
        PRIMARY KEY (item_id, topic)
    );
    CREATE INDEX item_topics_topic ON item_topics (topic, published_ts, item_id);
    CREATE INDEX item_topics_language ON item_topics (topic, language, published_ts, item_id);
    CREATE INDEX item_topics_language_kind
        ON item_topics (topic, language, kind, published_ts, item_id);

    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        last_attempt TEXT,
        last_success TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    """,
    # 2: full-text search over title and summary, kept in sync by triggers
    """
    CREATE VIRTUAL TABLE items_fts USING fts5 (
        title, summary, content = 'items', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO items_fts (items_fts) VALUES ('rebuild');
    CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END;
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
    END;
    CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items BEGIN
        INSERT INTO items_fts (items_fts, rowid, title, summary)
        VALUES ('delete', old.id, old.title, old.summary);
        INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
    END;
    """,
    # 3: subscribers, the reminders each was sent (ever), and the outbox of claimed emails
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        language TEXT NOT NULL,
        topics TEXT NOT NULL DEFAULT '',
        kinds TEXT NOT NULL DEFAULT '',
        lead_days TEXT NOT NULL,
        digest TEXT NOT NULL DEFAULT 'off',
        timezone TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        confirm_sent_at TEXT,
        confirmed_at TEXT,
        last_digest_at TEXT,
        hard_bounces INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX subscribers_status ON subscribers (status, id);

    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        payload TEXT NOT NULL,
        previous_digest_at TEXT,
        claimed_at TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX outbox_state ON outbox (state, message_id);
    CREATE INDEX outbox_subscriber ON outbox (subscriber_id, state);

    CREATE TABLE reminders (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        item_guid TEXT NOT NULL,
        deadline_ts INTEGER NOT NULL,
        lead_days INTEGER NOT NULL,
        message_id TEXT NOT NULL REFERENCES outbox (message_id) ON DELETE CASCADE,
        PRIMARY KEY (subscriber_id, item_guid, deadline_ts, lead_days)
    ) WITHOUT ROWID;
    CREATE INDEX reminders_message ON reminders (message_id);
    """,
    # 4: when items were last deleted, so caches keyed by last_change() see deletions
    """
    CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 5: last_change() is asked by every feed cache check: max() must not scan the table
    """
    CREATE INDEX items_last_changed ON items (last_changed);
    """,
    # 6: how exactly a deadline is given (day, month, approximate) and the source's words
    """
    ALTER TABLE items ADD COLUMN deadline_precision TEXT NOT NULL DEFAULT 'day';
    ALTER TABLE items ADD COLUMN deadline_wording TEXT NOT NULL DEFAULT '';
    """,
    # 7: the versions of one item in several languages share a translation key (the
    # guid's language folder replaced, as `models.default_translation_key` does); a
    # subscriber's accepted content languages ('' : their language, then its fallbacks);
    # reminders are kept per translation key, so one call in several versions is reminded
    # once, and a call reminded under its guid is not reminded again.
    f"""
    ALTER TABLE items ADD COLUMN translation_key TEXT NOT NULL DEFAULT '';
    UPDATE items SET translation_key = {_translation_key("guid")};
    CREATE INDEX items_translation ON items (translation_key, language);
    ALTER TABLE subscribers ADD COLUMN content_languages TEXT NOT NULL DEFAULT '';
    UPDATE OR REPLACE reminders SET item_guid = {_translation_key("item_guid")};
    ALTER TABLE reminders RENAME COLUMN item_guid TO translation_key;
    """,
]
