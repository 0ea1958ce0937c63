"""One round of reminders and digests: claim, render, send, record.

Order of work, and why it is crash-safe:

1. Emails claimed by an earlier run and never recorded as sent (a crash, SMTP down)
   are re-rendered from their stored payload and sent again under the same
   Message-ID. Their subscribers get nothing else this run: one email per run.
2. Active subscribers are read a page at a time; for each, the due reminders and
   new items are selected (`select`), the email is *claimed* in the store (its
   reminder keys and outbox row in one transaction), rendered and queued.
3. Delivery workers, one SMTP connection each, send from a bounded queue; a recorder
   marks accepted emails `sent` as soon as the server accepts them (batched only by
   what arrived meanwhile). A crash in between leaves the claim, which step 1 of the
   next run resends with the same Message-ID, so receivers can drop the duplicate.

The queue is bounded and subscribers are paged, so memory does not grow with the
number of subscribers.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcofeed.config import Settings
from wcofeed.digest.render import Renderer
from wcofeed.digest.select import (
    DueCall,
    digest_window,
    message_id,
    select_new_items,
    select_reminders,
)
from wcofeed.digest.send import (
    Connection,
    Outcome,
    Outgoing,
    SmtpDownError,
    Transport,
    transport_for,
)
from wcofeed.digest.tokens import Signer
from wcofeed.models import Item, Subscriber
from wcofeed.store import Claim, Delivery, ItemQuery, ReminderKey, Store

log = logging.getLogger("wcofeed.digest")

PAGE = 500
#: Rendered emails waiting for a connection (~7 KB each): enough to keep the
#: connections busy while the next page of subscribers is read and claimed.
QUEUE = 256


class DeliveryError(RuntimeError):
    """A single email (a confirmation) could not be delivered."""


@dataclass
class RunReport:
    """What a round did; `planned` lists (address, subject) in a dry run."""

    sent: int = 0
    resent: int = 0
    deferred: int = 0
    failed: int = 0
    paused: int = 0
    cancelled: int = 0
    planned: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.sent} sent ({self.resent} resent from an earlier run), "
            f"{self.deferred} deferred, {self.failed} failed, {self.paused} subscribers "
            f"paused, {self.cancelled} cancelled"
        )


class ItemCache:
    """Open calls and new items per (language, topics, kinds), read once per run.

    Subscribers share a handful of topic choices, so a run reads the items table a
    few times rather than once per subscriber. Bounded: cleared when it grows large.
    """

    LIMIT = 1024

    def __init__(self, store: Store, now: datetime, max_items: int) -> None:
        self.store, self.now, self.max_items = store, now, max_items
        self._entries: dict[tuple[Any, ...], list[Item]] = {}

    async def _get(self, key: tuple[Any, ...], query: ItemQuery) -> list[Item]:
        found = self._entries.get(key)
        if found is None:
            if len(self._entries) >= self.LIMIT:
                self._entries.clear()
            found = self._entries[key] = await self.store.query_items(query)
        return found

    async def calls(self, sub: Subscriber) -> list[Item]:
        query = ItemQuery(
            kinds=("call",),
            open_at=self.now,
            order="deadline",
            topics=sub.topics,
            languages=(sub.language,),
            limit=10_000,
        )
        return await self._get(("calls", sub.language, sub.topics), query)

    async def new_items(self, sub: Subscriber, window: tuple[datetime, datetime]) -> list[Item]:
        query = ItemQuery(
            seen_since=window[0],
            topics=sub.topics,
            kinds=sub.kinds,
            languages=(sub.language,),
            limit=self.max_items * 4,
        )
        found = await self._get(("new", sub.language, sub.topics, sub.kinds, window), query)
        return select_new_items(sub, found, window)[: self.max_items]


def _payload(calls: Sequence[DueCall], window: tuple[datetime, datetime] | None) -> str:
    return json.dumps(
        {
            "calls": [[c.item.guid, c.keys[0][1], list(c.leads)] for c in calls],
            "digest": [t.isoformat() for t in window] if window else None,
        },
        separators=(",", ":"),
    )


class Pipeline:
    """Delivery workers (one connection each) fed by a bounded queue, and a recorder."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        settings: Settings,
        now: datetime,
        report: RunReport,
    ) -> None:
        self.store, self.transport, self.now, self.report = store, transport, now, report
        self.max_bounces = settings.email.max_bounces
        self.queue: asyncio.Queue[tuple[Outgoing, bool] | None] = asyncio.Queue(maxsize=QUEUE)
        self.accepted: asyncio.Queue[str | None] = asyncio.Queue()
        self.error: BaseException | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._recorder: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Pipeline:
        self._workers = [
            asyncio.create_task(self._work()) for _ in range(self.transport.concurrency)
        ]
        self._recorder = asyncio.create_task(self._record())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _ in self._workers:
            await self.queue.put(None)
        await asyncio.gather(*self._workers)
        self.accepted.put_nowait(None)
        if self._recorder is not None:
            await self._recorder
        if self.error is not None and exc[0] is None:
            raise self.error

    async def put(self, outgoing: Outgoing, resend: bool) -> None:
        if self.error is not None:
            raise self.error
        await self.queue.put((outgoing, resend))
        # put() on a queue with room does not yield: without this, rendering a page
        # would hold the event loop while the connections' replies wait unread.
        await asyncio.sleep(0)

    async def _work(self) -> None:
        connection = self.transport.connect()
        try:
            while (job := await self.queue.get()) is not None:
                if self.error is None:
                    try:
                        await self._deliver(connection, *job)
                    except Exception as exc:
                        self.error = self.error or exc
        finally:
            await connection.close()

    async def _deliver(self, connection: Connection, outgoing: Outgoing, resend: bool) -> None:
        result = await connection.send(outgoing)
        if result.outcome is Outcome.SENT:
            self.accepted.put_nowait(outgoing.message_id)
            self.report.sent += 1
            self.report.resent += resend
        elif result.outcome is Outcome.FAILED:
            log.warning("permanent failure: %s", result.error)
            self.report.failed += 1
            if await self.store.mark_failed(
                outgoing.message_id, result.error, self.now, self.max_bounces
            ):
                self.report.paused += 1
        else:
            log.warning("deferred to the next run: %s", result.error)
            self.report.deferred += 1
            await self.store.mark_deferred(outgoing.message_id, result.error)

    async def _record(self) -> None:
        """Mark accepted emails sent, also after another part of the run failed (what
        the server took must not be sent again); stop recording only if recording fails."""
        done, failed = False, False
        while not done:
            batch: list[str] = []
            first = await self.accepted.get()
            done = first is None
            if first is not None:
                batch.append(first)
            while not self.accepted.empty():
                more = self.accepted.get_nowait()
                done = done or more is None
                if more is not None:
                    batch.append(more)
            if batch and not failed:
                try:
                    await self.store.mark_sent(batch, self.now)
                except Exception as exc:
                    failed = True
                    self.error = self.error or exc


@dataclass(frozen=True, slots=True)
class Plan:
    """One subscriber's email of this run, before it is rendered."""

    claim: Claim
    subscriber: Subscriber
    calls: list[DueCall]
    new_items: list[Item]
    window: tuple[datetime, datetime] | None


class DigestRun:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        now: datetime,
        transport: Transport,
        dry_run: bool,
        at_send_hour: bool = False,
    ) -> None:
        self.store, self.settings, self.now = store, settings, now
        self.transport, self.dry_run = transport, dry_run
        self.at_send_hour = at_send_hour
        self.renderer = Renderer(settings, Signer(settings.security.secret_key))
        self.cache = ItemCache(store, now, settings.email.max_items)
        self.domain = settings.email.list_id
        self.report = RunReport()
        self.handled: set[int] = set()

    async def run(self) -> RunReport:
        if self.dry_run:
            await self._fresh(None)
            return self.report
        async with Pipeline(
            self.store, self.transport, self.settings, self.now, self.report
        ) as pipeline:
            await self._stale(pipeline)
            await self._fresh(pipeline)
        return self.report

    async def _stale(self, pipeline: Pipeline) -> None:
        after = ""
        while page := await self.store.stale_deliveries(after=after, limit=PAGE):
            after = page[-1].message_id
            for delivery in page:
                assert delivery.subscriber.id is not None
                self.handled.add(delivery.subscriber.id)
                message = await self._rerender(delivery)
                if message is None:
                    await self.store.cancel_delivery(delivery.message_id, "nothing left open")
                    self.report.cancelled += 1
                    continue
                outgoing = Outgoing.of(message, delivery.subscriber.email)
                await pipeline.put(outgoing, resend=True)

    async def _rerender(self, delivery: Delivery) -> Message | None:
        """The claimed email again, minus calls that have closed or moved since."""
        data = json.loads(delivery.payload)
        sub = delivery.subscriber
        calls: list[DueCall] = []
        for guid, deadline_ts, leads in data["calls"]:
            item = await self.store.get_item(guid)
            if item is None or item.deadline is None:
                continue
            closes = item.deadline.closes_at()
            if int(closes.timestamp()) == deadline_ts and closes > self.now:
                calls.append(DueCall(item, tuple(leads)))
        window = None
        new_items: list[Item] = []
        if data["digest"]:
            start, end = (datetime.fromisoformat(t) for t in data["digest"])
            window = (start, end)
            new_items = await self.cache.new_items(sub, window)
        if not calls and not new_items:
            return None
        return self.renderer.digest(sub, calls, new_items, window, delivery.message_id, self.now)

    def _due_now(self, subscriber: Subscriber) -> bool:
        """In scheduled rounds, a subscriber is served once their day has reached the send
        hour in their own time zone; later rounds that day find nothing new to send
        (reminders are recorded once), so a missed hour is caught up, never repeated."""
        if not self.at_send_hour:
            return True
        try:
            zone = ZoneInfo(subscriber.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return self.now.astimezone(zone).hour >= self.settings.email.send_hour

    async def _read_page(
        self, after: int
    ) -> tuple[int, list[Subscriber], dict[int, set[ReminderKey]]] | None:
        page = await self.store.list_subscribers(("active",), after_id=after, limit=PAGE)
        if not page:
            return None
        subs = [
            s for s in page if s.id is not None and s.id not in self.handled and self._due_now(s)
        ]
        reminded = await self.store.reminded_keys([s.id for s in subs if s.id], self.now)
        return page[-1].id or after, subs, reminded

    async def _pages(
        self,
    ) -> AsyncGenerator[tuple[list[Subscriber], dict[int, set[ReminderKey]]], None]:
        """Active subscribers a page at a time, the next page read while this one is
        planned, rendered and sent (the store works in its own threads)."""
        task = asyncio.create_task(self._read_page(0))
        try:
            while (read := await task) is not None:
                after, subs, reminded = read
                task = asyncio.create_task(self._read_page(after))
                yield subs, reminded
        finally:
            task.cancel()

    async def _fresh(self, pipeline: Pipeline | None) -> None:
        async with aclosing(self._pages()) as pages:
            async for subs, reminded in pages:
                plans: dict[str, Plan] = {}
                for sub in subs:
                    assert sub.id is not None
                    plan = await self._plan(sub, reminded[sub.id])
                    if plan is not None:
                        plans[plan.claim.message_id] = plan
                if pipeline is None:
                    for plan in plans.values():
                        message = self._render(plan)
                        self.report.planned.append((str(message["To"]), str(message["Subject"])))
                    continue
                claims = [plan.claim for plan in plans.values()]
                # Render one at a time as the queue takes them: CPU work here overlaps
                # with the server's, and only a queue's worth of messages is in memory.
                for claimed in await self.store.claim_deliveries(claims, self.now):
                    plan = plans[claimed]
                    outgoing = Outgoing.of(self._render(plan), plan.subscriber.email)
                    await pipeline.put(outgoing, resend=False)

    async def _plan(self, sub: Subscriber, reminded: set[ReminderKey]) -> Plan | None:
        assert sub.id is not None
        calls = select_reminders(sub, await self.cache.calls(sub), reminded, self.now)
        calls = calls[: self.settings.email.max_items]
        window = digest_window(sub, self.now)
        new_items = await self.cache.new_items(sub, window) if window else []
        if not calls and not new_items:
            return None
        window = window if new_items else None
        claim = Claim(
            message_id=message_id(sub, calls, window, self.domain),
            subscriber_id=sub.id,
            payload=_payload(calls, window),
            reminders=tuple(key for call in calls for key in call.keys),
            digest_until=window[1] if window else None,
        )
        return Plan(claim, sub, calls, new_items, window)

    def _render(self, plan: Plan) -> Message:
        return self.renderer.digest(
            plan.subscriber,
            plan.calls,
            plan.new_items,
            plan.window,
            plan.claim.message_id,
            self.now,
        )


async def run_digest(
    store: Store,
    settings: Settings,
    now: datetime | None = None,
    *,
    transport: Transport | None = None,
    dry_run: bool = False,
    at_send_hour: bool = False,
) -> RunReport:
    """Send this round's reminders and digests; see the module docstring for guarantees.

    `at_send_hour` (the service's hourly rounds) serves only subscribers whose local
    time has reached `email.send_hour`; without it (`wcofeed digest`) everyone due is.

    Raises `SmtpDownError` when the server cannot be reached (everything unsent stays
    claimed or pending for the next run) and `MissingSecretError` without a secret key.
    """
    now = now or datetime.now(UTC)
    run = DigestRun(
        store, settings, now, transport or transport_for(settings), dry_run, at_send_hour
    )
    report = await run.run()
    log.info("digest round: %s", report.summary())
    return report


#: A pending address gets at most one confirmation email in this time, so the
#: public form cannot be used to flood someone's inbox.
CONFIRM_INTERVAL = timedelta(hours=1)


async def request_confirmation(
    store: Store,
    settings: Settings,
    subscriber: Subscriber,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> bool:
    """Send the double opt-in email unless one went out within CONFIRM_INTERVAL."""
    now = now or datetime.now(UTC)
    last = subscriber.confirm_sent_at
    if last is not None and now - last < CONFIRM_INTERVAL:
        return False
    await send_confirmation(settings, subscriber, now, transport)
    await store.note_confirmation_sent(subscriber.email, now)
    return True


async def send_confirmation(
    settings: Settings,
    subscriber: Subscriber,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> None:
    """Send the double opt-in email now; DeliveryError or SmtpDownError if it failed."""
    now = now or datetime.now(UTC)
    renderer = Renderer(settings, Signer(settings.security.secret_key))
    seed = f"{subscriber.email.lower()}|{now.isoformat()}".encode()
    mid = f"<confirm-{hashlib.sha256(seed).hexdigest()[:24]}@{settings.email.list_id}>"
    outgoing = Outgoing.of(renderer.confirmation(subscriber, mid, now))
    connection = (transport or transport_for(settings)).connect()
    try:
        result = await connection.send(outgoing)
    finally:
        await connection.close()
    if result.outcome is not Outcome.SENT:
        raise DeliveryError(f"confirmation to {subscriber.email} not delivered: {result.error}")


__all__ = [
    "DeliveryError",
    "RunReport",
    "SmtpDownError",
    "request_confirmation",
    "run_digest",
    "send_confirmation",
]
