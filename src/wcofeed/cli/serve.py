"""`serve` and `run`: the service over HTTP, with or without its schedules.

`--workers N` starts N-1 more processes serving on the same port (SO_REUSEPORT: the
kernel spreads connections between them), for SQLite too: each opens the database
itself, and each one's cached lists follow the store's journal of changes, so a write
made through any of them, or by an ingest elsewhere, reaches them all. Only this
process runs the schedules (`run`); the others serve (pages, feeds, the admin API).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from wcofeed.cli.base import EXIT_OK, CommandError, command, positive
from wcofeed.config import Settings
from wcofeed.store import open_store

if TYPE_CHECKING:
    from wcofeed.service import Role

log = logging.getLogger("wcofeed.cli.serve")

#: Seconds a worker gets to stop after SIGTERM before it is killed.
_WORKER_GRACE = 25.0

# --- serve ----------------------------------------------------------------------------


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=positive, metavar="N", help="port (default: server.port)")
    p.add_argument(
        "--workers",
        type=positive,
        default=1,
        metavar="N",
        help="processes serving HTTP on the port (SO_REUSEPORT); only this one runs schedules",
    )
    # Set on the processes `--workers` starts: share the port, serve only.
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)


@command("serve", "serve pages, feeds and the API over HTTP, without schedules", _serve_arguments)
async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args, schedule=False)


def _run_arguments(p: argparse.ArgumentParser) -> None:
    _serve_arguments(p)
    p.add_argument(
        "--role",
        choices=("web", "worker", "all"),
        default="all",
        help="web: HTTP only; worker: fetch, publish and mail only; all (default): both. "
        "Several processes may share one PostgreSQL database (database.url).",
    )


@command(
    "run",
    "the service: serve HTTP, fetch each source on its schedule, publish, send reminders",
    _run_arguments,
)
async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args, schedule=True, role=args.role)


async def _serve(
    settings: Settings, args: argparse.Namespace, *, schedule: bool, role: Role = "all"
) -> int:
    from wcofeed.service import Service

    port = args.port or settings.server.port
    shared = args.workers > 1 or args.reuse_port
    workers = [await _start_worker(args.config, port) for _ in range(args.workers - 1)]
    try:
        async with await open_store(settings.database.location) as store:
            service = Service(settings, store)
            try:
                await service.serve(port, schedule=schedule, role=role, reuse_port=shared)
            except OSError as exc:
                where = f"{settings.server.host}:{port}"
                raise CommandError(f"cannot listen on {where}: {exc.strerror}") from None
    finally:
        await asyncio.gather(*(_stop_worker(worker) for worker in workers))
    return EXIT_OK


async def _start_worker(config: Path, port: int) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "wcofeed", "--config", str(config), "serve"]
    return await asyncio.create_subprocess_exec(
        *command, "--port", str(port), "--reuse-port", stdin=asyncio.subprocess.DEVNULL
    )


async def _stop_worker(worker: asyncio.subprocess.Process) -> None:
    if worker.returncode is None:
        worker.terminate()
    try:
        await asyncio.wait_for(worker.wait(), _WORKER_GRACE)
    except TimeoutError:
        log.warning("worker %d did not stop in %.0f s; killing it", worker.pid, _WORKER_GRACE)
        worker.kill()
        await worker.wait()
