"""Every config key this part owns is explained in docs/digest.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from wcofeed.config.reference import documented_keys

DOCS = Path(__file__).resolve().parents[2] / "docs" / "digest.md"
OWNED = [k for k in documented_keys() if k.split(".")[0] in ("smtp", "email", "security")]


def test_this_part_owns_the_expected_sections() -> None:
    assert "smtp.host" in OWNED and "email.max_items" in OWNED


@pytest.mark.parametrize("key", OWNED)
def test_config_key_is_documented(key: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert f"`{key}`" in text
