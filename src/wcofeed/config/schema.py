"""The settings: frozen dataclasses, one per table of `config.toml`.

Settings are data: every key is a dataclass field with a default (or none, when
required) and a help text in its metadata, which the loader, the README's reference
and the starter config all read. A field marked `secret` can come from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wcofeed.models import KINDS

DEFAULT_CONFIG = Path("config.toml")
#: What every language falls back to unless `site.fallback_languages` says otherwise:
#: the WCO publishes most of its items in English only.
DEFAULT_FALLBACK = "en"


class ConfigError(Exception):
    """A config problem, worded for the person who edits the file."""


def _opt(default: Any, help: str, **meta: Any) -> Any:
    if isinstance(default, list | dict):
        return field(
            default_factory=lambda: type(default)(default), metadata={"help": help, **meta}
        )
    return field(default=default, metadata={"help": help, **meta})


def _req(help: str) -> Any:
    return field(metadata={"help": help})


@dataclass(frozen=True)
class DatabaseSettings:
    path: Path = _opt(Path("wcofeed.db"), "SQLite database file (when `url` is empty).")
    url: str = _opt(
        "",
        "A shared PostgreSQL database, `postgresql://user@host:5432/name` (env "
        "WCOFEED_DATABASE_URL, for the password); empty: the SQLite file at `path`. "
        "Several `wcofeed run` processes may share one (see docs/sizing.md).",
        secret=True,
    )

    @property
    def location(self) -> Path | str:
        """What `wcofeed.store.open_store` opens: the URL when set, else the file."""
        return self.url or self.path


@dataclass(frozen=True)
class SiteSettings:
    base_url: str = _opt(
        "http://127.0.0.1:8080", "Public URL of the service, used in feed and email links."
    )
    title: str = _opt(
        "",
        'Site title shown in feeds, pages and emails, as written; empty: "WCO news and '
        'calls" in each interface language.',
    )
    languages: list[str] = _opt(
        ["en", "fr", "es", "ru", "zh", "ar"], "Languages offered in feeds and pages."
    )
    default_language: str = _opt("en", "Language used when nothing else decides.")
    fallback_languages: dict[str, list[str]] = _opt(
        {},
        "Per language, the languages whose items fill its edition (feeds, pages, emails) "
        'where an item has no version in it, best first, e.g. { ar = ["fr", "en"] }; a '
        "language not listed falls back to English; [] for none.",
    )
    timezone: str = _opt("Europe/Brussels", "Time zone for schedules and dates without one.")
    templates_dir: Path | None = _opt(
        None, "Folder of jinja2 templates; default: the templates shipped with wcofeed."
    )


@dataclass(frozen=True)
class ServerSettings:
    host: str = _opt("127.0.0.1", "Address the HTTP server listens on.")
    port: int = _opt(8080, "Port the HTTP server listens on.")
    change_check_seconds: float = _opt(
        1.0,
        "Seconds a served feed is trusted before the store (or, for a file under "
        "/feeds/, the file) is asked whether anything changed (0: on every request, "
        "and a request waits for the answer; above 0, it waits at most 50 ms for a "
        "look or re-render, then gets the previous answer).",
    )
    header_timeout: float = _opt(
        10.0,
        "Seconds a connection may take to send a request's headers, from connecting or "
        "from the end of its previous answer; then it is closed (idle keep-alive too).",
    )
    max_connections_per_client: int = _opt(
        32,
        "Connections one client address may hold open at once; more are answered 503 "
        "and closed. Connections from trusted_proxies are not counted.",
    )
    trusted_proxies: list[str] = _opt(
        [],
        "Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For header "
        "names the client (for per-client limits); empty: the socket's address is used.",
    )


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = _opt(
        "wcofeed/0.1 (+https://github.com/wcofeed/wcofeed)", "User-Agent sent with every fetch."
    )
    connect_timeout: float = _opt(10.0, "Seconds to wait for a connection.")
    read_timeout: float = _opt(30.0, "Seconds to wait between bytes of a response.")
    total_timeout: float = _opt(
        300.0,
        "Seconds one attempt may take in all, so a body that trickles in just fast enough "
        "to dodge read_timeout still ends.",
    )
    max_bytes: int = _opt(10_000_000, "Largest response body accepted, in bytes.")
    retries: int = _opt(2, "Retries after a timeout or a 5xx answer.")
    backoff: float = _opt(1.0, "First retry delay in seconds; doubles each retry.")
    max_redirects: int = _opt(5, "Redirects followed before a fetch fails.")
    per_host_concurrency: int = _opt(2, "Fetches in flight at once to one host.")
    per_host_delay: float = _opt(1.0, "Seconds between two fetches to one host.")


@dataclass(frozen=True)
class SelectorSettings:
    item: str = _req("CSS selector of one item block.")
    title: str = _req("CSS selector of the title, inside an item.")
    link: str = _opt("a", "CSS selector of the link (its href), inside an item.")
    date: str = _opt("", "CSS selector of the date, inside an item.")
    summary: str = _opt("", "CSS selector of the summary, inside an item.")
    deadline: str = _opt("", "CSS selector of the deadline line, inside an item.")


SourceType = Literal["html", "feed", "json"]
DetailMode = Literal["auto", "always", "never"]
Profile = Literal["auto", "css", "wco-newsroom", "wco-home", "wco-topic", "wco-list"]


@dataclass(frozen=True)
class SourceSettings:
    id: str = _req("Stable identifier of the source (a slug).")
    url: str = _req("http(s) URL, or a file path relative to the config file.")
    type: SourceType = _opt("html", "html, feed (RSS/Atom/JSON Feed) or json (hand-entered items).")
    profile: Profile = _opt(
        "auto",
        "For html: auto (recognise the WCO page kind), a WCO profile (wco-newsroom, "
        "wco-home, wco-topic, wco-list), or css (with selectors).",
    )
    ui_language: str = _opt("en", "Interface language of the page: how its dates and labels read.")
    topics: list[str] = _opt([], "Topic slugs given to every item of this source.")
    kind: str = _opt("", f"Kind forced on every item ({', '.join(KINDS)}); empty: guess.")
    every: int = _opt(
        3600,
        "Seconds between two fetches in `wcofeed run`, at least 60 (1 for a source on "
        "this machine: 127.0.0.1, localhost).",
    )
    enabled: bool = _opt(True, "false skips the source everywhere.")
    selectors: SelectorSettings | None = _opt(None, "For profile = css: the selectors table.")
    details: DetailMode = _opt(
        "auto",
        "Read each item's own page for its full text, date, deadline and documents: "
        "always, never, or auto (on for html sources read with a WCO profile, from the "
        "web or with detail_pages).",
    )
    details_per_run: int = _opt(
        20, "Most item pages read per run of this source; the rest wait for the next run."
    )
    details_every: int = _opt(
        604800,
        "Seconds after which an item's page is read again though the list shows no "
        "change (a page that failed is retried sooner, doubling the wait each time).",
    )
    detail_pages: Path | None = _opt(
        None,
        "Folder of saved item pages read instead of the web (offline snapshots): an "
        "item's page is <folder>/<host>/<path>; items with no saved page are not read.",
    )

    def reads_details(self) -> bool:
        """Whether this source's items' own pages are read (`details`). `auto` reads
        them for a WCO page fetched from the web, or with saved pages to read them from:
        a list read from a local snapshot is offline use, whose pages are not fetched."""
        if self.details == "auto":
            online = self.url.startswith(("http://", "https://")) or self.detail_pages is not None
            return self.type == "html" and self.profile != "css" and online
        return self.details == "always"


@dataclass(frozen=True)
class TopicSettings:
    labels: dict[str, str] = _req("Label per language code; `en` is required.")
    keywords: list[str] = _opt([], "Words or phrases (any language) that tag an item with it.")


@dataclass(frozen=True)
class IngestSettings:
    call_cues: dict[str, list[str]] = _opt(
        {}, "Extra words per language that mark an item as a call for applications."
    )
    new_item_max_age_days: int = _opt(
        7,
        "An item a source starts listing after its first fetch is news (announced in "
        "digests) unless its own date is older than this many days; what the first fetch "
        "finds is back catalogue, news only by its own date.",
    )
    max_items_per_page: int = _opt(
        10_000,
        "Items read from one page or feed; the rest are left out with a warning.",
    )
    max_title_chars: int = _opt(
        500, "Longest item title kept, in characters; a longer one is cut, with a warning."
    )
    max_summary_chars: int = _opt(
        20_000,
        "Longest item summary kept, in characters of its HTML; a longer one is cut, with a "
        "warning.",
    )
    max_link_chars: int = _opt(
        2_048,
        "Longest item link kept, in characters; an item with a longer one keeps no link "
        "of its own (it points at its page), with a warning.",
    )
    max_nesting_depth: int = _opt(
        512,
        "Deepest element nesting an HTML page may have; a deeper page is refused before "
        "it is parsed (parsing deep nesting takes minutes).",
    )


@dataclass(frozen=True)
class PublishSettings:
    feeds_dir: Path = _opt(Path("feeds"), "Folder the static feed files are written to.")
    items_per_feed: int = _opt(50, "Entries in each static feed file and first HTTP page.")
    max_limit: int = _opt(200, "Largest `limit` a feed query may ask for.")
    closing_soon_days: int = _opt(30, "Window of the `calls closing soon` feed, in days.")
    calendar_events: int = _opt(
        200, "Most events in a calendar (.ics) of open calls, soonest deadlines first."
    )
    websub_hub: str = _opt("", "WebSub hub URL to advertise and ping; empty: none.")
    cache_seconds: int = _opt(300, "Cache-Control max-age of served feeds.")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = _opt("", "SMTP server; empty: emails are written to the outbox folder.")
    port: int = _opt(587, "SMTP port.")
    security: Literal["starttls", "tls", "none"] = _opt(
        "starttls", "starttls, tls (implicit TLS) or none."
    )
    username: str = _opt("", "SMTP login name; empty: no login.")
    password: str = _opt("", "SMTP password (env WCOFEED_SMTP_PASSWORD).", secret=True)
    timeout: float = _opt(30.0, "Seconds before an SMTP command times out.")
    concurrency: int = _opt(4, "SMTP connections used at once.")
    retries: int = _opt(
        3, "Retries of a message after a temporary (4xx) failure or a lost connection."
    )
    retry_delay: float = _opt(1.0, "Seconds before the first retry; doubles each retry.")


@dataclass(frozen=True)
class EmailSettings:
    from_address: str = _opt("wcofeed <noreply@localhost>", "From header of every email.")
    outbox_dir: Path = _opt(Path("outbox"), "Folder for .eml files when no SMTP host is set.")
    list_id: str = _opt("wcofeed.localhost", "List-Id of the mailing (a domain-like name).")
    lead_days: list[int] = _opt([14, 3, 1], "Default reminder lead times, days before a deadline.")
    send_hour: int = _opt(8, "Hour (site.timezone) at which `wcofeed run` starts a digest round.")
    max_bounces: int = _opt(3, "Hard bounces after which a subscriber is paused.")
    max_items: int = _opt(50, "Most calls, and most new items, listed in one email.")
    confirmations_per_mailbox: int = _opt(
        2,
        "Confirmation emails an hour to one mailbox, its variants (case, +tags, dots in "
        "the local part, a trailing dot) counted as one.",
    )
    confirmations_per_domain: int = _opt(
        30, "Confirmation emails an hour to the addresses of one mail domain."
    )


@dataclass(frozen=True)
class SecuritySettings:
    secret_key: str = _opt(
        "",
        "Key that signs email links (env WCOFEED_SECURITY_SECRET_KEY); empty: one is "
        "generated and kept in .wcofeed-secret beside the database.",
        secret=True,
    )
    admin_token: str = _opt(
        "",
        "Bearer token of the admin API, at least 32 characters; empty: API off "
        "(env WCOFEED_SECURITY_ADMIN_TOKEN).",
        secret=True,
    )


@dataclass(frozen=True)
class WorkersSettings:
    lease_seconds: float = _opt(
        600.0,
        "With PostgreSQL, several `wcofeed run` processes share the work: a source is "
        "fetched by the one holding its lease, which expires after this long if its "
        "holder hangs (one that dies frees it at once). Longer than a fetch can take.",
    )
    poll_seconds: float = _opt(
        5.0,
        "How often a process asks for a due source's lease at most; with several "
        "processes, a source is fetched at most this late.",
    )
    digest_every_seconds: float = _opt(
        3600.0,
        "Seconds between reminder and digest rounds in `wcofeed run`; rounds start at "
        "multiples of it (3600: at the top of each hour).",
    )


@dataclass(frozen=True)
class LogSettings:
    level: Literal["debug", "info", "warning", "error"] = _opt("info", "Lowest level logged.")
    json: bool = _opt(False, "One JSON object per log line instead of plain text.")


@dataclass(frozen=True)
class Settings:
    """The whole configuration; `path` is the file it came from."""

    path: Path = field(metadata={"help": "", "internal": True})
    database: DatabaseSettings = _opt(DatabaseSettings(), "")
    site: SiteSettings = _opt(SiteSettings(), "")
    server: ServerSettings = _opt(ServerSettings(), "")
    fetch: FetchSettings = _opt(FetchSettings(), "")
    ingest: IngestSettings = _opt(IngestSettings(), "")
    publish: PublishSettings = _opt(PublishSettings(), "")
    smtp: SmtpSettings = _opt(SmtpSettings(), "")
    email: EmailSettings = _opt(EmailSettings(), "")
    security: SecuritySettings = _opt(SecuritySettings(), "")
    workers: WorkersSettings = _opt(WorkersSettings(), "")
    log: LogSettings = _opt(LogSettings(), "")
    sources: list[SourceSettings] = _opt([], "")
    topics: dict[str, TopicSettings] = _opt({}, "")

    def topic_label(self, slug: str, language: str) -> str:
        """A topic's label in `language` (or its base language), else English, else the slug."""
        topic = self.topics.get(slug)
        if topic is None:
            return slug
        labels = topic.labels
        return labels.get(language) or labels.get(language.split("-")[0]) or labels.get("en", slug)

    def edition(self, language: str) -> tuple[str, ...]:
        """The content languages of `language`'s edition, best first: itself, then its
        fallbacks. An item shows in the version of the first one that has it."""
        fallbacks = self.site.fallback_languages.get(language, [DEFAULT_FALLBACK])
        return tuple(dict.fromkeys([language, *fallbacks]))

    def source(self, source_id: str) -> SourceSettings:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)
