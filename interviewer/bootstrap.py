"""The composition root: one function builds the app's parts from settings.

`app.py`, the CLI and the tests all call `build_app`, overriding whatever they
need (a fake model, a test database, a bank directory).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .bank import Bank, load_bank
from .chat import ChatModel, Usage
from .config import Settings, load_settings
from .grading import CodeRunner
from .sandbox import Sandbox
from .scoring import Judge, LLMJudge, OfflineJudge
from .session import InterviewSession, Mode, build_plan
from .store import Store
from .types import Question


@dataclass
class App:
    settings: Settings
    bank: Bank
    store: Store
    interviewer_model: ChatModel | None = None
    judge_model: ChatModel | None = None
    runner: CodeRunner = field(default_factory=CodeRunner)
    max_follow_ups: int | None = None  # None: in proportion to each question's time budget
    options: dict = field(default_factory=dict)

    @property
    def offline(self) -> bool:
        return self.interviewer_model is None and self.judge_model is None

    def judge(self) -> Judge:
        return LLMJudge(self.judge_model) if self.judge_model is not None else OfflineJudge()

    def cost(self, model: str | None, usage: Usage) -> float | None:
        from .tokens import cost_usd

        if not model:
            return None
        return cost_usd(model, usage, base_url=self.settings.base_url)

    def _session_options(self) -> dict:
        return {
            "model": self.interviewer_model,
            "judge": self.judge(),
            "max_follow_ups": self.max_follow_ups,
            "budget_tokens": self.settings.session_budget_tokens,
            "cost_fn": self.cost,
            "runner": self.runner,
        } | self.options

    def plan(self, **criteria) -> list[Question]:
        user = criteria.pop("user_id", self.settings.user)
        # one chosen question needs no history (a query less per Start)
        avoid = [] if criteria.get("question_id") else self.store.recent_question_ids(user)
        return build_plan(self.bank, avoid=avoid, **criteria)

    def start(self, plan: list[Question], *, mode: Mode = "interview", user_id: str | None = None,
              loop_name: str | None = None, title: str | None = None) -> InterviewSession:
        return InterviewSession.start(
            store=self.store, bank=self.bank, plan=plan, mode=mode, user_id=user_id or self.settings.user,
            loop_name=loop_name, title=title or (self.bank.loops[loop_name].title if loop_name else None),
            judge_model_name=getattr(self.judge_model, "name", None), **self._session_options(),
        )

    def resume(self, interview_id: str, *, user_id: str | None = None) -> InterviewSession:
        return InterviewSession.resume(interview_id, store=self.store, bank=self.bank,
                                       user_id=user_id or self.settings.user, **self._session_options())


def build_runner() -> CodeRunner:
    """The code runner: bubblewrap; fails closed unless INTERVIEWER_SANDBOX=trusted-local (read here)."""
    return CodeRunner(Sandbox())


def build_app(settings: Settings | None = None, *, bank: Bank | None = None, store: Store | None = None,
              interviewer_model: ChatModel | None = None, judge_model: ChatModel | None = None,
              use_configured_models: bool = True, runner: CodeRunner | None = None, **options) -> App:
    """Build every dependency from `settings` (read from the environment when None); each can be overridden."""
    settings = settings or load_settings()
    bank = bank or load_bank()
    store = store or Store(settings.db_url)
    if use_configured_models and interviewer_model is None and judge_model is None and not settings.offline:
        from .llm import build_models

        interviewer_model, judge_model = build_models(settings)
    runner = runner or build_runner()
    max_follow_ups = options.pop("max_follow_ups", None)
    return App(settings=settings, bank=bank, store=store, interviewer_model=interviewer_model,
               judge_model=judge_model, runner=runner, max_follow_ups=max_follow_ups, options=options)
