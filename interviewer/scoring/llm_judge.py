"""The LLM judge: the model cites sentence numbers per item; code decides what the citations are worth.

The answer is shown to the model split into numbered sentences, so even a small model cannot misquote:
code takes the exact text of each cited sentence. Code then checks each citation: the sentence must
mention the item's concepts, must not copy the question, the rubric or what the candidate was shown,
and one sentence supports at most two items. Asserted misconceptions deduct as offline.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..chat import ChatModel, Message, Usage
from ..errors import ModelError
from ..prompts import render
from ..types import ItemVerdict, Kind, Question, RubricItem, Score
from .claims import Hit, mentions
from .offline import COPY_NGRAM, Inspected, OfflineJudge, _ngrams, _words, copied_from, inspect_answer
from .policy import POLICY, ScoringPolicy
from .verdicts import finish, is_star_format

EXPLAINED_MIN_WORDS = 8


class JudgeItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="the rubric item id")
    sentences: list[int] = Field(description="numbers of the answer's sentences that assert it; [] if none")
    reason: str = Field(default="", description="one line: why it is or is not covered")


class JudgeVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[JudgeItem]


def verdict_type_for(question: Question, n_sentences: int) -> type[JudgeVerdict]:
    """`JudgeVerdict` for one question and answer, with a `grammar_schema` naming the rubric ids in order and
    allowing only the answer's sentence numbers: a server that turns a JSON schema into a grammar (llama.cpp's
    JSON mode) then cannot produce a wrong, missing or repeated id, or a sentence that doesn't exist."""
    ids = [i.id for i in question.rubric]

    def item(item_id: str) -> dict:
        return {"type": "object", "properties": {
            "id": {"const": item_id},
            "sentences": {"type": "array", "items": {"enum": list(range(1, max(1, n_sentences) + 1))},
                          "maxItems": 3},
            "reason": {"type": "string", "maxLength": 200}},
            "required": ["id", "sentences", "reason"], "additionalProperties": False}

    def grammar_schema(cls) -> dict:
        return {"type": "object", "properties": {"items": {
            "type": "array", "prefixItems": [item(i) for i in ids], "minItems": len(ids), "maxItems": len(ids)}},
            "required": ["items"], "additionalProperties": False}

    return type("JudgeVerdict", (JudgeVerdict,), {"grammar_schema": classmethod(grammar_schema),
                                                  "__module__": __name__})


def numbered(ins: Inspected, question: Question | None = None,
             contexts: tuple[tuple[str, int, int], ...] = ()) -> str:
    """The answer as numbered sentences; a reply to a follow-up is introduced by what it was asked about."""
    a = ins.a
    lines = []
    for i in range(len(a.sentences)):
        s = a.sentences[i]
        for item_id, start, _end in contexts:
            if start <= s.start and (i == 0 or a.sentences[i - 1].start < start) and question is not None:
                lines.append(f"(the interviewer then asked a follow-up about: {question.item(item_id).label})")
        lines.append(f"[{i + 1}] {a.sentence_text(i)}")
    return "\n".join(lines)


class LLMJudge:
    """One call per answered question, in a fresh context; every citation is checked in code."""

    name = "llm"

    def __init__(self, model: ChatModel, *, fallback: OfflineJudge | None = None, policy: ScoringPolicy = POLICY):
        self.model = model
        self.policy = policy
        self.fallback = fallback or OfflineJudge(policy)
        self.last_usage: Usage | None = None  # tokens used by the last `score` call (all attempts)

    def messages(self, question: Question, ins: Inspected,
                 contexts: tuple[tuple[str, int, int], ...] = ()) -> list[Message]:
        answer = numbered(ins, question, contexts)
        # The markers around the answer are the hash of the question and the numbered answer: the candidate cannot
        # write the closing marker (it would have to contain its own hash), and the same answer gets the same
        # prompt, so a greedy self-hosted judge gives it the same verdict.
        tag = hashlib.sha256(f"{question.id}\n{answer}".encode()).hexdigest()[:16]
        rubric = "\n".join(
            f"- id: {i.id}\n  kind: "
            f"{'misconception (a WRONG claim; cite a sentence only if the candidate asserts it)' if i.kind == 'misconception' else i.kind}\n"
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

    def _validate(self, question: Question, verdict: JudgeVerdict, n_sentences: int) -> str | None:
        ids = [i.id for i in question.rubric]
        got = [i.id for i in verdict.items]
        unknown = sorted(set(got) - set(ids))
        missing = [i for i in ids if i not in got]
        if unknown:
            return f"unknown item ids: {', '.join(unknown)}"
        if missing:
            return f"missing item ids: {', '.join(missing)}"
        return None  # a citation of a sentence that doesn't exist earns nothing (see _verdicts), it isn't an error

    def _count(self) -> None:
        usage = getattr(self.model, "last_usage", None)
        if usage is not None:
            self.last_usage = usage if self.last_usage is None else self.last_usage + usage

    def _ask(self, question: Question, ins: Inspected, contexts=()) -> JudgeVerdict:
        messages = self.messages(question, ins, contexts)
        problem = None
        for attempt in range(2):
            if problem:
                messages = messages + [Message(role="user", content=render("judge_retry", error=problem))]
            try:
                verdict = self.model.parse(messages, verdict_type_for(question, len(ins.a.sentences)))
            except ModelError as exc:
                self._count()
                if exc.kind != "invalid_output" or attempt == 1 or getattr(exc, "retried", False):
                    raise
                problem = str(getattr(exc, "detail", None) or exc)
                continue
            self._count()
            problem = self._validate(question, verdict, len(ins.a.sentences))
            if problem is None:
                return verdict
        raise ModelError("invalid_output", f"The judge model's reply was invalid twice ({problem}).")

    def score(self, question: Question, answer: str, *, shown: tuple[str, ...] = (),
              contexts: tuple[tuple[str, int, int], ...] = (), clarified: tuple[str, ...] = ()) -> Score:
        self.last_usage = None
        ins = inspect_answer(question, answer, shown=shown, policy=self.policy)
        try:
            verdict = self._ask(question, ins, contexts) if ins.a.sentences else JudgeVerdict(
                items=[JudgeItem(id=i.id, sentences=[], reason="empty answer") for i in question.rubric])
        except ModelError as exc:
            fallback = self.fallback.score_inspected(question, ins, contexts=contexts, clarified=clarified)
            return fallback.model_copy(update={
                "fallback_reason": f"{exc} The offline estimate is shown instead.", **self._output_mode(),
            })
        return self._verdicts(question, ins, verdict, contexts, clarified)

    def _verdicts(self, question: Question, ins: Inspected, verdict: JudgeVerdict,
                  contexts: tuple[tuple[str, int, int], ...] = (), clarified: tuple[str, ...] = ()) -> Score:
        a = ins.a
        by_id = {i.id: i for i in verdict.items}
        rubric_grams = [_ngrams(_words(" ".join([i.label, i.covered_when])), COPY_NGRAM) for i in question.rubric]
        offline_hits = self.fallback.item_hits(question, ins, contexts)
        in_context = {item_id: [i for i, sp in enumerate(ins.a.sentences) if st <= sp.start < en]
                      for item_id, st, en in contexts}
        star_derived = is_star_format(question)
        cited: dict[str, list[int]] = {}
        notes: dict[str, str] = {}
        for item in question.rubric:
            if item.kind == "star" and star_derived:
                continue
            keep: list[int] = []
            for n in dict.fromkeys(by_id[item.id].sentences):
                s = n - 1
                if not 0 <= s < len(a.sentences):
                    notes.setdefault(item.id, "the judge cited a sentence that doesn't exist")
                    continue
                problem = self._citation_problem(question, item, ins, s, rubric_grams,
                                                 s in in_context.get(item.id, ()))
                if problem:
                    notes.setdefault(item.id, problem)
                    continue
                if item.kind == "misconception" and _rejected(offline_hits.get(item.id, []), s):
                    notes.setdefault(item.id, "the sentence names this claim in order to reject it")
                    continue
                keep.append(s)
            cited[item.id] = keep
        # One sentence supports at most two items (the heaviest); misconceptions are not credit.
        weights = {i.id: i.weight for i in question.rubric}
        load: dict[int, list[str]] = {}
        for item in sorted(question.scorable_items, key=lambda i: -i.weight):
            for s in list(cited.get(item.id, [])):
                if len(load.setdefault(s, [])) >= self.policy.items_per_sentence:
                    cited[item.id].remove(s)
                    notes.setdefault(item.id, "that sentence already supports two other items")
                else:
                    load[s].append(item.id)
                    break
        del weights
        items: list[ItemVerdict] = []
        misconceptions: list[ItemVerdict] = []
        keyword_list = "keyword_list" in ins.flags
        for item in question.rubric:
            base: dict[str, Any] = dict(id=item.id, label=item.label, kind=item.kind, weight=item.weight)
            reason = (by_id[item.id].reason or "").strip()[:200] or None
            if item.kind == "star" and star_derived:
                items.append(ItemVerdict(**base, covered=False))
                continue
            sentences = cited.get(item.id, [])
            ok = bool(sentences)
            note = None if ok else notes.get(item.id)
            ev = start = end = None
            if ok:
                sp = a.sentences[sentences[0]]
                ev, start, end = a.text[sp.start:sp.end], sp.start, sp.end
            if item.kind == "misconception":
                misconceptions.append(ItemVerdict(
                    **base, covered=ok, evidence=ev, start=start, end=end, depth="named" if ok else "missing",
                    credit=-item.weight * self.policy.misconception_factor if ok else 0.0, note=note,
                    reason=reason))
                continue
            depth: Literal["missing", "named", "explained"] = "missing"
            if ok:
                depth = "explained"
                if item.kind in ("component", "consideration") and a.sentences[sentences[0]].n_words < EXPLAINED_MIN_WORDS:
                    depth = "named"
            share = self.policy.keyword_list_share if keyword_list else (
                1.0 if depth == "explained" else self.policy.named_share)
            items.append(ItemVerdict(**base, covered=ok, evidence=ev, start=start, end=end, depth=depth,
                                     credit=item.weight * share if ok else 0.0, note=note, reason=reason))
        return finish(question, ins.text, items, misconceptions, list(ins.flags), a, judge="llm",
                      model=getattr(self.model, "name", None), policy=self.policy,
                      clarified=clarified).model_copy(update=self._output_mode())

    def _output_mode(self) -> dict:
        """How the model's structured output was obtained (see interviewer/llm.py), for the report."""
        if "output_mode" not in Score.model_fields:
            return {}
        return {"output_mode": getattr(self.model, "structured_mode", None),
                "output_fallback": getattr(self.model, "structured_fallback", None)}

    def _citation_problem(self, question: Question, item: RubricItem, ins: Inspected, s: int,
                          rubric_grams, probed: bool = False) -> str | None:
        a = ins.a
        if s in ins.excluded:
            return ins.reasons.get(s, "that sentence earns nothing")
        text = a.sentence_text(s)
        if copied_from(text, rubric_grams):
            return "the cited sentence copies the rubric, so it earns nothing"
        if not probed and item.kind != "star" and not mentions(ins.ix, question, item, s):
            return "the cited sentence doesn't mention this item's concepts"
        return None


def _rejected(hits: list[Hit], sentence: int) -> bool:
    here = [h for h in hits if h.sentence == sentence]
    return bool(here) and not any(h.asserted for h in here)


__all__ = ["JudgeItem", "JudgeVerdict", "LLMJudge", "numbered", "Kind"]
