"""The message catalogs: up to date with the code, complete in all six languages,
true to the glossary (docs/translations.md) and to French typography; and no template
shows a word that is not marked for translation."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from scripts.catalogs import extract, updated

from tests.conftest import LANGUAGES, LOCALE, REPO, catalog, message_forms
from wcofeed.templates import template_environment

_FIELD = re.compile(r"%\((\w+)\)[sd]")

#: The one term per language for "call(s) for applications" (docs/translations.md).
GLOSSARY = {
    "fr": ("à candidatures",),
    "es": ("convocatoria",),
    "ru": ("приглашени", "к подаче заявок"),
    "zh": ("申请征集",),
    "ar": ("لتقديم الطلبات",),
}
#: Names of formats, shown as they are in every language.
_NAMES = re.compile(r"\b(JSON Feed|JSON|Atom|RSS|iCalendar|OPML)\b")
#: Attributes a person reads or hears.
_READ_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label")


def test_catalogs_hold_every_marked_message_and_no_other() -> None:
    template = extract()
    assert len(template) > 100
    for language in LANGUAGES:
        on_disk = (LOCALE / f"{language}.po").read_bytes()
        assert updated(language, template) == on_disk, (
            f"{language}.po is out of date: run python scripts/catalogs.py"
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_its_fields(language: str) -> None:
    messages = catalog(language)
    for message in messages:
        if not message.id:
            continue
        forms = message_forms(message.string)
        wanted = messages.num_plurals if message.pluralizable else 1
        assert not message.fuzzy and len(forms) == wanted, (language, message.id)
        fields = {name for text in message_forms(message.id) for name in _FIELD.findall(text)}
        for form in forms:
            own = set(_FIELD.findall(form))
            # A plural form may spell its number out ("one day"), nothing else may drop.
            assert own <= fields and fields - own <= {"num"}, (language, message.id, form)
    assert not list(messages.check()), language


@pytest.mark.parametrize("language", sorted(GLOSSARY))
def test_one_term_for_call_for_applications(language: str) -> None:
    theirs = catalog(language)
    checked = 0
    for message in catalog("en"):
        english = " ".join(message_forms(message.string))
        if not re.search(r"\bcalls?\b", english, re.IGNORECASE):
            continue
        other = theirs.get(message.id, context=message.context)
        assert other is not None
        for form in message_forms(other.string):
            for part in GLOSSARY[language]:
                assert part in form.lower(), (message.id, form)
        checked += 1
    assert checked >= 10


def test_french_typography() -> None:
    for message in catalog("fr"):
        if not message.id:
            continue
        for form in message_forms(message.string):
            for match in re.finditer(r"[:;?!»]", form):
                before = form[match.start() - 1] if match.start() else ""
                assert before in "\u00a0\u202f", (message.id, form)
            for match in re.finditer("«", form):
                assert form[match.end()] in "\u00a0\u202f", (message.id, form)
            assert "'" not in form, (message.id, form)  # the apostrophe is ’


def unmarked(source: str) -> list[str]:
    """The words a template shows that are not in a message: text and read attributes
    outside `{{ }}`, `{% %}` (whose messages are `_()` calls) and `{% trans %}`."""
    env = template_environment(REPO / "templates")
    shown: list[str] = []
    in_trans = False
    previous = ""
    for _, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == "name" and previous == "block_begin":
            in_trans = value in ("trans", "pluralize") or (in_trans and value != "endtrans")
        if kind == "data" and not in_trans:
            shown.append(value)
        else:
            shown.append("{}" if kind in ("variable_begin", "block_begin") else "")
        previous = kind
    text = "".join(shown)
    if not text.strip():
        return []
    found: list[str] = []
    for element in lxml.html.document_fromstring(text).iter():
        if not isinstance(element.tag, str):
            continue
        pieces = [element.text, element.tail]
        pieces += [element.get(name) for name in _READ_ATTRIBUTES]
        found += [p for p in pieces if p and re.search(r"[^\W\d_]", _NAMES.sub("", p))]
    return found


def test_the_unmarked_check_finds_an_unmarked_word() -> None:
    assert unmarked('<p>{{ _("Marked") }}</p><button>Apply</button>') == ["Apply"]
    assert unmarked('<a title="Feed {{ x }}">{% trans %}Marked{% endtrans %}</a>') == ["Feed {}"]
    assert unmarked("<p>{{ site_title }} (Atom) · RSS</p>") == []


@pytest.mark.parametrize(
    "template",
    sorted(p.relative_to(REPO / "templates").as_posix() for p in (REPO / "templates").rglob("*"))
    if (REPO / "templates").is_dir()
    else [],
)
def test_every_shown_template_string_is_marked(template: str) -> None:
    path = REPO / "templates" / template
    if path.is_dir() or path.suffix not in (".html", ".txt"):
        return
    assert unmarked(path.read_text(encoding="utf-8")) == [], template


def test_babel_config_reads_the_code_and_templates() -> None:
    config = (REPO / "babel.cfg").read_text(encoding="utf-8")
    assert "[python: src/**.py]" in config and "[jinja2: templates/**.html]" in config
    assert Path(LOCALE / "README.md").is_file()
