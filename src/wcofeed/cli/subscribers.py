"""`subscribers`: the mailing list, added to, listed, pruned and exported."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from wcofeed.cli.base import COMMON_OPTIONS, EXIT_OK, CommandError, command
from wcofeed.config import Settings
from wcofeed.models import KINDS, Subscriber, SubscriberStatus
from wcofeed.store import Store, open_store


def _subscribers_arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    parents = [COMMON_OPTIONS]
    add = actions.add_parser("add", help="add or update a subscriber", parents=parents)
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--lang", default="", help="language of the emails (default: site's)")
    add.add_argument(
        "--content-lang",
        action="append",
        default=[],
        metavar="L",
        help="content language accepted, best first (repeatable; none: the email "
        "language, then its fallbacks, site.fallback_languages)",
    )
    add.add_argument(
        "--topic",
        action="append",
        default=[],
        metavar="T",
        help="topic slug (repeatable; none: all topics)",
    )
    add.add_argument(
        "--kind",
        action="append",
        default=[],
        choices=KINDS,
        help="item kind (repeatable; none: all kinds)",
    )
    add.add_argument(
        "--lead-days",
        default="",
        metavar="14,3,1",
        help="reminder lead times in days (default: email.lead_days)",
    )
    add.add_argument(
        "--digest",
        default="off",
        choices=("off", "daily", "weekly"),
        help="new-item digest frequency",
    )
    add.add_argument("--tz", default="", metavar="ZONE", help="time zone (default: site's)")
    add.add_argument("--name", default="", help="name shown in the To header")
    add.add_argument(
        "--confirmed",
        action="store_true",
        help="consent already given (importing a list): skip the confirmation email",
    )
    lister = actions.add_parser("list", help="list subscribers", parents=parents)
    lister.add_argument(
        "--status", action="append", choices=("pending", "active", "paused", "unsubscribed")
    )
    remove = actions.add_parser(
        "remove", help="delete a subscriber and their history", parents=parents
    )
    remove.add_argument("email", metavar="EMAIL")
    export = actions.add_parser(
        "export", help="write all subscribers as CSV or JSON", parents=parents
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path, metavar="FILE", help="default: standard output")


@command("subscribers", "add, list, remove or export subscribers", _subscribers_arguments)
async def cmd_subscribers(settings: Settings, args: argparse.Namespace) -> int:
    async with await open_store(settings.database.location) as store:
        if args.action == "add":
            await _subscriber_add(settings, store, args)
        elif args.action == "remove":
            if not await store.delete_subscriber(args.email):
                raise CommandError(f"no subscriber {args.email}")
            print(f"removed {args.email}")
        else:
            rows = await _all_subscribers(store, tuple(getattr(args, "status", None) or ()))
            if args.action == "list":
                _print_subscribers(rows, sys.stdout)
            else:
                from wcofeed.digest.subscription import with_content_languages

                resolved = [with_content_languages(settings, sub) for sub in rows]
                _export_subscribers(resolved, args.format, args.output)
    return EXIT_OK


async def _subscriber_add(settings: Settings, store: Store, args: argparse.Namespace) -> None:
    from wcofeed.digest.confirm import DeliveryError, request_confirmation
    from wcofeed.digest.send import SmtpDownError
    from wcofeed.digest.subscription import SubscriptionError, build_subscriber
    from wcofeed.digest.tokens import MissingSecretError

    existing = await store.get_subscriber(args.email)
    active = args.confirmed or (existing is not None and existing.status == "active")
    try:
        wanted = build_subscriber(
            settings,
            email=args.email,
            language=args.lang or settings.site.default_language,
            content_languages=args.content_lang,
            topics=args.topic,
            kinds=args.kind,
            lead_days=args.lead_days,
            digest=args.digest,
            timezone=args.tz,
            name=args.name,
            status="active" if active else "pending",
        )
    except SubscriptionError as exc:
        raise CommandError(str(exc)) from None
    saved = await store.save_subscriber(wanted, datetime.now(UTC))
    if active:
        print(f"{saved.email}: active")
        return
    try:
        sent = await request_confirmation(store, settings, saved)
    except (SmtpDownError, DeliveryError, MissingSecretError) as exc:
        raise CommandError(f"{saved.email} saved as pending, but {exc}") from None
    note = "confirmation email sent" if sent else "a confirmation was sent minutes ago"
    print(f"{saved.email}: pending; {note}")


async def _all_subscribers(
    store: Store, statuses: tuple[SubscriberStatus, ...]
) -> list[Subscriber]:
    found: list[Subscriber] = []
    after = 0
    while page := await store.list_subscribers(statuses, after_id=after):
        found.extend(page)
        after = page[-1].id or after
    return found


_EXPORT_FIELDS = (
    "email",
    "name",
    "language",
    "content_languages",
    "topics",
    "kinds",
    "lead_days",
    "digest",
    "timezone",
    "status",
    "created_at",
    "confirmed_at",
    "hard_bounces",
)


def _subscriber_row(sub: Subscriber) -> dict[str, object]:
    return {
        "email": sub.email,
        "name": sub.name,
        "language": sub.language,
        "content_languages": list(sub.content_languages),
        "topics": list(sub.topics),
        "kinds": list(sub.kinds),
        "lead_days": list(sub.lead_days),
        "digest": sub.digest,
        "timezone": sub.timezone,
        "status": sub.status,
        "created_at": sub.created_at.isoformat() if sub.created_at else None,
        "confirmed_at": sub.confirmed_at.isoformat() if sub.confirmed_at else None,
        "hard_bounces": sub.hard_bounces,
    }


def _print_subscribers(rows: Sequence[Subscriber], out: TextIO) -> None:
    if not rows:
        print("no subscribers", file=out)
        return
    print(f"{'status':<12}  {'lang':<4}  {'digest':<6}  {'leads':<8}  email  topics", file=out)
    for sub in rows:
        leads = ",".join(map(str, sub.lead_days))
        topics = " ".join(sub.topics) or "(all)"
        print(
            f"{sub.status:<12}  {sub.language:<4}  {sub.digest:<6}  {leads:<8}  "
            f"{sub.email}  {topics}",
            file=out,
        )


def _export_subscribers(rows: Sequence[Subscriber], form: str, output: Path | None) -> None:
    buffer = io.StringIO()
    records = [_subscriber_row(sub) for sub in rows]
    if form == "json":
        json.dump(records, buffer, ensure_ascii=False, indent=2)
        buffer.write("\n")
    else:
        writer = csv.DictWriter(buffer, fieldnames=_EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(
                {k: " ".join(map(str, v)) if isinstance(v, list) else v for k, v in record.items()}
            )
    if output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        output.write_text(buffer.getvalue(), encoding="utf-8")
        print(f"{len(rows)} subscribers written to {output}")
