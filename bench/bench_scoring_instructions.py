"""Offline scoring work per answer in CPU instructions (callgrind): a figure that does not move with the load
on the machine, next to bench_scoring.py's answers per second (which on a shared 2-core VM varies by a
third from one hour to the next).

The workload is bench_scoring.py's (every question's reference answer and five weaker variants), every
`--step`-th answer of it (default 7: about 200 answers, all six variants). One warm-up pass fills the
caches, then callgrind counts only the second pass (instrumentation switched on and off around it with
callgrind_control); the garbage collector is frozen first so one full collection landing inside the
window does not swing the figure.

Needs valgrind (callgrind, callgrind_control). Usage: python bench/bench_scoring_instructions.py [--step 7]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def measured(step: int) -> None:
    """Runs inside valgrind: score the sample twice, instrumenting only the second pass."""
    from bench_scoring import variants

    from interviewer import native
    from interviewer.bank import load_bank
    from interviewer.scoring import OfflineJudge

    bank = load_bank()
    work = [(q, a) for q in bank.questions.values() for a in variants(q.reference_answer)][::step]
    judge = OfflineJudge()
    for q, a in work:
        judge.score(q, a)
    gc.freeze()
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True, check=False)
    for q, a in work:
        judge.score(q, a)
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True, check=False)
    print(f"ANSWERS {len(work)}")
    print(f"CODE {native.status}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=7, help="score every STEP-th answer of bench_scoring's workload")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        measured(args.step)
        return 0
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("valgrind (callgrind) is not installed: no figure")
        return 1
    env = dict(os.environ, PYTHONHASHSEED="0")  # set iteration order, and so the work, is the same every run
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
                           sys.executable, __file__, "--inside", "--step", str(args.step)],
                          capture_output=True, text=True, env=env, check=False)
    out = proc.stdout + proc.stderr
    answers = re.search(r"ANSWERS (\d+)", out)
    collected = re.search(r"Collected : (\d+)", out)
    if not answers or not collected:
        print("callgrind run failed:\n" + out[-2000:])
        return 1
    n, instr = int(answers.group(1)), int(collected.group(1))
    print(f"Offline scoring: {instr / n / 1e6:.2f} M instructions per answer ({n} answers, every {args.step}th of "
          f"bench_scoring.py's workload)")
    print("  measured: callgrind instruction count of OfflineJudge.score over the sample's second pass (caches "
          f"warm, gc frozen, PYTHONHASHSEED=0); Python {sys.version.split()[0]}")
    code = re.search(r"CODE (.*)", out)
    print(f"  code: {code.group(1) if code else 'unknown'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
