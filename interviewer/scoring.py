"""Rubric verdicts and scores: an offline matcher and an LLM judge behind one interface.

The judges only decide, per rubric item, covered or not, and with which of the
candidate's words. The score is arithmetic over item weights, done here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from .chat import ChatModel, Message, Usage
from .errors import ModelError
from .prompts import render
from .text import (
    EXPLAINED_MIN_WORDS,
    Analysed,
    analyse,
    content_stems,
    find_any,
    stopword_ratio,
    verify_quote,
)
from .types import (
    DesignCoverage,
    Flag,
    ItemVerdict,
    Kind,
    Question,
    RubricItem,
    Score,
    StarAnalysis,
    StarPart,
    band_for,
)

MAX_ANSWER_CHARS = 12_000
MIN_WORDS = {Kind.technical: 15, Kind.coding: 15, Kind.system_design: 40, Kind.behavioral: 40}
TOO_SHORT_CAP = 35
NAMED_CREDIT = 0.5  # an item only named, not explained
KEYWORD_LIST_CREDIT = 0.25  # an item in a bare list of keywords
KEYWORD_LIST_STOPWORD_RATIO = 0.16
OFF_TOPIC_OVERLAP = 0.12

_INJECTION_PATTERNS = [
    r"\bignore\b.{0,40}\b(instructions?|rubric|above|previous|prior)\b",
    r"\bdisregard\b.{0,40}\b(instructions?|rubric|above|previous|prior)\b",
    r"\b(note|message|instructions?)\s+(to|for)\s+(the\s+)?(ai|grader|evaluator|model|assistant|judge|llm|scorer)\b",
    r"\b(dear|hey|hi)\s+(ai|grader|evaluator|model|assistant|judge)\b",
    r"\b(grader|evaluator|judge|scorer)\s*[:,]",
    r"\b(give|award|assign|mark|grade|score|rate)\b.{0,30}\b(full|maximum|max|perfect|100|10/10|strong|covered|all items)\b",
    r"\byou are (now )?(a|an|the)\b.{0,30}\b(grader|evaluator|judge|assistant|ai)\b",
    r"^\s*(system|assistant|user)\s*:",
    r"<\|?\s*/?\s*(system|im_start|im_end|assistant|user)\b",
    r"\[/?(inst|system)\]",
    r"\"(covered|score|band|items)\"\s*:",
    r"```\s*json",
    r"\b(all|every) (rubric )?items? (are|is|as) covered\b",
    r"\bnew instructions?\b",
    r"\bend of (the )?(answer|response|candidate)\b",
]
INJECTION_RE = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.I | re.M)

STAR_MARKERS = {
    "situation": ["situation", "at my previous", "at my last", "at my current", "when i was", "we had", "our team",
                  "our model", "last year", "a few years ago", "in my previous role", "in my last role", "context",
                  "the problem was", "i was working", "we were"],
    "task": ["task", "my goal", "i was tasked", "i needed to", "i was responsible", "the goal was", "objective",
             "i had to", "my job was", "i was asked", "my role was", "i owned", "challenge was", "target"],
    "action": ["action", "i built", "i wrote", "i led", "i ran", "i implemented", "i designed", "i added",
               "i switched", "i proposed", "i set up", "i created", "i analysed", "i analyzed", "i investigated",
               "i performed", "i decided", "i changed", "i worked", "i trained", "i tested", "i reached out",
               "i scheduled", "i shipped", "i deployed", "i found", "i discovered", "i talked", "i met",
               "i prototyped", "i wrote up", "i presented", "i replaced", "i introduced", "i tuned", "i rolled"],
    "result": ["result", "as a result", "led to", "resulting in", "outcome", "we achieved", "i achieved",
               "improved", "reduced", "increased", "saved", "cut", "grew", "dropped", "raised", "lifted",
               "in the end", "ultimately", "impact"],
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
}

_QUANT_RE = re.compile(r"\d|%|\$|\bpercent\b|\bhalf\b|\bdoubl|\btripl|\b\d+x\b|\bfold\b", re.I)
_I_RE = re.compile(r"\b(i|i'm|i've|i'd|my|me|myself)\b", re.I)
_WE_RE = re.compile(r"\b(we|we're|we've|our|us|ourselves)\b", re.I)


class Judge(Protocol):
    """Anything that turns (question, answer) into a `Score`."""

    name: str

    def score(self, question: Question, answer: str) -> Score: ...


# --------------------------------------------------------------------------- shared helpers

def _prepare(answer: str) -> tuple[str, list[Flag]]:
    flags: list[Flag] = []
    answer = answer or ""
    if len(answer) > MAX_ANSWER_CHARS:
        answer = answer[:MAX_ANSWER_CHARS]
        flags.append("truncated")
    return answer, flags


def _mark_injections(a: Analysed) -> bool:
    bad = {i for i in range(len(a.sentences)) if INJECTION_RE.search(a.sentence_text(i))}
    a.excluded = frozenset(bad)
    return bool(bad)


def _question_vocab(q: Question) -> set[str]:
    parts = [q.title, q.prompt, q.reference_answer]
    for item in q.rubric:
        parts.extend(item.phrases)
        parts.extend(item.detail_phrases)
        parts.append(item.label)
    return content_stems(analyse(" ".join(parts)))


_VOCAB_CACHE: dict[int, tuple[Question, set[str]]] = {}


def question_vocab(q: Question) -> set[str]:
    hit = _VOCAB_CACHE.get(id(q))
    if hit is None or hit[0] is not q:
        hit = (q, _question_vocab(q))
        _VOCAB_CACHE[id(q)] = hit
    return hit[1]


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
        if m is not None and part == "action" and not _I_RE.search(a.sentence_text(m.sentence)):
            # An action must be the candidate's own: look for a first-person sentence.
            m = None
            for i in range(len(a.sentences)):
                text = a.sentence_text(i)
                if i not in a.excluded and re.search(r"\bI\s+\w+(ed|t)\b|\bI\s+(built|led|ran|wrote|made|took|set|chose|found|drove|spoke|met|began|brought|did)\b", text):
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
    if result.present and task.present and result.start <= task.start:
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
    if i_count == 0 and we_count == 0:
        ownership = "unclear"
    elif i_count >= 2 * max(1, we_count) or (we_count == 0 and i_count > 0):
        ownership = "first_person"
    elif we_count >= 2 * max(1, i_count):
        ownership = "team"
    else:
        ownership = "mixed"
    words = a.n_words
    band = "too_short" if words < 100 else ("too_long" if words > 380 else "ok")
    lowered = text.lower()
    principles = [name for name, marks in PRINCIPLE_MARKERS.items() if sum(m in lowered for m in marks) >= 2]
    if q is not None and q.behavioral is not None:
        for p in q.behavioral.principles:
            if p in PRINCIPLE_MARKERS and p not in principles and any(m in lowered for m in PRINCIPLE_MARKERS[p]):
                principles.append(p)
    return StarAnalysis(
        situation=parts["situation"], task=parts["task"], action=parts["action"], result=parts["result"],
        quantified_result=quantified, ownership=ownership, i_count=i_count, we_count=we_count,
        word_count=words, length_band=band, principles=principles,
    )


def compute_score(q: Question, items: list[ItemVerdict], misconceptions: list[ItemVerdict],
                  flags: Sequence[str]) -> int:
    """The score (0-100) from item weights: earned credit minus deductions, over the total weight."""
    total = sum(i.weight for i in items)
    if total <= 0 or "off_topic" in flags:
        return 0
    earned = sum(i.credit for i in items) + sum(m.credit for m in misconceptions)
    value = max(0.0, min(100.0, 100.0 * earned / total))
    if "too_short" in flags:
        value = min(value, TOO_SHORT_CAP)
    return int(round(value))


def _credit(item: RubricItem, depth: str, keyword_list: bool) -> float:
    if depth == "missing":
        return 0.0
    factor = KEYWORD_LIST_CREDIT if keyword_list else (1.0 if depth == "explained" else NAMED_CREDIT)
    return item.weight * factor


def build_feedback(q: Question, items: list[ItemVerdict], misconceptions: list[ItemVerdict],
                   flags: Sequence[str], star: StarAnalysis | None) -> str:
    """Feedback from verdicts only: praise quotes verified evidence; misses come from the rubric."""
    lines: list[str] = []
    if "off_topic" in flags:
        lines.append("This answer does not address the question, so nothing could be credited.")
    if "instructions_to_grader" in flags:
        lines.append("Text addressed to the grader was ignored; only your answer to the question counts.")
    if "too_short" in flags:
        lines.append("The answer is too short to show your understanding: aim for a few explained sentences.")
    if "keyword_list" in flags:
        lines.append("Listing terms earns little: explain each point in a full sentence (what, why, and when).")
    covered = [i for i in items if i.covered and i.evidence]
    missed = sorted((i for i in items if not i.covered), key=lambda i: -i.weight)
    if covered:
        quoted = "; ".join(f"{i.label} (\u201c{_short(i.evidence)}\u201d)" for i in covered[:4])
        lines.append(f"Covered: {quoted}.")
    named = [i for i in items if i.depth == "named"]
    if named and "keyword_list" not in flags:
        lines.append("Named but not explained: " + ", ".join(i.label for i in named[:4]) + ".")
    wrong = [m for m in misconceptions if m.covered]
    for m in wrong:
        lines.append(f"Check this claim: \u201c{_short(m.evidence)}\u201d \u2014 {m.label.removeprefix('Misconception: ')}.")
    if missed:
        lines.append("Missed: " + ", ".join(i.label for i in missed[:5]) + ".")
    if star is not None:
        absent = [p for p in ("situation", "task", "action", "result") if not getattr(star, p).present]
        if absent:
            lines.append("STAR parts missing: " + ", ".join(absent) + ".")
        if star.result.present and not star.quantified_result:
            lines.append("Quantify the result (a number, a percentage, money or time saved).")
        if star.ownership == "team":
            lines.append("Say what YOU did: the actions are told as \u201cwe\u201d, so your own part is unclear.")
    next_step = _next_step(q, missed, star)
    if next_step:
        lines.append(f"Next step: {next_step}")
    return " ".join(lines) if lines else "Solid answer."


def _next_step(q: Question, missed: list[ItemVerdict], star: StarAnalysis | None) -> str:
    if star is not None:
        for p in ("situation", "task", "action", "result"):
            if not getattr(star, p).present:
                return f"rehearse the story with an explicit {p}."
    if missed:
        for probe in q.probes:
            if probe.item == missed[0].id:
                return f"prepare an answer to \u201c{probe.text}\u201d"
        return f"study and practise explaining: {missed[0].label}."
    return ""


def _short(text: str | None, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "\u2026"


# --------------------------------------------------------------------------- offline judge

class OfflineJudge:
    """Deterministic phrase matching: an estimate, always labelled as such."""

    name = "offline"

    def score(self, question: Question, answer: str) -> Score:
        text, flags = _prepare(answer)
        a = analyse(text)
        if _mark_injections(a):
            flags.append("instructions_to_grader")
        words = sum(s.n_words for i, s in enumerate(a.sentences) if i not in a.excluded)
        if words < MIN_WORDS[question.kind]:
            flags.append("too_short")
        keyword_list = False
        if words >= 5 and stopword_ratio(a) < KEYWORD_LIST_STOPWORD_RATIO:
            keyword_list = True
            flags.append("keyword_list")
        stems = content_stems(a)
        if stems and words >= 5:
            overlap = len(stems & question_vocab(question)) / len(stems)
            if overlap < OFF_TOPIC_OVERLAP:
                flags.append("off_topic")

        items: list[ItemVerdict] = []
        for item in question.scorable_items:
            m = find_any(a, item.phrases)
            depth = "missing"
            evidence = start = end = None
            mark = (None, None)
            if m is not None:
                evidence, start, end = _span(a, m.sentence)
                mark = (a.tokens[m.first].start, a.tokens[m.last].end)
                explained = a.sentences[m.sentence].n_words >= EXPLAINED_MIN_WORDS
                if item.detail_phrases:
                    explained = find_any(a, item.detail_phrases) is not None
                depth = "explained" if explained else "named"
            items.append(ItemVerdict(
                id=item.id, label=item.label, kind=item.kind, weight=item.weight, covered=m is not None,
                evidence=evidence, start=start, end=end, depth=depth, credit=_credit(item, depth, keyword_list),
                mark_start=mark[0], mark_end=mark[1],
            ))
        misconceptions = []
        for item in question.misconceptions:
            m = find_any(a, item.phrases)
            evidence, start, end = _span(a, m.sentence) if m else (None, None, None)
            misconceptions.append(ItemVerdict(
                id=item.id, label=item.label, kind=item.kind, weight=item.weight, covered=m is not None,
                evidence=evidence, start=start, end=end, depth="named" if m else "missing",
                credit=-item.weight if m else 0.0,
            ))
        return _finish(question, text, items, misconceptions, flags, a, judge="offline")


def _finish(q: Question, text: str, items: list[ItemVerdict], misconceptions: list[ItemVerdict],
            flags: list[Flag], a: Analysed, *, judge: str, model: str | None = None,
            fallback_reason: str | None = None) -> Score:
    star = analyse_star(q, a) if q.kind is Kind.behavioral else None
    design = None
    if q.kind is Kind.system_design:
        design = [DesignCoverage(label=i.label, kind=i.kind, depth=i.depth) for i in items]
    if "off_topic" in flags:
        for i in items:
            i.credit = 0.0
    score = compute_score(q, items, misconceptions, flags)
    return Score(
        question_id=q.id, judge=judge, estimate=judge == "offline", score=score, band=band_for(score),
        items=items, misconceptions=misconceptions, star=star, design=design, flags=list(dict.fromkeys(flags)),
        feedback=build_feedback(q, items, misconceptions, flags, star), model=model,
        fallback_reason=fallback_reason, answer=text,
    )


# --------------------------------------------------------------------------- LLM judge

class JudgeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="the rubric item id")
    covered: bool = Field(description="true only if the answer itself states this point")
    quote: str = Field(description="verbatim words from the candidate's answer that show it; empty if not covered")


class JudgeVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[JudgeItem]


def verdict_type_for(question: Question) -> type[JudgeVerdict]:
    """`JudgeVerdict` for one question, with a `grammar_schema` that names its rubric ids in order.

    A server that turns a JSON schema into a grammar (llama.cpp's JSON mode) then cannot produce a
    wrong, missing or repeated id: a small model that fills `{"items": [...]}` freely makes up ids.
    """
    ids = [i.id for i in question.rubric]

    def item(item_id: str) -> dict:
        return {"type": "object", "properties": {
            "id": {"const": item_id}, "covered": {"type": "boolean"},
            "quote": {"type": "string", "maxLength": 400}},
            "required": ["id", "covered", "quote"], "additionalProperties": False}

    def grammar_schema(cls) -> dict:
        return {"type": "object", "properties": {"items": {
            "type": "array", "prefixItems": [item(i) for i in ids], "minItems": len(ids), "maxItems": len(ids)}},
            "required": ["items"], "additionalProperties": False}

    return type("JudgeVerdict", (JudgeVerdict,), {"grammar_schema": classmethod(grammar_schema),
                                                  "__module__": __name__})


class LLMJudge:
    """One call per answered question, in a fresh context; every quote is verified in code."""

    name = "llm"

    def __init__(self, model: ChatModel, *, fallback: OfflineJudge | None = None):
        self.model = model
        self.fallback = fallback or OfflineJudge()
        self.last_usage: Usage | None = None  # tokens used by the last `score` call (all attempts)

    def messages(self, question: Question, answer: str) -> list[Message]:
        tag = secrets.token_hex(8)
        rubric = "\n".join(
            f"- id: {i.id}\n  kind: {'misconception (a WRONG claim; covered=true means the candidate asserted it)' if i.kind == 'misconception' else i.kind}\n"
            f"  label: {i.label}\n  covered_when: {i.covered_when}"
            for i in question.rubric
        )
        return [
            Message(role="system", content=render("judge_system", delimiter=tag)),
            Message(role="user", content=render(
                "judge_user", question=question.prompt, kind=question.kind.value, rubric=rubric,
                delimiter=tag, answer=answer, ids=", ".join(i.id for i in question.rubric),
            )),
        ]

    def _validate(self, question: Question, verdict: JudgeVerdict) -> str | None:
        ids = [i.id for i in question.rubric]
        got = [i.id for i in verdict.items]
        unknown = sorted(set(got) - set(ids))
        missing = [i for i in ids if i not in got]
        if unknown:
            return f"unknown item ids: {', '.join(unknown)}"
        if missing:
            return f"missing item ids: {', '.join(missing)}"
        return None

    def _count(self) -> None:
        usage = getattr(self.model, "last_usage", None)
        if usage is not None:
            self.last_usage = usage if self.last_usage is None else self.last_usage + usage

    def _ask(self, question: Question, answer: str) -> JudgeVerdict:
        messages = self.messages(question, answer)
        problem = None
        for attempt in range(2):
            if problem:
                messages = messages + [Message(role="user", content=render("judge_retry", error=problem))]
            try:
                verdict = self.model.parse(messages, verdict_type_for(question))
            except ModelError as exc:
                self._count()
                if exc.kind != "invalid_output" or attempt == 1 or getattr(exc, "retried", False):
                    raise
                problem = str(getattr(exc, "detail", None) or exc)
                continue
            self._count()
            problem = self._validate(question, verdict)
            if problem is None:
                return verdict
        raise ModelError("invalid_output", f"The judge model's reply was invalid twice ({problem}).")

    def score(self, question: Question, answer: str) -> Score:
        text, flags = _prepare(answer)
        self.last_usage = None
        try:
            verdict = self._ask(question, text)
        except ModelError as exc:
            fallback = self.fallback.score(question, answer)
            return fallback.model_copy(update={
                "fallback_reason": f"{exc} The offline estimate is shown instead.", **self._output_mode(),
            })
        a = analyse(text)
        injected = _mark_injections(a)
        if injected:
            flags.append("instructions_to_grader")
        offline = self.fallback.score(question, answer)
        for f in offline.flags:
            if f in ("too_short", "keyword_list", "off_topic") and f not in flags:
                flags.append(f)
        by_id = {i.id: i for i in verdict.items}
        items: list[ItemVerdict] = []
        misconceptions: list[ItemVerdict] = []
        for item in question.rubric:
            claimed = by_id[item.id]
            span = verify_quote(text, claimed.quote) if claimed.covered and claimed.quote else None
            note = None
            if claimed.covered and span is None:
                note = "the judge's quote was not found in the answer, so it earns nothing"
            if span is not None and _in_excluded(a, span.start):
                span, note = None, "the quote is in text addressed to the grader, so it earns nothing"
            if span is not None and _repeats_question(question, text[span.start:span.end]):
                span, note = None, "the quote only repeats the question, so it earns nothing"
            ok = span is not None
            evidence = text[span.start:span.end] if span else None
            if item.kind == "misconception":
                misconceptions.append(ItemVerdict(
                    id=item.id, label=item.label, kind=item.kind, weight=item.weight, covered=ok,
                    evidence=evidence, start=span.start if span else None, end=span.end if span else None,
                    depth="named" if ok else "missing", credit=-item.weight if ok else 0.0, note=note,
                ))
                continue
            depth = "explained" if ok else "missing"
            if ok and item.kind in ("component", "consideration"):
                depth = offline.items[[i.id for i in offline.items].index(item.id)].depth
                depth = "explained" if depth in ("explained", "missing") else "named"
            items.append(ItemVerdict(
                id=item.id, label=item.label, kind=item.kind, weight=item.weight, covered=ok, evidence=evidence,
                start=span.start if span else None, end=span.end if span else None, depth=depth,
                credit=_credit(item, depth, "keyword_list" in flags), note=note,
            ))
        return _finish(question, text, items, misconceptions, flags, a, judge="llm",
                       model=getattr(self.model, "name", None)).model_copy(update=self._output_mode())

    def _output_mode(self) -> dict:
        """How the model's structured output was obtained (see interviewer/llm.py), for the report."""
        return {"output_mode": getattr(self.model, "structured_mode", None),
                "output_fallback": getattr(self.model, "structured_fallback", None)}


def _repeats_question(question: Question, quote: str) -> bool:
    found = verify_quote(question.prompt + " " + question.title, quote)
    return found is not None and found.exact


def _in_excluded(a: Analysed, offset: int) -> bool:
    for i in a.excluded:
        s = a.sentences[i]
        if s.start <= offset < s.end:
            return True
    return False


TESTS_SHARE = 0.5  # a coding score: half the hidden tests passed, half the rubric (approach, complexity, ...)


def combine_with_tests(result: Score, code_results: dict | None) -> Score:
    """A coding question's score: the rubric score and the share of tests passed, weighted in code.

    Only a run of the hidden tests (a submission) counts; without one the tests part is zero.
    """
    if code_results and code_results.get("hidden") and code_results.get("total"):
        passed, total = code_results["passed"], code_results["total"]
    else:
        passed, total = 0, 0
    share = passed / total if total else 0.0
    value = int(round((1 - TESTS_SHARE) * result.score + TESTS_SHARE * 100 * share))
    tests = {"passed": passed, "total": total, "submitted": bool(total)}
    feedback = result.feedback
    if not total:
        feedback += " No solution was submitted against the hidden tests, so the tests part scores zero."
    else:
        feedback += f" Hidden tests passed: {passed} of {total}."
    return result.model_copy(update={"score": value, "band": band_for(value), "tests": tests, "feedback": feedback})


def score_answer(question: Question, answer: str, *, judge: Judge | None = None) -> Score:
    """Score one answer with `judge` (the offline judge by default)."""
    return (judge or OfflineJudge()).score(question, answer)
