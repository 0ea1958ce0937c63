"""One round of reminders and digests: claim, render, send, record.

Order of work, and why it is crash-safe:

1. Emails claimed by an earlier run and never recorded as sent (a crash, SMTP down)
   are re-rendered from their stored payload and sent again under the same
   Message-ID. Their subscribers get nothing else this run: one email per run.
2. Active subscribers are read a page at a time; for each, the due reminders and
   new items are selected (`select`), the email is *claimed* in the store (its
   reminder keys and outbox row in one transaction), rendered and queued.
3. Delivery workers, one SMTP connection each, send from a bounded queue; a recorder
   marks accepted emails `sent` in batches (gathered for `RECORD_WAIT`, 50 ms). A crash
   in between leaves the claim, which step 1 of the next run resends with the same
   Message-ID, so receivers can drop the duplicate.

Several workers sharing a PostgreSQL store split step 2 (`Share`): the round is cut
into batches of subscriber ids, each planned and rendered by the one worker holding it;
a batch whose worker dies before it is done is taken by another, which waits for the
batches others hold before ending its round. A batch is done once its emails are
claimed: if its worker dies before sending them, step 1 of the next round resends them.

The queue is bounded and subscribers are paged, so memory does not grow with the
number of subscribers. An item that cannot be shown in an email (a link that is not
http(s), a deadline no clock can reach) is left out as it is read, before anything is
claimed, logged and reported in `RunReport.skipped`: the others are reminded as usual.
The delivery side is `pipeline.py`; confirmation emails, sent one at a time outside any
round, are `confirm.py`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcofeed.config import Settings
from wcofeed.digest.mime import Email
from wcofeed.digest.pipeline import Pipeline, RunReport
from wcofeed.digest.render import Renderer
from wcofeed.digest.select import (
    DueCall,
    accepted_languages,
    digest_window,
    due_calls,
    message_id,
    news_start,
    select_new_items,
    unreminded,
)
from wcofeed.digest.send import (
    Outgoing,
    SmtpDownError,
    Transport,
    transport_for,
)
from wcofeed.digest.subscription import with_content_languages
from wcofeed.digest.tokens import Signer
from wcofeed.isolate import skip
from wcofeed.models import Item, Subscriber
from wcofeed.store import Claim, Delivery, ItemQuery, ReminderKey, Store
from wcofeed.store.interface import Cluster

log = logging.getLogger("wcofeed.digest")

PAGE = 500


class ItemCache:
    """Open calls and new items per (content languages, topics, kinds), read once per run,
    one version of each item: the first of the subscriber's languages that has one.

    Subscribers share a handful of topic choices, so a run reads the items table a
    few times rather than once per subscriber. Bounded: cleared when it grows large.
    `usable(items, subscriber, calls)` keeps the items an email can show; the first
    subscriber to ask stands for the others who share the entry.
    """

    LIMIT = 1024

    def __init__(self, store: Store, now: datetime, max_items: int, usable: Usable) -> None:
        self.store, self.now, self.max_items = store, now, max_items
        self.usable = usable
        self._entries: dict[tuple[Any, ...], list[Item]] = {}
        self._due: dict[tuple[Any, ...], list[DueCall]] = {}

    async def _get(
        self, key: tuple[Any, ...], query: ItemQuery, sub: Subscriber, calls: bool
    ) -> list[Item]:
        found = self._entries.get(key)
        if found is None:
            if len(self._entries) >= self.LIMIT:
                self._entries.clear()
            read = await self.store.query_items(query)
            found = self._entries[key] = self.usable(read, sub, calls)
        return found

    async def calls(self, sub: Subscriber) -> list[Item]:
        languages = accepted_languages(sub)
        query = ItemQuery(
            kinds=("call",),
            open_at=self.now,
            order="deadline",
            topics=sub.topics,
            edition=languages,
            limit=10_000,
        )
        return await self._get(("calls", languages, sub.topics), query, sub, calls=True)

    async def due_calls(self, sub: Subscriber) -> list[DueCall]:
        """The open calls with lead times due now (reminded or not) for everyone who
        shares `sub`'s languages, topics, kinds and lead times."""
        key = (accepted_languages(sub), sub.topics, sub.kinds, sub.lead_days)
        found = self._due.get(key)
        if found is None:
            calls = await self.calls(sub)
            if len(self._due) >= self.LIMIT:
                self._due.clear()
            found = self._due[key] = due_calls(sub, calls, self.now)
        return found

    async def new_items(self, sub: Subscriber, window: tuple[datetime, datetime]) -> list[Item]:
        languages = accepted_languages(sub)
        query = ItemQuery(
            seen_since=window[0],
            news_since=news_start(window),
            topics=sub.topics,
            kinds=sub.kinds,
            edition=languages,
            limit=self.max_items * 4,
        )
        key = ("new", languages, sub.topics, sub.kinds, window)
        found = await self._get(key, query, sub, calls=False)
        return select_new_items(sub, found, window)[: self.max_items]


#: Keeps the items an email can show: (items, for whom, as due calls?) -> items.
Usable = Callable[[list[Item], Subscriber, bool], list[Item]]


def _payload(calls: Sequence[DueCall], window: tuple[datetime, datetime] | None) -> str:
    return json.dumps(
        {
            "calls": [[c.item.guid, c.deadline_ts, list(c.leads)] for c in calls],
            "digest": [t.isoformat() for t in window] if window else None,
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class Share:
    """This worker's part of round `round_id`, which every worker on `cluster` numbers
    alike: batches of `size` subscriber ids, held for `lease` seconds, taken again every
    `poll` seconds while others hold the last ones."""

    cluster: Cluster
    round_id: int
    lease: float
    poll: float = 5.0
    size: int = PAGE


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
        share: Share | None = None,
    ) -> None:
        self.store, self.settings, self.now = store, settings, now
        self.transport, self.dry_run = transport, dry_run
        self.at_send_hour = at_send_hour
        self.share = share
        self.renderer = Renderer(settings, Signer(settings.security.secret_key))
        self.cache = ItemCache(store, now, settings.email.max_items, self._usable)
        self.domain = settings.email.list_id
        self.report = RunReport()
        self.handled: set[int] = set()
        self._unusable: set[str] = set()

    def _usable(self, items: list[Item], sub: Subscriber, calls: bool) -> list[Item]:
        """The items an email to `sub` can show; each other one is left out, and logged
        and reported once a run, however many emails it would have been in."""
        kept = []
        for item in items:
            if item.guid in self._unusable:
                continue
            try:
                kept.append(self.renderer.prepare(item, self.now, sub, call=calls))
            except Exception as exc:
                self._unusable.add(item.guid)
                skip("email", item.guid, exc, self.report.skipped)
        return kept

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

    async def _rerender(self, delivery: Delivery) -> Email | None:
        """The claimed email again, minus calls that have closed or moved since."""
        data = json.loads(delivery.payload)
        sub = with_content_languages(self.settings, delivery.subscriber)
        calls: list[DueCall] = []
        stored = await self.store.get_items(guid for guid, _, _ in data["calls"])
        usable = {item.guid: item for item in self._usable(list(stored.values()), sub, True)}
        for guid, deadline_ts, leads in data["calls"]:
            item = usable.get(guid)
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
        self, after: int, end: int | None = None
    ) -> tuple[int, list[Subscriber], dict[int, set[ReminderKey]]] | None:
        """The page of active subscribers after id `after` (and below `end`)."""
        limit = PAGE if end is None else end - after - 1
        page = await self.store.list_subscribers(("active",), after_id=after, limit=limit)
        if not page:
            return None
        subs = [
            with_content_languages(self.settings, s)
            for s in page
            if s.id is not None
            and (end is None or s.id < end)
            and s.id not in self.handled
            and self._due_now(s)
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

    async def _batches(
        self, share: Share
    ) -> AsyncGenerator[tuple[list[Subscriber], dict[int, set[ReminderKey]]], None]:
        """The active subscribers of each batch this worker takes, until every batch of
        the round is done (by whichever worker)."""
        cluster = share.cluster
        await cluster.open_digest_round(share.round_id, share.size)
        while True:
            batch = await cluster.take_digest_batch(share.round_id, share.lease)
            if batch is None:
                if await cluster.digest_round_done(share.round_id):
                    return
                await asyncio.sleep(share.poll)
                continue
            first, end = batch
            done = False
            try:
                read = await self._read_page(first - 1, end)
                if read is not None:
                    yield read[1], read[2]
                done = True
            finally:
                # given up on a failure, so that another worker takes it at once
                await cluster.finish_digest_batch(share.round_id, first, done=done)

    async def _fresh(self, pipeline: Pipeline | None) -> None:
        pages = self._pages() if self.share is None else self._batches(self.share)
        async with aclosing(pages) as pages:
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
                        self.report.planned.append((message.to, message.subject))
                    continue
                claims = [plan.claim for plan in plans.values()]
                # Render one at a time as the queue takes them: CPU work here overlaps
                # with the server's, and only a queue's worth of messages is in memory.
                for claimed in await self.store.claim_deliveries(claims, self.now):
                    plan = plans[claimed]
                    try:
                        outgoing = Outgoing.of(self._render(plan), plan.subscriber.email)
                    except Exception as exc:
                        # Its items were each shown above: this is the email's own fault,
                        # and it costs only this subscriber's email.
                        log.exception("email to subscriber %s not rendered", plan.subscriber.id)
                        await self.store.cancel_delivery(claimed, f"not rendered: {exc}")
                        self.report.cancelled += 1
                        continue
                    await pipeline.put(outgoing, resend=False)

    async def _plan(self, sub: Subscriber, reminded: set[ReminderKey]) -> Plan | None:
        assert sub.id is not None
        calls = unreminded(await self.cache.due_calls(sub), reminded)
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
            digest_from=window[0] if window else None,
        )
        return Plan(claim, sub, calls, new_items, window)

    def _render(self, plan: Plan) -> Email:
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
    share: Share | None = None,
) -> RunReport:
    """Send this round's reminders and digests; see the module docstring for guarantees.

    `at_send_hour` (the service's hourly rounds) serves only subscribers whose local
    time has reached `email.send_hour`; without it (`wcofeed digest`) everyone due is.
    `share`: this worker plans only the batches of subscribers it takes (several workers).

    Raises `SmtpDownError` when the server cannot be reached (everything unsent stays
    claimed or pending for the next run) and `MissingSecretError` without a secret key.
    """
    now = now or datetime.now(UTC)
    run = DigestRun(
        store, settings, now, transport or transport_for(settings), dry_run, at_send_hour, share
    )
    report = await run.run()
    log.info("digest round: %s", report.summary())
    return report


__all__ = ["RunReport", "Share", "SmtpDownError", "run_digest"]
