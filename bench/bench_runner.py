"""Median time to run one coding challenge's visible tests in the sandbox.

Usage: python bench/bench_runner.py [QUESTION_ID] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interviewer.bootstrap import build_runner  # noqa: E402
from interviewer.types import Question  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default="knn-from-scratch")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    path = ROOT / "question_bank" / "coding" / f"{args.question}.yaml"
    if not path.exists():
        print(f"no coding challenge {args.question!r} at {path}", file=sys.stderr)
        return 2
    q = Question.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    runner = build_runner()
    isolation = runner.sandbox.check()  # probe once, outside the timings (fails closed without bubblewrap)
    mode = "bubblewrap" if isolation.sandboxed else "UNSANDBOXED"
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = runner.run(q.coding, q.coding.reference_solution, tests="visible")
        times.append(time.perf_counter() - start)
        if report.failed:
            print(f"reference solution failed: {report.error or report.tests}", file=sys.stderr)
            return 1
    print(
        f"{q.id}: {len(q.coding.visible_tests)} visible tests, isolation={mode}, "
        f"median {statistics.median(times) * 1000:.1f} ms, min {min(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms over {args.repeat} runs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
