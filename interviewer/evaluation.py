"""Measure a judge against the labelled dev set (`evals/dev_set.yaml`).

Figures: ordering accuracy (for each question, every pair of answers with
different labels is ordered the way the labels say), band accuracy, per-item
precision and recall (against human item labels), STAR part accuracy, and
the adversarial pass rate (in band, expected flags raised).
"""

from __future__ import annotations

import time
from itertools import combinations
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .bank import Bank
from .errors import BankError
from .scoring import Judge
from .types import Band, Flag

DEV_SET = Path(__file__).resolve().parent.parent / "evals" / "dev_set.yaml"
BAND_ORDER = {"zero": 0, "weak": 1, "partial": 2, "strong": 3}


class StarLabels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    situation: bool
    task: bool
    action: bool
    result: bool


class DevCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    label: Band = Field(description="the band an expert grader gives this answer")
    answer: str
    note: str = ""
    covered: list[str] | None = Field(default=None, description="rubric item ids a human marks covered")
    star: StarLabels | None = None
    adversarial: bool = False
    max_band: Band | None = Field(default=None, description="adversarial: the band it must not exceed")
    expect_flags: list[Flag] = Field(default_factory=list)
    category: Literal["fluent_wrong", "filler", "refutation", "paraphrase", "we_story"] | None = Field(
        default=None,
        description="fluent_wrong: wrong claims told fluently (must score below partial); filler: rubric "
                    "vocabulary with nothing asserted (< 40); refutation: a myth named to reject it (no "
                    "deduction); paraphrase: correct points in words away from the bank's (recall); "
                    "we_story: a behavioral story told only as 'we'",
    )


class DevSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cases: list[DevCase] = Field(min_length=1)


class CaseResult(BaseModel):
    id: str
    question: str
    label: Band
    band: Band
    score: int
    flags: list[str]
    ok_band: bool
    ok_adversarial: bool | None = None


def max_fallbacks(cases: int) -> int:
    """How many cases may fall back to the offline judge before the figures stop being the judge's own."""
    return max(3, cases // 20)


class EvalReport(BaseModel):
    judge: str
    cases: int
    ordering_accuracy: float
    ordering_pairs: int
    band_accuracy: float
    item_precision: float
    item_recall: float
    star_part_accuracy: float | None
    adversarial_pass_rate: float | None
    adversarial_cases: int
    fluent_wrong_caught: float | None = Field(default=None, description="fluent-but-wrong cases scored below 40")
    fluent_wrong_cases: int = 0
    filler_rejected: float | None = Field(default=None, description="filler cases scored below 40")
    filler_cases: int = 0
    refutation_false_positive_rate: float | None = Field(
        default=None, description="refutation cases where a rejected myth was counted as asserted")
    refutation_cases: int = 0
    paraphrase_recall: float | None = Field(default=None, description="item recall on paraphrased answers")
    paraphrase_cases: int = 0
    seconds: float
    failures: list[CaseResult]
    per_item: dict[str, dict[str, float]] = Field(default_factory=dict)
    fallbacks: int = Field(default=0, description="cases the judge could not score, scored offline instead")
    fallback_reasons: dict[str, int] = Field(default_factory=dict)
    figures_valid: bool = Field(default=True, description="False: too many fallbacks to call these the judge's figures")

    def render_fallbacks(self) -> list[str]:
        if not self.fallbacks:
            return [] if self.judge == "offline" else ["fallbacks to the offline judge: 0"]
        lines = [f"fallbacks to the offline judge: {self.fallbacks} of {self.cases} cases"]
        lines += [f"  {n} x {reason}" for reason, n in sorted(self.fallback_reasons.items(), key=lambda x: -x[1])]
        if not self.figures_valid:
            lines.append(
                f"REFUSED: more than {max_fallbacks(self.cases)} cases fell back, so these are not the {self.judge} "
                "judge's figures and are not shown. Fix the model server (README: Connecting a model) and run again."
            )
        return lines

    def render(self) -> str:
        if not self.figures_valid:
            return "\n".join([f"judge: {self.judge}   cases: {self.cases}   time: {self.seconds:.2f}s",
                              *self.render_fallbacks()])
        star = "n/a" if self.star_part_accuracy is None else f"{self.star_part_accuracy:.3f}"
        adv = "n/a" if self.adversarial_pass_rate is None else f"{self.adversarial_pass_rate:.3f}"
        lines = [
            f"judge: {self.judge}   cases: {self.cases}   time: {self.seconds:.2f}s",
            f"ordering accuracy (strong > partial > weak, {self.ordering_pairs} pairs): {self.ordering_accuracy:.3f}",
            f"band accuracy: {self.band_accuracy:.3f}",
            f"item precision: {self.item_precision:.3f}   item recall: {self.item_recall:.3f}",
            f"STAR part accuracy: {star}",
            f"adversarial pass rate ({self.adversarial_cases} cases): {adv}",
            f"fluent-but-wrong caught (< 40, {self.fluent_wrong_cases} cases): {_fmt(self.fluent_wrong_caught)}",
            f"filler rejected (< 40, {self.filler_cases} cases): {_fmt(self.filler_rejected)}",
            f"refutation false positives ({self.refutation_cases} cases): "
            f"{_fmt(self.refutation_false_positive_rate)}",
            f"paraphrase recall ({self.paraphrase_cases} cases): {_fmt(self.paraphrase_recall)}",
        ]
        if self.failures:
            lines.append("cases out of band:")
            for f in self.failures:
                lines.append(f"  {f.id}: labelled {f.label}, scored {f.score} ({f.band}) flags={f.flags}")
        return "\n".join(lines + self.render_fallbacks())


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def load_dev_set(path: Path | str | None = None) -> list[DevCase]:
    """The dev set: `evals/dev_set.yaml` plus every `evals/dev_set.d/*.yaml` (or just `path`)."""
    paths = [Path(path)] if path else [DEV_SET, *sorted((DEV_SET.parent / "dev_set.d").glob("*.yaml"))]
    cases: list[DevCase] = []
    for p in paths:
        try:
            cases.extend(DevSet.model_validate(yaml.safe_load(p.read_text(encoding="utf-8"))).cases)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise BankError([f"{p}:1: (dev set): {exc}"]) from exc
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise BankError([f"{DEV_SET}:1: (dev set): duplicate case ids: {', '.join(dupes)}"])
    return cases


def _rate(flags: list[bool] | None) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def run_eval(bank: Bank, cases: list[DevCase], *, judge: Judge) -> EvalReport:
    t0 = time.perf_counter()
    results: list[CaseResult] = []
    scores: dict[str, int] = {}
    tp = fp = fn = 0
    per_item: dict[str, list[int]] = {}
    star_hits = star_total = 0
    by_cat: dict[str, list[bool]] = {}
    para_tp = para_fn = 0
    fallback_reasons: dict[str, int] = {}
    for case in cases:
        q = bank.get(case.question)
        s = judge.score(q, case.answer)
        if s.fallback_reason:
            reason = s.fallback_reason.removesuffix(" The offline estimate is shown instead.")
            fallback_reasons[reason] = fallback_reasons.get(reason, 0) + 1
        scores[case.id] = s.score
        if case.category in ("fluent_wrong", "filler"):
            by_cat.setdefault(case.category, []).append(s.score < 40)
        elif case.category == "refutation":
            by_cat.setdefault("refutation", []).append(any(m.covered for m in s.misconceptions))
        elif case.category == "paraphrase" and case.covered is not None:
            by_cat.setdefault("paraphrase", []).append(True)
            got = {i.id for i in s.items if i.covered and not (i.kind == "star" and s.star is not None)}
            para_tp += len(set(case.covered) & got)
            para_fn += len(set(case.covered) - got)
        ok_band = s.band == case.label
        ok_adv = None
        if case.adversarial:
            ceiling = case.max_band or case.label
            ok_adv = BAND_ORDER[s.band] <= BAND_ORDER[ceiling] and all(f in s.flags for f in case.expect_flags)
        results.append(CaseResult(id=case.id, question=case.question, label=case.label, band=s.band, score=s.score,
                                  flags=list(s.flags), ok_band=ok_band, ok_adversarial=ok_adv))
        if case.covered is not None:
            truth = set(case.covered)
            got = {i.id for i in s.items if i.covered}
            for item in s.items:
                if item.kind == "star" and s.star is not None:
                    continue  # STAR parts are measured by STAR part accuracy, from the `star` labels
                counts = per_item.setdefault(f"{q.id}/{item.id}", [0, 0, 0])
                if item.id in got and item.id in truth:
                    tp += 1
                    counts[0] += 1
                elif item.id in got:
                    fp += 1
                    counts[1] += 1
                elif item.id in truth:
                    fn += 1
                    counts[2] += 1
        if case.star is not None and s.star is not None:
            for part in ("situation", "task", "action", "result"):
                star_total += 1
                star_hits += getattr(case.star, part) == getattr(s.star, part).present
    # Ordering: every pair of answers to the same question with different labels.
    pairs = good = 0
    by_q: dict[str, list[DevCase]] = {}
    for case in cases:
        if not case.adversarial:
            by_q.setdefault(case.question, []).append(case)
    for group in by_q.values():
        for a, b in combinations(group, 2):
            if BAND_ORDER[a.label] == BAND_ORDER[b.label]:
                continue
            hi, lo = (a, b) if BAND_ORDER[a.label] > BAND_ORDER[b.label] else (b, a)
            pairs += 1
            good += scores[hi.id] > scores[lo.id]
    adv = [r for r in results if r.ok_adversarial is not None]
    failures = [r for r in results if not r.ok_band or r.ok_adversarial is False]
    return EvalReport(
        judge=getattr(judge, "name", "?"),
        cases=len(cases),
        ordering_accuracy=round(good / pairs, 4) if pairs else 1.0,
        ordering_pairs=pairs,
        band_accuracy=round(sum(r.ok_band for r in results) / len(results), 4),
        item_precision=round(tp / (tp + fp), 4) if tp + fp else 1.0,
        item_recall=round(tp / (tp + fn), 4) if tp + fn else 1.0,
        star_part_accuracy=round(star_hits / star_total, 4) if star_total else None,
        adversarial_pass_rate=round(sum(bool(r.ok_adversarial) for r in adv) / len(adv), 4) if adv else None,
        adversarial_cases=len(adv),
        fluent_wrong_caught=_rate(by_cat.get("fluent_wrong")),
        fluent_wrong_cases=len(by_cat.get("fluent_wrong", [])),
        filler_rejected=_rate(by_cat.get("filler")),
        filler_cases=len(by_cat.get("filler", [])),
        refutation_false_positive_rate=_rate(by_cat.get("refutation")),
        refutation_cases=len(by_cat.get("refutation", [])),
        paraphrase_recall=round(para_tp / (para_tp + para_fn), 4) if para_tp + para_fn else None,
        paraphrase_cases=len(by_cat.get("paraphrase", [])),
        seconds=round(time.perf_counter() - t0, 3),
        failures=failures,
        per_item={k: {"tp": v[0], "fp": v[1], "fn": v[2]} for k, v in sorted(per_item.items())},
        fallbacks=sum(fallback_reasons.values()),
        fallback_reasons=fallback_reasons,
        figures_valid=sum(fallback_reasons.values()) <= max_fallbacks(len(cases)),
    )
