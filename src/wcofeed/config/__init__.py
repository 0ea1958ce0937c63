"""`config.toml` -> frozen, typed settings.

`schema.py` holds the settings (every key a dataclass field with a default and a help
text), `loading.py` reads and checks a file strictly, `reference.py` generates the
README's reference and `starter.py` the config that `wcofeed init` writes.
"""

from __future__ import annotations

from wcofeed.config.loading import (
    SECRET_MIN_LENGTH,
    load_settings,
    resolve_url,
    with_signing_secret,
)
from wcofeed.config.schema import (
    DEFAULT_CONFIG,
    ConfigError,
    DatabaseSettings,
    EmailSettings,
    FetchSettings,
    IngestSettings,
    LogSettings,
    Profile,
    PublishSettings,
    SecuritySettings,
    SelectorSettings,
    ServerSettings,
    Settings,
    SiteSettings,
    SmtpSettings,
    SourceSettings,
    SourceType,
    TopicSettings,
    WorkersSettings,
)

__all__ = [
    "DEFAULT_CONFIG",
    "SECRET_MIN_LENGTH",
    "ConfigError",
    "DatabaseSettings",
    "EmailSettings",
    "FetchSettings",
    "IngestSettings",
    "LogSettings",
    "Profile",
    "PublishSettings",
    "SecuritySettings",
    "SelectorSettings",
    "ServerSettings",
    "Settings",
    "SiteSettings",
    "SmtpSettings",
    "SourceSettings",
    "SourceType",
    "TopicSettings",
    "WorkersSettings",
    "load_settings",
    "resolve_url",
    "with_signing_secret",
]
