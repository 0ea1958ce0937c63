"""`wcofeed run`: one asyncio process that serves HTTP, fetches, publishes and mails.

Each enabled source has its own loop (its `every`, with jitter so sources sharing a
host do not fire together), over one shared fetcher so per-host limits hold across
sources; after an ingest, only the feeds its new and changed items touch are
rewritten. Digest rounds run at the top of every hour and serve the subscribers whose
local time has reached the send hour; deliveries are recorded, so a round run twice,
or after a restart, sends nothing twice.

Several processes may share one PostgreSQL store (`Cluster`), each with a role: `web`
(HTTP only), `worker` (the schedules only) or `all`. Then a source is fetched by the
process holding its lease, once per interval between them all; feed files are written
under a lock one process holds at a time; digest rounds run in every worker at the
same moments, and split the round's subscribers between them in batches (a dead
worker's batch taken by another), the store's claims keeping each email to one; and a
change any process makes tells every web process's feed cache to look again.

SIGTERM or SIGINT stop the loops. A round in progress gets a grace period to finish;
one still running after it is cancelled, which rolls back its open transaction.
Nothing is lost either way: a source is fetched again at the next start, and a claimed
but unrecorded email is resent with the same Message-ID. One failing part (a source,
the SMTP server) is logged with its reason and retried on its schedule; it never stops
the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

from wcofeed.config import Settings, SourceSettings
from wcofeed.digest.run import Share, run_digest
from wcofeed.ingest.fetch import Fetcher
from wcofeed.ingest.run import Parsers, SourceReport, ingest_source
from wcofeed.metrics import Metrics
from wcofeed.models import Item, UpsertOutcome, UpsertResult
from wcofeed.publish import publish_all
from wcofeed.store import Store
from wcofeed.store.interface import Cluster
from wcofeed.web.app import create_app
from wcofeed.web.cache import CACHE
from wcofeed.web.server import Runner

log = logging.getLogger("wcofeed.service")

#: Fraction of a source's interval its fetch time may drift by, either way.
JITTER = 0.1
#: Seconds a round in progress may take to finish after a stop signal.
SHUTDOWN_GRACE = 20.0
#: Digest rounds start this many seconds past each multiple of their interval.
DIGEST_OFFSET = 5.0
#: What a process does: serve HTTP, run the schedules (fetch, publish, mail), or both.
Role = Literal["web", "worker", "all"]


class Service:
    """The parts of a running wcofeed; also the actions the admin API may ask for."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics or Metrics()
        self._fetcher = Fetcher(settings.fetch)
        self._parsers = Parsers.from_settings(settings)
        self._publish_lock = asyncio.Lock()
        self._source_locks: dict[str, asyncio.Lock] = {}
        self._stopping = False
        self._busy: set[asyncio.Task[Any]] = set()
        self._publishing: set[asyncio.Task[None]] = set()

    # --- actions (web.state.Actions) ---------------------------------------------------

    async def ingest_source(self, source_id: str) -> dict[str, Any]:
        return dataclasses.asdict(await self._ingest(self.settings.source(source_id)))

    async def republish(self, items: Sequence[Item]) -> None:
        await self._publish([UpsertResult(UpsertOutcome.CHANGED, item) for item in items])

    # --- rounds ------------------------------------------------------------------------

    async def _ingest(
        self, source: SourceSettings, stored: Callable[[], Awaitable[object]] | None = None
    ) -> SourceReport:
        """Fetch and store a source, then publish. With `stored` (a lease's release, called
        once stored), publishing goes on in the background: under the lock all processes
        share, it may wait, and the source's loop must not (another source's lease may
        come due meanwhile, and a stop lets it finish)."""
        lock = self._source_locks.setdefault(source.id, asyncio.Lock())
        async with lock:
            started = time.perf_counter()
            try:
                report, results = await ingest_source(
                    self.settings, self.store, source, self._fetcher, parsers=self._parsers
                )
            finally:
                if stored is not None:
                    await stored()
            self.metrics.rounds.labels(round="ingest").observe(time.perf_counter() - started)
        outcome = "failed" if report.failed else "not_modified" if report.not_modified else "ok"
        self.metrics.fetches.labels(source=source.id, outcome=outcome).inc()
        if results and stored is not None:
            publish = asyncio.create_task(
                self._round(f"publish after {source.id}", lambda: self._publish(results))
            )
            self._publishing.add(publish)
            publish.add_done_callback(self._publishing.discard)
        elif results:
            await self._publish(results)
        return report

    async def _publish(self, touched: Sequence[UpsertResult] | None) -> None:
        async with self._publish_lock, self._exclusive("publish"):
            started = time.perf_counter()
            report = await publish_all(self.settings, self.store, touched)
            self.metrics.rounds.labels(round="publish").observe(time.perf_counter() - started)
            self.metrics.skipped(report.skipped)

    async def _digest(self) -> None:
        started = time.perf_counter()
        now = datetime.now(UTC)
        share = None
        if isinstance(self.store, Cluster):
            workers = self.settings.workers
            # the same number in every worker woken for this round (see `_digest_loop`)
            round_id = int((now.timestamp() - DIGEST_OFFSET) // workers.digest_every_seconds)
            share = Share(self.store, round_id, workers.lease_seconds, workers.poll_seconds)
        report = await run_digest(self.store, self.settings, now, at_send_hour=True, share=share)
        self.metrics.rounds.labels(round="digest").observe(time.perf_counter() - started)
        self.metrics.emails.labels(outcome="sent").inc(report.sent)
        self.metrics.emails.labels(outcome="failed").inc(report.failed)
        self.metrics.skipped(report.skipped)

    def _exclusive(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held by one process at a time when several share the store."""
        if isinstance(self.store, Cluster):
            return self.store.exclusive(name)
        return contextlib.nullcontext()

    # --- loops -------------------------------------------------------------------------

    async def _round(self, what: str, job: Callable[[], Awaitable[object]]) -> None:
        """Run one round, marked busy so a stop lets it finish; a failure is logged."""
        task = asyncio.current_task()
        assert task is not None
        self._busy.add(task)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)
        finally:
            self._busy.discard(task)

    async def _source_loop(self, source: SourceSettings) -> None:
        await asyncio.sleep(random.uniform(0, min(5.0, source.every * JITTER)))  # noqa: S311
        while not self._stopping:
            await self._round(f"ingest of {source.id}", lambda: self._ingest(source))
            if self._stopping:
                break
            await asyncio.sleep(source.every * _spread())

    async def _leased_source_loop(self, source: SourceSettings, cluster: Cluster) -> None:
        """A source shared with other processes: fetched when this one holds its lease."""
        workers = self.settings.workers
        while not self._stopping:
            try:
                wait = await cluster.lease_source(source.id, workers.lease_seconds)
            except Exception:
                log.exception("lease of %s not taken", source.id)
                wait = workers.poll_seconds
            if wait > 0:
                await asyncio.sleep(min(wait, workers.poll_seconds))
                continue
            # released once stored, before publishing: the next fetch is due an
            # interval after this one, however long the feeds take to write
            release = functools.partial(cluster.release_source, source.id, source.every * _spread())
            await self._round(
                f"ingest of {source.id}", functools.partial(self._ingest, source, release)
            )

    async def _digest_loop(self) -> None:
        every = self.settings.workers.digest_every_seconds
        while not self._stopping:
            await self._round("digest round", self._digest)
            if self._stopping:
                break
            # the next multiple of `every` since the epoch, 5 s past it (3600: each hour)
            clock = time.time()
            await asyncio.sleep(every - (clock - DIGEST_OFFSET) % every)

    async def run(self, port: int | None = None, stop: asyncio.Event | None = None) -> None:
        """Serve and schedule until `stop` is set; SIGTERM and SIGINT set it."""
        await self.serve(port, stop, schedule=True)

    async def serve(
        self,
        port: int | None = None,
        stop: asyncio.Event | None = None,
        *,
        schedule: bool,
        role: Role = "all",
        reuse_port: bool = False,
    ) -> None:
        """The HTTP server, with (`wcofeed run`) or without (`wcofeed serve`) the loops;
        `role` leaves out the HTTP side (`worker`) or the loops (`web`); `reuse_port`:
        other processes serve on the same port (`--workers`)."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runner: Runner | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            if role != "worker":
                runner = await self._start_web(port, reuse_port)
            if schedule and role != "web":
                await self._round("first publish", lambda: self._publish(None))
                tasks = [self._start_source(src) for src in self.settings.sources if src.enabled]
                tasks.append(asyncio.create_task(self._digest_loop(), name="digest"))
            await stop.wait()
            log.info("stopping: letting rounds in progress finish")
        finally:
            self._stopping = True
            await self._stop(tasks)
            if runner is not None:
                await runner.cleanup()
            await self._fetcher.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        log.info("stopped cleanly")

    async def _start_web(self, port: int | None, reuse_port: bool) -> Runner:
        app = create_app(self.settings, self.store, self, self.metrics)
        if isinstance(self.store, Cluster):
            # another process's change: the feed cache asks the store again at once
            self.store.on_change(app[CACHE].changed)
        runner = Runner(app, self.settings)
        await runner.setup()
        try:
            site = web.TCPSite(
                runner,
                self.settings.server.host,
                port or self.settings.server.port,
                reuse_port=reuse_port or None,
            )
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        address = _address(runner)
        log.info(
            "serving on %s (feeds: %s/feeds/index.html, health: %s/healthz)",
            address,
            address,
            address,
        )
        return runner

    def _start_source(self, source: SourceSettings) -> asyncio.Task[None]:
        if isinstance(self.store, Cluster):
            loop = self._leased_source_loop(source, self.store)
        else:
            loop = self._source_loop(source)
        return asyncio.create_task(loop, name=f"source:{source.id}")

    async def _stop(self, tasks: list[asyncio.Task[None]]) -> None:
        tasks = [*tasks, *self._publishing]
        idle = [t for t in tasks if t not in self._busy]
        for task in idle:
            task.cancel()
        busy = [t for t in tasks if t in self._busy]
        if busy:
            _, late = await asyncio.wait(busy, timeout=SHUTDOWN_GRACE)
            for task in late:
                log.warning("cancelling %s after %.0f s", task.get_name(), SHUTDOWN_GRACE)
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)


def _spread() -> float:
    """A factor around 1 that keeps sources sharing a host from firing together."""
    return random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311


def _address(runner: web.AppRunner) -> str:
    for address in runner.addresses:
        return f"http://{address[0]}:{address[1]}"
    return "(no address)"
