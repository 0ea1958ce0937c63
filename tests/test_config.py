from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO
from wcofeed.config import ConfigError, load_settings, with_signing_secret
from wcofeed.config.reference import documented_keys, reference_markdown

WriteConfig = Callable[..., Path]


def test_empty_file_gives_defaults_with_paths_next_to_it(write_config: WriteConfig) -> None:
    path = write_config("")
    settings = load_settings(path, env={})
    assert settings.database.path == path.parent / "wcofeed.db"
    assert settings.publish.feeds_dir == path.parent / "feeds"
    assert settings.server.port == 8080
    assert settings.sources == []


def test_relative_paths_follow_the_config_file_not_the_cwd(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config('[database]\npath = "data/db.sqlite"\n')
    monkeypatch.chdir(tmp_path.parent)
    assert load_settings(path, env={}).database.path == tmp_path / "data" / "db.sqlite"


def test_the_shipped_config_loads() -> None:
    settings = load_settings(REPO / "config.toml", env={})
    assert settings.database.path == REPO / "wcofeed.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[databse]\npath = 'x.db'\n", "databse: unknown key"),
        ("[server]\nprot = 80\n", "server.prot: unknown key"),
        ("[server]\nport = 'eighty'\n", "server.port: expected an integer, got str 'eighty'"),
        ("[server]\nport = true\n", "server.port: expected an integer, got a boolean (true)"),
        ("[server]\nport = 70000\n", "server.port: must be between 1 and 65535"),
        (
            "[ingest]\nnew_item_max_age_days = -1\n",
            "ingest.new_item_max_age_days: must be 0 or more",
        ),
        ("[ingest]\nmax_title_chars = 0\n", "ingest.max_title_chars: must be 1 or more"),
        ("[ingest]\nmax_nesting_depth = -5\n", "ingest.max_nesting_depth: must be 1 or more"),
        ("[log]\njson = 'yes'\n", "log.json: expected true or false"),
        ("[log]\nlevel = 'loud'\n", "log.level: expected one of 'debug', 'info'"),
        ("[site]\nlanguages = 'en'\n", "site.languages: expected a list, got str 'en'"),
        ("[site]\nlanguages = ['en', 3]\n", "site.languages[1]: expected a string, got int 3"),
        ("[site]\ntimezone = 'Mars/Olympus'\n", "site.timezone: unknown time zone"),
        ("[site]\ndefault_language = 'de'\n", "site.default_language: must be one of"),
        (
            "[site]\nfallback_languages = { ar = ['fr', 'de'] }\n",
            "site.fallback_languages.ar: 'de' is not one of site.languages",
        ),
        (
            "[site]\nfallback_languages = { de = ['en'] }\n",
            "site.fallback_languages.de: 'de' is not one of site.languages",
        ),
        (
            "[site]\nfallback_languages = { ar = 'en' }\n",
            "site.fallback_languages.ar: expected a list",
        ),
        ("[site]\nbase_url = 'ftp://x'\n", "site.base_url: must be an http(s) URL"),
        ("server = 3\n", "server: expected a table"),
        ("[database]\npath = 5\n", "database.path: expected a path string"),
        ("[[sources]]\nurl = 'x.html'\n", "sources[0].id: required key missing"),
        ("[[sources]]\nid = 'a'\nurl = 'x'\ncolour = 1\n", "sources[0].colour: unknown key"),
        (
            "[[sources]]\nid = 'a'\nurl = 'x'\n[[sources]]\nid = 'a'\nurl = 'y'\n",
            "sources[1].id: duplicate source id 'a'",
        ),
        (
            "[[sources]]\nid = 'a'\nurl = 'x'\nprofile = 'css'\n",
            "sources[0].selectors: required when profile = 'css'",
        ),
        ("[[sources]]\nid = 'a'\nurl = 'x'\nevery = 5\n", "sources[0].every: must be at least 60"),
        ("[[sources]]\nid = 'a'\nurl = 'x'\ntype = 'pdf'\n", "sources[0].type: expected one of"),
        (
            "[[sources]]\nid = 'a'\nurl = 'x'\nprofile = 'wco-nope'\n",
            "sources[0].profile: expected one of 'auto', 'css', 'wco-newsroom'",
        ),
        ("[topics.origin]\nlabels = { fr = 'Origine' }\n", "topics.origin.labels: an 'en' label"),
        ("[topics.origin]\nkeywords = ['origin']\n", "topics.origin.labels: required key missing"),
        ("[server\nport = 1\n", "not valid TOML"),
    ],
)
def test_each_error_names_file_and_key(write_config: WriteConfig, text: str, message: str) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_secrets_come_from_the_environment_over_the_file(write_config: WriteConfig) -> None:
    path = write_config("[smtp]\npassword = 'from-file'\n")
    env = {
        "WCOFEED_SMTP_PASSWORD": "from-env",
        "WCOFEED_SECURITY_SECRET_KEY": "k" * 32,
        "WCOFEED_SECURITY_ADMIN_TOKEN": "t0ken-0123456789abcdefghijklmnopqrstuv",
        "WCOFEED_SERVER_PORT": "1",  # not a secret: ignored
    }
    settings = load_settings(path, env=env)
    assert settings.smtp.password == "from-env"
    assert settings.security.secret_key == "k" * 32
    assert settings.security.admin_token == "t0ken-0123456789abcdefghijklmnopqrstuv"
    assert settings.server.port == 8080
    assert load_settings(path, env={}).smtp.password == "from-file"


def test_every_key_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [key for key in documented_keys() if f"`{key}`" not in readme]
    assert missing == []
    # and the reference says what the code says (scripts/config_reference.py rewrites it)
    assert reference_markdown() in readme


def test_a_signing_secret_is_generated_once_and_kept(write_config: WriteConfig) -> None:
    path = write_config('[database]\npath = "data/db.sqlite"\n')
    first = with_signing_secret(load_settings(path, env={}))
    key_file = path.parent / "data" / ".wcofeed-secret"
    assert len(first.security.secret_key) >= 32
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = with_signing_secret(load_settings(path, env={}))
    assert again.security.secret_key == first.security.secret_key


def test_a_configured_secret_wins_and_writes_nothing(write_config: WriteConfig) -> None:
    path = write_config("")
    env = {"WCOFEED_SECURITY_SECRET_KEY": "k" * 20}
    settings = with_signing_secret(load_settings(path, env=env))
    assert settings.security.secret_key == "k" * 20
    assert not (path.parent / ".wcofeed-secret").exists()


def test_every_edition_falls_back_to_english_unless_configured(
    write_config: WriteConfig,
) -> None:
    default = load_settings(write_config(""), env={})
    assert default.edition("fr") == ("fr", "en")
    assert default.edition("en") == ("en",)
    configured = load_settings(
        write_config("[site]\nfallback_languages = { ar = ['fr', 'en'], es = [] }\n"), env={}
    )
    assert configured.edition("ar") == ("ar", "fr", "en")
    assert configured.edition("es") == ("es",)
    assert configured.edition("zh") == ("zh", "en")
