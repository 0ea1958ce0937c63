"""Every regular expression applied to page text stays linear on long repetitive input.

A pattern with nested or adjacent quantifiers over the same characters backtracks
exponentially or quadratically on the right input (a run of empty comments, a link
padded with spaces), and while it runs the whole process stands still. The patterns are
collected from the modules themselves, so a pattern added later is covered without
being listed here; each call gets a bound on the CPU time it may use (SIGVTALRM, which
interrupts the regex engine, and which a busy machine does not bring forward as it
would a wall-clock bound), so a backtracking pattern fails the test instead of hanging it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import signal
from collections.abc import Iterator
from types import FrameType, ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wcofeed.ingest
from wcofeed.config import load_settings
from wcofeed.ingest.kinds import KindGuesser
from wcofeed.ingest.topics import TopicMatcher

from .conftest import REPO

#: CPU seconds one search may take on LENGTH characters; a linear pattern needs at most
#: half a second (the longest alternations), a quadratic one many seconds, an exponential
#: one forever.
BOUND = 2.0
LENGTH = 40_000
#: What the patterns look for, in runs: spaces, digits, month names, comment markers,
#: words the deadline and period readers skip over, scripts the language readers count.
UNITS = [
    " ",
    "\t",
    "\n",
    "a",
    "a ",
    "1",
    "1 ",
    "12",
    "1.",
    "1/",
    "-",
    ".",
    ",",
    ":",
    "h",
    "( ",
    "<!---->",
    "<!--",
    "-->",
    "<",
    "&#",
    "&#1",
    "de ",
    "the ",
    "by the ",
    "of ",
    "early ",
    "end of the ",
    "January ",
    "1 January ",
    "января ",
    "г",
    "年",
    "月",
    "12月",
    "日",
    "utc ",
    "\u0430",
    "\u0627",
    "é ",
    "é\t",
    "<meta ",
    "charset=",
    "<?xml ",
    "encoding=",
]
TAILS = ["", "x", "\x00", "<html>"]
#: The runs that froze the service in the attack review, and their kin: checked on every
#: run of the suite; the whole of UNITS in the slow one.
QUICK = [" ", "\n", "<!---->", "1 ", "<meta ", "a "]
MODULES = ["wcofeed.markup", "wcofeed.models"]


def _modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(wcofeed.ingest.__path__, "wcofeed.ingest."):
        yield importlib.import_module(info.name)
    for name in MODULES:
        yield importlib.import_module(name)


def _patterns_in(value: Any, depth: int = 0) -> Iterator[re.Pattern[Any]]:
    if isinstance(value, re.Pattern):
        yield value
    elif depth < 4 and isinstance(value, list | tuple | set | frozenset):
        for inner in value:
            yield from _patterns_in(inner, depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for inner in value.values():
            yield from _patterns_in(inner, depth + 1)
    elif depth < 4 and isinstance(value, KindGuesser | TopicMatcher):
        yield from _patterns_in(vars(value) if hasattr(value, "__dict__") else {}, depth + 1)


def collect() -> dict[str, re.Pattern[Any]]:
    """Every compiled pattern of the ingest modules, markup and models, and those the
    call-cue matcher compiles from the shipped config, by a readable name."""
    found: dict[str, re.Pattern[Any]] = {}
    for module in _modules():
        for name, value in vars(module).items():
            for n, pattern in enumerate(_patterns_in(value)):
                found[f"{module.__name__}.{name}[{n}]"] = pattern
    shipped = load_settings(REPO / "config.toml", env={})
    for n, pattern in enumerate(_patterns_in(KindGuesser(shipped.ingest.call_cues))):
        found[f"KindGuesser[{n}]"] = pattern
    # A pattern also listed in a tuple (deadlines._DAY_PATTERNS) is tried once.
    unique = {id(pattern): name for name, pattern in sorted(found.items(), reverse=True)}
    return {name: found[name] for name in sorted(unique.values())}


PATTERNS = collect()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError


def bounded_search(pattern: re.Pattern[Any], text: str) -> None:
    """`search` and the first matches on `text` (as bytes for a bytes pattern), within
    BOUND seconds of CPU."""
    subject: str | bytes = text
    if isinstance(pattern.pattern, bytes):
        subject = text.encode("utf-8", "surrogatepass")
    previous = signal.signal(signal.SIGVTALRM, _interrupt)
    signal.setitimer(signal.ITIMER_VIRTUAL, BOUND)
    try:
        pattern.search(subject)
        for _ in zip(range(100), pattern.finditer(subject), strict=False):
            pass
    except TimeoutError:
        pytest.fail(
            f"{pattern.pattern!r} took over {BOUND} s of CPU on {text[:40]!r}… ({len(text)})"
        )
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)


def repeated(unit: str, tail: str, head: str = "") -> str:
    return head + unit * (LENGTH // len(unit)) + tail


def test_the_collection_finds_the_patterns_of_every_ingest_module() -> None:
    names = " ".join(PATTERNS)
    for module in ("html", "identity", "charset", "dates", "deadlines", "zones", "periods"):
        assert f"wcofeed.ingest.{module}." in names
    assert "KindGuesser" in names
    assert len(PATTERNS) > 40


def sweep(pattern: re.Pattern[Any], units: list[str]) -> None:
    for unit in units:
        for tail in TAILS:
            bounded_search(pattern, repeated(unit, tail))
        bounded_search(pattern, repeated(unit, "b", head="a"))


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_pattern_is_linear_on_the_known_runs(name: str) -> None:
    sweep(PATTERNS[name], QUICK)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_pattern_is_linear_on_long_runs(name: str) -> None:
    sweep(PATTERNS[name], UNITS)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    units=st.lists(st.sampled_from(UNITS), min_size=1, max_size=3),
    head=st.sampled_from(["", "a", "1 ", "<?xml version='1.0'?>"]),
    tail=st.sampled_from(TAILS),
)
def test_every_pattern_is_linear_on_generated_runs(units: list[str], head: str, tail: str) -> None:
    text = repeated("".join(units), tail, head)
    for pattern in PATTERNS.values():
        bounded_search(pattern, text)


def test_the_feed_sniffer_reads_through_comments() -> None:
    from wcofeed.ingest.html import looks_like_feed

    assert looks_like_feed(b"\xef\xbb\xbf <?xml version='1.0'?>\n<!-- a -- b --><!----><rss>")
    assert not looks_like_feed(b"<!---->" * 200 + b"<html>")
    assert not looks_like_feed(b"<!-- never closed <rss>")
