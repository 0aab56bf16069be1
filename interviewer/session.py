"""The interview session: orchestration only. Persist each turn, ask the policy, phrase and stream.

What to do next is decided by `interviewer.policy.next_move` (a pure function); coverage after each
answer comes from the same judge as the report, with each answer to a probe judged in that probe's
context. Every turn is committed to the store before any model call, and `resume` rebuilds the same
state from the stored turns (replay).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Literal

from . import policy
from .bank import Bank
from .chat import ChatModel, Message, Usage
from .errors import InterviewerError, ModelError
from .grading import CodeRunner, RunReport
from .guard import GUARD_MARK, GuardContext, GuardResult, guard_stream, replacements_in
from .policy import Move, QuestionView, classify_input
from .prompts import render
from .scoring import Judge, OfflineJudge, combine_with_tests
from .scoring.verdicts import short
from .store import CodeRunRecord, InterviewRecord, Store, TurnRecord
from .types import Kind, Question, Score

Mode = Literal["practice", "interview"]
HintLevel = Literal["direction", "approach", "detailed"]
HINT_LEVELS: tuple[HintLevel, ...] = ("direction", "approach", "detailed")
HINT_NAMES = {"direction": "nudge", "approach": "approach", "detailed": "walkthrough"}  # as the buttons say
MAX_ANSWER_CHARS = 20_000
FOLLOW_UP_MAX_TOKENS = 800  # private notes plus one or two spoken sentences (room for a short <think> block)

_NOTES_RE = re.compile(r"<notes>[\s\S]*?</notes>|<think>[\s\S]*?</think>", re.I)


class SessionError(InterviewerError):
    pass


def _parse_code_meta(text: str | None) -> dict | None:
    """A code run recorded before code runs had their own table (summary packed into probe_item)."""
    if not text:
        return None
    passed, total, which, failed = (text.split("/", 3) + ["", "", "", ""])[:4]
    return {"passed": int(passed or 0), "total": int(total or 0), "hidden": which == "hidden",
            "failed": [f for f in failed.split(",") if f]}


def is_decline(answer: str) -> bool:
    """'I don't know', 'skip', "let's move on" and the like (short, so a real answer that starts so still counts)."""
    return classify_input(answer) in ("decline", "next")


class Phase(str, Enum):
    """Where the interview stands."""

    awaiting_answer = "awaiting_answer"  # the candidate's turn
    owes_reply = "owes_reply"  # a model call failed: the interviewer owes a reply (retry or continue offline)
    finished = "finished"  # no more turns; not yet scored
    scored = "scored"


# Interviewer turn kinds: the move that produced them (legacy "follow_up" = probe, "notice" = wrap_up).
INTERVIEWER_MOVES = ("question", "probe", "challenge", "clarify", "hint", "wrap_up", "model_answer", "notice")
MOVE_WORDS = {
    "question": "asks a question", "probe": "probes", "challenge": "challenges a claim",
    "clarify": "answers a clarifying question", "hint": "gives a hint", "wrap_up": "wraps up",
    "model_answer": "shows the model answer", "follow_up": "probes", "notice": "notice",
}


def reveals_reference(text: str, question: Question, *, n: int = 8) -> bool:
    """True if `text` repeats `n` consecutive words of the reference answer (a leak in interview mode)."""
    ref = re.findall(r"[a-z0-9]+", question.reference_answer.lower())
    grams = {" ".join(ref[i:i + n]) for i in range(len(ref) - n + 1)}
    words = re.findall(r"[a-z0-9]+", text.lower())
    return any(" ".join(words[i:i + n]) in grams for i in range(len(words) - n + 1))


@dataclass
class Action:
    """A move of the policy, made concrete: what the interviewer says (or has a model phrase) next."""

    kind: Literal["follow_up", "question", "finish"]
    question: Question
    probe_item: str | None = None
    probe_text: str = ""
    preface: str = ""
    target: str = ""  # what the follow-up is after, for the model (defaults to the rubric item)
    move: str = "probe"  # for follow-ups: probe | challenge | clarify | hint
    scripted_only: bool = False  # never phrased by a model (clarifications, hints)


@dataclass
class QuestionState:
    question: Question
    asked_at: float  # wall-clock seconds when the question was asked (survives a refresh)
    budget_min: int = 10
    follow_ups: int = 0
    probes_asked: list[str] = field(default_factory=list)
    challenged: list[str] = field(default_factory=list)
    declines: int = 0
    clarifications: list[str] = field(default_factory=list)  # the candidate's clarifying questions
    clarified: list[str] = field(default_factory=list)  # those the interviewer's facts answered
    hints: list[str] = field(default_factory=list)
    revealed: bool = False  # practice: the model answer was shown
    answers: list[str] = field(default_factory=list)
    contexts: list[str | None] = field(default_factory=list)  # per answer: the item probed just before it
    last_input: str = "answer"
    last_probe: str | None = None
    coverage: Score | None = None
    last_interviewer: str = ""  # the interviewer's last words on this question (for the model's context)
    last_at: float | None = None  # when the last turn on this question happened
    code: str | None = None  # the latest code the candidate ran or submitted
    code_results: dict | None = None  # {"passed", "total", "hidden", "failed": [names]} of the latest run
    best_submission: dict | None = None  # the hidden-test run that passed the most (the later one on a tie)

    def record_run(self, code: str, results: dict) -> None:
        self.code, self.code_results = code, results
        if results.get("hidden") and results.get("total"):
            best = self.best_submission
            if best is None or results["passed"] * best["total"] >= best["passed"] * results["total"]:
                self.best_submission = results

    @property
    def declined(self) -> bool:
        return self.declines > 0

    def answer_text(self) -> tuple[str, tuple[tuple[str, int, int], ...]]:
        """The answers joined, and the spans that reply to a probe (item id, start, end)."""
        parts: list[str] = []
        contexts: list[tuple[str, int, int]] = []
        pos = 0
        for text, item in zip(self.answers, self.contexts):
            if parts:
                pos += 2
            if item:
                contexts.append((item, pos, pos + len(text)))
            parts.append(text)
            pos += len(text)
        return "\n\n".join(parts), tuple(contexts)

    def shown(self) -> tuple[str, ...]:
        """What the candidate was shown that their answers must not be credited for copying."""
        out = [getattr(self.question.hints, h) for h in self.hints if h in policy.HINT_LEVELS]
        if self.revealed:
            out.append(self.question.reference_answer)
        return tuple(out)

    def assisted(self) -> list[str]:
        return [f"hint:{h}" for h in self.hints] + (["model_answer"] if self.revealed else [])


class NotesFilter:
    """Streams text while holding back private <notes>/<think> blocks, which are kept in `.notes`."""

    OPEN = ("<notes>", "<think>")

    def __init__(self) -> None:
        self.buffer = ""
        self.notes: list[str] = []
        self.shown: list[str] = []

    def feed(self, chunk: str) -> str:
        self.buffer += chunk
        out = ""
        while self.buffer:
            lower = self.buffer.lower()
            starts = [(lower.find(tag), tag) for tag in self.OPEN if lower.find(tag) >= 0]
            if starts:
                pos, tag = min(starts)
                out += self.buffer[:pos]
                close = tag.replace("<", "</")
                end = lower.find(close, pos)
                if end < 0:
                    self.buffer = self.buffer[pos:]
                    break
                self.notes.append(self.buffer[pos + len(tag):end].strip())
                self.buffer = self.buffer[end + len(close):]
                continue
            # Hold back a tail that could be the start of a tag.
            keep = 0
            for tag in self.OPEN:
                for k in range(1, len(tag)):
                    if lower.endswith(tag[:k]):
                        keep = max(keep, k)
            out += self.buffer[: len(self.buffer) - keep]
            self.buffer = self.buffer[len(self.buffer) - keep:]
            break
        self.shown.append(out)
        return out

    def close(self) -> str:
        rest = self.buffer
        self.buffer = ""
        if rest.lower().startswith(self.OPEN):
            self.notes.append(rest)
            return ""
        self.shown.append(rest)
        return rest

    @property
    def text(self) -> str:
        return "".join(self.shown).strip()


@dataclass
class CodeRun:
    """A run of the candidate's code: the graded report and the interviewer's reply to stream."""

    report: RunReport
    reply: Iterator[str]


class InterviewSession:
    """One interview over a plan of questions. Create with `start` or `resume`."""

    def __init__(self, *, store: Store, record: InterviewRecord, bank: Bank, model: ChatModel | None = None,
                 judge: Judge | None = None, live_judge: Judge | None = None, budget_tokens: int = 0,
                 cost_fn=None, clock=time.time, max_follow_ups: int | None = None,
                 runner: CodeRunner | None = None):
        self.store = store
        self.runner = runner
        self.bank = bank
        self.model = model
        self.judge = judge or OfflineJudge()
        self.offline = OfflineJudge()
        # Coverage during the conversation: the claim-level offline judge (instant, the same claims the report's
        # offline judge uses); pass the LLM judge as `live_judge` for a per-answer model verdict.
        self.live_judge = live_judge or self.offline
        self.max_follow_ups = max_follow_ups  # None: in proportion to each question's time budget
        self.budget_tokens = budget_tokens
        self.cost_fn = cost_fn
        self.clock = clock
        self.id = record.id
        self.mode: Mode = record.mode  # type: ignore[assignment]
        self.user_id = record.user_id
        self.plan = [bank.get(qid) for qid in record.plan]
        self.loop = bank.loops.get(record.loop_name) if record.loop_name else None
        self.budgets = (self.loop.slot_minutes() if self.loop and len(self.loop.slots) == len(self.plan)
                        else [q.time_budget_min for q in self.plan])
        # This interview as saved, kept up to date by every write this session makes (the page draws from it
        # instead of reading the database on every run); `refresh()` reads it again.
        self.record = record
        self.states: list[QuestionState] = []
        self.pending: Action | None = None  # an interviewer turn owed after a failed model call
        self.status = record.status
        self.usage = Usage()
        self.last_error: str | None = None
        self.model_advice: str = ""  # one sentence for the user about the model server (e.g. no chat template)
        self.said: list[str] = []  # everything the interviewer said so far (the guard refuses repeats)
        self._replay(record.turns)

    # ------------------------------------------------------------------ construction
    @classmethod
    def start(cls, *, store: Store, bank: Bank, plan: list[Question], mode: Mode = "interview",
              user_id: str = "local", title: str | None = None, loop_name: str | None = None,
              model: ChatModel | None = None, judge: Judge | None = None, judge_model_name: str | None = None,
              **options) -> "InterviewSession":
        if not plan:
            raise SessionError("An interview needs at least one question.")
        if mode not in ("practice", "interview"):
            raise SessionError(f"Unknown mode {mode!r}: use practice or interview.")
        title = title or (plan[0].title if len(plan) == 1 else f"{len(plan)}-question loop")
        record = store.new_interview(
            user_id=user_id, mode=mode, title=title, plan=[q.id for q in plan], loop_name=loop_name,
            interviewer_model=getattr(model, "name", None), judge_model=judge_model_name,
        )
        session = cls(store=store, record=record, bank=bank, model=model, judge=judge, **options)
        session._ask_question(plan[0])
        return session

    @classmethod
    def resume(cls, interview_id: str, *, store: Store, bank: Bank, user_id: str | None = None,
               **options) -> "InterviewSession":
        record = store.get(interview_id, user_id=user_id)
        if record is None:
            raise SessionError(f"No interview with id {interview_id} was found.")
        return cls(store=store, record=record, bank=bank, **options)

    def _replay(self, turns: list[TurnRecord]) -> None:
        """Rebuild the state from saved turns (resume after a crash or a refresh): the same state `submit`
        built, so the policy makes the same next move."""
        last_role = None
        for t in turns:
            when = t.created_at.timestamp() if t.created_at else self.clock()
            if t.kind == "question":
                self._new_state(self.bank.get(t.question_id), when)
            elif not self.states:
                continue
            st = self.states[-1]
            st.last_at = when
            if t.role == "interviewer":
                self.said.append(t.text)
            kind = {"follow_up": "probe"}.get(t.kind, t.kind)
            if kind in ("question", "probe", "challenge", "clarify"):
                st.last_interviewer = t.text
            if kind == "probe":
                st.follow_ups += 1
                st.probes_asked.append(t.probe_item or "")
                st.last_probe = t.probe_item
            elif kind == "challenge":
                st.follow_ups += 1
                st.challenged.append(t.probe_item or "")
                st.last_probe = None
            elif kind == "clarify":
                st.last_probe = None
            elif kind == "hint":
                st.hints.append(t.probe_item or "")
            elif kind == "model_answer":
                st.revealed = True
            elif kind == "answer":
                self._record_answer(st, t.text, judge=None)
            elif kind == "code":
                st.record_run(t.text, t.code_run.model_dump() if t.code_run else (_parse_code_meta(t.probe_item) or {}))
            if kind in ("question", "probe", "challenge", "clarify", "answer", "code", "hint"):
                last_role = t.role
            self.usage = self.usage + Usage(prompt_tokens=t.prompt_tokens, completion_tokens=t.completion_tokens)
        for st in self.states:
            if st.answers:
                st.coverage = self._judge_coverage(st, self.offline)
        if self.status == "active" and last_role == "candidate":
            self.pending = self._decide()

    def _new_state(self, q: Question, when: float) -> QuestionState:
        k = len(self.states)
        budget = self.budgets[k] if k < len(self.budgets) else q.time_budget_min
        st = QuestionState(q, asked_at=when, budget_min=budget, last_at=when)
        self.states.append(st)
        return st

    # ------------------------------------------------------------------ views
    @property
    def current(self) -> QuestionState | None:
        return self.states[-1] if self.states else None

    def _cur(self) -> QuestionState:
        """The current question's state (an interview always has one once started)."""
        if not self.states:
            raise SessionError("This interview has no question yet.")
        return self.states[-1]

    @property
    def phase(self) -> Phase:
        if self.status == "scored":
            return Phase.scored
        if self.status == "finished":
            return Phase.finished
        return Phase.owes_reply if self.pending is not None else Phase.awaiting_answer

    @property
    def finished(self) -> bool:
        return self.phase in (Phase.finished, Phase.scored)

    @property
    def awaiting_answer(self) -> bool:
        return self.phase is Phase.awaiting_answer

    def refresh(self) -> InterviewRecord:
        """Read this interview from the store again (e.g. after another writer), and keep it as `record`."""
        rec = self.store.get(self.id)
        if rec is None:
            raise SessionError(f"No interview with id {self.id} was found.")
        self.record = rec
        return rec

    def transcript(self, *, include_private: bool = False, record: InterviewRecord | None = None) -> list[dict]:
        """The transcript's rows, as the store holds them; `record`: this interview as the caller already has it
        (e.g. this session's own `record`: no read)."""
        rec = record if record is not None else self.store.get(self.id)
        out = []
        for t in rec.turns:
            kind = {"follow_up": "probe", "notice": "wrap_up"}.get(t.kind, t.kind)
            row = {"role": t.role, "kind": t.kind, "question_id": t.question_id, "text": t.text}
            if t.role == "interviewer":
                row["move"] = kind
                if kind in ("probe", "challenge", "hint", "clarify") and t.probe_item:
                    row["target"] = t.probe_item
            if t.kind == "code":
                row["run"] = t.code_run.model_dump() if t.code_run else _parse_code_meta(t.probe_item)
            if include_private:
                row["private_notes"] = t.private_notes
            out.append(row)
        return out

    def progress(self) -> tuple[int, int]:
        """(questions asked so far, questions in the plan)."""
        return len(self.states), len(self.plan)

    def time_status(self) -> dict:
        """Elapsed and budgeted minutes for the current question (informs, never blocks); frozen once over."""
        st = self._cur()
        if st is None:
            return {"elapsed_min": 0.0, "budget_min": 0, "over": False}
        end = (st.last_at or st.asked_at) if self.finished else self.clock()
        elapsed = max(0.0, (end - st.asked_at) / 60)
        return {"elapsed_min": round(elapsed, 1), "budget_min": st.budget_min, "over": elapsed > st.budget_min}

    def loop_clock(self) -> dict | None:
        """A loop's overall clock: minutes used of the loop's stated length (None for a single question)."""
        if len(self.plan) < 2 or not self.states:
            return None
        start = self.states[0].asked_at
        end = (self.states[-1].last_at or start) if self.finished else self.clock()
        total = self.loop.minutes if self.loop else sum(self.budgets)
        elapsed = max(0.0, (end - start) / 60)
        return {"elapsed_min": round(elapsed, 1), "total_min": total, "over": elapsed > total}

    def live_rubric(self) -> list[dict]:
        """Practice mode: the current question's checklist, ticked as items are covered."""
        if self.mode != "practice":
            raise SessionError("The live rubric is only shown in practice mode.")
        st = self._cur()
        if st is None:
            return []
        covered = {i.id: i for i in st.coverage.items} if st.coverage else {}
        return [{"id": i.id, "label": i.label, "kind": i.kind,
                 "covered": bool(covered.get(i.id) and covered[i.id].covered)}
                for i in st.question.scorable_items]

    # ------------------------------------------------------------------ turns
    def _save(self, *, role: Literal["interviewer", "candidate"], kind: str, question: Question, text: str, probe_item: str | None = None,
              notes: str | None = None, usage: Usage | None = None, code_run: CodeRunRecord | None = None) -> None:
        cost = None
        if usage is not None and self.cost_fn is not None:
            cost = self.cost_fn(getattr(self.model, "name", None), usage)
        turn = TurnRecord(
            seq=0, role=role, kind=kind, question_id=question.id, text=text, probe_item=probe_item,
            private_notes=notes, created_at=datetime.fromtimestamp(self.clock(), timezone.utc),
            model=getattr(self.model, "name", None) if usage else None,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            cached_tokens=usage.cached_tokens if usage else 0, cost_usd=cost, code_run=code_run,
        )
        turn.seq = self.store.add_turn(self.id, turn)
        rec = self.record  # what the store now holds (the same arithmetic as its UPDATE)
        rec.turns.append(turn)
        rec.updated_at = turn.created_at
        rec.prompt_tokens += turn.prompt_tokens
        rec.completion_tokens += turn.completion_tokens
        if cost is not None:
            rec.cost_usd = (rec.cost_usd or 0.0) + cost
        if usage is not None:
            self.usage = self.usage + usage
        if role == "interviewer":
            self.said.append(text)
        if self.states:
            self.states[-1].last_at = self.clock()
        if role == "interviewer" and kind in ("question", "probe", "challenge", "clarify") and self.states:
            self.states[-1].last_interviewer = text

    def _ask_question(self, q: Question, preface: str = "") -> str:
        text = (preface + "\n\n" if preface else "") + q.prompt
        self._new_state(q, self.clock())
        self._save(role="interviewer", kind="question", question=q, text=text)
        return text

    def _record_answer(self, st: QuestionState, answer: str, *, judge: Judge | None) -> None:
        kind = classify_input(answer, last_interviewer=st.last_interviewer)
        st.last_input = kind
        if kind == "clarifying_question":
            st.clarifications.append(answer)
            facts, _ = policy.answer_clarification(st.question, answer)
            if facts:
                st.clarified.append(answer)
        elif kind in ("decline", "next"):
            st.declines += kind == "decline"
        else:
            st.answers.append(answer)
            st.contexts.append(st.last_probe)
        if judge is not None and kind == "answer":
            st.coverage = self._judge_coverage(st, judge)

    def _judge_coverage(self, st: QuestionState, judge: Judge) -> Score:
        text, contexts = st.answer_text()
        return judge.score(st.question, text, shown=st.shown(), contexts=contexts, clarified=tuple(st.clarified))

    def submit(self, answer: str) -> Iterator[str]:
        """Record the candidate's message (committed at once), then stream the interviewer's reply.

        Raises `SessionError` for an empty message or when no message is expected, and
        `ModelError` when the model fails: the message is already saved, and
        `retry()` produces the owed reply.
        """
        if self.finished:
            raise SessionError("This interview is over: start a new one or review it.")
        if self.pending is not None:
            raise SessionError("The interviewer still owes a reply to your last answer: retry it first.")
        answer = (answer or "").strip()
        if not answer:
            raise SessionError("Your answer is empty: type an answer, or say \u201cskip\u201d to move on.")
        if len(answer) > MAX_ANSWER_CHARS:
            raise SessionError(
                f"Your answer is {len(answer):,} characters; the limit is {MAX_ANSWER_CHARS:,}. Shorten it and send again."
            )
        st = self._cur()
        self._save(role="candidate", kind="answer", question=st.question, text=answer)
        self._record_answer(st, answer, judge=self._coverage_judge())
        self.pending = self._decide()
        return self._deliver()

    def _coverage_judge(self) -> Judge:
        return self.live_judge if self.model is not None else self.offline

    def run_code(self, code: str, *, hidden: bool) -> CodeRun:
        """Run the candidate's code in the sandbox (example tests, or the hidden ones when `hidden`), record
        the run as a coding turn (committed at once), and return the report with the interviewer's reply.

        The interviewer sees the code whenever it changed: it asks about failing tests, then complexity and
        edge cases, each at most once per question. Raises `SessionError` when no code is expected and
        `SandboxUnavailable` when the sandbox can't start (nothing is recorded then).
        """
        if self.finished:
            raise SessionError("This interview is over: start a new one or review it.")
        if self.pending is not None:
            raise SessionError("The interviewer still owes a reply to your last answer: retry it first.")
        st = self._cur()
        if st.question.coding is None:
            raise SessionError("This question has no code to run.")
        if not code.strip():
            raise SessionError("The editor is empty: write your solution first.")
        if self.runner is None:
            raise SessionError("This session has no code runner.")
        report = self.runner.run(st.question.coding, code, tests="hidden" if hidden else "visible")
        record = CodeRunRecord(hidden=hidden, passed=report.passed, total=report.total,
                               failed=[t.name for t in report.tests if t.status != "pass"],
                               sandboxed=report.isolation.sandboxed, error=report.error)
        changed = code != st.code
        self._save(role="candidate", kind="code", question=st.question, text=code, code_run=record)
        st.record_run(code, record.model_dump())
        self._add_next_part(st, record)
        if not changed or code.strip() == st.question.coding.starter_code.strip():
            return CodeRun(report, iter(()))
        action = self._code_follow_up(st)
        if action is None:
            return CodeRun(report, iter(()))
        self.pending = action
        return CodeRun(report, self._deliver())

    def _add_next_part(self, st: QuestionState, record: CodeRunRecord) -> None:
        """Part 2 of a multi-part coding round joins the plan, right after part 1, once part 1's hidden tests
        all pass (the plan is saved, so a resume sees it too)."""
        nxt = st.question.next_part
        if not (nxt and record.hidden and record.total and record.passed == record.total):
            return
        if nxt in [q.id for q in self.plan] or nxt not in self.bank.questions:
            return
        k = len(self.states)
        part = self.bank.get(nxt)
        plan = [q.id for q in self.plan]
        plan.insert(k, part.id)
        when = self.store.set_plan(self.id, plan)  # saved first: a failed write leaves the session as it was
        self.plan.insert(k, part)
        self.budgets.insert(k, part.time_budget_min)
        self.record.plan = plan
        self.record.updated_at = when

    def _code_follow_up(self, st: QuestionState) -> Action | None:
        q = st.question
        res = st.code_results or {}
        if res.get("failed") and "failing-tests" not in st.probes_asked:
            which = "hidden" if res.get("hidden") else "example"
            names = ", ".join(n.replace("_", " ") for n in res["failed"][:3])
            text = (f"Your solution fails {res['total'] - res['passed']} of the {res['total']} {which} tests "
                    f"({names}). Walk me through what your code does on that kind of input.")
            return Action("follow_up", q, probe_item="failing-tests", probe_text=text,
                          target="why the failing tests fail (the candidate should find the bug themselves)")
        covered = {i.id for i in st.coverage.items if i.covered} if st.coverage else set()
        probes = {p.item: p for p in q.probes}
        for item_id in ("complexity", "edge-cases"):
            if item_id in covered or item_id in st.probes_asked:
                continue
            text = probes[item_id].text if item_id in probes else (
                "What are the time and space complexity of your solution?" if item_id == "complexity"
                else "Which edge cases does your code handle, and which would break it?")
            return Action("follow_up", q, probe_item=item_id, probe_text=text)
        return None

    def retry(self) -> Iterator[str]:
        """Produce the interviewer's owed reply after a failed model call."""
        if self.pending is None:
            raise SessionError("There is nothing to retry.")
        return self._deliver()

    def continue_offline(self) -> Iterator[str]:
        """After a model failure, deliver the owed reply from the bank's scripted probes."""
        if self.pending is None:
            raise SessionError("There is nothing to continue.")
        model, self.model = self.model, None
        try:
            yield from self._deliver()
        finally:
            self.model = model

    def _over_budget(self) -> bool:
        return bool(self.budget_tokens) and (self.usage.prompt_tokens + self.usage.completion_tokens) >= self.budget_tokens

    def view(self) -> QuestionView:
        """The policy's view of the current question."""
        st = self._cur()
        cov = st.coverage
        covered = frozenset(i.id for i in cov.items if i.covered) if cov else frozenset()
        wrong = tuple(m.id for m in cov.misconceptions if m.covered) if cov else ()
        budget = st.budget_min
        elapsed = max(0.0, (self.clock() - st.asked_at) / 60)
        follow_ups = st.follow_ups
        if self.max_follow_ups is not None and follow_ups >= self.max_follow_ups:
            follow_ups = 10_000  # an explicit cap (tests, simulations)
        return QuestionView(
            covered=covered, asserted_misconceptions=wrong, probes_asked=tuple(st.probes_asked),
            challenged=tuple(st.challenged), hints_given=tuple(st.hints), declines=st.declines,
            clarifications=len(st.clarifications), follow_ups=follow_ups, elapsed_min=elapsed,
            budget_min=budget, last_input=st.last_input, last_probe=st.last_probe,  # type: ignore[arg-type]
        )

    def _decide(self) -> Action:
        st = self._cur()
        q = st.question
        is_last = len(self.states) >= len(self.plan)
        move = policy.next_move(q, self.view(), mode=self.mode, is_last=is_last,
                                over_token_budget=self._over_budget())
        return self._action(st, move)

    def _action(self, st: QuestionState, move: Move) -> Action:
        q = st.question
        if move.kind == "clarify":
            facts, reply = policy.answer_clarification(q, st.clarifications[-1] if st.clarifications else "")
            return Action("follow_up", q, probe_item=",".join(f.about for f in facts) or None, probe_text=reply,
                          move="clarify", scripted_only=True)
        if move.kind == "hint":
            text = f"Here's a hint: {move.text} Give it another try."
            return Action("follow_up", q, probe_item=move.target, probe_text=text, move="hint", scripted_only=True)
        if move.kind == "challenge":
            m = next((v for v in (st.coverage.misconceptions if st.coverage else []) if v.id == move.target), None)
            quoted = f"You said \u201c{short(m.evidence, 140)}\u201d. " if m and m.evidence else ""
            text = quoted + "Are you sure about that? Walk me through why it holds, or correct it."
            label = q.item(move.target).label if move.target else ""
            return Action("follow_up", q, probe_item=move.target, probe_text=text, move="challenge",
                          target=f"the candidate asserted a wrong claim ({label}); ask them to re-examine it "
                                 "without saying what is right")
        if move.kind == "probe":
            return Action("follow_up", q, probe_item=move.target, probe_text=move.text, move="probe")
        declined = st.last_input in ("decline", "next")
        if move.kind == "move_on":
            preface = "No problem, let's move on." if declined else "Thanks, let's move on."
            if q.next_part and self.plan[len(self.states)].id == q.next_part:
                preface = "That passes every test. Part 2 builds on it:"
            return Action("question", self.plan[len(self.states)], preface=preface)
        closing = move.text or ("That's all the questions I have. Thank you, that's the end of the interview."
                                if not declined else "No problem. That was the last question, so that's the end "
                                                     "of the interview.")
        return Action("finish", q, preface=closing)

    def _deliver(self) -> Iterator[str]:
        action = self.pending
        if action is None:
            return
        if action.kind == "question":
            text = self._ask_question(action.question, action.preface)
            self.pending = None
            yield text
            return
        if action.kind == "finish":
            self._save(role="interviewer", kind="wrap_up", question=action.question, text=action.preface)
            self.pending = None
            self._set_status("finished")
            yield action.preface
            return
        # A follow-up: phrased by the model when there is one (probes and challenges), else scripted.
        st = self._cur()
        if self.model is None or action.scripted_only:
            text = action.probe_text
            notes = None
            usage = None
            yield text
        else:
            text, notes, usage = yield from self._guarded_follow_up(action)
        if action.move == "probe":
            st.follow_ups += 1
            st.probes_asked.append(action.probe_item or "")
            st.last_probe = action.probe_item
        elif action.move == "challenge":
            st.follow_ups += 1
            st.challenged.append(action.probe_item or "")
            st.last_probe = None
        elif action.move == "hint":
            st.hints.append(action.probe_item or "")
        else:
            st.last_probe = None
        self._save(role="interviewer", kind=action.move, question=action.question, text=text,
                   probe_item=action.probe_item, notes=notes, usage=usage)
        self.pending = None
        self.last_error = None

    def _guarded_follow_up(self, action: Action):
        """Stream the model's follow-up through the guard (interviewer/guard.py): the candidate sees it
        only once it passes; a failing or cut-off reply is replaced by the scripted probe. Returns
        (text, private notes, usage); every call's tokens count, failed ones included."""
        flt = NotesFilter()
        result = GuardResult()
        model = self.model
        assert model is not None  # only called with a model
        raw = model.stream_text(self._interviewer_messages(action), max_tokens=FOLLOW_UP_MAX_TOKENS)
        close = getattr(raw, "close", lambda: None)  # closing the model's stream stops the server generating

        def visible() -> Iterator[str]:
            for chunk in raw:
                if piece := flt.feed(chunk):
                    yield piece
            if tail := flt.close():
                yield tail

        context = GuardContext.for_question(
            action.question, mode=self.mode, fallback=action.probe_text, answers=self._cur().answers,
            earlier=list(self.said))
        try:
            yield from guard_stream(visible(), context=context, result=result)
        except ModelError as exc:
            close()
            if exc.kind != "truncated":  # a cut-off reply is replaced below; its tokens count with the turn
                self._count_failed_call()
                self.last_error = str(exc)
                raise
            result = GuardResult(replaced=True, reason="cut off at the length limit", text=action.probe_text,
                                 original=getattr(exc, "partial", ""))
            yield result.text
        finally:
            close()
        notes = "\n".join(flt.notes) or None
        if result.replaced:
            notes = (notes or "") + f"\n{GUARD_MARK} ({result.reason}): {result.original[:300]!r}]"
            self.model_advice = result.advice or self.model_advice
        return result.text, notes, model.last_usage or Usage()

    def _count_failed_call(self) -> None:
        usage = getattr(self.model, "last_usage", None)
        if usage is not None:
            self.usage = self.usage + usage
            self.store.add_usage(self.id, prompt_tokens=usage.prompt_tokens,
                                 completion_tokens=usage.completion_tokens, cost_usd=None)
            self.record.prompt_tokens += usage.prompt_tokens
            self.record.completion_tokens += usage.completion_tokens

    @property
    def guard_replacements(self) -> int:
        """How many model follow-ups the guard replaced with the scripted probe in this interview."""
        return replacements_in([t.private_notes for t in self.store.get(self.id).turns])

    def _interviewer_messages(self, action: Action) -> list[Message]:
        """A flat context: a stable prefix (persona, rules, question, rubric), the interviewer's last turn and the
        candidate's last answer, and the follow-up to phrase. Older turns are summarised as the list of
        follow-ups already asked, so prompt size does not grow with the interview."""
        q = action.question
        st = self._cur()
        rubric = "\n".join(f"- {i.label}" for i in q.scorable_items)
        system = render("interviewer_system", mode=self.mode, kind=q.kind.value, title=q.title,
                        question=q.prompt, rubric=rubric)
        msgs = [Message(role="system", content=system)]
        if st.last_interviewer:
            msgs.append(Message(role="assistant", content=st.last_interviewer))
        if st.answers:
            msgs.append(Message(role="user", content=st.answers[-1]))
        if st.code:
            msgs.append(Message(role="user", content=f"(The candidate's current code)\n```python\n{st.code}\n```"))
        if action.target:
            label, when = action.target, action.target
        else:
            target = q.item(action.probe_item or "")
            label, when = target.label, target.covered_when
        asked = ", ".join(self._probe_label(q, p) for p in st.probes_asked + st.challenged) or "none yet"
        msgs.append(Message(role="system", content=render(
            "interviewer_follow_up", item=label, covered_when=when, probe=action.probe_text, asked=asked)))
        return msgs

    @staticmethod
    def _probe_label(q: Question, item_id: str) -> str:
        try:
            return q.item(item_id).label
        except KeyError:
            return item_id.replace("-", " ")

    # ------------------------------------------------------------------ practice helpers
    def hint(self, level: HintLevel) -> str:
        """Practice mode: a hint for the current question (recorded as a turn; the answer becomes assisted)."""
        if self.mode != "practice":
            raise SessionError("Hints are only available in practice mode.")
        if level not in HINT_LEVELS:
            raise SessionError(f"Unknown hint level {level!r}.")
        if self.finished:
            raise SessionError("This interview is over: start a new one or review it.")
        st = self._cur()
        text = getattr(st.question.hints, level)
        st.hints.append(level)
        self._save(role="interviewer", kind="hint", question=st.question, text=f"Hint ({HINT_NAMES[level]}): {text}",
                   probe_item=level)
        return text

    def model_answer(self) -> str:
        """Practice mode, after an attempt: the reference answer (recorded; later copies of it earn nothing)."""
        if self.mode != "practice":
            raise SessionError("The model answer is only shown in practice mode, after the interview in interview mode.")
        st = self._cur()
        if not st.answers:
            raise SessionError("Try an answer first: the model answer is shown after an attempt.")
        st.revealed = True
        self._save(role="interviewer", kind="model_answer", question=st.question, text=st.question.reference_answer)
        return st.question.reference_answer

    # ------------------------------------------------------------------ the end
    def _set_status(self, status: str) -> None:
        when = self.store.set_status(self.id, status)  # saved first: a failed write leaves the session as it was
        self.status = status
        self.record.updated_at = when
        self.record.status = status

    def end(self) -> None:
        """End the interview now (unanswered questions are scored as not answered)."""
        if self.status == "active":
            self.pending = None
            self._set_status("finished")

    def score(self, *, on_progress=None) -> list[Score]:
        """Score every asked question with the judge; results, verdicts and evidence are saved.

        Each question is scored on the candidate's answers (not declines or clarifying questions), each
        answer to a probe in that probe's context; help taken (hints, the model answer) marks it assisted,
        and text copied from what was shown earns nothing.
        """
        self.end()
        out: list[Score] = []
        for i, st in enumerate(self.states):
            q = st.question
            if on_progress:
                on_progress(i, len(self.states), q)
            text, contexts = st.answer_text()
            result = self.judge.score(q, text, shown=st.shown(), contexts=contexts, clarified=tuple(st.clarified))
            if q.coding is not None:  # the best submission counts
                result = combine_with_tests(result, st.best_submission or st.code_results)
            result = result.model_copy(update={"assisted": st.assisted()})
            usage = getattr(self.judge, "last_usage", None)
            if usage is not None:
                cost = self.cost_fn(result.model, usage) if self.cost_fn else None
                self.store.add_usage(self.id, prompt_tokens=usage.prompt_tokens,
                                     completion_tokens=usage.completion_tokens, cost_usd=cost)
            out.append(result)
        data = []
        for st, s in zip(self.states, out):
            q = st.question
            d = s.public_json() | {"kind": q.kind.value, "title": q.title, "full": s.model_dump()}
            data.append(d)
        overall = round(sum(s.score for s in out) / len(out)) if out else None
        self.store.save_results(self.id, data, overall)
        self.status = "scored"
        self.refresh()  # the results and the judge's tokens, as saved
        return out


# --------------------------------------------------------------------------- plans

def build_plan(bank: Bank, *, question_id: str | None = None, kind: str | None = None, topic: str | None = None,
               loop: str | None = None, avoid: list[str] | None = None, seed: int | None = None) -> list[Question]:
    """One question by id; a random one by kind/topic (not seen recently); or a loop template."""
    rng = random.Random(seed)
    avoid = list(avoid or [])
    if question_id:
        return [bank.get(question_id)]
    if loop:
        if loop not in bank.loops:
            raise SessionError(f"There is no loop named {loop!r}. Run `python -m interviewer loops` to list them.")
        plan: list[Question] = []
        for slot in bank.loops[loop].slots:
            if slot.question:
                q = bank.get(slot.question)
            else:
                q = bank.pick(kind=slot.kind, topic=slot.topic, difficulty=slot.difficulty,
                              avoid=avoid + [p.id for p in plan], rng=rng)
            if q.id in {p.id for p in plan}:
                q = bank.pick(kind=q.kind, avoid=avoid + [p.id for p in plan], rng=rng)
            plan.append(q)
        return plan
    if kind or topic:
        return [bank.pick(kind=Kind(kind) if kind else None, topic=topic, avoid=avoid, rng=rng)]
    return [bank.pick(avoid=avoid, rng=rng)]
