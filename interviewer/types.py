"""The domain's data: questions and their rubrics, loops, and scoring results.

Every model forbids unknown fields so that a typo in a YAML file is an error,
not a silently ignored key.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Kind(str, Enum):
    technical = "technical"
    coding = "coding"
    system_design = "system_design"
    behavioral = "behavioral"


Difficulty = Literal["easy", "medium", "hard"]

ItemKind = Literal[
    "key_point",  # a point a strong technical answer makes
    "misconception",  # a common wrong claim: deducts its weight when quoted
    "component",  # a system-design component (named in the guide)
    "consideration",  # a system-design consideration (named in the guide)
    "framing",  # clarifying requirements, success metrics, approach before code
    "star",  # one of situation / task / action / result
    "competency",  # what a strong behavioral story shows
    "coding",  # a coding-interview item: complexity, edge cases, tests
]


class RubricItem(Strict):
    """One binary, checkable item of a rubric."""

    id: str = Field(pattern=ID_PATTERN)
    label: str = Field(min_length=2)
    covered_when: str = Field(min_length=10, description="what counts as covered, for a grader")
    weight: float = Field(default=1.0, gt=0, le=10)
    kind: ItemKind = "key_point"
    phrases: list[str] = Field(
        min_length=1,
        description="phrases or aliases an offline matcher looks for (any one matches)",
    )
    detail_phrases: list[str] = Field(
        default_factory=list,
        description="phrases that show the item is explained, not only named (design items)",
    )

    @field_validator("phrases", "detail_phrases")
    @classmethod
    def _non_blank(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("phrases must not be blank")
        return cleaned


class Probe(Strict):
    """A follow-up the interviewer can ask when `item` is still uncovered."""

    item: str = Field(pattern=ID_PATTERN, description="id of the rubric item this probe targets")
    text: str = Field(min_length=10)


class Hints(Strict):
    """Practice-mode hints, from a nudge to nearly the answer."""

    direction: str = Field(min_length=10)
    approach: str = Field(min_length=10)
    detailed: str = Field(min_length=10)


class CodeTest(Strict):
    """One test of a coding challenge: `call` is evaluated after the candidate's code."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    call: str = Field(min_length=3, description="a Python expression calling the function")
    expected: str = Field(min_length=1, description="a Python literal (or expression) to compare with")
    compare: Literal["exact", "approx"] = "exact"
    tolerance: float = Field(default=1e-6, gt=0)
    why: str = Field(default="", description="the mistake this test catches")


class CodingSpec(Strict):
    function_name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    signature: str = Field(min_length=5)
    statement: str = Field(min_length=40, description="the precise specification")
    starter_code: str = Field(min_length=10)
    reference_solution: str = Field(min_length=20)
    visible_tests: list[CodeTest] = Field(min_length=1)
    hidden_tests: list[CodeTest] = Field(default_factory=list)
    forbidden_imports: list[str] = Field(default_factory=lambda: ["sklearn"])
    time_limit_s: float = Field(default=5.0, gt=0, le=60)

    @model_validator(mode="after")
    def _function_defined(self) -> "CodingSpec":
        pattern = rf"^def {re.escape(self.function_name)}\("
        for field in ("starter_code", "reference_solution"):
            if not re.search(pattern, getattr(self, field), re.M):
                raise ValueError(f"{field} must define {self.function_name}()")
        names = [t.name for t in self.visible_tests + self.hidden_tests]
        if len(names) != len(set(names)):
            raise ValueError("test names must be unique")
        return self


class StarGuide(Strict):
    """What each STAR part should contain for this particular question."""

    situation: str = Field(min_length=10)
    task: str = Field(min_length=10)
    action: str = Field(min_length=10)
    result: str = Field(min_length=10)


class BehavioralSpec(Strict):
    competency: str = Field(min_length=3, description="the competency the question probes")
    principles: list[str] = Field(default_factory=list, description="leadership principles it can show")
    strong_answer_shows: list[str] = Field(min_length=1)
    star: StarGuide


STAR_PARTS = ("situation", "task", "action", "result")


class Question(Strict):
    id: str = Field(pattern=ID_PATTERN)
    kind: Kind
    title: str = Field(min_length=5)
    subtitle: str | None = None
    prompt: str = Field(min_length=10, description="what the interviewer says")
    difficulty: Difficulty
    topics: list[str] = Field(min_length=1)
    source: Literal["guide", "extended"] = "extended"
    rubric: list[RubricItem] = Field(min_length=1)
    reference_answer: str = Field(min_length=40)
    probes: list[Probe] = Field(min_length=2, max_length=4)
    hints: Hints
    coaching: list[str] = Field(default_factory=list, description="interview tips shown with the question")
    time_budget_min: int = Field(default=10, ge=1, le=90)
    coding: CodingSpec | None = None
    behavioral: BehavioralSpec | None = None

    @field_validator("topics")
    @classmethod
    def _topics_slugs(cls, topics: list[str]) -> list[str]:
        for t in topics:
            if not re.match(ID_PATTERN, t):
                raise ValueError(f"topic {t!r} must be a lowercase-hyphenated slug")
        return topics

    @model_validator(mode="after")
    def _consistent(self) -> "Question":
        ids = [item.id for item in self.rubric]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate rubric item id(s): {', '.join(dupes)}")
        scorable = {item.id for item in self.rubric if item.kind != "misconception"}
        for probe in self.probes:
            if probe.item not in scorable:
                raise ValueError(f"probe names unknown rubric item {probe.item!r}")
        probe_items = [p.item for p in self.probes]
        if len(probe_items) != len(set(probe_items)):
            raise ValueError("two probes target the same rubric item")
        kinds = [item.kind for item in self.rubric]
        if self.kind is Kind.technical:
            n = kinds.count("key_point")
            if not 5 <= n <= 8:
                raise ValueError(f"a technical question needs 5-8 key_point items, has {n}")
            if "misconception" not in kinds:
                raise ValueError("a technical question needs at least one misconception item")
        if self.kind is Kind.coding and self.coding is None:
            raise ValueError("a coding question needs a 'coding' section")
        if self.kind is not Kind.coding and self.coding is not None:
            raise ValueError("only coding questions have a 'coding' section")
        if self.kind is Kind.behavioral:
            if self.behavioral is None:
                raise ValueError("a behavioral question needs a 'behavioral' section")
            missing = [p for p in STAR_PARTS if p not in ids]
            if missing:
                raise ValueError(f"a behavioral rubric needs star items with ids {', '.join(missing)}")
        elif self.behavioral is not None:
            raise ValueError("only behavioral questions have a 'behavioral' section")
        if self.kind is Kind.system_design:
            for needed in ("component", "consideration", "framing"):
                if needed not in kinds:
                    raise ValueError(f"a system design rubric needs {needed} items")
        return self

    def item(self, item_id: str) -> RubricItem:
        for item in self.rubric:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    @property
    def scorable_items(self) -> list[RubricItem]:
        return [i for i in self.rubric if i.kind != "misconception"]

    @property
    def misconceptions(self) -> list[RubricItem]:
        return [i for i in self.rubric if i.kind == "misconception"]


class LoopSlot(Strict):
    """One question of a loop: a fixed id, or a random pick by kind and/or topic."""

    question: str | None = Field(default=None, pattern=ID_PATTERN)
    kind: Kind | None = None
    topic: str | None = None
    difficulty: Difficulty | None = None

    @model_validator(mode="after")
    def _something(self) -> "LoopSlot":
        if not (self.question or self.kind or self.topic):
            raise ValueError("a loop slot needs a question, a kind or a topic")
        return self


class Loop(Strict):
    name: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=5)
    description: str = Field(min_length=10)
    minutes: int = Field(ge=5, le=300)
    slots: list[LoopSlot] = Field(min_length=1)


class Tip(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    text: str
    applies_to: list[Kind] = Field(default_factory=list)


class LeadershipPrinciple(Strict):
    name: str
    ml_example: str
    question: str = Field(pattern=ID_PATTERN, description="id of the question that probes it")


class Framework(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str
    description: str
    text: str
    questions: list[str] = Field(default_factory=list, description="ids of the questions it covers")
    principles: list[LeadershipPrinciple] = Field(default_factory=list)


class GuideExtras(Strict):
    """The guide's tips and behavioral frameworks (question_bank/guide.yaml)."""

    tips: list[Tip] = Field(min_length=1)
    frameworks: list[Framework] = Field(min_length=1)


# --------------------------------------------------------------------------- scoring results

Band = Literal["zero", "weak", "partial", "strong"]
JudgeName = Literal["offline", "llm"]
Flag = Literal["instructions_to_grader", "keyword_list", "off_topic", "too_short", "truncated"]


class ItemVerdict(Strict):
    """The verdict on one rubric item, with the candidate's own words as evidence."""

    id: str
    label: str
    kind: ItemKind
    weight: float
    covered: bool
    evidence: str | None = None
    start: int | None = Field(default=None, description="offset of the evidence in the scored answer")
    end: int | None = None
    depth: Literal["missing", "named", "explained"] = "missing"
    mark_start: int | None = Field(default=None, description="offset of the matched words, to highlight")
    mark_end: int | None = None
    credit: float = Field(default=0.0, description="weight earned (negative for a misconception)")
    note: str | None = None


class StarPart(Strict):
    present: bool
    evidence: str | None = None
    start: int | None = None
    end: int | None = None


class StarAnalysis(Strict):
    situation: StarPart
    task: StarPart
    action: StarPart
    result: StarPart
    quantified_result: bool
    ownership: Literal["first_person", "team", "mixed", "unclear"]
    i_count: int
    we_count: int
    word_count: int
    length_band: Literal["too_short", "ok", "too_long"]
    principles: list[str] = Field(default_factory=list)


class DesignCoverage(Strict):
    label: str
    kind: ItemKind
    depth: Literal["missing", "named", "explained"]


class Score(Strict):
    """A scored answer. `score` and `band` are computed in code from item weights."""

    question_id: str
    judge: JudgeName
    estimate: bool = Field(description="True when the offline judge scored (shown as an estimate)")
    score: int = Field(ge=0, le=100)
    band: Band
    items: list[ItemVerdict]
    misconceptions: list[ItemVerdict] = Field(default_factory=list)
    star: StarAnalysis | None = None
    design: list[DesignCoverage] | None = None
    flags: list[Flag] = Field(default_factory=list)
    feedback: str
    fallback_reason: str | None = Field(default=None, description="why the LLM judge fell back to offline")
    output_mode: str | None = Field(default=None, description="how the LLM judge's JSON was obtained: json_schema, "
                                    "json_object_schema, json_object or prompt")
    output_fallback: str | None = Field(default=None, description="why the server is not asked for json_schema")
    model: str | None = None
    answer: str = Field(default="", description="the text that was scored (offsets refer to it)")
    tests: dict | None = Field(default=None, description="code test results, for coding questions")

    def public_json(self) -> dict:
        """The CLI's `score --json` shape."""
        out = {
            "question_id": self.question_id,
            "judge": self.judge,
            "estimate": self.estimate,
            "score": self.score,
            "band": self.band,
            "items": [
                {"id": i.id, "label": i.label, "covered": i.covered, "evidence": i.evidence,
                 "depth": i.depth, "weight": i.weight}
                for i in self.items
            ],
            "misconceptions": [
                {"id": i.id, "label": i.label, "evidence": i.evidence} for i in self.misconceptions if i.covered
            ],
            "flags": list(self.flags),
            "feedback": self.feedback,
        }
        if self.star is not None:
            out["star"] = {
                "situation": self.star.situation.present,
                "task": self.star.task.present,
                "action": self.star.action.present,
                "result": self.star.result.present,
                "quantified_result": self.star.quantified_result,
                "ownership": self.star.ownership,
                "length_band": self.star.length_band,
                "principles": self.star.principles,
            }
        if self.design is not None:
            out["design"] = [d.model_dump() for d in self.design]
        if self.fallback_reason:
            out["fallback_reason"] = self.fallback_reason
        if self.output_mode:
            out["structured_output"] = {"mode": self.output_mode, "fallback": self.output_fallback}
        if self.tests is not None:
            out["tests"] = self.tests
        return out


def band_for(score: float) -> Band:
    if score < 10:
        return "zero"
    if score < 40:
        return "weak"
    if score < 70:
        return "partial"
    return "strong"
