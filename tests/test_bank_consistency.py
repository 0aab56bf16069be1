"""Self-consistency of the whole bank, question by question (the offline judge is the referee).

These tests measure the bank, not just the judge: every question's claims must credit its own reference
answer, ignore a filler of its own vocabulary, tolerate its myths being rejected, and refuse its claims
when they are negated or paired with another item's concept.
"""

from __future__ import annotations

import os
import re
from itertools import combinations

import pytest

from interviewer.bank import load_bank, load_question
from interviewer.scoring import OfflineJudge
from interviewer.text import analyse, content_stems, stem
from interviewer.types import Question, RubricItem, parse_claim

# BANK_CHECK_PATHS="a.yaml b.yaml" checks only those files (for authors converting a slice of the bank).
_ONLY = os.environ.get("BANK_CHECK_PATHS", "").split()
BANK = None if _ONLY else load_bank()
JUDGE = OfflineJudge()
QUESTIONS = sorted([load_question(p) for p in _ONLY] if _ONLY else BANK.questions.values(), key=lambda q: q.id)
whole_bank = pytest.mark.skipif(bool(_ONLY), reason="BANK_CHECK_PATHS checks single files")
NON_CODING = [q for q in QUESTIONS if q.kind.value != "coding"]
PROMPT_SIMILARITY = 0.6  # Jaccard of title+prompt content words
ANSWER_SIMILARITY = 0.5  # Jaccard of reference-answer content words
FILLER_MAX = 39
REFUTATION_MAX_LOSS = 3


def _phrase(alternative: str) -> str:
    """A concept alternative as plain words (prefix stars and gaps dropped)."""
    return alternative.replace("...", " ").replace("*", "").strip()


def _claims(item: RubricItem) -> list[list[list[str]]]:
    return [[[_phrase(a) for a in concept] for concept in parse_claim(c)] for c in item.claims]


def filler_answer(q: Question) -> str:
    """One sentence per item naming its concepts in a list, with nothing asserted."""
    sentences = []
    for item in q.scorable_items:
        if not item.claims:
            continue
        words = [concept[0] for claim in _claims(item) for concept in claim][:4]
        sentences.append(f"When it comes to {q.title.lower().rstrip('?.')}, {', '.join(words[:-1])} and "
                         f"{words[-1]} are all important considerations.")
        sentences.append(f"{words[0].capitalize()} and {words[1]} are key related concepts here.")
    return " ".join(sentences)


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_reference_answer_scores_strong(q):
    s = JUDGE.score(q, q.reference_answer)
    assert s.band == "strong", (s.score, [i.id for i in s.items if not i.covered], s.flags)
    assert not any(m.covered for m in s.misconceptions), [m.evidence for m in s.misconceptions if m.covered]


@pytest.mark.parametrize("q", NON_CODING, ids=lambda q: q.id)
def test_a_filler_of_the_questions_own_vocabulary_scores_weak(q):
    s = JUDGE.score(q, filler_answer(q))
    assert s.score <= FILLER_MAX, (s.score, [(i.id, i.evidence) for i in s.items if i.covered])


@pytest.mark.parametrize("q", [q for q in QUESTIONS if q.misconceptions], ids=lambda q: q.id)
def test_naming_a_misconception_to_reject_it_costs_nothing(q):
    base = JUDGE.score(q, q.reference_answer).score
    for m in q.misconceptions:
        concepts = _claims(m)[0]
        claim = " ".join(c[0] for c in concepts)
        for rejection in (f"A common mistake is to think that {claim}; it does not.",
                          f"It is a myth that {claim}.",
                          f"People often assume {claim}, but that is wrong."):
            s = JUDGE.score(q, q.reference_answer + " " + rejection)
            assert base - s.score <= REFUTATION_MAX_LOSS, (m.id, rejection, base, s.score)
            assert not any(v.covered for v in s.misconceptions), (m.id, rejection)


def _realise(concepts: list[str], verb: str) -> str:
    first, *rest = concepts
    return f"In this case {first} {verb} {' with '.join(rest)}."


@pytest.mark.parametrize("q", NON_CODING, ids=lambda q: q.id)
def test_a_claim_negated_or_paired_with_another_items_concept_is_not_credited(q):
    items = [i for i in q.scorable_items if i.claims]
    for item in items:
        for concepts in _claims(item):
            plain = [c[0] for c in concepts]
            negated = JUDGE.score(q, _realise(plain, "never leads to"))
            assert not _credited(negated, item.id), (item.id, negated.answer)
            own = {a for claim in _claims(item) for c in claim for a in c}
            for other in items:
                if other is item:
                    continue
                for other_concepts in _claims(other):
                    swap = other_concepts[-1]
                    if _shares_words(own, swap[0]) or _shares_words(set(swap), plain[0]):
                        continue
                    wrong = JUDGE.score(q, _realise([plain[0], *([swap[0]] * (len(plain) - 1))], "leads to"))
                    assert not _credited(wrong, item.id), (item.id, wrong.answer)


def _stems(text: str) -> str:
    return " " + " ".join(stem(w) for w in re.findall(r"[A-Za-z0-9]+", text)) + " "


def _shares_words(phrases, text: str) -> bool:
    """True if one of `phrases` occurs in `text` as whole (stemmed) words, or `text` in one of them."""
    t = _stems(text)
    return any(_stems(p) in t or t in _stems(p) for p in phrases)


def _credited(score, item_id: str) -> bool:
    return any(i.id == item_id and i.covered for i in score.items)


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_restating_the_question_scores_weak_or_below(q):
    for restatement in (q.title, f"I think {q.title.rstrip('?.').lower()} is an important topic."):
        s = JUDGE.score(q, restatement)
        assert s.band in ("zero", "weak"), (restatement, s.score)


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_every_probe_targets_an_item_the_reference_answer_covers(q):
    covered = {i.id for i in JUDGE.score(q, q.reference_answer).items if i.covered}
    for probe in q.probes:
        assert probe.item in covered, probe.item


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


@whole_bank
def test_no_two_questions_are_near_duplicates():
    prompts = {q.id: content_stems(analyse(f"{q.title} {q.prompt}")) for q in QUESTIONS}
    answers = {q.id: content_stems(analyse(q.reference_answer)) for q in QUESTIONS}
    titles: dict[str, str] = {}
    for q in QUESTIONS:
        key = q.title.lower().strip(" ?.")
        assert key not in titles, f"{q.id} and {titles[key]} have the same title"
        titles[key] = q.id
    for a, b in combinations([q.id for q in QUESTIONS], 2):
        assert _jaccard(prompts[a], prompts[b]) < PROMPT_SIMILARITY, (a, b)
        assert _jaccard(answers[a], answers[b]) < ANSWER_SIMILARITY, (a, b)


AREAS_2026 = ("llm-serving", "pretraining", "post-training", "agents", "safety", "llm-evaluation",
              "distributed-training", "rl", "recsys", "probability", "information-theory", "graph-ml",
              "causal-inference")


@whole_bank
def test_the_bank_covers_2026_interviews():
    from collections import Counter

    kinds = Counter(q.kind.value for q in QUESTIONS)
    assert kinds["technical"] >= 150, kinds
    assert kinds["system_design"] >= 20, kinds
    assert kinds["coding"] >= 22, kinds
    assert kinds["behavioral"] >= 35, kinds
    technical = [q for q in QUESTIONS if q.kind.value == "technical"]
    for area in AREAS_2026:
        n = sum(area in q.topics for q in technical)
        assert n >= 3, f"only {n} technical questions on {area}"
    assert {q.difficulty for q in technical} == {"easy", "medium", "hard"}
    numpy_rounds = [q for q in QUESTIONS if q.coding and "numpy" not in q.coding.forbidden_imports
                    and "numpy" in q.topics]
    assert len(numpy_rounds) >= 8, [q.id for q in numpy_rounds]
    companies = {loop.company for loop in BANK.loops.values() if loop.company}
    assert len(companies) >= 4, companies
    assert all(loop.pattern_source for loop in BANK.loops.values() if loop.company)
    negotiation = [q for q in QUESTIONS if "negotiation" in q.topics and q.behavioral
                   and q.behavioral.format == "scenario"]
    assert len(negotiation) >= 3
    assert any(q.behavioral and q.behavioral.format == "deep_dive" for q in QUESTIONS)
    assert any(loop.name == "phone-screen" or "phone" in loop.name for loop in BANK.loops.values())


@whole_bank
def test_every_loops_question_budgets_fit_its_clock():
    for loop in BANK.loops.values():
        assert sum(loop.slot_minutes()) <= loop.minutes, loop.name


@whole_bank
def test_every_design_grades_the_seven_dimensions_and_every_design_and_coding_question_has_facts():
    from interviewer.types import DESIGN_DIMENSIONS

    for q in QUESTIONS:
        if q.kind.value == "system_design":
            assert {i.dimension for i in q.rubric} >= set(DESIGN_DIMENSIONS), q.id
        if q.kind.value in ("system_design", "coding"):
            assert q.facts, q.id


@whole_bank
def test_the_bank_is_worth_practising_on():
    from collections import Counter

    kinds = Counter(q.kind.value for q in QUESTIONS)
    assert len(QUESTIONS) >= 120, len(QUESTIONS)
    assert kinds["technical"] >= 80 and kinds["system_design"] >= 10
    assert kinds["coding"] >= 10 and kinds["behavioral"] >= 20
    technical_topics = {t for q in QUESTIONS if q.kind.value == "technical" for t in q.topics}
    assert len(technical_topics) >= 8
    assert {q.difficulty for q in QUESTIONS if q.kind.value == "technical"} == {"easy", "medium", "hard"}
    assert len(BANK.loops) >= 5
