"""One digest round against a real SMTP server: exactly once, failures, resends."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from wcofeed.config import Settings
from wcofeed.digest.run import run_digest
from wcofeed.digest.send import SmtpDownError
from wcofeed.models import Deadline, Item, Subscriber
from wcofeed.store import SQLiteStore, Store

AddSubscriber = Callable[..., Awaitable[Subscriber]]
# The sink's recorder and server come from conftest fixtures; typed loosely here.
SmtpRecorder = Any
SmtpServer = Any
NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)  # equals the `now` fixture
MakeCall = Callable[..., Item]


@pytest.fixture
async def calls(store: Store, make_call: MakeCall) -> dict[str, Item]:
    """Closing in ~2.5 days, ~9.5 days, ~2 months, and one closed last month."""
    made = {
        "soon": make_call(date(2025, 2, 3), title="Scholarship closing soon"),
        "week": make_call(date(2025, 2, 10), title="Fellowship next week"),
        "far": make_call(date(2025, 3, 30), title="Award far away"),
        "closed": make_call(date(2025, 1, 20), title="Closed call"),
    }
    await store.upsert_items(made.values(), NOW - timedelta(days=30))
    return made


def titles(recorder: SmtpRecorder, address: str) -> list[list[str]]:
    """For each email to `address`, the item titles its text part lists."""
    out = []
    for received in recorder.to(address):
        body = received.message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        out.append([line[2:] for line in text.splitlines() if line.startswith("* ")])
    return out


async def test_each_lead_time_is_reminded_once_across_runs(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    await add_subscriber("ana@example.org")
    first = await run_digest(store, digest_settings, NOW)
    assert first.sent == 1
    assert titles(smtp, "ana@example.org") == [["Scholarship closing soon", "Fellowship next week"]]

    again = await run_digest(store, digest_settings, NOW + timedelta(hours=1))
    assert again.sent == 0
    assert len(smtp.received) == 1

    # Two days on, the first call enters its 1-day window; the second has nothing new.
    later = await run_digest(store, digest_settings, NOW + timedelta(days=2))
    assert later.sent == 1
    assert titles(smtp, "ana@example.org")[1] == ["Scholarship closing soon"]
    assert len(set(smtp.message_ids())) == 2


async def test_one_email_groups_today_week_later(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    make_call: MakeCall,
) -> None:
    await store.upsert_items(
        [
            make_call(date(2025, 2, 1), title="Today"),
            make_call(date(2025, 2, 4), title="This week"),
            make_call(date(2025, 2, 12), title="Later"),
        ],
        NOW,
    )
    await add_subscriber("ana@example.org")
    report = await run_digest(store, digest_settings, NOW)
    assert report.sent == 1
    (received,) = smtp.received
    text = received.message.get_body(("plain",)).get_content()
    positions = [
        text.index(s)
        for s in (
            "Closes today",
            "* Today",
            "Closes this week",
            "* This week",
            "Closes later",
            "* Later",
        )
    ]
    assert positions == sorted(positions)


async def test_closed_calls_and_other_topics_are_never_reminded(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    make_call: MakeCall,
) -> None:
    await store.upsert_items(
        [
            make_call(date(2025, 1, 31), title="Closed yesterday", topics=("origin",)),
            make_call(date(2025, 2, 5), title="Valuation call", topics=("valuation",)),
            make_call(date(2025, 2, 5), title="Origin call", topics=("origin",)),
            make_call(date(2025, 2, 5), title="French call", topics=("origin",), language="fr"),
        ],
        NOW,
    )
    await add_subscriber("ana@example.org", topics=("origin",))
    await run_digest(store, digest_settings, NOW)
    assert titles(smtp, "ana@example.org") == [["Origin call"]]


async def test_moved_deadline_re_enters_the_schedule(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    await add_subscriber("ana@example.org")
    await run_digest(store, digest_settings, NOW)
    moved = dataclasses.replace(calls["week"], deadline=Deadline(date(2025, 2, 12)))
    await store.upsert_item(moved, NOW + timedelta(hours=2))
    report = await run_digest(store, digest_settings, NOW + timedelta(hours=3))
    assert report.sent == 1
    assert titles(smtp, "ana@example.org")[1] == ["Fellowship next week"]


class CrashAfterSendStore(SQLiteStore):
    """Dies where a process could: the server has the email, the store has no record."""

    async def mark_sent(self, message_ids: Any, now: Any) -> None:
        raise RuntimeError("simulated crash between SMTP acceptance and recording")


async def test_crash_between_send_and_record_resends_same_message_id(
    tmp_path: Path,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    make_call: MakeCall,
) -> None:
    path = tmp_path / "crash.db"
    async with await CrashAfterSendStore.open(path) as crashing:
        await crashing.upsert_items([make_call(date(2025, 2, 5), title="Call A")], NOW)
        await crashing.save_subscriber(Subscriber("ana@example.org", status="active"), NOW)
        with pytest.raises(RuntimeError, match="simulated crash"):
            await run_digest(crashing, digest_settings, NOW)
    assert len(smtp.received) == 1

    async with await SQLiteStore.open(path) as store:
        assert await store.delivery_states() == {"claimed": 1}
        report = await run_digest(store, digest_settings, NOW + timedelta(hours=1))
        assert (report.sent, report.resent) == (1, 1)
        assert await store.delivery_states() == {"sent": 1}
        assert (await run_digest(store, digest_settings, NOW + timedelta(hours=2))).sent == 0
    first, second = smtp.message_ids()
    assert first == second
    assert len(set(smtp.message_ids())) == 1


async def test_temporary_failure_is_retried_within_the_run(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    await add_subscriber("ana@example.org")
    smtp.defer_data = 1
    report = await run_digest(store, digest_settings, NOW)
    assert (report.sent, report.deferred) == (1, 0)
    assert len(smtp.received) == 1


async def test_lasting_temporary_failure_waits_for_next_run(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    await add_subscriber("ana@example.org")
    smtp.defer_data = 10
    report = await run_digest(store, digest_settings, NOW)
    assert (report.sent, report.deferred) == (0, 1)
    assert smtp.received == []
    smtp.defer_data = 0
    report = await run_digest(store, digest_settings, NOW + timedelta(hours=1))
    assert (report.sent, report.resent) == (1, 1)
    assert titles(smtp, "ana@example.org") == [["Scholarship closing soon", "Fellowship next week"]]


async def test_permanent_failure_for_one_address_does_not_hold_others(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    await add_subscriber("gone@example.org")
    await add_subscriber("ana@example.org")
    await add_subscriber("bo@example.org")
    smtp.refuse["gone@example.org"] = "550 5.1.1 no such mailbox"
    report = await run_digest(store, digest_settings, NOW)
    assert (report.sent, report.failed, report.paused) == (2, 1, 0)
    assert sorted(r.recipient for r in smtp.received) == ["ana@example.org", "bo@example.org"]
    gone = await store.get_subscriber("gone@example.org")
    assert gone is not None and gone.hard_bounces == 1 and gone.status == "active"
    assert gone.last_error is not None and "550" in gone.last_error

    # The refused reminders were released: the next run tries again, then pauses.
    report = await run_digest(store, digest_settings, NOW + timedelta(hours=1))
    assert (report.failed, report.paused) == (1, 1)
    gone = await store.get_subscriber("gone@example.org")
    assert gone is not None and gone.status == "paused"
    report = await run_digest(store, digest_settings, NOW + timedelta(hours=2))
    assert report.failed == 0


async def test_server_down_keeps_everything_pending_until_it_is_up(
    store: Store,
    digest_settings: Settings,
    smtp_server: SmtpServer,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    await add_subscriber("ana@example.org")
    await add_subscriber("bo@example.org")
    with pytest.raises(SmtpDownError, match=f"127.0.0.1:{smtp_server.port} unreachable"):
        await run_digest(store, digest_settings, NOW)
    assert (await store.delivery_states()).get("sent", 0) == 0

    smtp_server.start()
    report = await run_digest(store, digest_settings, NOW + timedelta(hours=1))
    assert report.sent == 2
    assert sorted(r.recipient for r in smtp_server.recorder.received) == [
        "ana@example.org",
        "bo@example.org",
    ]
    assert (await run_digest(store, digest_settings, NOW + timedelta(hours=2))).sent == 0


async def test_new_item_digest_covers_one_period_then_picks_up_where_it_left(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    item_factory: Callable[..., Item],
) -> None:
    old = item_factory(title="Old news", topics=("origin",))
    await store.upsert_item(old, NOW - timedelta(days=3))
    fresh = item_factory(title="Fresh news", topics=("origin",))
    await store.upsert_item(fresh, NOW - timedelta(hours=5))
    await add_subscriber("ana@example.org", digest="daily")
    await run_digest(store, digest_settings, NOW)
    assert titles(smtp, "ana@example.org") == [["Fresh news"]]

    await store.upsert_item(item_factory(title="Next day news"), NOW + timedelta(hours=3))
    assert (await run_digest(store, digest_settings, NOW + timedelta(hours=12))).sent == 0
    await run_digest(store, digest_settings, NOW + timedelta(days=1))
    assert titles(smtp, "ana@example.org")[1] == ["Next day news"]


async def test_a_digest_tells_only_what_is_new_and_open(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    item_factory: Callable[..., Item],
    make_call: MakeCall,
) -> None:
    """A source's first fetch is back catalogue (news only by its own date), an old item
    found later is not news, and a call that has closed is never announced."""
    week = timedelta(days=7)
    seen = NOW - timedelta(hours=5)
    first_fetch = [
        item_factory(title="Undated tool", published=None),
        item_factory(title="Archive news", published=date(2024, 5, 1)),
        item_factory(title="News of the day", published=NOW.date()),
        make_call(date(2025, 3, 1), title="Open call, undated", published=None),
    ]
    await store.upsert_items(first_fetch, seen, baseline=True, max_age=week)
    later_finds = [
        item_factory(title="Newly listed", published=None),
        item_factory(title="Old news found late", published=date(2024, 5, 2)),
        make_call(date(2025, 1, 31), title="Closed call, newly listed", published=None),
        make_call(date(2025, 2, 20), title="Open call, newly listed", published=None),
    ]
    await store.upsert_items(later_finds, seen + timedelta(hours=1), max_age=week)
    await add_subscriber("ana@example.org", digest="daily", lead_days=(1,))
    await run_digest(store, digest_settings, NOW)
    (listed,) = titles(smtp, "ana@example.org")
    assert sorted(listed) == ["Newly listed", "News of the day", "Open call, newly listed"]


async def test_without_smtp_host_emails_land_in_the_outbox_folder_once(
    store: Store,
    digest_settings: Settings,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    settings = dataclasses.replace(
        digest_settings,
        smtp=dataclasses.replace(digest_settings.smtp, host=""),
        email=dataclasses.replace(digest_settings.email, outbox_dir=outbox),
    )
    await add_subscriber("ana@example.org")
    await run_digest(store, settings, NOW)
    await run_digest(store, settings, NOW + timedelta(hours=1))
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1
    saved = message_from_bytes(files[0].read_bytes(), policy=default)
    assert saved["To"] == "ana@example.org"
    assert "Scholarship closing soon" in saved.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_dry_run_sends_and_records_nothing(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    await add_subscriber("ana@example.org")
    report = await run_digest(store, digest_settings, NOW, dry_run=True)
    assert [to for to, _ in report.planned] == ["ana@example.org"]
    assert smtp.received == [] and await store.delivery_states() == {}
    assert (await run_digest(store, digest_settings, NOW)).sent == 1


async def test_a_pending_resend_leaves_out_calls_that_closed_meanwhile(
    store: Store,
    digest_settings: Settings,
    smtp_server: SmtpServer,
    add_subscriber: AddSubscriber,
    make_call: MakeCall,
) -> None:
    await store.upsert_items([make_call(date(2025, 2, 1), title="Closes tonight")], NOW)
    await add_subscriber("ana@example.org")
    with pytest.raises(SmtpDownError):
        await run_digest(store, digest_settings, NOW)
    assert await store.delivery_states() == {"claimed": 1}
    smtp_server.start()
    report = await run_digest(store, digest_settings, NOW + timedelta(days=1))
    assert (report.sent, report.cancelled) == (0, 1)
    assert smtp_server.recorder.received == []
    assert await store.delivery_states() == {"cancelled": 1}


async def test_scheduled_rounds_wait_for_each_subscribers_local_send_hour(
    store: Store,
    digest_settings: Settings,
    smtp: SmtpRecorder,
    add_subscriber: AddSubscriber,
    calls: dict[str, Item],
) -> None:
    """At 06:00 UTC it is 07:00 in Brussels (before send_hour 8) and 15:00 in Tokyo."""
    assert digest_settings.email.send_hour == 8
    await add_subscriber("brussels@example.org", timezone="Europe/Brussels")
    await add_subscriber("tokyo@example.org", timezone="Asia/Tokyo")
    early = datetime(2025, 2, 1, 6, 0, tzinfo=UTC)
    first = await run_digest(store, digest_settings, early, at_send_hour=True)
    assert first.sent == 1 and smtp.to("brussels@example.org") == []
    assert len(smtp.to("tokyo@example.org")) == 1

    # 07:00 UTC is 08:00 in Brussels: now it is that subscriber's turn, and only theirs.
    second = await run_digest(store, digest_settings, early + timedelta(hours=1), at_send_hour=True)
    assert second.sent == 1 and len(smtp.to("brussels@example.org")) == 1
    assert len(smtp.to("tokyo@example.org")) == 1
