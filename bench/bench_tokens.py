"""Prompt tokens per interviewer call over a 30-call interview, through the REAL adapter over HTTP.

Starts the local OpenAI-compatible server of tests/openai_server.py (no network beyond
127.0.0.1), builds the app with `OPENAI_BASE_URL` pointing at it (so the interviewer is
`interviewer.llm.OpenAIChatModel`), and runs an interview over a long plan of technical
questions with answers that leave gaps, so each question gets its follow-ups, until the
interviewer model has been called 30 times. Every request the server received is
counted with `interviewer.tokens.count_messages` (o200k_base, offline).

Printed: prompt tokens at interviewer calls 1, 5, 10, 20 and 30; the ratio call30/call5
(acceptance: <= 1.2, i.e. the prompt does not grow with the interview); and the share of
each prompt that is the stable prefix (the system message: persona, rules, question and
rubric, identical for every follow-up on a question, so a server's prompt cache can reuse it).

Usage: python bench/bench_tokens.py [--calls 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from interviewer.bank import load_bank  # noqa: E402
from interviewer.bootstrap import build_app  # noqa: E402
from interviewer.config import load_settings  # noqa: E402
from interviewer.llm import OpenAIChatModel  # noqa: E402
from interviewer.tokens import TOKENS_PER_MESSAGE, count_messages, count_tokens  # noqa: E402
from tests.openai_server import FakeOpenAIServer  # noqa: E402

MARKS = (1, 5, 10, 20, 30)
ANSWERS = [
    ("I think the main idea is that you want the model to generalise to new data rather than memorise the "
     "training set, so you would keep a validation set aside, compare a couple of approaches on it, and pick "
     "whichever looks better, while keeping an eye on how complex the model gets."),
    ("It depends a lot on the data. In practice I would start with something simple, look at the errors it "
     "makes, and only then add complexity if it clearly helps on the held-out metric that matters."),
    ("I am not completely sure about the details there, but I would probably run an experiment and look at the "
     "numbers before deciding, and ask the team what they saw in earlier projects."),
]
FOLLOW_UP = ("<notes>Still generic: push for the mechanism.</notes>You mentioned comparing approaches on held-out "
             "data. What specifically would you measure, and what result would make you change your approach?")


def handler(body: dict):
    return FOLLOW_UP if body.get("stream") else {}


def prefix_tokens(message: dict) -> int:
    return TOKENS_PER_MESSAGE + count_tokens(message["role"]) + count_tokens(message["content"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()

    bank = load_bank()
    plan = [q for q in sorted(bank.filter(kind="technical"), key=lambda q: q.id) if len(q.probes) >= 2]
    server = FakeOpenAIServer().start()
    server.set_handler(handler)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env={
                "OPENAI_BASE_URL": server.base_url, "INTERVIEWER_MAX_RETRIES": "0", "INTERVIEWER_TIMEOUT_S": "10",
                "INTERVIEWER_DB_URL": f"sqlite:///{tmp}/tokens.db", "INTERVIEWER_SESSION_BUDGET_TOKENS": "0",
            }, secrets_path=Path("/nonexistent/secrets.toml"))
            app = build_app(settings, bank=bank)
            assert isinstance(app.interviewer_model, OpenAIChatModel)
            s = app.start(plan)
            submits = 0
            call_submit: list[int] = []
            call_question: list[str] = []
            while len([r for r in server.chat_requests if r.get("stream")]) < args.calls:
                before = len(server.chat_requests)
                "".join(s.submit(ANSWERS[submits % len(ANSWERS)]))
                submits += 1
                for _ in server.chat_requests[before:]:
                    call_submit.append(submits)
                    call_question.append(s.current.question.id)
                if s.finished:
                    print("the plan ran out before enough interviewer calls", file=sys.stderr)
                    return 1
            app.store.engine.dispose()
    finally:
        server.stop()
    elapsed = time.perf_counter() - started

    calls = [r for r in server.chat_requests if r.get("stream")][: args.calls]
    rows = []
    for i, body in enumerate(calls, start=1):
        msgs = body["messages"]
        total = count_messages(msgs)
        prefix = prefix_tokens(msgs[0]) if msgs and msgs[0]["role"] == "system" else 0
        rows.append({"call": i, "submit": call_submit[i - 1], "question": call_question[i - 1], "tokens": total,
                     "prefix": prefix, "messages": len(msgs)})

    print(f"Prompt tokens per interviewer call (real adapter -> local server; counted with interviewer.tokens, "
          f"o200k_base) over {len(calls)} interviewer calls = {submits} submits, "
          f"{len({r['question'] for r in rows})} questions, {elapsed:.1f} s:")
    print(f"  {'call':>4} {'submit':>6} {'prompt':>7} {'prefix':>7} {'share':>6} {'msgs':>4}  question")
    for r in rows:
        if r["call"] in MARKS:
            print(f"  {r['call']:>4} {r['submit']:>6} {r['tokens']:>7} {r['prefix']:>7} "
                  f"{r['prefix'] / r['tokens']:>6.0%} {r['messages']:>4}  {r['question']}")
    by_call = {r["call"]: r for r in rows}
    if 5 in by_call and args.calls in by_call:
        ratio = by_call[args.calls]["tokens"] / by_call[5]["tokens"]
        verdict = "meets" if ratio <= 1.2 else "MISSES"
        print(f"  ratio call{args.calls}/call5 = {ratio:.2f} -> {verdict} the <= 1.2 acceptance")
        tail5 = by_call[5]["tokens"] - by_call[5]["prefix"]
        tail_n = by_call[args.calls]["tokens"] - by_call[args.calls]["prefix"]
        print(f"  without the per-question system prefix: call5 {tail5} tokens, call{args.calls} {tail_n} tokens "
              f"(ratio {tail_n / tail5:.2f}: the tail is that question's recent turns, longer at a later follow-up)")
        same = [r for r in rows if r["messages"] == by_call[5]["messages"]]
        last_same = same[-1]
        print(f"  like for like (same position in a question, {by_call[5]['messages']} messages): "
              f"call{last_same['call']}/call5 = {last_same['tokens'] / by_call[5]['tokens']:.2f}; "
              f"call{args.calls} is a later follow-up within its question ({by_call[args.calls]['messages']} messages), "
              f"so the window of that question's turns is longer")
        for n in sorted({r["messages"] for r in rows}):
            group = [r["tokens"] for r in rows if r["messages"] == n]
            first, last = group[: len(group) // 2], group[len(group) // 2:]
            if not first:
                continue
            growth = statistics.median(last) / statistics.median(first)
            print(f"  calls with {n} messages: first half of the interview median {statistics.median(first):.0f}, "
                  f"second half median {statistics.median(last):.0f} tokens (x{growth:.2f})")
    tokens = [r["tokens"] for r in rows]
    shares = [r["prefix"] / r["tokens"] for r in rows]
    print(f"  all calls: prompt min {min(tokens)}, median {statistics.median(tokens):.0f}, max {max(tokens)} tokens; "
          f"stable-prefix share min {min(shares):.0%}, median {statistics.median(shares):.0%}, max {max(shares):.0%}")
    print(f"  a prompt holds the system prefix, at most the current question's recent turns and one instruction; "
          f"messages per call: {sorted({r['messages'] for r in rows})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
