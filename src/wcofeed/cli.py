"""The `wcofeed` command: one sub-command per job, wired to the parts it needs.

Exit codes: 0 done, 1 the job failed, 2 a usage or config error. Every command takes
`--config PATH` (default `./config.toml`). Commands register themselves with
`@command`, so each keeps its arguments beside its code.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import io
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from wcofeed.config import (
    DEFAULT_CONFIG,
    ConfigError,
    Settings,
    load_settings,
    with_signing_secret,
)
from wcofeed.ingest.manual import item_from_entry
from wcofeed.ingest.run import IngestReport, Parsers, SourceReport, ingest, select_sources
from wcofeed.logs import setup_logging
from wcofeed.models import KINDS, Item, ItemError, UpsertOutcome, item_to_dict
from wcofeed.publish import publish_all
from wcofeed.store import ItemQuery, SchemaTooNewError, Store, open_store
from wcofeed.store.base import Subscriber, SubscriberStatus

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("wcofeed.cli")

Handler = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
Arguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    arguments: Arguments | None


COMMANDS: list[Command] = []


def command(
    name: str, help: str, arguments: Arguments | None = None
) -> Callable[[Handler], Handler]:
    """Register a sub-command; `help` is its one-line description."""

    def register(handler: Handler) -> Handler:
        COMMANDS.append(Command(name, help, handler, arguments))
        return handler

    return register


class CommandError(Exception):
    """A failure worth one line on stderr and exit code 1, not a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wcofeed",
        description="Feeds and deadline reminders for the news and calls of the WCO.",
    )
    config_help = "config file (default: ./config.toml)"
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, metavar="PATH", help=config_help
    )
    # Also accepted after the command; SUPPRESS keeps the sub-parser from resetting a
    # value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, default=argparse.SUPPRESS, metavar="PATH", help=config_help
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, parents=[common])
        if cmd.arguments:
            cmd.arguments(p)
        p.set_defaults(handler=cmd.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = with_signing_secret(load_settings(args.config))
    except ConfigError as exc:
        print(f"wcofeed: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log)
    try:
        handler: Handler = args.handler
        return asyncio.run(handler(settings, args))
    except (CommandError, SchemaTooNewError) as exc:
        print(f"wcofeed {args.command}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


# --- init -----------------------------------------------------------------------------


@command("init", "create the database, or migrate it to the current schema")
async def cmd_init(settings: Settings, args: argparse.Namespace) -> int:
    async with await open_store(settings.database.path) as store:
        version = await store.schema_version()
    print(f"database {settings.database.path} ready (schema version {version})")
    return EXIT_OK


# --- items ----------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _items_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=KINDS, action="append", help="only this kind (repeatable)")
    p.add_argument("--lang", action="append", metavar="L", help="content language (repeatable)")
    p.add_argument("--topic", action="append", metavar="T", help="topic slug (repeatable)")
    p.add_argument("--q", default="", metavar="TEXT", help="full-text search in title and summary")
    p.add_argument(
        "--limit", type=_positive, default=20, metavar="N", help="at most N (default 20)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line, every field")


@command("items", "list stored items, newest first", _items_arguments)
async def cmd_items(settings: Settings, args: argparse.Namespace) -> int:
    query = ItemQuery(
        languages=tuple(args.lang or ()),
        topics=tuple(args.topic or ()),
        kinds=tuple(args.kind or ()),
        q=args.q,
        limit=args.limit,
    )
    async with await open_store(settings.database.path) as store:
        items = await store.query_items(query)
    if args.json:
        for item in items:
            print(json.dumps(item_to_dict(item), ensure_ascii=False))
    else:
        print_item_table(items, sys.stdout)
    return EXIT_OK


def print_item_table(items: Sequence[Item], out: TextIO) -> None:
    """A fixed-width table a person can scan in a terminal."""
    if not items:
        print("no items", file=out)
        return
    print(f"{'published':<10}  {'kind':<11}  {'lang':<4}  {'deadline':<10}  title", file=out)
    for item in items:
        deadline = item.deadline.day.isoformat() if item.deadline else ""
        title = item.title if len(item.title) <= 70 else item.title[:69] + "…"
        print(
            f"{item.published_at.date().isoformat():<10}  {item.kind:<11}  "
            f"{item.language:<4}  {deadline:<10}  {title}",
            file=out,
        )


# --- publish --------------------------------------------------------------------------


@command("publish", "write every feed file, the feed index and the OPML list")
async def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    async with await open_store(settings.database.path) as store:
        report = await publish_all(settings, store)
    print(f"feeds in {settings.publish.feeds_dir}: {report.summary()}")
    for error in report.ping_errors:
        print(f"warning: {error}", file=sys.stderr)
    return EXIT_OK


# --- serve ----------------------------------------------------------------------------


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=_positive, metavar="N", help="port (default: server.port)")


@command("serve", "serve pages, feeds and the API over HTTP, without schedules", _serve_arguments)
async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args.port, schedule=False)


@command(
    "run",
    "the service: serve HTTP, fetch each source on its schedule, publish, send reminders",
    _serve_arguments,
)
async def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    return await _serve(settings, args.port, schedule=True)


async def _serve(settings: Settings, port: int | None, *, schedule: bool) -> int:
    from wcofeed.service import Service

    async with await open_store(settings.database.path) as store:
        service = Service(settings, store)
        try:
            await service.serve(port, schedule=schedule)
        except OSError as exc:
            where = f"{settings.server.host}:{port or settings.server.port}"
            raise CommandError(f"cannot listen on {where}: {exc.strerror}") from None
    return EXIT_OK


# --- ingest ---------------------------------------------------------------------------


def _ingest_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "source_ids",
        nargs="*",
        metavar="SOURCE_ID",
        help="sources to fetch (default: every enabled source)",
    )


def print_ingest_table(report: IngestReport, out: TextIO) -> None:
    """One line per source: what it added, changed, kept, and why it failed."""
    width = max([len("source"), *(len(s.id) for s in report.sources)])
    print(f"{'source':<{width}}  {'new':>5}  {'changed':>7}  {'unchanged':>9}  status", file=out)
    for s in report.sources:
        status = (
            "failed: " + (s.error or "")
            if s.failed
            else ("not modified" if s.not_modified else "ok")
        )
        print(f"{s.id:<{width}}  {s.new:>5}  {s.changed:>7}  {s.unchanged:>9}  {status}", file=out)


class _Progress:
    """A one-line progress bar on a terminal; plain log lines otherwise."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.done, self.out = total, 0, out
        self.tty = out.isatty()

    def __call__(self, source: SourceReport) -> None:
        self.done += 1
        if self.tty:
            filled = int(30 * self.done / max(1, self.total))
            bar = "#" * filled + "-" * (30 - filled)
            print(
                f"\r[{bar}] {self.done}/{self.total} {source.id[:40]:<40}",
                end="",
                file=self.out,
                flush=True,
            )
            if self.done == self.total:
                print(file=self.out)
        else:
            state = (
                f"failed: {source.error}"
                if source.failed
                else (f"new={source.new} changed={source.changed} unchanged={source.unchanged}")
            )
            print(
                f"ingest {self.done}/{self.total} {source.id}: {state}", file=self.out, flush=True
            )


@command("ingest", "fetch sources and store their items", _ingest_arguments)
async def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    try:
        sources = select_sources(settings, args.source_ids)
    except KeyError as exc:
        raise CommandError(f"unknown source {exc.args[0]!r}") from None
    if not sources:
        raise CommandError("no enabled sources in the config")
    progress = _Progress(len(sources), sys.stderr if sys.stdout.isatty() else sys.stdout)
    async with await open_store(settings.database.path) as store:
        report = await ingest(settings, store, [s.id for s in sources], on_done=progress)
        print_ingest_table(report, sys.stdout)
        if report.results:
            published = await publish_all(settings, store, report.results)
            print(f"feeds in {settings.publish.feeds_dir}: {published.summary()}")
    return EXIT_FAILURE if report.all_failed else EXIT_OK


# --- add ------------------------------------------------------------------------------


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="the item as a JSON object ('-' for stdin)")
    p.add_argument("--title", help="title of the item")
    p.add_argument("--url", help="link to the item's page")
    p.add_argument("--summary", help="plain-text summary")
    p.add_argument("--summary-html", dest="summary_html", help="HTML summary (sanitised)")
    p.add_argument("--published", help="date or datetime, ISO 8601 (default: now)")
    p.add_argument("--deadline", help="deadline date or datetime, ISO 8601")
    p.add_argument("--kind", choices=KINDS, help="default: call with a deadline, else guessed")
    p.add_argument("--language", help="content language code (default: site default)")
    p.add_argument(
        "--topic", action="append", dest="topics", metavar="SLUG", help="topic slug (repeatable)"
    )
    p.add_argument("--source", default="manual", help="source id recorded (default: manual)")
    p.add_argument("--guid", help="stable id (default: the canonical link)")


def _add_payload(args: argparse.Namespace) -> dict[str, object]:
    if args.json:
        try:
            text = sys.stdin.read() if args.json == "-" else Path(args.json).read_text("utf-8")
            data = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"--json {args.json}: {exc}") from None
        if not isinstance(data, dict):
            raise CommandError(f"--json {args.json}: expected one JSON object")
        return data
    fields = (
        "title",
        "url",
        "summary",
        "summary_html",
        "published",
        "deadline",
        "kind",
        "topics",
        "guid",
    )
    return {k: getattr(args, k) for k in fields if getattr(args, k) is not None}


@command("add", "store one hand-entered item", _add_arguments)
async def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    parsers = Parsers.from_settings(settings)
    payload = _add_payload(args)
    try:
        item = item_from_entry(
            payload,
            source=args.source,
            language=args.language or settings.site.default_language,
            topics=parsers.topics,
            kinds=parsers.kinds,
            now=now,
        )
    except ItemError as exc:
        raise CommandError(f"item not stored: {exc}") from None
    async with await open_store(settings.database.path) as store:
        existing = await store.get_item(item.guid)
        if existing is not None and not payload.get("published"):
            # adding the same item again must not move its date to today
            item = dataclasses.replace(item, published=existing.published)
        result = await store.upsert_item(item, now)
        print(f"{result.outcome.value}: {item.guid}")
        if result.outcome is not UpsertOutcome.UNCHANGED:
            published = await publish_all(settings, store, [result])
            print(f"feeds in {settings.publish.feeds_dir}: {published.summary()}")
    return EXIT_OK


# --- digest and subscribers -------------------------------------------------------------


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

    async with await open_store(settings.database.path) as store:
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


def _subscribers_arguments(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add or update a subscriber")
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--lang", default="", help="email and content language (default: site's)")
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
    lister = actions.add_parser("list", help="list subscribers")
    lister.add_argument(
        "--status", action="append", choices=("pending", "active", "paused", "unsubscribed")
    )
    remove = actions.add_parser("remove", help="delete a subscriber and their history")
    remove.add_argument("email", metavar="EMAIL")
    export = actions.add_parser("export", help="write all subscribers as CSV or JSON")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path, metavar="FILE", help="default: standard output")


@command("subscribers", "add, list, remove or export subscribers", _subscribers_arguments)
async def cmd_subscribers(settings: Settings, args: argparse.Namespace) -> int:
    async with await open_store(settings.database.path) as store:
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
                _export_subscribers(rows, args.format, args.output)
    return EXIT_OK


async def _subscriber_add(settings: Settings, store: Store, args: argparse.Namespace) -> None:
    from wcofeed.digest.run import DeliveryError, request_confirmation
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
