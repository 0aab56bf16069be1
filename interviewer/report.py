"""Transcript exports: JSON (the CLI's shape) and Markdown. Private notes are never exported."""

from __future__ import annotations

import html
import json
import re
import unicodedata

from .guard import replacements_in
from .store import InterviewRecord
from .types import Score

MOVE_WORDS = {
    "question": "asks", "probe": "follows up", "follow_up": "follows up", "challenge": "challenges a claim",
    "clarify": "answers your question", "hint": "gives a hint", "wrap_up": "wraps up", "notice": "note",
    "model_answer": "shows the model answer", "answer": "answers", "code": "runs code",
}


def score_markdown(s: Score, *, title: str | None = None) -> str:
    """One scored answer, every section derived from the same item verdicts."""
    est = " (offline estimate)" if s.estimate else ""
    assisted = " — assisted (" + ", ".join(a.replace(":", " ") for a in s.assisted) + ")" if s.assisted else ""
    lines = [f"### {md_text(title or s.question_id, inline=True)}: {s.score}/100, {s.band}{est}{assisted}", ""]
    for item in s.items:
        mark = "✓" if item.covered else "○"
        ev = f" — “{md_text(item.evidence, inline=True)}”" if item.covered and item.evidence else ""
        lines.append(f"- {mark} {item.label}{ev}")
    for m in s.misconceptions:
        if m.covered:
            lines.append(f"- ✗ {m.label} — “{md_text(m.evidence or '', inline=True)}”")
    if s.star is not None:
        parts = ", ".join(f"{p}: {'yes' if getattr(s.star, p).present else 'no'}"
                          for p in ("situation", "task", "action", "result"))
        lines.append(f"- STAR: {parts}; quantified result: {'yes' if s.star.quantified_result else 'no'}")
    if s.flags:
        lines.append(f"- Flags: {', '.join(s.flags)}")
    if s.fallback_reason:
        lines.append(f"- Judge: {md_text(s.fallback_reason, inline=True)}")
    lines += ["", f"**Feedback:** {md_text(s.feedback, inline=True)}", ""]
    return "\n".join(lines)

_NEWLINES = re.compile(r"\r\n|\r|\n|\x0b|\x0c|\x1c|\x1d|\x1e|\x85|\u2028|\u2029")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~=<>])")


def md_text(text: str, *, inline: bool = False) -> str:
    """Candidate (or model) text made inert for Markdown: HTML escaped, control characters dropped, every
    line ending (a lone \\r too) normalised, and Markdown punctuation backslash-escaped, so no answer can
    open a heading, a list, a table, a link or an HTML block. `inline`: line breaks become spaces."""
    text = _NEWLINES.sub("\n", str(text))
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    text = _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False))
    return " ".join(text.split()) if inline else text


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
                  | ({"move": {"follow_up": "probe", "notice": "wrap_up"}.get(t.kind, t.kind),
                      "target": t.probe_item} if t.role == "interviewer" else {})
                  for t in rec.turns],
        "results": [{k: v for k, v in r.items() if k != "full"} for r in rec.results],
        "assisted": {r["question_id"]: r.get("assisted", []) for r in rec.results if r.get("assisted")},
        # model follow-ups the guard replaced with the scripted probe (interviewer/guard.py)
        "guard_replacements": replacements_in([t.private_notes for t in rec.turns]),
    }


def transcript_markdown(rec: InterviewRecord) -> str:
    lines = [f"# {md_text(rec.title, inline=True)}", "",
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
        what = MOVE_WORDS.get(t.kind, t.kind.replace("_", " "))
        body = md_text(t.text).replace("\n", "\n> ")
        lines += [f"**{who}** ({what})", "", f"> {body}", ""]
    if rec.results:
        lines += ["## Scores", ""]
        for r in rec.results:
            if r.get("fallback_reason"):
                lines += [f"Judge: offline estimate, because the LLM judge failed: {md_text(r['fallback_reason'], inline=True)}", ""]
            elif r.get("judge") == "llm":
                so = r.get("structured_output") or {}
                how = f" (structured output: {so['mode']}" + (f"; {so['fallback']})" if so.get("fallback") else ")") \
                    if so.get("mode") else ""
                lines += [f"Judge: LLM{how}", ""]
            if r.get("full"):
                lines.append(score_markdown(Score.model_validate(r["full"]), title=r.get("title")))
                continue
            est = " (offline estimate)" if r.get("estimate") else ""
            lines += [f"### {md_text(r.get('title', r['question_id']), inline=True)}: {int(r['score'])}/100, "
                      f"{md_text(r['band'], inline=True)}{est}", ""]
            for item in r["items"]:
                mark = "✓" if item["covered"] else "○"
                lines.append(f"- {mark} {item['label']}")
            lines += ["", f"**Feedback:** {md_text(r['feedback'], inline=True)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def export(rec: InterviewRecord, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(transcript_json(rec), indent=2, ensure_ascii=False)
    if fmt == "md":
        return transcript_markdown(rec)
    raise ValueError(f"unknown export format {fmt!r}")
