"""The interview state machine: ask -> answer -> follow-ups -> next question -> finished -> scored.

The policy lives here, in code: coverage is updated after each answer with the
offline judge, the most important uncovered rubric item is probed (never the
same probe twice, at most `max_follow_ups` per question), declining moves on,
and interview mode never reveals an answer. With a model, the interviewer
phrases its follow-ups itself and streams them; offline it asks the bank's
probes. Every turn is committed to the store before any model call.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from .bank import Bank
from .chat import ChatModel, Message, Usage
from .errors import InterviewerError, ModelError
from .guard import GUARD_MARK, GuardContext, GuardResult, guard_stream, replacements_in
from .prompts import render
from .scoring import Judge, OfflineJudge, combine_with_tests
from .store import InterviewRecord, Store, TurnRecord
from .types import Kind, Question, Score

Mode = Literal["practice", "interview"]
HintLevel = Literal["direction", "approach", "detailed"]
HINT_LEVELS: tuple[HintLevel, ...] = ("direction", "approach", "detailed")
MAX_ANSWER_CHARS = 20_000
FOLLOW_UP_MAX_TOKENS = 800  # private notes plus one or two spoken sentences (room for a short <think> block)

_DECLINE_RE = re.compile(
    r"^\W*(i\s+(really\s+)?(don'?t|do not)\s+know|no\s+idea|not\s+sure|skip|pass|next(\s+question)?|"
    r"let'?s\s+move\s+on|move\s+on|i'?d\s+rather\s+(not|skip|move on)|i\s+can'?t\s+answer|i\s+have\s+no\s+idea|"
    r"i'?m\s+not\s+sure|no\s+clue|i\s+give\s+up)\b[\s\S]{0,60}$",
    re.I,
)
_NOTES_RE = re.compile(r"<notes>[\s\S]*?</notes>|<think>[\s\S]*?</think>", re.I)


class SessionError(InterviewerError):
    pass


def _code_meta(meta: dict) -> str:
    return f"{meta['passed']}/{meta['total']}/{'hidden' if meta['hidden'] else 'visible'}/{','.join(meta['failed'])}"


def _parse_code_meta(text: str | None) -> dict | None:
    if not text:
        return None
    passed, total, which, failed = (text.split("/", 3) + ["", "", "", ""])[:4]
    return {"passed": int(passed or 0), "total": int(total or 0), "hidden": which == "hidden",
            "failed": [f for f in failed.split(",") if f]}


def is_decline(answer: str) -> bool:
    """'I don't know', 'skip', "let's move on" and the like (short, so a real answer that starts so still counts)."""
    return bool(_DECLINE_RE.match(answer.strip()))


def reveals_reference(text: str, question: Question, *, n: int = 8) -> bool:
    """True if `text` repeats `n` consecutive words of the reference answer (a leak in interview mode)."""
    ref = re.findall(r"[a-z0-9]+", question.reference_answer.lower())
    grams = {" ".join(ref[i:i + n]) for i in range(len(ref) - n + 1)}
    words = re.findall(r"[a-z0-9]+", text.lower())
    return any(" ".join(words[i:i + n]) in grams for i in range(len(words) - n + 1))


@dataclass
class Action:
    """What the interviewer does next."""

    kind: Literal["follow_up", "question", "finish"]
    question: Question
    probe_item: str | None = None
    probe_text: str = ""
    preface: str = ""
    target: str = ""  # what the follow-up is after, for the model (defaults to the rubric item)


@dataclass
class QuestionState:
    question: Question
    asked_at: float
    follow_ups: int = 0
    probes_asked: list[str] = field(default_factory=list)
    declined: bool = False
    hints: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    coverage: Score | None = None
    last_interviewer: str = ""  # the interviewer's last words on this question (for the model's context)
    code: str | None = None  # the latest code the candidate ran or submitted
    code_results: dict | None = None  # {"passed", "total", "hidden", "failed": [names]} of the latest run


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


class InterviewSession:
    """One interview over a plan of questions. Create with `start` or `resume`."""

    def __init__(self, *, store: Store, record: InterviewRecord, bank: Bank, model: ChatModel | None = None,
                 judge: Judge | None = None, max_follow_ups: int = 2, budget_tokens: int = 0,
                 cost_fn=None, clock=time.monotonic):
        self.store = store
        self.bank = bank
        self.model = model
        self.judge = judge or OfflineJudge()
        self.offline = OfflineJudge()
        self.max_follow_ups = max_follow_ups
        self.budget_tokens = budget_tokens
        self.cost_fn = cost_fn
        self.clock = clock
        self.id = record.id
        self.mode: Mode = record.mode  # type: ignore[assignment]
        self.user_id = record.user_id
        self.plan = [bank.get(qid) for qid in record.plan]
        self.record = record
        self.states: list[QuestionState] = []
        self.pending: Action | None = None  # an interviewer turn owed after a failed model call
        self.status = record.status
        self.usage = Usage()
        self.last_error: str | None = None
        self.model_advice: str = ""  # one sentence for the user about the model server (e.g. no chat template)
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
        iid = store.create_interview(
            user_id=user_id, mode=mode, title=title, plan=[q.id for q in plan], loop_name=loop_name,
            interviewer_model=getattr(model, "name", None), judge_model=judge_model_name,
        )
        session = cls(store=store, record=store.get(iid), bank=bank, model=model, judge=judge, **options)
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
        """Rebuild the state machine from saved turns (resume after a crash or a refresh)."""
        last_role = None
        for t in turns:
            if t.kind == "question":
                self.states.append(QuestionState(self.bank.get(t.question_id), asked_at=self.clock()))
            elif not self.states:
                continue
            st = self.states[-1]
            if t.kind in ("question", "follow_up"):
                st.last_interviewer = t.text
            if t.kind == "follow_up":
                st.follow_ups += 1
                if t.probe_item:
                    st.probes_asked.append(t.probe_item)
            elif t.kind == "hint":
                st.hints.append(t.probe_item or "")
            elif t.kind == "answer":
                st.answers.append(t.text)
                if is_decline(t.text):
                    st.declined = True
            elif t.kind == "code":
                st.code = t.text
                st.code_results = _parse_code_meta(t.probe_item)
            if t.kind in ("question", "follow_up", "answer", "code"):
                last_role = t.role
            self.usage = self.usage + Usage(prompt_tokens=t.prompt_tokens, completion_tokens=t.completion_tokens)
        for st in self.states:
            if st.answers:
                st.coverage = self.offline.score(st.question, "\n".join(st.answers))
        if self.status == "active" and last_role == "candidate":
            self.pending = self._decide()

    # ------------------------------------------------------------------ views
    @property
    def current(self) -> QuestionState | None:
        return self.states[-1] if self.states else None

    @property
    def finished(self) -> bool:
        return self.status in ("finished", "scored")

    @property
    def awaiting_answer(self) -> bool:
        return not self.finished and self.pending is None

    def transcript(self, *, include_private: bool = False) -> list[dict]:
        rec = self.store.get(self.id)
        out = []
        for t in rec.turns:
            row = {"role": t.role, "kind": t.kind, "question_id": t.question_id, "text": t.text}
            if t.kind == "code":
                row["run"] = _parse_code_meta(t.probe_item)
            if include_private:
                row["private_notes"] = t.private_notes
            out.append(row)
        return out

    def progress(self) -> tuple[int, int]:
        """(questions asked so far, questions in the plan)."""
        return len(self.states), len(self.plan)

    def time_status(self) -> dict:
        """Elapsed and budgeted minutes for the current question (informs, never blocks)."""
        st = self.current
        if st is None:
            return {"elapsed_min": 0.0, "budget_min": 0, "over": False}
        elapsed = (self.clock() - st.asked_at) / 60
        return {"elapsed_min": round(elapsed, 1), "budget_min": st.question.time_budget_min,
                "over": elapsed > st.question.time_budget_min}

    def live_rubric(self) -> list[dict]:
        """Practice mode: the current question's checklist, ticked as items are covered."""
        if self.mode != "practice":
            raise SessionError("The live rubric is only shown in practice mode.")
        st = self.current
        if st is None:
            return []
        covered = {i.id: i for i in st.coverage.items} if st.coverage else {}
        return [{"id": i.id, "label": i.label, "kind": i.kind,
                 "covered": bool(covered.get(i.id) and covered[i.id].covered)}
                for i in st.question.scorable_items]

    # ------------------------------------------------------------------ turns
    def _save(self, *, role: str, kind: str, question: Question, text: str, probe_item: str | None = None,
              notes: str | None = None, usage: Usage | None = None) -> None:
        cost = None
        if usage is not None and self.cost_fn is not None:
            cost = self.cost_fn(getattr(self.model, "name", None), usage)
        self.store.add_turn(self.id, TurnRecord(
            seq=0, role=role, kind=kind, question_id=question.id, text=text, probe_item=probe_item,
            private_notes=notes, created_at=datetime.now(timezone.utc),
            model=getattr(self.model, "name", None) if usage else None,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            cached_tokens=usage.cached_tokens if usage else 0, cost_usd=cost,
        ))
        if usage is not None:
            self.usage = self.usage + usage
        if role == "interviewer" and kind in ("question", "follow_up") and self.states:
            self.states[-1].last_interviewer = text

    def _ask_question(self, q: Question, preface: str = "") -> str:
        text = (preface + "\n\n" if preface else "") + q.prompt
        self.states.append(QuestionState(q, asked_at=self.clock()))
        self._save(role="interviewer", kind="question", question=q, text=text)
        return text

    def submit(self, answer: str) -> Iterator[str]:
        """Record the candidate's answer (committed at once), then stream the interviewer's reply.

        Raises `SessionError` for an empty answer or when no answer is expected, and
        `ModelError` when the model fails: the answer is already saved, and
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
        st = self.current
        self._save(role="candidate", kind="answer", question=st.question, text=answer)
        st.answers.append(answer)
        if is_decline(answer):
            st.declined = True
        st.coverage = self.offline.score(st.question, "\n".join(st.answers))
        self.pending = self._decide()
        return self._deliver()

    def submit_code(self, code: str, *, passed: int, total: int, hidden: bool,
                    failed: list[str] | None = None) -> Iterator[str]:
        """Record a run of the candidate's code (committed at once); the interviewer then asks about it.

        The interviewer sees the code whenever it changed: it asks about failing tests, then
        complexity and edge cases, each at most once per question.
        """
        if self.finished:
            raise SessionError("This interview is over: start a new one or review it.")
        if self.pending is not None:
            raise SessionError("The interviewer still owes a reply to your last answer: retry it first.")
        st = self.current
        if st.question.coding is None:
            raise SessionError("This question has no code to run.")
        if not code.strip():
            raise SessionError("The editor is empty: write your solution first.")
        changed = code != st.code
        meta = {"passed": passed, "total": total, "hidden": hidden, "failed": list(failed or [])}
        self._save(role="candidate", kind="code", question=st.question, text=code, probe_item=_code_meta(meta))
        st.code, st.code_results = code, meta
        if not changed or code.strip() == st.question.coding.starter_code.strip():
            return iter(())
        action = self._code_follow_up(st)
        if action is None:
            return iter(())
        self.pending = action
        return self._deliver()

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

    def _decide(self) -> Action:
        st = self.current
        q = st.question
        if self._over_budget():
            return Action("finish", q, preface="We've reached this session's token budget, so let's stop here.")
        if not st.declined and st.follow_ups < self.max_follow_ups and st.coverage is not None:
            covered = {i.id for i in st.coverage.items if i.covered}
            probes = {p.item: p for p in q.probes}
            candidates = [i for i in q.scorable_items
                          if i.id not in covered and i.id in probes and i.id not in st.probes_asked]
            if candidates:
                best = max(candidates, key=lambda i: (i.weight, -q.rubric.index(i)))
                return Action("follow_up", q, probe_item=best.id, probe_text=probes[best.id].text)
        nxt = len(self.states)
        if nxt < len(self.plan):
            preface = "No problem, let's move on." if st.declined else "Thanks, let's move on."
            return Action("question", self.plan[nxt], preface=preface)
        closing = ("That's all the questions I have. Thank you, that's the end of the interview."
                   if not st.declined else "No problem. That was the last question, so that's the end of the interview.")
        return Action("finish", q, preface=closing)

    def _deliver(self) -> Iterator[str]:
        action = self.pending
        if action.kind == "question":
            text = self._ask_question(action.question, action.preface)
            self.pending = None
            yield text
            return
        if action.kind == "finish":
            self._save(role="interviewer", kind="notice", question=action.question, text=action.preface)
            self.pending = None
            self.status = "finished"
            self.store.set_status(self.id, "finished")
            yield action.preface
            return
        # A follow-up: phrased by the model when there is one, else the bank's probe.
        st = self.current
        if self.model is None:
            text = action.probe_text
            notes = None
            usage = None
            yield text
        else:
            text, notes, usage = yield from self._guarded_follow_up(action)
        st.follow_ups += 1
        st.probes_asked.append(action.probe_item)
        self._save(role="interviewer", kind="follow_up", question=action.question, text=text,
                   probe_item=action.probe_item, notes=notes, usage=usage)
        self.pending = None
        self.last_error = None

    def _guarded_follow_up(self, action: Action):
        """Stream the model's follow-up through the guard (interviewer/guard.py): the candidate sees it
        only once it passes; a failing or cut-off reply is replaced by the scripted probe. Returns
        (text, private notes, usage); every call's tokens count, failed ones included."""
        flt = NotesFilter()
        result = GuardResult()
        raw = self.model.stream_text(self._interviewer_messages(action), max_tokens=FOLLOW_UP_MAX_TOKENS)
        close = getattr(raw, "close", lambda: None)  # closing the model's stream stops the server generating

        def visible() -> Iterator[str]:
            for chunk in raw:
                if piece := flt.feed(chunk):
                    yield piece
            if tail := flt.close():
                yield tail

        context = GuardContext.for_question(
            action.question, mode=self.mode, fallback=action.probe_text, answers=self.current.answers,
            earlier=[t.text for t in self.store.get(self.id).turns if t.role == "interviewer"])
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
        return result.text, notes, self.model.last_usage or Usage()

    def _count_failed_call(self) -> None:
        usage = getattr(self.model, "last_usage", None)
        if usage is not None:
            self.usage = self.usage + usage
            self.store.add_usage(self.id, prompt_tokens=usage.prompt_tokens,
                                 completion_tokens=usage.completion_tokens, cost_usd=None)

    @property
    def guard_replacements(self) -> int:
        """How many model follow-ups the guard replaced with the scripted probe in this interview."""
        return replacements_in([t.private_notes for t in self.store.get(self.id).turns])

    def _interviewer_messages(self, action: Action) -> list[Message]:
        """A flat context: a stable prefix (persona, rules, question, rubric), the interviewer's last turn and the
        candidate's last answer, and the follow-up to phrase. Older turns are summarised as the list of
        follow-ups already asked, so prompt size does not grow with the interview."""
        q = action.question
        st = self.current
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
            target = q.item(action.probe_item)
            label, when = target.label, target.covered_when
        asked = ", ".join(self._probe_label(q, p) for p in st.probes_asked) or "none yet"
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
        """Practice mode: a hint for the current question (recorded as a turn)."""
        if self.mode != "practice":
            raise SessionError("Hints are only available in practice mode.")
        if level not in HINT_LEVELS:
            raise SessionError(f"Unknown hint level {level!r}.")
        st = self.current
        text = getattr(st.question.hints, level)
        st.hints.append(level)
        self._save(role="interviewer", kind="hint", question=st.question, text=f"Hint ({level}): {text}",
                   probe_item=level)
        return text

    def model_answer(self) -> str:
        """Practice mode, after an attempt: the reference answer (recorded as a turn)."""
        if self.mode != "practice":
            raise SessionError("The model answer is only shown in practice mode, after the interview in interview mode.")
        st = self.current
        if not st.answers:
            raise SessionError("Try an answer first: the model answer is shown after an attempt.")
        self._save(role="interviewer", kind="model_answer", question=st.question, text=st.question.reference_answer)
        return st.question.reference_answer

    # ------------------------------------------------------------------ the end
    def end(self) -> None:
        """End the interview now (unanswered questions are scored as not answered)."""
        if self.status == "active":
            self.pending = None
            self.status = "finished"
            self.store.set_status(self.id, "finished")

    def score(self, *, on_progress=None) -> list[Score]:
        """Score every asked question with the judge; results, verdicts and evidence are saved."""
        self.end()
        out: list[Score] = []
        rec = self.store.get(self.id)
        answers: dict[str, list[str]] = {}
        for t in rec.turns:
            if t.role == "candidate" and t.kind == "answer" and not is_decline(t.text):
                answers.setdefault(t.question_id, []).append(t.text)
        asked = [s.question for s in self.states]
        for i, q in enumerate(asked):
            if on_progress:
                on_progress(i, len(asked), q)
            text = "\n\n".join(answers.get(q.id, []))
            result = self.judge.score(q, text)
            if q.coding is not None:
                st = next((x for x in self.states if x.question.id == q.id), None)
                result = combine_with_tests(result, st.code_results if st else None)
            usage = getattr(self.judge, "last_usage", None)
            if usage is not None:
                cost = self.cost_fn(result.model, usage) if self.cost_fn else None
                self.store.add_usage(self.id, prompt_tokens=usage.prompt_tokens,
                                     completion_tokens=usage.completion_tokens, cost_usd=cost)
            out.append(result)
        data = []
        for q, s in zip(asked, out):
            d = s.public_json() | {"kind": q.kind.value, "title": q.title, "full": s.model_dump()}
            data.append(d)
        overall = round(sum(s.score for s in out) / len(out)) if out else None
        self.store.save_results(self.id, data, overall)
        self.status = "scored"
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
