"""`wcofeed init`: the database, and a starter config where there is none."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import urlsplit

from tests.cli.conftest import wcofeed
from wcofeed.config import Settings, load_settings
from wcofeed.config.reference import documented_keys


def test_init_creates_the_database(config: Path) -> None:
    result = wcofeed("init", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert (config.parent / "data" / "wcofeed.db").exists()
    assert "schema version" in result.stdout


def test_config_before_or_after_the_command(config: Path) -> None:
    assert wcofeed("--config", str(config), "init").returncode == 0
    assert wcofeed("init", "--config", str(config)).returncode == 0


def test_default_config_is_read_from_the_working_folder(config: Path) -> None:
    result = wcofeed("init", cwd=config.parent)
    assert result.returncode == 0, result.stderr
    assert (config.parent / "data" / "wcofeed.db").exists()


def test_init_in_an_empty_folder_writes_a_starter_config(tmp_path: Path) -> None:
    result = wcofeed("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote a starter config to config.toml" in result.stdout
    assert (tmp_path / "wcofeed.db").exists()
    settings = load_settings(tmp_path / "config.toml", env={})
    defaults = load_settings(_empty(tmp_path), env={})
    for f in dataclasses.fields(Settings):
        if f.name not in ("path", "sources", "topics"):
            assert getattr(settings, f.name) == getattr(defaults, f.name), f.name
    hosts = {urlsplit(source.url).hostname for source in settings.sources}
    assert hosts == {"www.wcoomd.org"}
    assert all(source.enabled for source in settings.sources)
    assert {t for source in settings.sources for t in source.topics} <= set(settings.topics)


def test_the_starter_config_names_every_key(tmp_path: Path) -> None:
    assert wcofeed("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    commented = set(re.findall(r"^#\s+(\w+) =", text, flags=re.MULTILINE))
    for key in documented_keys():
        assert key.rsplit(".", 1)[1] in commented, key


def test_the_starter_offers_the_bundled_samples_for_offline_use(tmp_path: Path) -> None:
    assert wcofeed("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    # the offline block, uncommented as a user would
    start = text.index("# Offline:")
    block = text[start : text.index("# --- topics", start)]
    offline = "\n".join(line.removeprefix("#").strip() for line in block.splitlines()[2:])
    samples = tmp_path / "samples.toml"
    samples.write_text(offline, encoding="utf-8")
    settings = load_settings(samples, env={})
    assert len(settings.sources) == 6
    for source in settings.sources:
        assert Path(source.url).is_file(), source.url


def test_init_never_overwrites_a_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[site]\ntitle = "Mine"\n', encoding="utf-8")
    result = wcofeed("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "starter" not in result.stdout
    assert config.read_text(encoding="utf-8") == '[site]\ntitle = "Mine"\n'


def test_init_writes_the_starter_where_config_points(tmp_path: Path) -> None:
    target = tmp_path / "site" / "wcofeed.toml"
    result = wcofeed("init", "--config", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert isinstance(load_settings(target, env={}), Settings)
    assert (tmp_path / "site" / "wcofeed.db").exists()


def _empty(folder: Path) -> Path:
    path = folder / "empty.toml"
    path.write_text("", encoding="utf-8")
    return path
