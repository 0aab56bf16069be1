"""Load, validate and pick from the question bank.

Layout of a bank directory::

    technical/*.yaml  coding/*.yaml  system_design/*.yaml  behavioral/*.yaml
                                     one question per file, named <id>.yaml
    loops/*.yaml                     loop templates (mixed interviews)
    guide.yaml                       the guide's tips and behavioral frameworks

Every problem is reported as ``path:line: field: message``; all problems of a
bank are collected before `BankError` is raised, so one run shows them all.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import BankError, UnknownQuestion
from .types import GuideExtras, Kind, Loop, Question

DEFAULT_BANK_DIR = Path(os.environ.get("INTERVIEWER_BANK") or Path(__file__).resolve().parent.parent / "question_bank")

M = TypeVar("M", bound=BaseModel)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: several times faster

# The guide's three system designs and the names their rubrics must carry
# (components first, then considerations), exactly as the guide writes them.
GUIDE_DESIGNS: dict[str, tuple[str, ...]] = {
    "design-recommendation-system": (
        "Data Collection", "Feature Engineering", "Model Training", "Serving Layer", "A/B Testing", "Monitoring",
        "Cold start problem", "Scalability", "Real-time updates", "Diversity",
    ),
    "design-search-ranking": (
        "Query Understanding", "Retrieval", "Ranking", "Personalization", "Serving", "Evaluation",
        "Latency", "Relevance vs Diversity", "Position bias", "Index freshness",
    ),
    "design-fraud-detection": (
        "Feature Store", "Real-time Scoring", "Model Ensemble", "Feedback Loop", "Data Pipeline", "Monitoring",
        "Imbalanced data", "Latency", "Adversarial", "Explainability",
    ),
}


@dataclass
class Bank:
    """The validated bank: questions by id, loop templates by name, and the guide's extras."""

    questions: dict[str, Question]
    loops: dict[str, Loop] = field(default_factory=dict)
    guide: GuideExtras | None = None
    root: Path | None = None

    def get(self, question_id: str) -> Question:
        try:
            return self.questions[question_id]
        except KeyError:
            raise UnknownQuestion(question_id) from None

    def filter(self, *, kind: Kind | str | None = None, topic: str | None = None,
               difficulty: str | None = None, text: str | None = None) -> list[Question]:
        """Questions matching every given criterion, in a stable order (kind, then id)."""
        kind = Kind(kind) if kind else None
        needle = text.lower().strip() if text else None
        out = []
        for q in self.questions.values():
            if kind and q.kind is not kind:
                continue
            if topic and topic not in q.topics:
                continue
            if difficulty and q.difficulty != difficulty:
                continue
            if needle and needle not in f"{q.title} {q.prompt} {' '.join(q.topics)}".lower():
                continue
            out.append(q)
        order = {k: i for i, k in enumerate(Kind)}
        return sorted(out, key=lambda q: (order[q.kind], q.id))

    def topics(self, kind: Kind | str | None = None) -> list[str]:
        return sorted({t for q in self.filter(kind=kind) for t in q.topics})

    def pick(self, *, kind: Kind | str | None = None, topic: str | None = None, difficulty: str | None = None,
             avoid: Sequence[str] = (), rng: random.Random | None = None) -> Question:
        """A random question of `kind`/`topic`, preferring ones not in `avoid` (recently seen).

        `avoid` is ordered most recent first; when every candidate was seen, the
        least recently seen one wins.
        """
        candidates = self.filter(kind=kind, topic=topic, difficulty=difficulty)
        if not candidates and difficulty:
            candidates = self.filter(kind=kind, topic=topic)
        if not candidates:
            what = " and ".join(x for x in (str(Kind(kind).value) if kind else "", topic or "") if x)
            raise UnknownQuestion(what or "any")
        rng = rng or random.Random()
        fresh = [q for q in candidates if q.id not in avoid]
        if fresh:
            return rng.choice(fresh)
        rank = {qid: i for i, qid in enumerate(avoid)}
        return max(candidates, key=lambda q: rank.get(q.id, -1))


# --------------------------------------------------------------------------- loading

def _node_line(node: yaml.Node | None, loc: Iterable[str | int]) -> int:
    """The 1-based line of the YAML node at pydantic location `loc` (as deep as it resolves)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    nxt = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def _field_name(loc: Sequence[str | int]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(file)"


def _load_model(path: Path, model: type[M], problems: list[str], *, display: str | None = None) -> M | None:
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{shown}:1: (file): cannot read: {exc}")
        return None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append(f"{shown}:{line}: (yaml): {problem}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{shown}:1: (file): expected a mapping of fields, got {type(data).__name__}")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        node = yaml.compose(text, Loader=_Loader)  # only on failure: the line numbers of the bad fields
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{shown}:{_node_line(node, loc)}: {_field_name(loc)}: {msg}")
        return None


def load_question(path: Path | str) -> Question:
    """Load and validate one question file; raises `BankError` naming the file and line."""
    problems: list[str] = []
    q = _load_model(Path(path), Question, problems)
    if q is None:
        raise BankError(problems)
    return q


def load_bank(root: Path | str | None = None) -> Bank:
    """Load every question, loop and the guide extras under `root`; raise `BankError` listing every problem."""
    root = Path(root) if root else DEFAULT_BANK_DIR
    problems: list[str] = []
    if not root.is_dir():
        raise BankError([f"{root}:1: (directory): the question bank directory does not exist"])
    questions: dict[str, Question] = {}
    where: dict[str, Path] = {}
    broken: set[str] = set()  # files that failed: references to them are not reported twice
    for kind in Kind:
        for path in sorted((root / kind.value).glob("*.yaml")):
            q = _load_model(path, Question, problems)
            if q is None:
                broken.add(path.stem)
                continue
            if q.kind is not kind:
                problems.append(f"{path}:1: kind: is {q.kind.value!r} but the file is under {kind.value}/")
            if path.stem != q.id:
                problems.append(f"{path}:1: id: {q.id!r} does not match the file name {path.name!r}")
            if q.id in questions:
                problems.append(f"{path}:1: id: duplicate id {q.id!r} (also in {where[q.id]})")
                continue
            questions[q.id] = q
            where[q.id] = path
    for qid, q in questions.items():
        if q.next_part and (q.next_part not in questions or questions[q.next_part].kind is not Kind.coding):
            problems.append(f"{where[qid]}:1: next_part: {q.next_part!r} is not a coding question in the bank")
    for qid, names in GUIDE_DESIGNS.items():
        if qid not in questions:
            continue
        labels = {item.label for item in questions[qid].rubric}
        for name in names:
            if name not in labels:
                problems.append(f"{where[qid]}:1: rubric: the guide's item {name!r} is missing")
    loops: dict[str, Loop] = {}
    for path in sorted((root / "loops").glob("*.yaml")):
        loop = _load_model(path, Loop, problems)
        if loop is None:
            continue
        if loop.name in loops:
            problems.append(f"{path}:1: name: duplicate loop name {loop.name!r}")
        for i, slot in enumerate(loop.slots):
            if slot.question and slot.question not in questions and slot.question not in broken:
                problems.append(f"{path}:1: slots[{i}].question: unknown question id {slot.question!r}")
        loops[loop.name] = loop
    guide = None
    guide_path = root / "guide.yaml"
    if guide_path.exists():
        guide = _load_model(guide_path, GuideExtras, problems)
        if guide is not None:
            for fw in guide.frameworks:
                for qid in fw.questions + [p.question for p in fw.principles]:
                    if qid not in questions and qid not in broken:
                        problems.append(f"{guide_path}:1: frameworks.{fw.id}: unknown question id {qid!r}")
    if not questions and not problems:
        problems.append(f"{root}:1: (directory): no question files found")
    if problems:
        raise BankError(problems)
    return Bank(questions=questions, loops=loops, guide=guide, root=root)
