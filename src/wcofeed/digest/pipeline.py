"""The delivery side of a round: workers, one SMTP connection each, fed by a bounded
queue, and a recorder that marks accepted emails sent, a batch at a time.

A crash between acceptance and recording leaves the claim, which the next round resends
under the same Message-ID (see `run.py`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from wcofeed.config import Settings
from wcofeed.digest.send import Connection, Outcome, Outgoing, Transport
from wcofeed.isolate import Skipped
from wcofeed.store import Store

log = logging.getLogger("wcofeed.digest")

#: Rendered emails waiting for a connection (~7 KB each): enough to keep the
#: connections busy while the next page of subscribers is read and claimed.
QUEUE = 256

#: How long the recorder gathers accepted emails before one write marks them all sent
#: (seconds): a few dozen emails at full speed, short beside a round.
RECORD_WAIT = 0.05


@dataclass
class RunReport:
    """What a round did; `planned` lists (address, subject) in a dry run; `skipped` the
    items left out of every email because they could not be shown."""

    sent: int = 0
    resent: int = 0
    deferred: int = 0
    failed: int = 0
    paused: int = 0
    cancelled: int = 0
    planned: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"{self.sent} sent ({self.resent} resent from an earlier run), "
            f"{self.deferred} deferred, {self.failed} failed, {self.paused} subscribers "
            f"paused, {self.cancelled} cancelled"
        )
        if self.skipped:
            line += f", {len(self.skipped)} items left out"
        return line


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
        the server took must not be sent again); stop recording only if recording fails.

        Each write waits `RECORD_WAIT` after the first acceptance it holds, gathering the
        others meanwhile: a write per email took the GIL and the event loop from the
        sending about as long as the sending itself. A crash within that wait resends
        those emails next round under their Message-IDs, as any crash before recording."""
        done, failed = False, False
        while not done:
            batch: list[str] = []
            first = await self.accepted.get()
            done = first is None
            if first is not None:
                batch.append(first)
                await asyncio.sleep(RECORD_WAIT)
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
