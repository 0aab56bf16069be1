"""Transcript exports: JSON (the CLI's shape) and Markdown. Private notes are never exported."""

from __future__ import annotations

import json

from .guard import replacements_in
from .store import InterviewRecord


def transcript_json(rec: InterviewRecord) -> dict:
    return {
        "id": rec.id,
        "mode": rec.mode,
        "title": rec.title,
        "status": rec.status,
        "created_at": rec.created_at.isoformat(),
        "plan": rec.plan,
        "interviewer_model": rec.interviewer_model,
        "judge_model": rec.judge_model,
        "usage": {"prompt_tokens": rec.prompt_tokens, "completion_tokens": rec.completion_tokens,
                  "cost_usd": rec.cost_usd},
        "overall_score": rec.overall_score,
        "turns": [{"role": t.role, "kind": t.kind, "question_id": t.question_id, "text": t.text}
                  for t in rec.turns],
        "results": [{k: v for k, v in r.items() if k != "full"} for r in rec.results],
        # model follow-ups the guard replaced with the scripted probe (interviewer/guard.py)
        "guard_replacements": replacements_in([t.private_notes for t in rec.turns]),
    }


def transcript_markdown(rec: InterviewRecord) -> str:
    lines = [f"# {rec.title}", "",
             f"- Date: {rec.created_at:%Y-%m-%d %H:%M} UTC",
             f"- Mode: {rec.mode}",
             f"- Status: {rec.status}"]
    if rec.overall_score is not None:
        lines.append(f"- Overall score: {rec.overall_score}/100")
    if rec.interviewer_model or rec.judge_model:
        lines.append(f"- Models: interviewer {rec.interviewer_model or 'offline'}, judge {rec.judge_model or 'offline'}")
    lines.append(f"- Tokens: {rec.prompt_tokens} in, {rec.completion_tokens} out"
                 + (f", ${rec.cost_usd:.4f}" if rec.cost_usd else ""))
    lines += ["", "## Transcript", ""]
    for t in rec.turns:
        who = "Interviewer" if t.role == "interviewer" else "You"
        body = t.text.replace("\n", "\n> ")
        lines += [f"**{who}** ({t.kind})", "", f"> {body}", ""]
    if rec.results:
        lines += ["## Scores", ""]
        for r in rec.results:
            est = " (offline estimate)" if r.get("estimate") else ""
            lines += [f"### {r.get('title', r['question_id'])}: {r['score']}/100, {r['band']}{est}", ""]
            if r.get("fallback_reason"):
                lines += [f"Judge: offline estimate, because the LLM judge failed: {r['fallback_reason']}", ""]
            elif r.get("judge") == "llm":
                so = r.get("structured_output") or {}
                how = f" (structured output: {so['mode']}" + (f"; {so['fallback']})" if so.get("fallback") else ")") \
                    if so.get("mode") else ""
                lines += [f"Judge: LLM{how}", ""]
            for item in r["items"]:
                mark = "x" if item["covered"] else " "
                ev = f" \u2014 \u201c{item['evidence']}\u201d" if item.get("evidence") else ""
                lines.append(f"- [{mark}] {item['label']}{ev}")
            for m in r.get("misconceptions", []):
                lines.append(f"- [!] {m['label']} \u2014 \u201c{m['evidence']}\u201d")
            if r.get("star"):
                s = r["star"]
                parts = ", ".join(f"{p}: {'yes' if s[p] else 'no'}" for p in ("situation", "task", "action", "result"))
                lines.append(f"- STAR: {parts}; quantified result: {'yes' if s['quantified_result'] else 'no'}")
            if r.get("flags"):
                lines.append(f"- Flags: {', '.join(r['flags'])}")
            lines += ["", f"**Feedback:** {r['feedback']}", ""]
    return "\n".join(lines).rstrip() + "\n"


def export(rec: InterviewRecord, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(transcript_json(rec), indent=2, ensure_ascii=False)
    if fmt == "md":
        return transcript_markdown(rec)
    raise ValueError(f"unknown export format {fmt!r}")
