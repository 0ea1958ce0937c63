"""Deadlines as people write them, in the six languages, from the labelled sentences."""

from __future__ import annotations

import tomllib
from datetime import date, time
from time import monotonic
from typing import Any

import pytest

from wcofeed.ingest.build import Entry, build_items
from wcofeed.ingest.deadlines import find_deadline_text, parse_deadline
from wcofeed.models import Deadline

from .conftest import FIXTURES, context

SENTENCES = tomllib.loads((FIXTURES / "deadline_sentences.toml").read_text(encoding="utf-8"))
PAGE_DATE = date.fromisoformat(SENTENCES["page_date"])


def expected(row: dict[str, Any]) -> Deadline | None:
    if not row["date"]:
        return None
    return Deadline(
        date.fromisoformat(row["date"]),
        time.fromisoformat(row["time"]) if "time" in row else None,
        row.get("timezone"),
        row.get("precision", "day"),
        row.get("wording", ""),
    )


def test_the_table_covers_every_language_and_form() -> None:
    rows = SENTENCES["sentence"]
    assert len(rows) >= 80
    for language in ("en", "fr", "es", "ru", "zh", "ar"):
        mine = [r for r in rows if r["language"] == language]
        assert {r.get("precision", "day") for r in mine if r["date"]} == {
            "day",
            "month",
            "approximate",
        }, language
        assert any("timezone" in r for r in mine) and any(not r["date"] for r in mine), language


@pytest.mark.parametrize(
    "row",
    SENTENCES["sentence"],
    ids=[f"{r['language']}:{r['text']}" for r in SENTENCES["sentence"]],
)
def test_sentence(row: dict[str, Any]) -> None:
    assert parse_deadline(row["text"], row["language"], PAGE_DATE) == expected(row)


@pytest.mark.parametrize(
    ("language", "zone"),
    [("en", "America/Chicago"), ("es", "America/Chicago"), ("zh", "Asia/Shanghai")],
)
def test_cst_is_read_by_the_page_language(language: str, zone: str) -> None:
    deadline = parse_deadline("Deadline: 1 April 2025, 10:00 CST", language, PAGE_DATE)
    assert deadline == Deadline(date(2025, 4, 1), time(10, 0), zone)


@pytest.mark.parametrize(
    ("abbreviation", "language", "zone"),
    [
        ("IST", "en", "Asia/Kolkata"),
        ("IST", "he", "Asia/Jerusalem"),
        ("IST", "ga", "Europe/Dublin"),
        ("AST", "ar", "Asia/Riyadh"),
        ("AST", "en", "America/Halifax"),
        ("BST", "en", "Europe/London"),
    ],
)
def test_ambiguous_abbreviations(abbreviation: str, language: str, zone: str) -> None:
    deadline = parse_deadline(f"Deadline: 1 April 2025, 10:00 {abbreviation}", language, PAGE_DATE)
    assert deadline is not None and deadline.tz == zone


@pytest.mark.parametrize(
    "text",
    [
        "The exhibition runs until 30 March 2025.",
        "The project will run until March 2026 in five regions.",
        "Papers presented by experts from 20 countries on 14 March 2025 were discussed.",
        "On 13 February 2025 the Council extended the deadline for the study.",
        "la date limite est 17h00 est passée",
    ],
)
def test_dates_that_are_not_deadlines(text: str) -> None:
    entry = Entry(title="News", summary_html=f"<p>{text}</p>", url="https://example.org/n")
    (item,) = build_items([entry], context()).items
    assert item.deadline is None and item.kind == "news"


def test_words_that_only_look_like_zones_are_not_zones() -> None:
    # "est" is French for "is": a zone only in capitals or right after the time
    deadline = parse_deadline("Date limite : 14 mars 2025. Elle est ferme.", "fr", PAGE_DATE)
    assert deadline == Deadline(date(2025, 3, 14))
    lower = parse_deadline("deadline: 14 march 2025, 17:00 est", "en", PAGE_DATE)
    assert lower == Deadline(date(2025, 3, 14), time(17, 0), "America/New_York")


def test_deadline_line_in_a_short_summary() -> None:
    """Regression: the window around a label near the start of a summary was sliced from a
    negative index, and the date was cut off."""
    entry = Entry(
        title="join the wco private sector consultative group (pscg)",
        summary_html="<p>call for application deadline: 24 march 2025</p>",
        url="https://www.wcoomd.org/en/about-us/pscg/call-2025.aspx",
    )
    (item,) = build_items([entry], context("home", "en")).items
    assert item.deadline == Deadline(date(2025, 3, 24))
    assert item.kind == "call"


def test_deadline_deep_in_a_long_summary() -> None:
    intro = "The WCO Secretariat invites Member administrations to nominate officers. " * 4
    entry = Entry(
        title="Nominations",
        summary_html=f"<p>{intro}14 March 2025 (17:00 Geneva time) is the deadline.</p>",
        url="https://example.org/c",
    )
    (item,) = build_items([entry], context()).items
    assert item.deadline == Deadline(date(2025, 3, 14), time(17, 0), "Europe/Zurich")


def test_unreadable_deadline_is_reported_with_its_text() -> None:
    entry = Entry(
        title="Call for papers: PICARD 2025",
        deadline_text="deadline: to be announced",
        url="https://example.org/p",
        kind="publication",
    )
    result = build_items([entry], context("picard"))
    (item,) = result.items
    assert item.kind == "call" and item.deadline is None
    (unread,) = result.unread
    assert (unread.position, unread.field, unread.text) == (
        0,
        "deadline",
        "deadline: to be announced",
    )
    assert unread.title == "Call for papers: PICARD 2025"


def test_a_text_of_endless_labels_is_read_quickly() -> None:
    started = monotonic()
    text = " ".join(f"deadline: in {n} weeks or so." for n in range(5000))
    assert parse_deadline(text, "en", PAGE_DATE) is None
    assert monotonic() - started < 2


@pytest.mark.parametrize(
    ("text", "at", "zone"),
    [
        ("申请截止日期：2025年3月14日17:00（布鲁塞尔时间）。", time(17, 0), "Europe/Brussels"),
        ("报名截止时间为2025年3月14日。", None, None),
    ],
)
def test_a_chinese_label_run_into_the_words_before_it_is_found(
    text: str, at: time | None, zone: str | None
) -> None:
    # Chinese writes "application deadline" as one run of characters: no word boundary
    # before the label, which a summary's deadline line must still be found by.
    found = find_deadline_text(text, ("zh",))
    assert found is not None
    assert parse_deadline(found, "zh", PAGE_DATE) == Deadline(date(2025, 3, 14), at, zone)
