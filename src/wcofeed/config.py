"""`config.toml` -> frozen, typed settings.

Settings are data: every key is a dataclass field with a default (or none, when
required) and a help text in its metadata; the README's config reference must name
every key (a test checks it). Loading is strict: an unknown key, a missing required
key or a wrong type stops start-up with one message naming the file and the key.
Secrets can come from the environment (`WCOFEED_<SECTION>_<KEY>`, upper case), which
wins over the file so that the file can be committed without them. Paths are
relative to the config file's folder.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcofeed.models import KINDS

DEFAULT_CONFIG = Path("config.toml")


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
    path: Path = _opt(Path("wcofeed.db"), "SQLite database file.")


@dataclass(frozen=True)
class SiteSettings:
    base_url: str = _opt(
        "http://127.0.0.1:8080", "Public URL of the service, used in feed and email links."
    )
    title: str = _opt("WCO news and calls", "Site title shown in feeds, pages and emails.")
    languages: list[str] = _opt(
        ["en", "fr", "es", "ru", "zh", "ar"], "Languages offered in feeds and pages."
    )
    default_language: str = _opt("en", "Language used when nothing else decides.")
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
        "Seconds a served feed is trusted before the store is asked whether anything "
        "changed (0: on every request).",
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
    every: int = _opt(3600, "Seconds between two fetches in `wcofeed run`.")
    enabled: bool = _opt(True, "false skips the source everywhere.")
    selectors: SelectorSettings | None = _opt(None, "For profile = css: the selectors table.")


@dataclass(frozen=True)
class TopicSettings:
    labels: dict[str, str] = _req("Label per language code; `en` is required.")
    keywords: list[str] = _opt([], "Words or phrases (any language) that tag an item with it.")


@dataclass(frozen=True)
class IngestSettings:
    call_cues: dict[str, list[str]] = _opt(
        {}, "Extra words per language that mark an item as a call for applications."
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
        "Bearer token of the admin API; empty: API off (env WCOFEED_SECURITY_ADMIN_TOKEN).",
        secret=True,
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

    def source(self, source_id: str) -> SourceSettings:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)


def load_settings(
    path: Path | str = DEFAULT_CONFIG, env: Mapping[str, str] | None = None
) -> Settings:
    """Read, type-check and complete the config file; raise ConfigError naming the key."""
    path = Path(path)
    env = os.environ if env is None else env
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use --config PATH)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    base = path.resolve().parent
    try:
        raw = _apply_env(raw, env)
        values = _build_fields(Settings, raw, "", base, skip={"path"})
        settings = Settings(path=path, **values)
        _check(settings)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return settings


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    raw = dict(raw)
    for section in dataclasses.fields(Settings):
        section_type = _resolved_hints(Settings)[section.name]
        if not dataclasses.is_dataclass(section_type):
            continue
        for f in dataclasses.fields(section_type):
            if not f.metadata.get("secret"):
                continue
            value = env.get(f"WCOFEED_{section.name}_{f.name}".upper())
            if value:
                table = raw.get(section.name, {})
                if isinstance(table, dict):
                    raw[section.name] = {**table, f.name: value}
    return raw


def _resolved_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build_fields(
    cls: type, raw: Any, where: str, base: Path, skip: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'top level'}: expected a table")
    hints = _resolved_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)} - set(skip)
    for key in raw:
        if key not in names:
            raise ConfigError(f"{_join(where, key)}: unknown key")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        key = _join(where, f.name)
        if f.name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: required key missing")
            hint = hints[f.name]
            if dataclasses.is_dataclass(hint) and isinstance(hint, type):
                values[f.name] = hint(**_build_fields(hint, {}, key, base))
            elif isinstance(f.default, Path):
                values[f.name] = (base / f.default).resolve()
            continue
        values[f.name] = _convert(hints[f.name], raw[f.name], key, base)
    return values


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _convert(hint: Any, value: Any, key: str, base: Path) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, key, base)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{key}: expected one of {choices}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {_what(value)}")
        return [_convert(args[0], v, f"{key}[{i}]", base) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {_what(value)}")
        return {k: _convert(args[1], v, _join(key, k), base) for k, v in value.items()}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint(**_build_fields(hint, value, key, base))
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key}: expected a path string, got {_what(value)}")
        return (base / value).resolve()
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in _TYPE_WORDS:
        ok = isinstance(value, hint) and (hint is bool or not isinstance(value, bool))
        if not ok:
            raise ConfigError(f"{key}: expected {_TYPE_WORDS[hint]}, got {_what(value)}")
        return value
    raise ConfigError(f"{key}: unsupported setting type {hint!r}")  # pragma: no cover


def _either(choices: Sequence[str]) -> str:
    """`a, b or c`."""
    return f"{', '.join(choices[:-1])} or {choices[-1]}"


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _check(settings: Settings) -> None:
    """Rules that span keys or need more than a type."""
    try:
        ZoneInfo(settings.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"site.timezone: unknown time zone {settings.site.timezone!r}") from None
    if settings.site.default_language not in settings.site.languages:
        raise ConfigError("site.default_language: must be one of site.languages")
    if urlsplit(settings.site.base_url).scheme not in ("http", "https"):
        raise ConfigError("site.base_url: must be an http(s) URL")
    if not 0 < settings.server.port < 65536:
        raise ConfigError("server.port: must be between 1 and 65535")
    if not 0 <= settings.email.send_hour <= 23:
        raise ConfigError("email.send_hour: must be between 0 and 23")
    seen: set[str] = set()
    for i, source in enumerate(settings.sources):
        where = f"sources[{i}]"
        if source.id in seen:
            raise ConfigError(f"{where}.id: duplicate source id {source.id!r}")
        seen.add(source.id)
        if source.type == "html" and source.profile == "css" and source.selectors is None:
            raise ConfigError(f"{where}.selectors: required when profile = 'css'")
        if source.every < 60:
            raise ConfigError(f"{where}.every: must be at least 60 seconds")
        if source.kind and source.kind not in KINDS:
            raise ConfigError(f"{where}.kind: must be {_either(KINDS)}")
    for slug, topic in settings.topics.items():
        if "en" not in topic.labels:
            raise ConfigError(f"topics.{slug}.labels: an 'en' label is required")


#: Minimum length of a signing key; shorter ones are refused where tokens are made.
SECRET_MIN_LENGTH = 16


def with_signing_secret(settings: Settings) -> Settings:
    """Settings whose `security.secret_key` is set, generating one on first use.

    Signed email links must outlive restarts, so a generated key is kept in a file
    beside the database (mode 0600) and read back next time. A key configured in the
    file or the environment always wins, and the file is then never created.
    """
    if settings.security.secret_key:
        return settings
    path = settings.database.path.parent / ".wcofeed-secret"
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) < SECRET_MIN_LENGTH:
        key = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
    security = dataclasses.replace(settings.security, secret_key=key)
    return dataclasses.replace(settings, security=security)


def resolve_url(settings: Settings, url: str) -> str:
    """A source URL as given, or a local path made absolute against the config's folder."""
    if urlsplit(url).scheme in ("http", "https", "file"):
        return url
    return str((settings.path.resolve().parent / url).resolve())


def _sections() -> list[tuple[str, str, type]]:
    """(TOML header, key prefix, settings class) for every documented table."""
    sections: list[tuple[str, str, type]] = []
    hints = _resolved_hints(Settings)
    for section in dataclasses.fields(Settings):
        if section.metadata.get("internal"):
            continue
        hint = hints[section.name]
        origin = typing.get_origin(hint)
        if origin is list:
            cls = typing.get_args(hint)[0]
            sections.append((f"[[{section.name}]]", f"{section.name}[]", cls))
        elif origin is dict:
            cls = typing.get_args(hint)[1]
            sections.append((f"[{section.name}.<slug>]", f"{section.name}.<slug>", cls))
        else:
            sections.append((f"[{section.name}]", section.name, hint))
    sections.append(("[sources.selectors]", "sources[].selectors", SelectorSettings))
    return sections


def documented_keys() -> list[str]:
    """Every config key as `section.key` (or `sources[].key`), for the docs test."""
    return [f"{prefix}.{f.name}" for _, prefix, cls in _sections() for f in dataclasses.fields(cls)]


def reference_markdown() -> str:
    """The README's config reference, generated from the settings' own help texts."""
    lines: list[str] = []
    for title, prefix, cls in _sections():
        lines += [f"`{title}`", "", "| key | default | meaning |", "| --- | --- | --- |"]
        for f in dataclasses.fields(cls):
            lines.append(f"| `{prefix}.{f.name}` | {_default_text(f)} | {f.metadata['help']} |")
        lines.append("")
    return "\n".join(lines)


def _default_text(f: dataclasses.Field[Any]) -> str:
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        return "required"
    factory = f.default_factory
    value = f.default if factory is dataclasses.MISSING else factory()
    if value is None or value == "" or value == [] or value == {}:
        return "(empty)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str | Path):
        return f'`"{value}"`'
    return f"`{value}`"
