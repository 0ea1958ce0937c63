"""The README's configuration reference, generated from the settings' own help texts
(`python scripts/config_reference.py` rewrites it; a test holds the two equal)."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

from wcofeed.config.schema import SelectorSettings, Settings


def sections() -> list[tuple[str, str, type]]:
    """(TOML header, key prefix, settings class) for every documented table."""
    sections: list[tuple[str, str, type]] = []
    hints = typing.get_type_hints(Settings)
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
    return [f"{prefix}.{f.name}" for _, prefix, cls in sections() for f in dataclasses.fields(cls)]


def reference_markdown() -> str:
    """The README's config reference, generated from the settings' own help texts."""
    lines: list[str] = []
    for title, prefix, cls in sections():
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
