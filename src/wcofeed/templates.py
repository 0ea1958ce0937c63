"""The one jinja2 environment of wcofeed: pages, the feed index and emails alike.

One escaping policy for every template: HTML, XML and OPML are autoescaped, and so is
any other name, except `.txt` (plain-text emails, where `&` must stay `&`). Undefined
names are errors, so a typo in a template fails its test instead of printing nothing.

Templates mark their words with jinja2's i18n extension (`_()`, `ngettext()`,
`{% trans %}`, whitespace trimmed as Babel extracts them); the words are looked up in
the catalog of the `lang` the template is rendered with, so one environment serves
every language. `direction(code)` and `language_name(code)` are there for the `lang`
and `dir` attributes that mark text in another language than the page's, and
`language_note(code)` for the "in English" beside an item in another language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from wcofeed.config import Settings
from wcofeed.i18n import direction, language_name, language_note, texts
from wcofeed.resources import bundled


def templates_dir(settings: Settings) -> Path:
    """`site.templates_dir` when set, else the templates shipped with wcofeed."""
    return settings.site.templates_dir or bundled("templates")


@jinja2.pass_context
def _gettext(context: Any, message: str) -> str:
    return texts(context["lang"]).gettext(message)


@jinja2.pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return texts(context["lang"]).plural_form(singular, plural, n)


@jinja2.pass_context
def _language_note(context: Any, content: str) -> str:
    return language_note(content, context["lang"])


@jinja2.pass_context
def _pgettext(context: Any, where: str, message: str) -> str:
    return texts(context["lang"]).pgettext(where, message)


def template_environment(folder: Path) -> jinja2.Environment:
    """A fresh environment over `folder`; callers keep one per run or per app."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "xml", "opml"),
            disabled_extensions=("txt",),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext, newstyle=True
    )
    env.globals["direction"] = direction
    env.globals["language_name"] = language_name
    env.globals["language_note"] = _language_note
    return env
