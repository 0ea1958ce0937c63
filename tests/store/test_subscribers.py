"""Subscribers, reminder keys and the outbox in a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wcofeed.models import Subscriber
from wcofeed.store import Claim, Store

NOW = datetime(2025, 2, 1, 12, 0, tzinfo=UTC)
DEADLINE = int(datetime(2025, 2, 10, tzinfo=UTC).timestamp())


async def active(store: Store, address: str = "ana@example.org", **fields: Any) -> Subscriber:
    sub = await store.save_subscriber(Subscriber(address, status="active", **fields), NOW)
    assert sub.id is not None
    return sub


def claim(
    sub: Subscriber, mid: str, *keys: tuple[str, int, int], until: datetime | None = None
) -> Claim:
    assert sub.id is not None
    return Claim(mid, sub.id, '{"calls":[],"digest":null}', tuple(keys), until)


async def test_save_round_trips_and_updates_by_address_case_insensitively(store: Store) -> None:
    saved = await active(
        store,
        "Ana@Example.org",
        language="fr",
        content_languages=("fr", "es", "en"),
        topics=("origin", "valuation"),
        kinds=("call",),
        lead_days=(7, 2),
        digest="weekly",
        timezone="America/Lima",
        name="Ana",
    )
    assert saved.confirmed_at == NOW and saved.created_at == NOW
    assert saved.content_languages == ("fr", "es", "en")
    again = await store.save_subscriber(
        Subscriber("ana@example.org", language="es", status="active"), NOW + timedelta(days=1)
    )
    assert again.id == saved.id and again.language == "es"
    assert again.content_languages == ()  # back to the default: language, then fallbacks
    assert again.confirmed_at == NOW  # first consent is kept
    fetched = await store.get_subscriber("ANA@example.org")
    assert fetched == again
    assert [s.email for s in await store.list_subscribers()] == ["Ana@Example.org"]


async def test_list_pages_by_id_and_filters_by_status(store: Store) -> None:
    for i in range(5):
        await active(store, f"user{i}@example.org")
    await store.set_subscriber_status("user2@example.org", "unsubscribed", NOW)
    first = await store.list_subscribers(("active",), limit=2)
    rest = await store.list_subscribers(("active",), after_id=first[-1].id or 0)
    assert [s.email for s in first + rest] == [
        "user0@example.org",
        "user1@example.org",
        "user3@example.org",
        "user4@example.org",
    ]


async def test_a_reminder_key_can_be_claimed_only_once(store: Store) -> None:
    sub = await active(store)
    key = ("guid-1", DEADLINE, 3)
    assert await store.claim_deliveries([claim(sub, "<a@x>", key)], NOW) == ["<a@x>"]
    assert await store.claim_deliveries(
        [claim(sub, "<b@x>", key), claim(sub, "<c@x>", ("guid-2", DEADLINE, 3))], NOW
    ) == ["<c@x>"]
    assert sub.id is not None
    reminded = await store.reminded_keys([sub.id], NOW)
    assert reminded == {sub.id: {key, ("guid-2", DEADLINE, 3)}}
    assert await store.reminded_keys([sub.id], datetime(2025, 3, 1, tzinfo=UTC)) == {sub.id: set()}


async def test_a_page_claims_only_what_no_earlier_claim_holds(store: Store) -> None:
    ana, bo, cy = [await active(store, f"{name}@example.org") for name in ("ana", "bo", "cy")]
    assert ana.id is not None and bo.id is not None and cy.id is not None
    await store.claim_deliveries([claim(ana, "<a@x>", ("g", DEADLINE, 3))], NOW)
    await store.mark_sent(["<a@x>"], NOW)
    later = NOW + timedelta(days=1)
    page = [
        claim(ana, "<a@x>", ("h", DEADLINE, 3), until=later),  # its Message-ID went out
        claim(bo, "<b@x>", ("g", DEADLINE, 3), until=later),
        claim(cy, "<c@x>", until=later),
    ]
    assert await store.claim_deliveries(page, later) == ["<b@x>", "<c@x>"]
    assert await store.reminded_keys([ana.id, bo.id, cy.id], NOW) == {
        ana.id: {("g", DEADLINE, 3)},
        bo.id: {("g", DEADLINE, 3)},
        cy.id: set(),
    }
    windows = [await store.get_subscriber(s.email) for s in (ana, bo, cy)]
    assert [w.last_digest_at if w else "gone" for w in windows] == [None, later, later]
    await store.mark_sent(["<a@x>", "<b@x>"], later)
    assert await store.delivery_states() == {"sent": 2, "claimed": 1}


async def test_claims_stay_until_marked_sent(store: Store) -> None:
    sub = await active(store)
    await store.claim_deliveries([claim(sub, "<a@x>", ("g", DEADLINE, 3))], NOW)
    (stale,) = await store.stale_deliveries()
    assert (stale.message_id, stale.subscriber.email, stale.attempts) == ("<a@x>", sub.email, 0)
    await store.mark_deferred("<a@x>", "451 later")
    assert (await store.stale_deliveries())[0].attempts == 1
    await store.mark_sent(["<a@x>"], NOW)
    assert await store.stale_deliveries() == []
    assert await store.delivery_states() == {"sent": 1}


async def test_mark_sent_marks_every_claimed_email_given_and_nothing_else(store: Store) -> None:
    subs = [await active(store, f"{n}@example.org") for n in ("ana", "bob", "eve")]
    claims = [claim(s, f"<{n}@x>", ("g", DEADLINE, 3)) for n, s in zip("abe", subs, strict=True)]
    await store.claim_deliveries(claims, NOW)
    await store.mark_failed("<b@x>", "550 unknown user", NOW, max_bounces=3)
    await store.mark_sent(["<a@x>", "<b@x>", "<unknown@x>"], NOW)
    assert await store.delivery_states() == {"sent": 1, "failed": 1, "claimed": 1}
    assert [d.message_id for d in await store.stale_deliveries()] == ["<e@x>"]


async def test_hard_bounce_releases_the_claim_and_pauses_at_the_limit(store: Store) -> None:
    sub = await active(store, digest="daily")
    assert sub.id is not None
    key = ("g", DEADLINE, 3)
    await store.claim_deliveries([claim(sub, "<a@x>", key, until=NOW)], NOW)
    bounced = await store.get_subscriber(sub.email)
    assert bounced is not None and bounced.last_digest_at == NOW
    assert await store.mark_failed("<a@x>", "550 unknown user", NOW, max_bounces=2) is False
    after = await store.get_subscriber(sub.email)
    assert after is not None
    assert (after.hard_bounces, after.last_digest_at, after.status) == (1, None, "active")
    assert await store.reminded_keys([sub.id], NOW) == {sub.id: set()}

    await store.claim_deliveries([claim(sub, "<a@x>", key)], NOW)
    assert await store.mark_failed("<a@x>", "550 unknown user", NOW, max_bounces=2) is True
    paused = await store.get_subscriber(sub.email)
    assert paused is not None and paused.status == "paused"
    await store.set_subscriber_status(sub.email, "active", NOW)
    revived = await store.get_subscriber(sub.email)
    assert revived is not None and revived.hard_bounces == 0


async def test_deleting_a_subscriber_forgets_their_history(store: Store) -> None:
    sub = await active(store)
    assert sub.id is not None
    await store.claim_deliveries([claim(sub, "<a@x>", ("g", DEADLINE, 3))], NOW)
    assert await store.delete_subscriber("ana@example.org") is True
    assert await store.delete_subscriber("ana@example.org") is False
    assert await store.delivery_states() == {}
    assert await store.reminded_keys([sub.id], NOW) == {sub.id: set()}


async def test_import_adds_new_addresses_and_leaves_known_ones(store: Store) -> None:
    await active(store, "ana@example.org", language="fr")
    added = await store.import_subscribers(
        [Subscriber("ANA@example.org", language="es"), Subscriber("bo@example.org")], NOW
    )
    assert added == 1
    ana = await store.get_subscriber("ana@example.org")
    assert ana is not None and ana.language == "fr"
    listed = [s.email for s in await store.list_subscribers()]
    assert listed == ["ana@example.org", "bo@example.org"]
