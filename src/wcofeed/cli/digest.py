"""`digest`: one round of deadline reminders and new-item digests."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from wcofeed.cli.base import EXIT_OK, CommandError, command
from wcofeed.config import Settings
from wcofeed.store import open_store


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _digest_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="list who would get what; send nothing")
    p.add_argument(
        "--now",
        type=_instant,
        metavar="ISO-DATETIME",
        help="run as if it were this instant (reproducible runs)",
    )


@command("digest", "send one round of deadline reminders and new-item digests", _digest_arguments)
async def cmd_digest(settings: Settings, args: argparse.Namespace) -> int:
    from wcofeed.digest.run import run_digest
    from wcofeed.digest.send import SmtpDownError
    from wcofeed.digest.tokens import MissingSecretError

    async with await open_store(settings.database.location) as store:
        try:
            report = await run_digest(store, settings, args.now, dry_run=args.dry_run)
        except (SmtpDownError, MissingSecretError) as exc:
            raise CommandError(f"{exc}; unsent emails stay pending for the next run") from None
    if args.dry_run:
        for to, subject in report.planned:
            print(f"{to}\t{subject}")
        print(f"{len(report.planned)} emails would be sent")
    else:
        where = settings.smtp.host or settings.email.outbox_dir
        print(f"{report.summary()} (via {where})")
    return EXIT_OK
