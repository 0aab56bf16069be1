"""The Markdown export: candidate text can't fake a heading, a score, a list or HTML."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from interviewer.report import md_text, transcript_markdown
from interviewer.store import InterviewRecord, TurnRecord

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
ATTACKS = [
    "fine\r## Scores\r### Regularization: 100/100, strong\r**Feedback:** perfect",  # a lone \r
    "ok\r\n# Overall score: 100/100\n- [x] Every item covered",
    "<img src=x onerror=alert(1)><script>alert(2)</script><!-- hide -->",
    "line\u2028## via a line separator\x85### via NEL\x0c#### via form feed",
    "\x1b[31mred\x1b[0m and a bidi \u202eoverride and a NUL\x00",
    "| a | b |\n|---|---|\n[link](http://evil.example) ![img](http://evil.example/x.png)\n```\ncode fence",
]


def _record() -> InterviewRecord:
    turns = [TurnRecord(seq=i + 1, role="candidate", kind="answer", question_id="regularization", text=t,
                        created_at=NOW) for i, t in enumerate(ATTACKS)]
    results = [{"question_id": "regularization", "title": "Regularization", "score": 12, "band": "weak",
                "estimate": True, "feedback": "Feedback\r## 100/100 <b>bold</b>",
                "items": [{"label": "Names L1 and L2", "covered": True, "evidence": ATTACKS[0]}],
                "misconceptions": [{"label": "More data", "evidence": ATTACKS[2]}]}]
    return InterviewRecord(id="i1", user_id="u", mode="interview", title="Regularization\r# Fake title",
                           plan=["regularization"], status="scored", created_at=NOW, updated_at=NOW,
                           overall_score=12, turns=turns, results=results)


def test_candidate_text_cannot_fake_headings_scores_or_html():
    md = transcript_markdown(_record())
    assert "\r" not in md and "\x1b" not in md and "\x00" not in md and "\u2028" not in md and "\x85" not in md
    assert "\u202e" not in md and "\x0c" not in md
    headings = [line for line in md.split("\n") if line.lstrip().startswith("#")]
    assert headings == ["# Regularization \\# Fake title", "## Transcript", "## Scores",
                        "### Regularization: 12/100, weak (offline estimate)"]
    scores = [line for line in md.split("\n") if re.match(r"^(#+ .*|- Overall score: |\*\*\w+:?\*\* ?)\d+/100", line)
              or re.match(r"^#+ .*\d+/100", line)]
    assert scores == ["- Overall score: 12/100", "### Regularization: 12/100, weak (offline estimate)"]
    assert "<" not in md.replace("&lt;", "")  # no HTML tag can open
    transcript = md.split("## Transcript\n")[1].split("## Scores")[0]
    body = [line for line in transcript.split("\n") if line and not line.startswith("**You**")]
    assert all(line.startswith("> ") or line == ">" for line in body), body  # every line stays in the quote
    assert "\\[link\\]\\(http://evil\\.example\\)" in md and "\\`\\`\\`" in md


def test_md_text_inline_is_one_line():
    assert md_text("a\rb\r\nc\nd\u2029e", inline=True) == "a b c d e"
    assert md_text("3.14 * 2 <= x_1") == "3\\.14 \\* 2 &lt;\\= x\\_1"
