"""The one jinja2 environment and where its templates come from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO
from wcofeed.config import load_settings
from wcofeed.resources import bundled
from wcofeed.templates import template_environment, templates_dir


def test_one_escaping_policy_for_html_xml_and_plain_text(tmp_path: Path) -> None:
    for name in ("page.html", "feed.xml", "list.opml", "email.txt"):
        (tmp_path / name).write_text("{{ value }}", encoding="utf-8")
    env = template_environment(tmp_path)
    value = "<b>R&D</b>"
    for name in ("page.html", "feed.xml", "list.opml"):
        assert env.get_template(name).render(value=value) == "&lt;b&gt;R&amp;D&lt;/b&gt;", name
    assert env.get_template("email.txt").render(value=value) == value


def test_a_clone_reads_its_own_folders() -> None:
    assert bundled("templates") == REPO / "templates"
    assert bundled("samples") == REPO / "samples"
    assert bundled("locale") == REPO / "src" / "wcofeed" / "locale"


def test_site_templates_dir_overrides_the_shipped_ones(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    assert templates_dir(load_settings(write_config(""), env={})) == bundled("templates")
    mine = tmp_path / "mine"
    (mine / "feeds").mkdir(parents=True)
    (mine / "feeds" / "index.html").write_text("mine: {{ site_title }}", encoding="utf-8")
    settings = load_settings(write_config('[site]\ntemplates_dir = "mine"\n'), env={})
    assert templates_dir(settings) == mine
    page = template_environment(templates_dir(settings)).get_template("feeds/index.html")
    assert page.render(site_title="T") == "mine: T"
