"""Offline scoring throughput: answers scored per second on one core (aim: >= 1,000/s, issue 11).

The workload is every question's reference answer plus weak variants of it (its first
sentence, its first half, a bare keyword list, an off-topic answer and a decline),
scored with `OfflineJudge` round after round. One warm-up round fills the caches
(the bank's vocabularies); the figure is the median rate over the timed rounds.

The scorer's hot modules run compiled with mypyc when `make native` (part of `make test`) has built them for
these sources, and as plain Python otherwise or with INTERVIEWER_PURE_PYTHON=1; the figure says which.

Usage: python bench/bench_scoring.py [--seconds 20] [--min-rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interviewer import native  # noqa: E402
from interviewer.bank import load_bank  # noqa: E402
from interviewer.scoring import OfflineJudge  # noqa: E402

OFF_TOPIC = ("Last weekend I repainted the kitchen a pale green and planted tomatoes, basil and two lemon trees in "
             "the garden, then we cooked a long dinner for the neighbours.")


def variants(reference: str) -> list[str]:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", reference.strip()) if s]
    words = reference.split()
    keywords = [w.strip(".,;:()") for w in words if len(w) > 6][:25]
    return [
        reference,
        sentences[0] if sentences else reference,
        " ".join(words[: max(1, len(words) // 2)]),
        ", ".join(keywords) or "model",
        OFF_TOPIC,
        "I don't know, sorry.",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time budget for the timed rounds")
    parser.add_argument("--min-rounds", type=int, default=3)
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})  # one core
        pinned = f"pinned to CPU {cpu}"
    else:
        pinned = "not pinned"
    bank = load_bank()
    work = [(q, a) for q in bank.questions.values() for a in variants(q.reference_answer)]
    judge = OfflineJudge()
    chars = sum(len(a) for _, a in work)

    start = time.perf_counter()
    for q, a in work:  # warm-up: fills the per-question vocabulary cache
        judge.score(q, a)
    cold = len(work) / (time.perf_counter() - start)

    rates, elapsed_total, rounds = [], 0.0, 0
    while rounds < args.min_rounds or elapsed_total < args.seconds:
        start = time.perf_counter()
        for q, a in work:
            judge.score(q, a)
        took = time.perf_counter() - start
        rates.append(len(work) / took)
        elapsed_total += took
        rounds += 1
        if elapsed_total > 3 * args.seconds:
            break

    median = statistics.median(rates)
    per_kind: dict[str, list[float]] = {}
    for q, a in work:
        start = time.perf_counter()
        judge.score(q, a)
        per_kind.setdefault(q.kind.value, []).append(time.perf_counter() - start)

    print(f"Offline scoring: {median:,.0f} answers/s (median of {rounds} rounds; min {min(rates):,.0f}, "
          f"max {max(rates):,.0f}) -> {'meets' if median >= 1000 else 'MISSES'} the >= 1,000/s aim; "
          f"first (cold-cache) round {cold:,.0f}/s")
    print(f"  workload: {len(work)} answers per round = {len(bank.questions)} questions x 6 "
          f"(reference, first sentence, first half, keyword list, off-topic, decline); "
          f"mean {chars / len(work):,.0f} chars per answer")
    print(f"  measured: OfflineJudge.score in one Python thread, {pinned}, after one warm-up round, "
          f"{elapsed_total:.1f} s timed; Python {platform.python_version()} on {platform.machine()}")
    print(f"  code: {native.status}")
    for kind, times in sorted(per_kind.items()):
        print(f"  {kind:14} median {statistics.median(times) * 1000:.2f} ms per answer, "
              f"max {max(times) * 1000:.2f} ms ({len(times)} answers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
