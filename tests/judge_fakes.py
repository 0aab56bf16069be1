"""A judge for the local test server: the offline judge's decisions, cited as sentence numbers.

The LLM judge shows the answer as numbered sentences ("[3] ..."); this reads them back, scores the
answer offline and cites, per item, the number of the sentence the offline judge credited.
"""

from __future__ import annotations

import re

from interviewer.bank import Bank
from interviewer.scoring import OfflineJudge

_ANSWER_RE = re.compile(r"<<ANSWER-(\w+)>>\n(.*)\n<<END-ANSWER-\1>>", re.S)
_IDS_RE = re.compile(r"Return one entry for each of these ids: (.+)")
_LINE_RE = re.compile(r"^\[(\d+)\] (.*)$", re.M)
_CONTEXT_RE = re.compile(r"^\(the interviewer then asked a follow-up about: (.*)\)$")


def judge_request_text(body: dict) -> str | None:
    return next((m["content"] for m in body.get("messages", [])
                 if m.get("role") == "user" and "<<ANSWER-" in str(m.get("content"))), None)


def judge_verdict(body: dict, bank: Bank) -> dict | None:
    """A verdict for a judge request (None if `body` is not one)."""
    text = judge_request_text(body)
    if text is None:
        return None
    numbered = _ANSWER_RE.search(text).group(2)
    sentences = {int(n): s for n, s in _LINE_RE.findall(numbered)}
    ids = [x.strip() for x in _IDS_RE.search(text).group(1).split(",")]
    q = max((q for q in bank.questions.values() if q.prompt in text and [i.id for i in q.rubric] == ids),
            key=lambda q: len(q.prompt))
    # Rebuild the answer, with a context span from each follow-up note to the next one.
    by_label = {i.label: i.id for i in q.rubric}
    answer, contexts, open_item, start = "", [], None, 0
    for line in numbered.splitlines():
        m = _CONTEXT_RE.match(line)
        if m:
            if open_item:
                contexts.append((open_item, start, len(answer)))
            open_item, start = by_label.get(m.group(1)), len(answer) + (1 if answer else 0)
            continue
        lm = _LINE_RE.match(line)
        if lm:
            answer += (" " if answer else "") + lm.group(2)
    if open_item:
        contexts.append((open_item, start, len(answer)))
    score = OfflineJudge().score(q, answer, contexts=tuple(contexts))
    found = {i.id: i for i in score.items + score.misconceptions}
    items = []
    for item_id in ids:
        v = found.get(item_id)
        cited = [n for n, s in sentences.items() if v is not None and v.covered and v.evidence and s == v.evidence]
        items.append({"id": item_id, "sentences": cited[:1], "reason": "from the offline decision"})
    return {"items": items}
