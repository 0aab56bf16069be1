"""The command line: `python -m interviewer <command>`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .bank import DEFAULT_BANK_DIR, Bank, load_bank
from .errors import BankError, InterviewerError
from .types import Kind, Question


def read_text_file(path: str, what: str) -> str:
    """A UTF-8 text file's contents, or `InterviewerError` with one plain sentence (binary, not UTF-8)."""
    data = Path(path).read_bytes()  # OSError (missing, unreadable) is reported by main()
    if b"\x00" in data:
        raise InterviewerError(f"The {what} {path} looks like a binary file, not text; give a UTF-8 text file.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InterviewerError(f"The {what} {path} is not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                               f"{exc.start}); save it as UTF-8 and try again.") from None


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _question_summary(q: Question) -> dict:
    return {"id": q.id, "kind": q.kind.value, "title": q.title, "prompt": q.prompt,
            "difficulty": q.difficulty, "topics": q.topics, "source": q.source}


def _question_full(q: Question) -> dict:
    data = _question_summary(q)
    data.update({
        "subtitle": q.subtitle,
        "rubric": [{"id": i.id, "label": i.label, "kind": i.kind, "weight": i.weight,
                    "covered_when": i.covered_when} for i in q.rubric],
        "probes": [p.model_dump() for p in q.probes],
        "reference_answer": q.reference_answer,
        "hints": q.hints.model_dump(),
        "coaching": q.coaching,
        "time_budget_min": q.time_budget_min,
    })
    if q.behavioral:
        data["behavioral"] = q.behavioral.model_dump()
    if q.coding:
        data["coding"] = {k: v for k, v in q.coding.model_dump().items()
                          if k not in ("hidden_tests", "reference_solution")}
    return data


def cmd_questions(bank: Bank, args: argparse.Namespace) -> int:
    qs = bank.filter(kind=args.kind, topic=args.topic)
    if args.json:
        _print_json([_question_summary(q) for q in qs])
        return 0
    for q in qs:
        print(f"{q.id:34} {q.kind.value:13} {q.difficulty:6} {q.title}")
    print(f"{len(qs)} question(s)")
    return 0


def cmd_show(bank: Bank, args: argparse.Namespace) -> int:
    q = bank.get(args.id)
    if args.json:
        _print_json(_question_full(q))
        return 0
    print(f"{q.title}  [{q.kind.value}, {q.difficulty}; topics: {', '.join(q.topics)}]")
    if q.subtitle:
        print(q.subtitle)
    print(f"\n{q.prompt}\n\nRubric:")
    for i in q.rubric:
        print(f"  - [{i.kind}, {i.weight:g}] {i.label}")
    print("\nFollow-up probes:")
    for p in q.probes:
        print(f"  - ({p.item}) {p.text}")
    if q.coding:
        print(f"\nSignature: {q.coding.signature}\n\n{q.coding.statement}")
    return 0


def cmd_bank_validate(args: argparse.Namespace) -> int:
    try:
        bank = load_bank(args.dir)
    except BankError as exc:
        for line in exc.problems:
            print(line)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    kinds = {k.value: len(bank.filter(kind=k)) for k in Kind}
    detail = ", ".join(f"{n} {k}" for k, n in kinds.items())
    print(f"OK: {len(bank.questions)} questions ({detail}), {len(bank.loops)} loops")
    return 0


def _judge(name: str):
    from .scoring import LLMJudge, OfflineJudge

    if name == "offline":
        return OfflineJudge()
    from .config import load_settings
    from .llm import build_models

    settings = load_settings()
    if settings.offline:
        raise InterviewerError(
            "No model is configured (set OPENAI_API_KEY or OPENAI_BASE_URL) so the LLM judge cannot run; "
            "use --judge offline."
        )
    _, judge_model = build_models(settings)
    if judge_model is None:
        raise InterviewerError("No judge model could be built from the settings; use --judge offline.")
    return LLMJudge(judge_model)


def cmd_score_batch(bank: Bank, args: argparse.Namespace) -> int:
    """JSON Lines in ({"question": ID, "answer": TEXT} per line), JSON Lines out, in order, one process.

    A line that can't be scored gets {"line": N, "error": "..."} in its place; the rest go on.
    """
    import json

    from .scoring import score_answer

    judge = _judge(args.judge)
    source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")  # noqa: SIM115
    with source:
        for n, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("question"), str) \
                        or not isinstance(row.get("answer"), str):
                    raise ValueError('each line must be {"question": ID, "answer": TEXT}')
                result = score_answer(bank.get(row["question"]), row["answer"], judge=judge).public_json()
            except (ValueError, InterviewerError) as exc:
                result = {"line": n, "error": f"line {n}: {exc}"}
            print(json.dumps(result, ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 0


def cmd_score(bank: Bank, args: argparse.Namespace) -> int:
    from .scoring import score_answer

    if args.batch:
        return cmd_score_batch(bank, args)
    if not args.question or (args.answer is None and not args.answer_file):
        raise InterviewerError("score needs --question and --answer/--answer-file, or --batch FILE.")
    q = bank.get(args.question)
    if args.answer_file:
        answer = read_text_file(args.answer_file, "answer file")
    else:
        answer = args.answer
    result = score_answer(q, answer, judge=_judge(args.judge))
    if args.json:
        _print_json(result.public_json())
        return 0
    label = " (offline estimate)" if result.estimate else f" (LLM judge: {result.model})"
    print(f"{q.title}\nScore: {result.score}/100, {result.band}{label}")
    if result.fallback_reason:
        print(f"Note: {result.fallback_reason}")
    if result.flags:
        print("Flags: " + ", ".join(result.flags))
    for i in result.items:
        mark = "x" if i.covered else " "
        ev = f'  \u201c{i.evidence}\u201d' if i.evidence else ""
        print(f"  [{mark}] {i.label}{ev}")
    print(f"\n{result.feedback}")
    return 0


def cmd_eval(bank: Bank, args: argparse.Namespace) -> int:
    from .evaluation import load_dev_set, run_eval

    report = run_eval(bank, load_dev_set(args.dev_set), judge=_judge(args.judge))
    if args.json:
        _print_json(report.model_dump())
    else:
        print(report.render())
    return 0 if report.figures_valid else 3


def cmd_run_code(bank: Bank, args: argparse.Namespace) -> int:
    from .bootstrap import build_runner
    from .grading import report_json

    q = bank.get(args.question)
    if q.coding is None:
        raise InterviewerError(f"{q.id} is not a coding question.")
    code = read_text_file(args.solution, "solution file")
    report = build_runner().run(q.coding, code, tests=args.tests)  # SandboxUnavailable: one sentence, exit 2
    data = report_json(q.id, report)
    if args.json:
        _print_json(data)
        return 0
    print(f"{q.title}: {data['passed']} passed, {data['failed']} failed")
    if report.error:
        print(f"  {report.error}")
    for t in data["tests"]:
        print(f"  {t['status']:8} {t['name']}  {t['message'] or ''}")
    for v in data["violations"]:
        print(f"  violation: {v}")
    print(("" if report.isolation.sandboxed else "WARNING: ") + report.isolation.summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m interviewer", description="Mock ML/AI interviews.")
    p.add_argument("--bank", default=None, help=f"question bank directory (default {DEFAULT_BANK_DIR})")
    sub = p.add_subparsers(dest="command", required=True)

    q = sub.add_parser("questions", help="list questions")
    q.add_argument("--kind", choices=[k.value for k in Kind])
    q.add_argument("--topic")
    q.add_argument("--json", action="store_true")

    s = sub.add_parser("show", help="show one question")
    s.add_argument("id")
    s.add_argument("--json", action="store_true")

    b = sub.add_parser("bank", help="bank maintenance")
    bsub = b.add_subparsers(dest="bank_command", required=True)
    v = bsub.add_parser("validate", help="validate a bank directory")
    v.add_argument("dir", nargs="?", default=None)

    sc = sub.add_parser("score", help="score one answer, or a JSON Lines batch")
    sc.add_argument("--question")
    src = sc.add_mutually_exclusive_group(required=True)
    src.add_argument("--answer-file")
    src.add_argument("--answer")
    src.add_argument("--batch", help='JSON Lines of {"question": ID, "answer": TEXT} ("-" for stdin)')
    sc.add_argument("--judge", choices=["offline", "llm"], default="offline")
    sc.add_argument("--json", action="store_true")

    e = sub.add_parser("eval", help="measure the judge on the labelled dev set")
    e.add_argument("--judge", choices=["offline", "llm"], default="offline")
    e.add_argument("--dev-set", default=None)
    e.add_argument("--json", action="store_true")

    r = sub.add_parser("run-code", help="run a solution against a coding question's tests")
    r.add_argument("--question", required=True)
    r.add_argument("--solution", required=True)
    r.add_argument("--tests", choices=["visible", "hidden", "all"], default="all")
    r.add_argument("--json", action="store_true")

    from . import cli_session

    cli_session.add_commands(sub)
    return p


COMMANDS = {
    "questions": cmd_questions,
    "show": cmd_show,
    "score": cmd_score,
    "eval": cmd_eval,
    "run-code": cmd_run_code,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "bank":
            return cmd_bank_validate(args)
        bank = load_bank(args.bank)
        if args.command in COMMANDS:
            return COMMANDS[args.command](bank, args)
        from . import cli_session

        return cli_session.run(bank, args)
    except BankError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except InterviewerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), file=sys.stderr)
        return 2
