"""Calls and news told apart, measured on labelled WCO-style titles and summaries."""

from __future__ import annotations

import html
import tomllib

from wcofeed.ingest.build import Entry, build_items
from wcofeed.ingest.kinds import KindGuesser

from .conftest import FIXTURES, context

LABELLED = tomllib.loads((FIXTURES / "kinds_labelled.toml").read_text(encoding="utf-8"))["item"]
LANGUAGES = ("en", "fr", "es", "ru", "zh", "ar")


def test_the_labelled_set_has_both_kinds_in_every_language() -> None:
    assert len(LABELLED) >= 80
    for language in LANGUAGES:
        labels = [row["call"] for row in LABELLED if row["language"] == language]
        assert labels.count(True) >= 6 and labels.count(False) >= 6, language


def test_calls_are_told_from_news_both_ways() -> None:
    """Each labelled row is built into an item as a page would give it (title and
    summary, no deadline line); precision and recall of "call" are both at least 95%."""
    wrong: list[str] = []
    true_pos = false_pos = false_neg = 0
    for n, row in enumerate(LABELLED):
        entry = Entry(
            title=row["title"],
            summary_html=f"<p>{html.escape(row['summary'])}</p>",
            url=f"https://www.wcoomd.org/{row['language']}/item-{n}.aspx",
            language=row["language"],
        )
        (item,) = build_items([entry], context("labelled", row["language"])).items
        is_call = item.kind == "call"
        true_pos += is_call and row["call"]
        false_pos += is_call and not row["call"]
        false_neg += not is_call and row["call"]
        if is_call != row["call"]:
            wrong.append(f"{row['language']} {'call' if row['call'] else 'news'}: {row['title']}")
    precision = true_pos / max(1, true_pos + false_pos)
    recall = true_pos / max(1, true_pos + false_neg)
    message = f"precision {precision:.1%}, recall {recall:.1%}; wrong: {wrong}"
    assert precision >= 0.95 and recall >= 0.95, message


def test_a_report_in_the_title_outweighs_an_invitation() -> None:
    kinds = KindGuesser()
    assert kinds.is_call("Call for papers: PICARD 2025", ["en"])
    assert not kinds.is_call("Results of the call for papers", ["en"])
    assert not kinds.is_call("WCO Fellowship Programme launched", ["en"])
    assert kinds.is_call("Vacancy notice: data analyst", ["fr"])  # English items on any page


def test_a_deadline_line_outweighs_a_report() -> None:
    kinds = KindGuesser()
    guess = kinds.guess(
        cue_text="Graduates' alumni network", languages=["en"], has_deadline=True, default="news"
    )
    assert guess == "call"


def test_configured_cues_are_invitations() -> None:
    kinds = KindGuesser({"fr": ["manifestation de curiosité"]})
    assert kinds.is_call("Manifestation de curiosité : experts", ["fr"])
    assert not KindGuesser().is_call("Manifestation de curiosité : experts", ["fr"])
