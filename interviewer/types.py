"""The domain's data: questions and their rubrics, loops, and scoring results.

Every model forbids unknown fields so that a typo in a YAML file is an error,
not a silently ignored key.
"""

from __future__ import annotations

import ast
import re
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

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


CLAIM_HELP = (
    "a claim is concepts joined by ' + ' (all must be asserted together in one clause), each concept a list of "
    "alternatives joined by ' | ', e.g. 'high bias | bias + underfit | too simple'"
)


def parse_claim(text: str) -> tuple[tuple[str, ...], ...]:
    """'a | b + c | d' -> (('a', 'b'), ('c', 'd')). Raises ValueError with a readable message."""
    concepts = []
    for part in text.split(" + "):
        alts = tuple(a.strip() for a in part.split("|"))
        if not part.strip() or any(not a for a in alts):
            raise ValueError(f"claim {text!r}: empty concept or alternative ({CLAIM_HELP})")
        if any("+" in a for a in alts):
            raise ValueError(f"claim {text!r}: write ' + ' with spaces between concepts ({CLAIM_HELP})")
        concepts.append(alts)
    return tuple(concepts)


DesignDimension = Literal["framing", "data", "modelling", "offline_eval", "rollout", "serving", "monitoring"]
DESIGN_DIMENSIONS: tuple[str, ...] = ("framing", "data", "modelling", "offline_eval", "rollout", "serving", "monitoring")


class RubricItem(Strict):
    """One binary, checkable item of a rubric.

    `claims` say what an answer must ASSERT for credit (see question_bank/README.md): each claim is two or
    more concepts that must appear related in one clause of one sentence, not merely listed. Naming a
    concept without asserting a claim earns at most the small "named" share.
    """

    id: str = Field(pattern=ID_PATTERN)
    label: str = Field(min_length=2)
    covered_when: str = Field(min_length=10, description="what counts as covered, for a grader")
    weight: float = Field(default=1.0, gt=0, le=10)
    kind: ItemKind = "key_point"
    claims: list[str] = Field(
        default_factory=list,
        description="what the answer must assert: 'concept | alias + concept | alias' (any one claim credits)",
    )
    phrases: list[str] = Field(
        default_factory=list,
        description="star items only: extra markers for the STAR part (other items use claims)",
    )
    dimension: DesignDimension | None = Field(
        default=None, description="system design: which of the seven design dimensions this item grades")

    @field_validator("claims", "phrases")
    @classmethod
    def _non_blank(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in values]
        if any(not v for v in cleaned):
            raise ValueError("claims and phrases must not be blank")
        return cleaned

    @field_validator("claims")
    @classmethod
    def _claims_parse(cls, values: list[str]) -> list[str]:
        for v in values:
            concepts = parse_claim(v)
            if len(concepts) < 2:
                raise ValueError(
                    f"claim {v!r} has one concept: a claim relates two or more concepts ({CLAIM_HELP})")
            if len(concepts) > 4:
                raise ValueError(f"claim {v!r} has more than four concepts: split it into two claims")
        return values

    @model_validator(mode="after")
    def _has_evidence(self) -> "RubricItem":
        if self.kind == "star":
            return self
        if not self.claims:
            raise ValueError(f"item {self.id!r} needs claims ({CLAIM_HELP})")
        return self

    @property
    def concepts(self) -> list[tuple[str, ...]]:
        """Every concept of every claim (the item's vocabulary)."""
        return [c for claim in self.claims for c in parse_claim(claim)]


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
    """One test of a coding challenge: data only, never code.

    `call` is `function_name(literal, ..., name=literal)` and `expected` a Python literal; both are read
    with `ast.literal_eval`, never `eval`. A test checks the returned value (`expected`), that the call
    raises a built-in exception (`raises: ValueError`), or that it leaves its arguments unchanged
    (`observe: arguments`, no `expected`: the arguments after the call must equal the call's literals).
    """

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    call: str = Field(min_length=3, description="function_name(literal args...)")
    raises: str | None = Field(default=None, description="a built-in exception the call must raise")
    observe: Literal["return", "arguments"] = "return"
    expected: str | None = Field(default=None, validate_default=True, description="a Python literal")
    compare: Literal["exact", "approx"] = "exact"
    tolerance: float = Field(default=1e-6, gt=0)
    why: str = Field(default="", description="the mistake this test catches")

    @field_validator("call")
    @classmethod
    def _literal_call(cls, text: str) -> str:
        parse_call(text)
        return text

    @field_validator("raises")
    @classmethod
    def _builtin_exception(cls, name: str | None) -> str | None:
        import builtins

        if name is not None and not (isinstance(getattr(builtins, name, None), type)
                                     and issubclass(getattr(builtins, name), BaseException)):
            raise ValueError(f"{name!r} is not a built-in exception (e.g. ValueError)")
        return name

    @field_validator("expected")
    @classmethod
    def _literal_expected(cls, text: str | None, info: ValidationInfo) -> str | None:
        other = info.data.get("raises") is not None or info.data.get("observe") == "arguments"
        if text is None:
            if not other:
                raise ValueError("a test needs an expected value (or raises:, or observe: arguments)")
            return None
        if other:
            raise ValueError("a test with raises: or observe: arguments has no expected value")
        literal_value(text)
        return text


def literal_value(text: str):
    """The value of a Python literal (`ast.literal_eval`); `ValueError` names what is not a literal."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"must be a Python literal (numbers, strings, lists, tuples, dicts, sets, "
                         f"True/False/None), not {text.strip()[:60]!r}") from exc


def parse_call(text: str) -> tuple[str, list, dict]:
    """`function_name(literal, ..., name=literal)` -> (function_name, args, kwargs); `ValueError` otherwise."""
    shape = "must be function_name(literal arguments...)"
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ValueError(f"{shape}; this does not parse: {text.strip()[:60]!r}") from None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise ValueError(f"{shape}, not {text.strip()[:60]!r}")
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        raise ValueError(f"{shape}; *args and **kwargs are not allowed")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"{shape}; every argument must be a Python literal, in {text.strip()[:60]!r}") from None
    return node.func.id, args, kwargs


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
        for t in self.visible_tests + self.hidden_tests:
            called = parse_call(t.call)[0]
            if called != self.function_name:
                raise ValueError(f"test {t.name}: call must call {self.function_name}(), not {called}()")
        return self


class Fact(Strict):
    """Something the interviewer knows and tells when asked (scale, latency budget, data, input ranges).

    `asked_by` lists words a candidate's clarifying question would use ("how many users", "latency");
    the interviewer answers with `answer` and never goes beyond the facts.
    """

    about: str = Field(pattern=ID_PATTERN, description="a short slug: scale, latency, data, metric, ...")
    asked_by: list[str] = Field(min_length=1, description="phrases a clarifying question about this would use")
    answer: str = Field(min_length=5, description="what the interviewer says, in one or two sentences")


class StarGuide(Strict):
    """What each STAR part should contain for this particular question."""

    situation: str = Field(min_length=10)
    task: str = Field(min_length=10)
    action: str = Field(min_length=10)
    result: str = Field(min_length=10)


class BehavioralSpec(Strict):
    format: Literal["star", "deep_dive", "scenario"] = Field(
        default="star",
        description="star: a past story; deep_dive: the candidate's own project; scenario: role-play (negotiation)",
    )
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
    source: str = Field(
        default="extended", min_length=3,
        description="'guide' (the seed guide), or where the topic comes from (a public interview guide, a paper)",
    )
    rubric: list[RubricItem] = Field(min_length=1)
    reference_answer: str = Field(min_length=40)
    probes: list[Probe] = Field(min_length=2, max_length=4)
    hints: Hints
    coaching: list[str] = Field(default_factory=list, description="interview tips shown with the question")
    time_budget_min: int = Field(default=10, ge=1, le=90)
    facts: list[Fact] = Field(default_factory=list, description="what the interviewer tells when asked")
    next_part: str | None = Field(default=None, pattern=ID_PATTERN,
                                  description="coding: the id of part 2, asked once this part passes")
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
            missing = [p for p in STAR_PARTS if p not in ids] if self.behavioral.format == "star" else []
            if missing:
                raise ValueError(f"a behavioral rubric needs star items with ids {', '.join(missing)}")
        elif self.behavioral is not None:
            raise ValueError("only behavioral questions have a 'behavioral' section")
        if self.kind is Kind.system_design:
            for needed in ("component", "consideration", "framing"):
                if needed not in kinds:
                    raise ValueError(f"a system design rubric needs {needed} items")
        if self.kind is Kind.system_design:
            graded = {i.dimension for i in self.rubric if i.dimension}
            missing_dims = [d for d in DESIGN_DIMENSIONS if d not in graded]
            if missing_dims:
                raise ValueError("a system design rubric grades every design dimension; no item has dimension "
                                 + ", ".join(missing_dims))
        if self.kind in (Kind.system_design, Kind.coding) and not self.facts:
            raise ValueError("design and coding questions need interviewer facts (facts:) to answer "
                             "clarifying questions")
        for item in self.rubric:
            if item.kind == "star" and item.id not in STAR_PARTS:
                raise ValueError(f"star item {item.id!r} must be one of {', '.join(STAR_PARTS)}")
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
    round: str | None = Field(default=None, description="the round's name, e.g. 'ML coding'")
    minutes: int | None = Field(default=None, ge=1, le=120, description="this round's clock")

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
    company: str | None = Field(default=None, description="the company whose loop this follows")
    pattern_source: str | None = Field(default=None, description="where the loop's pattern comes from")

    @model_validator(mode="after")
    def _fits_clock(self) -> "Loop":
        given = [s.minutes for s in self.slots if s.minutes]
        if given and sum(given) > self.minutes:
            raise ValueError(f"the rounds' minutes add up to {sum(given)}, more than the loop's {self.minutes}")
        return self

    def slot_minutes(self) -> list[int]:
        """Each slot's clock: its own minutes, else an equal share of what the others leave."""
        fixed = sum(s.minutes or 0 for s in self.slots)
        free = [s for s in self.slots if not s.minutes]
        share = max(1, (self.minutes - fixed) // len(free)) if free else 0
        return [s.minutes or share for s in self.slots]


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
Flag = Literal["instructions_to_grader", "keyword_list", "off_topic", "too_short", "truncated", "filler",
               "copied_reference"]


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
    reason: str | None = Field(default=None, description="one line: why the item was or wasn't credited")


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
    assisted: list[str] = Field(default_factory=list,
                                description="help used on this question: 'hint:<level>', 'model_answer'")

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
                 "depth": i.depth, "weight": i.weight, "credit": round(i.credit, 3), "reason": i.reason}
                for i in self.items
            ],
            "misconceptions": [
                {"id": i.id, "label": i.label, "evidence": i.evidence} for i in self.misconceptions if i.covered
            ],
            "flags": list(self.flags),
            "feedback": self.feedback,
            "assisted": list(self.assisted),
            "model": self.model,
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
    """The band of a 0-100 score, from the scoring policy (interviewer/scoring/policy.py)."""
    global _POLICY
    if _POLICY is None:  # imported on first use: the scoring package imports this module
        from .scoring.policy import POLICY

        _POLICY = POLICY
    return _POLICY.band(score)  # type: ignore[return-value]


_POLICY: Any = None
