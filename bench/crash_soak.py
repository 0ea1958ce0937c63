"""Crash soak: the CI crash harness (tests/reliability/crash_helpers.py) for longer.

Runs rounds of `wcofeed ingest`, `publish` and `digest --now` as subprocesses over
one database, feeds folder and loopback SMTP sink, SIGKILLs each command at seeded
random moments (`--kills` of each in all) and restarts it until the round completes,
while items, calls, subscribers and a page change every round. Then checks the
database, the items against a clean ingest, every feed file and each due reminder at
the sink, and prints the figures. The same rounds without kills are the reference:
the ratio of wall times is what recovery from the kills costs.

    python bench/crash_soak.py --kills 500 --seed 7
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import SmtpServer, free_port
from tests.reliability.crash_helpers import COMMANDS, Findings, Harness, Tally, verify


def soak(root: Path, rounds: int, kills_each: int, seed: int) -> tuple[Tally, Findings]:
    smtp = SmtpServer(free_port())
    smtp.start()
    try:
        harness = Harness(root / "run", smtp, random.Random(seed))
        tally = harness.soak(rounds, kills_each)
        return tally, verify(harness, root / "reference")
    finally:
        smtp.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs of each command")
    parser.add_argument("--kills-per-round", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20250201)
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the same rounds without kills"
    )
    args = parser.parse_args()
    rounds = math.ceil(args.kills / args.kills_per_round)
    with tempfile.TemporaryDirectory(prefix="wcofeed-soak-") as tmp:
        tally, found = soak(Path(tmp) / "killed", rounds, args.kills_per_round, args.seed)
        reference = None
        if not args.no_reference:
            reference, _ = soak(Path(tmp) / "clean", rounds, 0, args.seed)
    print(f"rounds: {tally.rounds}, seed {args.seed}")
    for name in COMMANDS:
        print(
            f"{name:8} kills {tally.kills[name]:5}"
            f" (after it wrote: {tally.kills_after_writing[name]:5})"
            f"  completed runs {tally.completed[name]:5}"
            f"  finished before its kill moment {tally.finished_before_kill[name]:4}"
        )
    print(f"integrity_check: {found.integrity}")
    print(f"items stored: {found.items} (compared with a clean ingest of the final sources)")
    print(f"feed files: {found.feed_files} parsed, {found.leftover_temp_files} leftover temp files")
    print(
        f"reminders due: {found.due_reminders}; emails received: {found.emails_received}, "
        f"distinct Message-IDs: {found.distinct_message_ids}, "
        f"raw duplicate deliveries (same Message-ID again): {found.raw_duplicates}"
    )
    print(f"wall time: {tally.seconds:.0f} s with kills", end="")
    if reference is not None:
        ratio = tally.seconds / reference.seconds
        print(f", {reference.seconds:.0f} s without (ratio {ratio:.2f})", end="")
    print()
    print(f"problems: {len(found.problems)}")
    for problem in found.problems[:50]:
        print(f"  {problem}")
    return 1 if found.problems else 0


if __name__ == "__main__":
    sys.exit(main())
