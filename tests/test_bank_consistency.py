"""Self-consistency of the whole bank, question by question (the offline judge is the referee)."""

from __future__ import annotations

from itertools import combinations

import pytest

from interviewer.bank import load_bank
from interviewer.scoring import OfflineJudge
from interviewer.text import analyse, content_stems

BANK = load_bank()
JUDGE = OfflineJudge()
QUESTIONS = sorted(BANK.questions.values(), key=lambda q: q.id)
PROMPT_SIMILARITY = 0.6  # Jaccard of title+prompt content words
ANSWER_SIMILARITY = 0.5  # Jaccard of reference-answer content words


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_reference_answer_scores_strong(q):
    s = JUDGE.score(q, q.reference_answer)
    assert s.band == "strong", (s.score, [i.id for i in s.items if not i.covered], s.flags)
    assert not any(m.covered for m in s.misconceptions)


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
