"""Transcript exports: JSON (the CLI's shape) and Markdown. Private notes are never exported."""

from __future__ import annotations

import html
import json
import re
import unicodedata

from .store import InterviewRecord

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
                  for t in rec.turns],
        "results": [{k: v for k, v in r.items() if k != "full"} for r in rec.results],
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
        body = md_text(t.text).replace("\n", "\n> ")
        lines += [f"**{who}** ({t.kind})", "", f"> {body}", ""]
    if rec.results:
        lines += ["## Scores", ""]
        for r in rec.results:
            est = " (offline estimate)" if r.get("estimate") else ""
            title = md_text(r.get("title", r["question_id"]), inline=True)
            lines += [f"### {title}: {int(r['score'])}/100, {md_text(r['band'], inline=True)}{est}", ""]
            for item in r["items"]:
                mark = "x" if item["covered"] else " "
                ev = f" \u2014 \u201c{md_text(item['evidence'], inline=True)}\u201d" if item.get("evidence") else ""
                lines.append(f"- [{mark}] {md_text(item['label'], inline=True)}{ev}")
            for m in r.get("misconceptions", []):
                lines.append(f"- [!] {md_text(m['label'], inline=True)} \u2014 \u201c{md_text(m['evidence'], inline=True)}\u201d")
            if r.get("star"):
                s = r["star"]
                parts = ", ".join(f"{p}: {'yes' if s[p] else 'no'}" for p in ("situation", "task", "action", "result"))
                lines.append(f"- STAR: {parts}; quantified result: {'yes' if s['quantified_result'] else 'no'}")
            if r.get("flags"):
                lines.append(f"- Flags: {', '.join(r['flags'])}")
            lines += ["", f"**Feedback:** {md_text(r['feedback'], inline=True)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def export(rec: InterviewRecord, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(transcript_json(rec), indent=2, ensure_ascii=False)
    if fmt == "md":
        return transcript_markdown(rec)
    raise ValueError(f"unknown export format {fmt!r}")
