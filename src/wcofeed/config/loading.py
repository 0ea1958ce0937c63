"""Reading `config.toml` into `Settings`, strictly.

An unknown key, a missing required key or a wrong type stops start-up with one message
naming the file and the key. Secrets can come from the environment
(`WCOFEED_<SECTION>_<KEY>`, upper case), which wins over the file so that the file can
be committed without them. Paths are relative to the config file's folder.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wcofeed.config.schema import DEFAULT_CONFIG, ConfigError, Settings
from wcofeed.models import KINDS


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
    for language, fallbacks in settings.site.fallback_languages.items():
        where = f"site.fallback_languages.{language}"
        for code in [language, *fallbacks]:
            if code not in settings.site.languages:
                raise ConfigError(f"{where}: {code!r} is not one of site.languages")
    url = settings.database.url
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("database.url: must be a postgresql:// URL (or empty for SQLite)")
    if urlsplit(settings.site.base_url).scheme not in ("http", "https"):
        raise ConfigError("site.base_url: must be an http(s) URL")
    if not 0 < settings.server.port < 65536:
        raise ConfigError("server.port: must be between 1 and 65535")
    if settings.server.header_timeout <= 0:
        raise ConfigError("server.header_timeout: must be more than 0 seconds")
    if settings.server.max_connections_per_client < 1:
        raise ConfigError("server.max_connections_per_client: must be 1 or more")
    for i, proxy in enumerate(settings.server.trusted_proxies):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            message = f"not an IP address or network (CIDR): {proxy!r}"
            raise ConfigError(f"server.trusted_proxies[{i}]: {message}") from None
    token = settings.security.admin_token
    if token and len(token) < ADMIN_TOKEN_MIN_LENGTH:
        raise ConfigError(
            f"security.admin_token: shorter than {ADMIN_TOKEN_MIN_LENGTH} characters; use "
            "e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    for key in ("confirmations_per_mailbox", "confirmations_per_domain"):
        if getattr(settings.email, key) < 1:
            raise ConfigError(f"email.{key}: must be 1 or more")
    if not 0 <= settings.email.send_hour <= 23:
        raise ConfigError("email.send_hour: must be between 0 and 23")
    if settings.ingest.new_item_max_age_days < 0:
        raise ConfigError("ingest.new_item_max_age_days: must be 0 or more")
    for key in (
        "max_items_per_page",
        "max_title_chars",
        "max_summary_chars",
        "max_link_chars",
        "max_nesting_depth",
    ):
        if getattr(settings.ingest, key) < 1:
            raise ConfigError(f"ingest.{key}: must be 1 or more")
    seen: set[str] = set()
    for i, source in enumerate(settings.sources):
        where = f"sources[{i}]"
        if source.id in seen:
            raise ConfigError(f"{where}.id: duplicate source id {source.id!r}")
        seen.add(source.id)
        if source.type == "html" and source.profile == "css" and source.selectors is None:
            raise ConfigError(f"{where}.selectors: required when profile = 'css'")
        if source.every < 60 and not (_on_this_machine(source.url) and source.every >= 1):
            raise ConfigError(
                f"{where}.every: must be at least 60 seconds (1 for a source on this machine)"
            )
        if source.details_per_run < 0:
            raise ConfigError(f"{where}.details_per_run: must be 0 or more")
        if source.details_every < 60:
            raise ConfigError(f"{where}.details_every: must be at least 60 seconds")
        if source.kind and source.kind not in KINDS:
            raise ConfigError(f"{where}.kind: must be {_either(KINDS)}")
    for key in ("lease_seconds", "poll_seconds", "digest_every_seconds"):
        if getattr(settings.workers, key) <= 0:
            raise ConfigError(f"workers.{key}: must be more than 0 seconds")
    for slug, topic in settings.topics.items():
        if "en" not in topic.labels:
            raise ConfigError(f"topics.{slug}.labels: an 'en' label is required")


def _on_this_machine(url: str) -> bool:
    """A source on loopback (a local mirror, a test server) may be polled faster: it
    costs nobody else anything."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


#: Minimum length of a signing key; shorter ones are refused where tokens are made.
SECRET_MIN_LENGTH = 16
#: Minimum length of the admin token: guessing it must stay out of reach even without
#: the per-client limit on failed attempts.
ADMIN_TOKEN_MIN_LENGTH = 32


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
