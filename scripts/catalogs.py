"""Bring the message catalogs up to date with the code and templates.

`python scripts/catalogs.py` extracts every marked message (babel.cfg says where: Python
and Jinja2), then updates `src/wcofeed/locale/<lang>.po` for each of the six languages:
new messages are added untranslated, messages gone from the code are dropped, nothing
is guessed (no fuzzy matching). Translate the empty `msgstr`s, then run the tests:
tests/test_catalogs.py fails while a message lacks a translation. The English catalog
is filled from the messages themselves. `--check` changes nothing and exits 1 when a
catalog is out of date. See docs/translations.md.
"""

from __future__ import annotations

import copy
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "src" / "wcofeed" / "locale"
LANGUAGES = ("en", "fr", "es", "ru", "zh", "ar")
SOURCE_LANGUAGE = "en"
_PROJECT = "wcofeed"


def extract() -> Catalog:
    """Every message marked in the code and templates, with where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        # Babel leaves this function unannotated.
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")  # type: ignore[no-untyped-call]
    template = Catalog(project=_PROJECT, fuzzy=False)
    found = extract_from_dir(ROOT, method_map, options_map, keywords=DEFAULT_KEYWORDS)
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def updated(language: str, template: Catalog) -> bytes:
    """The catalog of `language` as it should be: its translations kept, its messages
    those of `template`."""
    template = copy.deepcopy(template)  # update() adopts the template's message objects
    path = LOCALE / f"{language}.po"
    if path.is_file():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language, domain="wcofeed")
        template.creation_date = catalog.creation_date
    else:
        catalog = Catalog(locale=language, domain="wcofeed", project=_PROJECT, fuzzy=False)
        catalog.creation_date = template.creation_date
    revision = catalog.revision_date
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.revision_date = revision
    if language == SOURCE_LANGUAGE:
        for message in catalog:
            strings = message.string if isinstance(message.string, tuple) else [message.string]
            if message.id and not any(strings):
                message.string = message.id
    out = io.BytesIO()
    write_po(out, catalog, width=96, sort_output=True, include_previous=False, include_lineno=False)
    return out.getvalue()


def main(argv: list[str]) -> int:
    check = "--check" in argv
    template = extract()
    stale = []
    for language in LANGUAGES:
        path = LOCALE / f"{language}.po"
        text = updated(language, template)
        if path.is_file() and path.read_bytes() == text:
            continue
        stale.append(path.name)
        if not check:
            path.write_bytes(text)
    verb = "out of date" if check else "updated"
    print(f"{verb}: {', '.join(stale)}" if stale else "catalogs up to date")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
