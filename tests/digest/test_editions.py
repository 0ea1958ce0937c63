"""Editions in email: each subscriber gets the items in their language and, for those
with no version in it, in the languages they also accept; one version of each call,
reminded once whatever its versions; on the bundled sample as a new user runs it."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import (
    REPO,
    V6_ITEM,
    Received,
    SmtpRecorder,
    SmtpServer,
    english_leftovers,
)

from wcofeed.cli import main
from wcofeed.config import Settings, TopicSettings
from wcofeed.digest.run import run_digest
from wcofeed.i18n import texts
from wcofeed.models import Deadline, Item, Subscriber
from wcofeed.store import Store
from wcofeed.store.sqlite.migrations import MIGRATIONS

AddSubscriber = Callable[..., Awaitable[Subscriber]]
MakeCall = Callable[..., Item]
LANGUAGES = ("en", "fr", "es", "ru", "zh", "ar")
#: The French-speaking academy's call on the sample home page (closes 14 February 2025).
ACADEMY = "21st virtual customs orientation academy (vcoa) – french-speaking"
ACADEMY_LINK = "https://www.wcoomd.org/{}/about-us/vacancies/vcoa-21-french.aspx"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main` points wcofeed's log handler at the captured stderr; undo it afterwards."""
    logger = logging.getLogger("wcofeed")
    handlers, level = logger.handlers[:], logger.level
    yield
    logger.handlers[:], logger.level = handlers, level


def lines(received: Received) -> list[str]:
    body = received.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).splitlines()


def listed(smtp: SmtpRecorder, address: str) -> list[list[str]]:
    """For each email to `address`, the entries its text part lists (title and note)."""
    return [[line[2:] for line in lines(r) if line.startswith("* ")] for r in smtp.to(address)]


def test_the_bundled_sample_emails_every_subscriber_in_their_language(
    tmp_path: Path, smtp_server: SmtpServer, smtp: SmtpRecorder
) -> None:
    """The shipped config and samples, as a new user runs them: one confirmed subscriber
    per language, one round on 12 February 2025: six emails, each in its language, each
    with the calls the site publishes in English only, the French academy's included."""
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    shipped = (REPO / "config.toml").read_text(encoding="utf-8")
    smtp_table = f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
    config = tmp_path / "config.toml"
    config.write_text(re.sub(r"\[smtp\]\n(?:[^\[\n][^\n]*\n)*", smtp_table, shipped), "utf-8")

    def wcofeed(*argv: str) -> int:
        return main(["--config", str(config), *argv])

    assert wcofeed("init") == 0
    assert wcofeed("ingest") == 0
    for language in LANGUAGES:
        address = f"{language}@example.org"
        assert wcofeed("subscribers", "add", address, "--lang", language, "--confirmed") == 0
    assert wcofeed("digest", "--now", "2025-02-12T08:00:00+01:00") == 0

    assert sorted(r.recipient for r in smtp.received) == sorted(
        f"{language}@example.org" for language in LANGUAGES
    )
    for language in LANGUAGES:
        (received,) = smtp.to(f"{language}@example.org")
        message, words = received.message, texts(language)
        assert message["Content-Language"] == language
        text = lines(received)
        assert f"## {words.gettext('Closes this week')}" in text
        assert message["Subject"] == words.ngettext(
            "%(num)s call for applications closes soon",
            "%(num)s calls for applications close soon",
            2,
        )
        entries = [line[2:] for line in text if line.startswith("* ")]
        note = "" if language == "en" else f" ({words.gettext('in %(language)s', language='')}"
        assert any(entry.startswith(ACADEMY) for entry in entries), entries
        assert all(note.rstrip(")") in entry for entry in entries)
        assert english_leftovers(text, language) == []
    french = listed(smtp, "fr@example.org")[0]
    assert f"{ACADEMY} (en anglais)" in french
    # Reminded once: the next round that day has nothing left to send.
    assert wcofeed("digest", "--now", "2025-02-12T09:00:00+01:00") == 0
    assert len(smtp.received) == len(LANGUAGES)


async def test_one_reminder_per_call_whatever_its_versions(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    make_call: MakeCall,
) -> None:
    english = make_call(
        date(2025, 2, 14),
        guid=ACADEMY_LINK.format("en"),
        url=ACADEMY_LINK.format("en"),
        title="21st virtual academy",
    )
    await store.upsert_item(english, datetime(2025, 2, 1, tzinfo=UTC))
    await add_subscriber("ana@example.org", language="fr", lead_days=(3, 1))
    await add_subscriber("bo@example.org", language="en", lead_days=(3, 1))
    first = datetime(2025, 2, 12, 7, tzinfo=UTC)
    assert (await run_digest(store, digest_settings, first)).sent == 2
    # The French version appears the same day: the call is not reminded again ...
    french = make_call(
        date(2025, 2, 14),
        guid=ACADEMY_LINK.format("fr"),
        url=ACADEMY_LINK.format("fr"),
        title="21e académie virtuelle",
        language="fr",
    )
    await store.upsert_item(french, first + timedelta(hours=1))
    assert (await run_digest(store, digest_settings, first + timedelta(hours=2))).sent == 0
    # ... until its next lead time, and then in French for the French subscriber.
    assert (await run_digest(store, digest_settings, first + timedelta(days=2))).sent == 2
    assert listed(smtp, "ana@example.org") == [
        ["21st virtual academy (en anglais)"],
        ["21e académie virtuelle"],
    ]
    assert listed(smtp, "bo@example.org") == [["21st virtual academy"]] * 2


def by_topic(received: Received) -> dict[str, list[str]]:
    """The new items of a digest's text part, under each topic heading, in order."""
    groups: dict[str, list[str]] = {}
    heading = None
    for line in lines(received):
        if line.startswith("### "):
            heading = groups.setdefault(line[4:], [])
        elif line.startswith("* ") and heading is not None:
            heading.append(line[2:])
    return groups


async def test_a_digest_tells_the_news_of_the_subscribers_edition(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    item_factory: Callable[..., Item],
    make_call: MakeCall,
) -> None:
    """New items in the languages a subscriber accepts, one version of each, that are
    news (not back catalogue, not old news found late), never a closed call, under the
    topics' labels in the subscriber's language."""
    labels = {
        "origin": {"en": "Origin", "fr": "Origine"},
        "capacity-building": {"en": "Capacity building", "fr": "Renforcement des capacités"},
    }
    settings = dataclasses.replace(
        digest_settings,
        topics={slug: TopicSettings(labels=words) for slug, words in labels.items()},
    )
    forum = "https://www.wcoomd.org/{}/media/newsroom/forum.aspx"
    now, week = datetime(2025, 2, 1, 12, tzinfo=UTC), timedelta(days=7)
    seen = now - timedelta(hours=5)
    baseline = [item_factory(title="Outil sans date", language="fr", published=None)]
    await store.upsert_items(baseline, seen, baseline=True, max_age=week)
    found = [
        item_factory(
            guid=forum.format("en"),
            url=forum.format("en"),
            title="Origin forum",
            topics=("origin",),
            published=None,
        ),
        item_factory(
            guid=forum.format("fr"),
            url=forum.format("fr"),
            title="Forum sur l’origine",
            language="fr",
            topics=("origin",),
            published=None,
        ),
        item_factory(title="Capacity mission", topics=("capacity-building",), published=None),
        item_factory(title="Sans thème", language="fr", published=None),
        item_factory(title="Solo en español", language="es", published=None),
        item_factory(title="Vieille nouvelle", language="fr", published=date(2024, 5, 2)),
        make_call(date(2025, 1, 31), title="Appel clos", language="fr", published=None),
    ]
    await store.upsert_items(found, seen + timedelta(hours=1), max_age=week)
    await add_subscriber("ana@example.org", language="fr", digest="daily", lead_days=(1,))
    await add_subscriber(
        "bo@example.org", language="fr", content_languages=("en",), digest="daily", lead_days=(1,)
    )
    await run_digest(store, settings, now)
    (ana,) = smtp.to("ana@example.org")
    assert by_topic(ana) == {
        "Origine": ["Forum sur l’origine"],
        "Renforcement des capacités": ["Capacity mission (en anglais)"],
        "Autres": ["Sans thème"],
    }
    (bo,) = smtp.to("bo@example.org")
    assert by_topic(bo) == {
        "Origine": ["Origin forum (en anglais)"],
        "Renforcement des capacités": ["Capacity mission (en anglais)"],
    }


async def test_content_languages_choose_what_a_subscriber_gets(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    make_call: MakeCall,
) -> None:
    await store.upsert_items(
        [
            make_call(date(2025, 2, 5), title="English only"),
            make_call(date(2025, 2, 5), title="Seulement en français", language="fr"),
            make_call(date(2025, 2, 5), title="Solo en español", language="es"),
        ],
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    await add_subscriber("default@example.org", language="fr")
    await add_subscriber("strict@example.org", language="fr", content_languages=("fr",))
    await add_subscriber("many@example.org", language="fr", content_languages=("es", "fr"))
    await run_digest(store, digest_settings, datetime(2025, 2, 1, 12, tzinfo=UTC))
    assert sorted(listed(smtp, "default@example.org")[0]) == [
        "English only (en anglais)",
        "Seulement en français",
    ]
    assert listed(smtp, "strict@example.org") == [["Seulement en français"]]
    assert sorted(listed(smtp, "many@example.org")[0]) == [
        "Seulement en français",
        "Solo en español (en espagnol)",
    ]
    feeds = {
        r.recipient: next(line for line in lines(r) if "/feed.atom?" in line) for r in smtp.received
    }
    assert feeds["default@example.org"].endswith("/feed.atom?lang=fr")
    assert feeds["strict@example.org"].endswith("/feed.atom?lang=fr&content_lang=fr")
    assert feeds["many@example.org"].endswith("/feed.atom?lang=fr&content_lang=es%2Cfr")


async def test_reminders_sent_before_translation_keys_are_not_sent_again(
    tmp_path: Path, digest_settings: Settings, smtp: SmtpRecorder
) -> None:
    """A call reminded under its guid (schema 6) at its 14-day lead, then published in
    French too: after the migration, the French subscriber, who accepts English by
    default, gets the 3-day reminder in French, never the 14-day one again."""
    from wcofeed.store import open_store

    path = tmp_path / "reminded.db"
    english = ACADEMY_LINK.format("en")
    with sqlite3.connect(path) as db:
        db.executescript(";".join(MIGRATIONS[:6]) + "\nPRAGMA user_version = 6;")
        db.execute(V6_ITEM, (english, "21st virtual academy", english, "en"))
        db.execute(
            """INSERT INTO subscribers (email, language, lead_days, timezone, status, created_at)
               VALUES ('ana@example.org', 'fr', '14 3', 'Europe/Brussels', 'active',
               '2025-01-01T00:00:00+00:00')"""
        )
        db.execute(
            """INSERT INTO outbox (message_id, subscriber_id, state, payload, claimed_at)
               VALUES ('<old@x>', 1, 'sent', '{}', '2025-02-01T00:00:00+00:00')"""
        )
        db.execute("INSERT INTO reminders VALUES (1, ?, 1739573999, 14, '<old@x>')", (english,))
    async with await open_store(path) as store:
        subscriber = await store.get_subscriber("ana@example.org")
        assert subscriber is not None and subscriber.content_languages == ()
        french = Item(
            guid=ACADEMY_LINK.format("fr"),
            url=ACADEMY_LINK.format("fr"),
            kind="call",
            title="21e académie virtuelle",
            language="fr",
            published=date(2025, 2, 1),
            source="test",
            deadline=Deadline(date(2025, 2, 14)),
        )
        await store.upsert_item(french, datetime(2025, 2, 2, tzinfo=UTC))
        # 11 days before: only the 14-day lead is due, and it was sent under the guid.
        assert (
            await run_digest(store, digest_settings, datetime(2025, 2, 3, tzinfo=UTC))
        ).sent == 0
        # 2 days before: the 3-day lead, once, in French.
        report = await run_digest(store, digest_settings, datetime(2025, 2, 12, tzinfo=UTC))
    assert report.sent == 1
    assert listed(smtp, "ana@example.org") == [["21e académie virtuelle"]]
