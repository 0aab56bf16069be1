"""CLI commands for interviews, loops, transcripts and simulated candidates."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .bank import Bank
from .bootstrap import build_app
from .errors import InterviewerError, ModelError
from .report import export, transcript_json
from .session import SessionError


def add_commands(sub) -> None:
    i = sub.add_parser("interview", help="run an interview in the terminal (or from an answers file)")
    which = i.add_mutually_exclusive_group()
    which.add_argument("--question")
    which.add_argument("--topic")
    which.add_argument("--kind")
    which.add_argument("--loop")
    i.add_argument("--mode", choices=["practice", "interview"], default="interview")
    i.add_argument("--answers", help="a file of answers separated by lines holding only ---")
    i.add_argument("--seed", type=int)
    i.add_argument("--json", action="store_true")

    lo = sub.add_parser("loops", help="list the loop templates")
    lo.add_argument("--json", action="store_true")

    t = sub.add_parser("transcripts", help="saved interviews")
    tsub = t.add_subparsers(dest="transcripts_command", required=True)
    tl = tsub.add_parser("list")
    tl.add_argument("--json", action="store_true")
    ts = tsub.add_parser("show")
    ts.add_argument("id")
    ts.add_argument("--json", action="store_true")
    te = tsub.add_parser("export")
    te.add_argument("id")
    te.add_argument("--format", choices=["md", "json"], default="md")
    te.add_argument("-o", "--output")
    td = tsub.add_parser("delete")
    td.add_argument("id")

    s = sub.add_parser("simulate", help="run simulated candidates through the engine (uses the configured model)")
    s.add_argument("--question", default="regularization")
    s.add_argument("--personas", default="strong,weak,empty,gibberish,echo,decliner,injector,clarifier,asserter,"
                                         "paraphraser,skipper")
    s.add_argument("--mode", choices=["practice", "interview"], default="interview")
    s.add_argument("--allow-offline", action="store_true", help="run with the scripted interviewer if no model is set")
    s.add_argument("--json", action="store_true")


def read_answers(path: str) -> list[str]:
    from .cli import read_text_file

    text = read_text_file(path, "answers file")
    parts: list[str] = []
    cur: list[str] = []
    for line in text.splitlines():
        if line.strip() == "---":
            parts.append("\n".join(cur).strip())
            cur = []
        else:
            cur.append(line)
    parts.append("\n".join(cur).strip())
    return [p for p in parts if p]


def _interview(bank: Bank, args: argparse.Namespace) -> int:
    app = build_app(bank=bank)
    plan = app.plan(question_id=args.question, topic=args.topic, kind=args.kind, loop=args.loop, seed=args.seed)
    session = app.start(plan, mode=args.mode, loop_name=args.loop)
    answers = read_answers(args.answers) if args.answers else None
    interactive = answers is None
    out = sys.stderr if args.json else sys.stdout
    print(f"[interview {session.id}] {'offline: scripted interviewer' if app.offline else 'model: ' + app.settings.model}",
          file=out)
    print(f"\nInterviewer: {session.transcript()[-1]['text']}\n", file=out)
    while not session.finished:
        if interactive:
            try:
                print("You (end with a line holding only '.', or type /end):", file=out)
                lines = []
                while True:
                    line = input()
                    if line.strip() in (".", "/end"):
                        break
                    lines.append(line)
                if line.strip() == "/end" and not lines:
                    session.end()
                    break
                answer = "\n".join(lines)
            except EOFError:
                session.end()
                break
        else:
            if not answers:
                session.end()
                break
            answer = answers.pop(0)
        try:
            print("Interviewer: ", end="", file=out, flush=True)
            for chunk in session.submit(answer):
                print(chunk, end="", file=out, flush=True)
            print("\n", file=out)
            clock = session.loop_clock()
            if clock:
                t = session.time_status()
                print(f"[loop clock: {clock['elapsed_min']:.0f} of {clock['total_min']} min; this question "
                      f"{t['elapsed_min']:.0f} of ~{t['budget_min']} min]", file=out)
        except SessionError as exc:
            print(f"\n{exc}\n", file=out)
        except ModelError as exc:
            print(f"\n{exc} Continuing with the scripted interviewer for this turn.\n", file=out)
            for chunk in session.continue_offline():
                print(chunk, end="", file=out, flush=True)
            print("\n", file=out)
    if session.model_advice:
        print(session.model_advice, file=sys.stderr)
    if session.guard_replacements:
        print(f"The guard replaced {session.guard_replacements} model follow-up(s) with the scripted probe.", file=out)
    print("Scoring...", file=out)
    scores = session.score()
    rec = app.store.get(session.id)
    if args.json:
        data = transcript_json(rec)
        turns = []
        for t in session.transcript():
            row = {"role": t["role"], "question_id": t["question_id"], "text": t["text"]}
            if "move" in t:
                row["move"] = t["move"]
                if t.get("target"):
                    row["target"] = t["target"]
            turns.append(row)
        print(json.dumps({"id": data["id"], "mode": data["mode"], "turns": turns,
                          "guard_replacements": session.guard_replacements,
                          "results": [s.public_json() for s in scores]}, indent=2, ensure_ascii=False))
    else:
        for s in scores:
            est = " (offline estimate)" if s.estimate else ""
            print(f"{bank.get(s.question_id).title}: {s.score}/100 {s.band}{est}\n  {s.feedback}\n")
        print(f"Saved as {session.id}. Review with: python -m interviewer transcripts show {session.id}")
    return 0


def _loops(bank: Bank, args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    for loop in bank.loops.values():
        slots: list[str] = []
        for s in loop.slots:
            slots.append(s.question or " / ".join(x for x in (s.kind.value if s.kind else None, s.topic) if x))
        rows.append({"name": loop.name, "title": loop.title, "description": loop.description,
                     "minutes": loop.minutes, "questions": slots})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['name']:28} {r['title']} ({r['minutes']} min): {', '.join(r['questions'])}")
    return 0


def _transcripts(bank: Bank, args: argparse.Namespace) -> int:
    app = build_app(bank=bank, use_configured_models=False)
    user = app.settings.user
    cmd = args.transcripts_command
    if cmd == "list":
        recs = app.store.list(user_id=user)
        if args.json:
            print(json.dumps([{"id": r.id, "title": r.title, "mode": r.mode, "status": r.status,
                               "created_at": r.created_at.isoformat(), "overall_score": r.overall_score}
                              for r in recs], indent=2))
        else:
            for r in recs:
                score = "-" if r.overall_score is None else f"{r.overall_score}/100"
                print(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.status:8} {score:>7}  {r.title}")
            print(f"{len(recs)} transcript(s)")
        return 0
    rec = app.store.get(args.id, user_id=user)
    if rec is None:
        raise InterviewerError(f"No transcript with id {args.id}.")
    if cmd == "show":
        print(export(rec, "json" if args.json else "md"))
    elif cmd == "export":
        text = export(rec, args.format)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"Wrote {args.output}")
        else:
            print(text)
    elif cmd == "delete":
        app.store.delete(rec.id, user_id=user)
        print(f"Deleted {rec.id}")
    return 0


def _simulate(bank: Bank, args: argparse.Namespace) -> int:
    from .simulate import PERSONAS, run_persona

    app = build_app(bank=bank)
    if app.offline and not args.allow_offline:
        raise InterviewerError("simulate runs the personas against the configured model: set OPENAI_BASE_URL or "
                               "OPENAI_API_KEY (or pass --allow-offline for the scripted interviewer).")
    reports = []
    for persona in [p.strip() for p in args.personas.split(",") if p.strip()]:
        if persona not in PERSONAS:
            raise InterviewerError(f"Unknown persona {persona!r}; choose from {', '.join(PERSONAS)}.")
        session = app.start(app.plan(question_id=args.question), mode=args.mode)
        reports.append(run_persona(session, persona))
    if args.json:
        print(json.dumps([r.model_dump() | {"ok": r.ok} for r in reports], indent=2))
    else:
        for r in reports:
            status = "OK  " if r.ok else "FAIL"
            print(f"{status} {r.persona:10} turns={r.turns:2} scores={r.scores} repeated_probe={r.repeated_probe} "
                  f"cap_held={r.cap_held} notes_leaked={r.notes_leaked} revealed={r.reference_revealed} "
                  f"declines_moved_on={r.declines_moved_on} guard_replaced={len(r.guard_replaced)}")
            for line in r.guard_violations:
                print(f"     shown to the candidate, breaking the rules: {line}")
            for line in r.guard_replaced:
                print(f"     the model broke the rules (replaced by the scripted probe): {line}")
            if r.errors and not r.ok:
                for e in r.errors:
                    print(f"     {e}")
    return 0 if all(r.ok for r in reports) else 1


def run(bank: Bank, args: argparse.Namespace) -> int:
    handlers = {"interview": _interview, "loops": _loops, "transcripts": _transcripts, "simulate": _simulate}
    return handlers[args.command](bank, args)
