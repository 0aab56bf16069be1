"""STAR analysis of a behavioral answer: Situation, Task, Action, Result with evidence.

The STAR items of the checklist are derived from this analysis and nothing else, so the checklist and the
STAR breakdown can never disagree.
"""

from __future__ import annotations

import re
from typing import Literal

from ..text import Analysed, find_any
from ..types import Question, StarAnalysis, StarPart

STAR_MARKERS = {
    "situation": ["situation", "at my previous", "at my last", "at my current", "when i was", "we had", "our team",
                  "our model", "last year", "a few years ago", "in my previous role", "in my last role", "context",
                  "the problem was", "i was working", "we were", "there was", "we wanted", "our pm", "our director",
                  "our manager", "at a", "on a", "on the", "at the time", "our company", "our startup"],
    "task": ["task", "my goal", "i was tasked", "i needed to", "i was responsible", "the goal was", "objective",
             "it was on me", "i was the only", "my responsibility", "i knew it wasn't", "i had to make",
             "i had to", "my job was", "i was asked", "my role was", "i owned", "challenge was", "target"],
    "action": ["action", "i built", "i wrote", "i led", "i ran", "i implemented", "i designed", "i added",
               "i switched", "i proposed", "i set up", "i created", "i analysed", "i analyzed", "i investigated",
               "i performed", "i decided", "i changed", "i worked", "i trained", "i tested", "i reached out",
               "i scheduled", "i shipped", "i deployed", "i found", "i discovered", "i talked", "i met",
               "i prototyped", "i wrote up", "i presented", "i replaced", "i introduced", "i tuned", "i rolled"],
    "result": ["result", "as a result", "led to", "resulting in", "outcome", "we achieved", "i achieved",
               "improved", "reduced", "increased", "saved", "cut", "grew", "dropped", "raised", "lifted",
               "in the end", "ultimately", "impact", "shipped with", "went from", "ended up", "closed", "since then",
               "after that it", "afterwards", "which meant", "signed off", "the whole thing cost"],
}

PRINCIPLE_MARKERS = {
    "Bias for Action": ["quickly", "mvp", "minimum viable", "shipped", "iterat", "move fast", "within a week",
                        "prototype", "two-way door"],
    "Dive Deep": ["dug into", "dive deep", "root cause", "investigat", "error analysis", "labeling errors",
                  "labelling errors", "traced", "inspected"],
    "Customer Obsession": ["customer", "user trust", "users", "explainab", "customer feedback"],
    "Deliver Results": ["deadline", "delivered", "on time", "met the", "launched", "shipped on"],
    "Learn and Be Curious": ["learn", "curious", "experimented", "new technique", "paper", "read about", "explored"],
    "Ownership": ["ownership", "owned", "nobody owned", "took it on", "on my own", "long term", "long-term"],
    "Earn Trust": ["trust", "admitted", "transparent", "corrected", "credibility", "candid", "listened"],
    "Have Backbone; Disagree and Commit": ["disagree", "pushed back", "committed", "commit", "objected",
                                           "escalated", "made my case"],
    "Invent and Simplify": ["simplif", "replaced", "single model", "one global", "removed", "simpler"],
    "Insist on the Highest Standards": ["standard", "quality bar", "bar", "would not ship", "delay", "rigor",
                                        "rigour"],
    "Think Big": ["platform", "vision", "company-wide", "across teams", "roadmap", "reused", "bigger"],
    "Hire and Develop the Best": ["mentor", "coached", "hired", "interview loop", "grew", "promoted", "onboard",
                                  "develop"],
    "Frugality": ["cost", "budget", "cheaper", "fewer gpus", "saved", "constraint", "frugal", "without extra"],
    "Are Right, A Lot": ["judgment", "judgement", "turned out", "was right", "data showed", "changed my mind",
                         "seek diverse", "disconfirm"],
    "Strive to be Earth's Best Employer": ["burnout", "on-call", "wellbeing", "well-being", "workload", "safe",
                                           "inclusive", "team health"],
    "Success and Scale Bring Broad Responsibility": ["harm", "misuse", "society", "responsib", "safety",
                                                     "downstream", "privacy", "fairness"],
}

_QUANT_RE = re.compile(r"\d|%|\$|\bpercent\b|\bhalf\b|\bdoubl|\btripl|\b\d+x\b|\bfold\b", re.I)
_I_RE = re.compile(r"\b(i|i'm|i've|i'd|my|me|myself)\b", re.I)
_WE_RE = re.compile(r"\b(we|we're|we've|our|us|ourselves)\b", re.I)


_FIRST_PERSON_ACTION = re.compile(
    r"\bI\s+(?:\w+\s+)?(?:\w+(?:ed|t)|built|led|ran|wrote|made|took|set|chose|found|drove|spoke|met|began|"
    r"brought|did|told|went|kept|said|gave|got|put|sent|sat|saw|held|paid|showed|knew|dug|shipped|pulled|"
    r"took|taught|sought|fought|bought|rebuilt|rewrote|undertook|stood)\b")


def _span(a: Analysed, sentence: int) -> tuple[str, int, int]:
    s = a.sentences[sentence]
    return a.text[s.start:s.end], s.start, s.end


def analyse_star(q: Question | None, a: Analysed) -> StarAnalysis:
    """Situation, Task, Action and Result with evidence; quantified result, ownership, length, principles."""
    parts: dict[str, StarPart] = {}
    for part, markers in STAR_MARKERS.items():
        phrases = list(markers)
        if q is not None:
            try:
                phrases = q.item(part).phrases + phrases
            except KeyError:
                pass
        m = find_any(a, phrases, last=part == "result")  # a story's result comes last
        if part == "action" and (m is None or not _I_RE.search(a.sentence_text(m.sentence))):
            # An action must be the candidate's own: look for a first-person sentence.
            m = None
            for i in range(len(a.sentences)):
                text = a.sentence_text(i)
                if i not in a.excluded and _FIRST_PERSON_ACTION.search(text):
                    ev, s0, s1 = _span(a, i)
                    parts[part] = StarPart(present=True, evidence=ev, start=s0, end=s1)
                    break
            if part in parts:
                continue
        if m is None:
            parts[part] = StarPart(present=False)
        else:
            ev, s0, s1 = _span(a, m.sentence)
            parts[part] = StarPart(present=True, evidence=ev, start=s0, end=s1)
    task, result = parts["task"], parts["result"]
    if result.present and task.present and (result.start or 0) <= (task.start or 0):
        # A result is what came of the actions: a "result" word inside the task ("my task was to improve
        # it") is not one.
        parts["result"] = result = StarPart(present=False)
    quantified = False
    if result.present:
        s_idx = next(i for i, s in enumerate(a.sentences) if s.start == result.start)
        tail = " ".join(a.sentence_text(i) for i in range(s_idx, len(a.sentences)))
        quantified = bool(_QUANT_RE.search(tail))
    text = a.text
    i_count = len(_I_RE.findall(text))
    we_count = len(_WE_RE.findall(text))
    ownership: Literal["first_person", "team", "mixed", "unclear"]
    if i_count == 0 and we_count == 0:
        ownership = "unclear"
    elif i_count >= 2 * max(1, we_count) or (we_count == 0 and i_count > 0):
        ownership = "first_person"
    elif we_count >= 2 * max(1, i_count):
        ownership = "team"
    else:
        ownership = "mixed"
    words = a.n_words
    band: Literal["too_short", "ok", "too_long"] = "too_short" if words < 100 else ("too_long" if words > 380 else "ok")
    lowered = text.lower()
    principles = [name for name, marks in PRINCIPLE_MARKERS.items() if sum(map(lowered.__contains__, marks)) >= 2]
    if q is not None and q.behavioral is not None:
        for p in q.behavioral.principles:
            if p in PRINCIPLE_MARKERS and p not in principles and any(m in lowered for m in PRINCIPLE_MARKERS[p]):
                principles.append(p)
    return StarAnalysis(
        situation=parts["situation"], task=parts["task"], action=parts["action"], result=parts["result"],
        quantified_result=quantified, ownership=ownership, i_count=i_count, we_count=we_count,
        word_count=words, length_band=band, principles=principles,
    )
