"""The interviewer's next move, as a pure function of the question, the state after the last message, and
the mode. No I/O, no model, no clock: `InterviewSession` gathers the state, asks `next_move`, and carries
the move out (persist, phrase, stream).

Moves:
- `clarify`   the candidate asked a question: answer it from the bank's interviewer facts
- `hint`      practice mode, after "I'm not sure": the next hint level, then the candidate retries
- `challenge` the candidate asserted a misconception: push back on it (once per misconception)
- `probe`     ask about the most important rubric item the answers have not covered yet
- `move_on`   next question
- `wrap_up`   end of the interview (the plan is done, the budget is spent, or the candidate ended it)
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

from .text import analyse, find_any
from .types import Fact, Question

MoveKind = Literal["clarify", "hint", "challenge", "probe", "move_on", "wrap_up"]
InputKind = Literal["answer", "clarifying_question", "decline", "next"]
Mode = Literal["practice", "interview"]
HINT_LEVELS = ("direction", "approach", "detailed")

MINUTES_PER_FOLLOW_UP = 4  # about one follow-up per four minutes of the question's budget
MAX_DECLINES = 2  # two declines on one question move on
MAX_CLARIFICATIONS = 4  # past this many on one question, a question is treated as an answer
NO_FACT_REPLY = "Make a reasonable assumption and state it."

_DECLINE_RE = re.compile(
    r"^\W*(i\s+(really\s+)?(don'?t|do not)\s+know|no\s+idea|not\s+sure|i'?m\s+not\s+(really\s+)?sure|"
    r"i\s+can'?t\s+answer|i\s+have\s+no\s+idea|no\s+clue|i\s+give\s+up|i'?m\s+stuck|pass|"
    r"i'?m\s+not\s+familiar|i\s+haven'?t\s+(worked|used|seen))\b[\s\S]{0,80}$",
    re.I,
)
_NEXT_RE = re.compile(
    r"^\W*(next(\s+question)?|skip(\s+(this|it))?|let'?s\s+move\s+on|move\s+on|can\s+we\s+move\s+on|"
    r"i'?d\s+(rather|like\s+to)\s+(move\s+on|skip)|go\s+to\s+the\s+next(\s+question)?)\W*$",
    re.I,
)
_QUESTION_START_RE = re.compile(
    r"^\s*(how|what|which|who|when|where|why|is|are|do|does|did|can|could|should|would|will|may|might|"
    r"am i|are we|is there|are there)\b", re.I)


def classify_input(text: str, *, last_interviewer: str = "") -> InputKind:
    """What the candidate's message is: an answer, a clarifying question, a decline, or 'next'.

    A message that only repeats the interviewer's last words is an answer (to be judged), not a question.
    """
    t = (text or "").strip()
    if last_interviewer and _repeats(t, last_interviewer):
        return "answer"
    if _NEXT_RE.match(t):
        return "next"
    if _DECLINE_RE.match(t):
        return "decline"
    a = analyse(t)
    if not a.sentences:
        return "answer"
    questions = sum(1 for i in range(len(a.sentences)) if a.sentence_text(i).rstrip().endswith("?")
                    or (_QUESTION_START_RE.match(a.sentence_text(i)) and a.sentences[i].n_words <= 12))
    words = a.n_words
    if t.rstrip().endswith("?") and (words <= 40 or questions * 2 >= len(a.sentences)):
        return "clarifying_question"
    if questions and questions * 2 >= len(a.sentences) and words <= 80:
        return "clarifying_question"
    return "answer"


def _repeats(text: str, earlier: str) -> bool:
    a, b = text.lower().split(), earlier.lower().split()
    if len(a) < 5:
        return False
    m = difflib.SequenceMatcher(None, a, b, autojunk=False)
    # real_quick_ratio() >= quick_ratio() >= ratio(): the cheap upper bounds rule most pairs out first
    return m.real_quick_ratio() >= 0.7 and m.quick_ratio() >= 0.7 and m.ratio() >= 0.7


def answer_clarification(question: Question, text: str) -> tuple[list[Fact], str]:
    """The facts a clarifying question asks about, and the interviewer's reply built from them only."""
    a = analyse(text)
    found = [f for f in question.facts if find_any(a, f.asked_by) is not None]
    if not found:
        return [], NO_FACT_REPLY
    return found[:3], " ".join(f.answer for f in found[:3])


def follow_up_budget(budget_min: int) -> int:
    """About one follow-up per four minutes: 2 for an 8-minute concept, 8 for a 35-minute design."""
    return max(1, round(budget_min / MINUTES_PER_FOLLOW_UP))


@dataclass(frozen=True)
class QuestionView:
    """What the policy knows about the current question after the candidate's last message."""

    covered: frozenset[str] = frozenset()  # rubric items the answers so far assert
    asserted_misconceptions: tuple[str, ...] = ()  # in the order they were asserted
    probes_asked: tuple[str, ...] = ()  # item ids already probed
    challenged: tuple[str, ...] = ()  # misconception ids already challenged
    hints_given: tuple[str, ...] = ()  # hint levels already given
    declines: int = 0
    clarifications: int = 0
    follow_ups: int = 0  # probes and challenges asked on this question
    elapsed_min: float = 0.0
    budget_min: int = 10
    last_input: InputKind = "answer"
    last_probe: str | None = None  # the item the interviewer's last turn probed


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    target: str | None = None  # item id (probe), misconception id (challenge), hint level (hint)
    text: str = ""  # the scripted words (offline), or what a model should phrase
    facts: tuple[str, ...] = field(default=())  # clarify: the facts used (their `about`)


def next_move(question: Question, view: QuestionView, *, mode: Mode, is_last: bool,
              over_token_budget: bool = False) -> Move:
    """The interviewer's next move. Pure: same inputs, same move."""
    done = Move("wrap_up") if is_last else Move("move_on")
    if over_token_budget:
        return Move("wrap_up", text="We've reached this session's token budget, so let's stop here.")
    if view.last_input == "next":
        return done
    if view.last_input == "clarifying_question" and view.clarifications <= MAX_CLARIFICATIONS:
        return _clarify(question, view)
    if view.last_input == "decline":
        if view.declines >= MAX_DECLINES:
            return done
        if mode == "practice":
            level = next((h for h in HINT_LEVELS if h not in view.hints_given), None)
            if level is not None:
                return Move("hint", target=level, text=getattr(question.hints, level))
            return done
        # Interview mode: the item they couldn't answer stays uncovered; ask about another one.
        probe = _best_probe(question, view, exclude=view.last_probe)
        return probe or done
    if view.elapsed_min >= view.budget_min:
        return done
    if view.follow_ups >= follow_up_budget(view.budget_min):
        return done
    for mid in view.asserted_misconceptions:
        if mid not in view.challenged:
            return Move("challenge", target=mid, text=_challenge_text(question, mid))
    return _best_probe(question, view) or done


def _clarify(question: Question, view: QuestionView) -> Move:
    return Move("clarify")  # the session fills in the reply from `answer_clarification`


def _best_probe(question: Question, view: QuestionView, *, exclude: str | None = None) -> Move | None:
    """The heaviest uncovered item with a scripted probe, not yet probed; ties go to rubric order."""
    probes = {p.item: p.text for p in question.probes}
    if question.coding is not None:
        for item_id, text in GENERIC_PROBES.items():  # what every coding interviewer asks
            probes.setdefault(item_id, text)
    order = {item.id: k for k, item in enumerate(question.rubric)}
    candidates = [i for i in question.scorable_items
                  if i.id in probes and i.id not in view.covered and i.id not in view.probes_asked
                  and i.id != exclude]
    if not candidates:
        return None
    best = min(candidates, key=lambda i: (-i.weight, order[i.id]))
    return Move("probe", target=best.id, text=probes[best.id])


GENERIC_PROBES = {
    "complexity": "What are the time and space complexity of your solution?",
    "edge-cases": "Which edge cases would you test, and how does your code handle them?",
}


def _challenge_text(question: Question, misconception_id: str) -> str:
    """A neutral push-back that names no answer: it asks the candidate to re-examine their own claim."""
    del question, misconception_id
    return ("I want to push back on one thing you said. Are you sure about that claim? "
            "Walk me through why it holds, or correct it.")
