"""Rewrite the README's configuration reference from the settings' help texts.

Run after changing a setting: `python scripts/config_reference.py`. A test fails while
the README and the code disagree.
"""

from __future__ import annotations

from pathlib import Path

from wcofeed.config.reference import reference_markdown

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"


def main() -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{BEGIN}\n{reference_markdown()}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
