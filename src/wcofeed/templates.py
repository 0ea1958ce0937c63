"""The one jinja2 environment of wcofeed: pages, the feed index and emails alike.

One escaping policy for every template: HTML, XML and OPML are autoescaped, and so is
any other name, except `.txt` (plain-text emails, where `&` must stay `&`). Undefined
names are errors, so a typo in a template fails its test instead of printing nothing.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from wcofeed.config import Settings
from wcofeed.resources import bundled


def templates_dir(settings: Settings) -> Path:
    """`site.templates_dir` when set, else the templates shipped with wcofeed."""
    return settings.site.templates_dir or bundled("templates")


def template_environment(folder: Path) -> jinja2.Environment:
    """A fresh environment over `folder`; callers keep one per run or per app."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "opml"),
            disabled_extensions=("txt",),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
