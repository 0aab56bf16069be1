"""Scoring: judges decide per rubric item whether the answer asserts it, and with which sentence;
the score is arithmetic over weights in `verdicts`, governed by one `policy`.

- `claims`: what "asserting a claim" means (clauses, relation, nearest subject, negation, refutation)
- `offline`: the deterministic claim matcher and the answer-level checks both judges share
- `llm_judge`: the model cites sentence numbers; code checks every citation
- `star`: STAR analysis; `verdicts`: score, STAR items, design coverage, feedback; `policy`: the numbers
"""

from __future__ import annotations

from typing import Protocol

from ..types import Question, Score
from .llm_judge import JudgeItem, JudgeVerdict, LLMJudge
from .offline import OfflineJudge, inspect_answer
from .policy import POLICY, ScoringPolicy
from .star import analyse_star
from .verdicts import build_feedback, combine_with_tests, compute_score


class Judge(Protocol):
    """Anything that turns (question, answer) into a `Score`."""

    name: str

    def score(self, question: Question, answer: str, *, shown: tuple[str, ...] = (),
              contexts: tuple[tuple[str, int, int], ...] = (), clarified: tuple[str, ...] = ()) -> Score: ...


def score_answer(question: Question, answer: str, *, judge: Judge | None = None,
                 shown: tuple[str, ...] = ()) -> Score:
    """Score one answer with `judge` (the offline judge by default)."""
    return (judge or OfflineJudge()).score(question, answer, shown=shown)


__all__ = [
    "POLICY", "Judge", "JudgeItem", "JudgeVerdict", "LLMJudge", "OfflineJudge", "ScoringPolicy", "analyse_star",
    "build_feedback", "combine_with_tests", "compute_score", "inspect_answer", "score_answer",
]
