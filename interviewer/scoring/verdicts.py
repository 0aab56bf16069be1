"""From item verdicts to a Score: the arithmetic, the STAR items, design coverage and feedback.

Every judge ends here, so the checklist, the STAR breakdown, the design chart and the feedback are all
derived from one list of item verdicts and cannot contradict each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..text import Analysed
from ..types import (
    STAR_PARTS,
    DesignCoverage,
    Flag,
    ItemVerdict,
    JudgeName,
    Kind,
    Question,
    Score,
    StarAnalysis,
    StarPart,
    band_for,
)
from .policy import POLICY, ScoringPolicy
from .star import analyse_star


def is_star_format(q: Question) -> bool:
    return q.kind is Kind.behavioral and q.behavioral is not None and q.behavioral.format == "star"


def star_items_from_analysis(items: list[ItemVerdict], star: StarAnalysis) -> None:
    """The checklist's situation/task/action/result verdicts ARE the STAR analysis."""
    for v in items:
        if v.kind != "star" or v.id not in STAR_PARTS:
            continue
        part: StarPart = getattr(star, v.id)
        v.covered = part.present
        v.evidence = part.evidence
        v.start, v.end = part.start, part.end
        v.depth = "explained" if part.present else "missing"
        v.credit = v.weight if part.present else 0.0
        v.reason = ("the story has this part" if part.present
                    else f"no sentence of the story gives the {v.id}")


def credit_clarifications(items: list[ItemVerdict], clarified: tuple[str, ...]) -> None:
    """Asking good clarifying questions (ones the interviewer's facts answer) covers the item about
    clarifying requirements: the first framing item whose id or label speaks of clarifying."""
    for v in items:
        if v.kind == "framing" and not v.covered and ("clarif" in v.id or "clarif" in v.label.lower()
                                                        or "requirement" in v.label.lower()):
            v.covered, v.depth, v.credit = True, "explained", v.weight
            v.evidence = clarified[0]
            v.start = v.end = None
            v.reason = "you asked clarifying questions before answering"
            return


def compute_score(q: Question, items: list[ItemVerdict], misconceptions: list[ItemVerdict],
                  flags: Sequence[str], policy: ScoringPolicy = POLICY) -> int:
    """0-100 from item weights: earned credit minus deductions over the total weight, then caps."""
    if "off_topic" in flags:
        return 0
    deduction = -sum(m.credit for m in misconceptions if m.covered)
    if is_star_format(q):
        star = [i for i in items if i.kind == "star"]
        rest = [i for i in items if i.kind != "star"]
        star_total = sum(i.weight for i in star) or 1.0
        rest_total = sum(i.weight for i in rest) or 1.0
        value = 100.0 * (policy.star_share * sum(i.credit for i in star) / star_total
                         + (1 - policy.star_share) * (sum(i.credit for i in rest) - deduction) / rest_total)
    else:
        total = sum(i.weight for i in items)
        if total <= 0:
            return 0
        value = 100.0 * (sum(i.credit for i in items) - deduction) / total
    value = max(0.0, min(100.0, value))
    wrong = sum(1 for m in misconceptions if m.covered)
    if wrong >= 2:
        value = min(value, policy.cap_two_misconceptions)
    elif wrong == 1:
        value = min(value, policy.cap_one_misconception)
    if "too_short" in flags:
        value = min(value, policy.too_short_cap)
    return int(round(value))


def finish(q: Question, text: str, items: list[ItemVerdict], misconceptions: list[ItemVerdict],
           flags: list[Flag], a: Analysed, *, judge: JudgeName, model: str | None = None,
           fallback_reason: str | None = None, policy: ScoringPolicy = POLICY,
           clarified: tuple[str, ...] = ()) -> Score:
    star = analyse_star(q, a) if q.kind is Kind.behavioral else None
    if clarified:
        credit_clarifications(items, clarified)
    if star is not None and is_star_format(q):
        star_items_from_analysis(items, star)
    if "off_topic" in flags:
        for i in items:
            i.credit = 0.0
    design = None
    if q.kind is Kind.system_design:
        design = [DesignCoverage(label=i.label, kind=i.kind, depth=i.depth) for i in items]
    score = compute_score(q, items, misconceptions, flags, policy)
    flags = list(dict.fromkeys(flags))
    return Score(
        question_id=q.id, judge=judge, estimate=judge == "offline", score=score, band=band_for(score),
        items=items, misconceptions=misconceptions, star=star if is_star_format(q) else None, design=design,
        flags=flags, feedback=build_feedback(q, items, misconceptions, flags), model=model,
        fallback_reason=fallback_reason, answer=text,
    )


def build_feedback(q: Question, items: list[ItemVerdict], misconceptions: list[ItemVerdict],
                   flags: Sequence[str]) -> str:
    """Feedback from the verdicts only: praise quotes verified evidence; misses come from the rubric."""
    lines: list[str] = []
    if "off_topic" in flags:
        lines.append("This answer does not address the question, so nothing could be credited.")
    if "instructions_to_grader" in flags:
        lines.append("Text addressed to the grader was ignored; only your answer to the question counts.")
    if "copied_reference" in flags:
        lines.append("Text copied from the model answer or a hint you were shown earns nothing.")
    if "too_short" in flags:
        lines.append("The answer is too short to show your understanding: aim for a few explained sentences.")
    if "keyword_list" in flags:
        lines.append("Listing terms earns little: explain each point in a full sentence (what, why, and when).")
    if "filler" in flags:
        lines.append("Some sentences only name the topic's terms without saying anything about them; "
                     "they earn nothing. Say what each thing does, causes or is for.")
    covered = [i for i in items if i.covered and i.evidence and i.kind != "star"]
    missed = sorted((i for i in items if not i.covered and i.kind != "star"), key=lambda i: -i.weight)
    if covered:
        quoted = "; ".join(f"{i.label} (\u201c{short(i.evidence)}\u201d)" for i in covered[:4])
        lines.append(f"Covered: {quoted}.")
    named = [i for i in items if i.depth == "named" and not i.covered]
    if named and "keyword_list" not in flags:
        lines.append("Named but not explained: " + ", ".join(i.label for i in named[:4]) + ".")
    for m in misconceptions:
        if m.covered:
            lines.append(f"Check this claim: \u201c{short(m.evidence)}\u201d \u2014 "
                         f"{m.label.removeprefix('Misconception: ')}.")
    if missed:
        lines.append("Missed: " + ", ".join(i.label for i in missed[:5]) + ".")
    absent = [i.id for i in items if i.kind == "star" and not i.covered]
    if absent:
        lines.append("STAR parts missing: " + ", ".join(absent) + ".")
    next_step = _next_step(q, missed, absent)
    if next_step:
        lines.append(f"Next step: {next_step}")
    return " ".join(lines) if lines else "Solid answer."


def _next_step(q: Question, missed: list[ItemVerdict], absent_star: list[str]) -> str:
    if absent_star:
        return f"rehearse the story with an explicit {absent_star[0]}."
    if missed:
        for probe in q.probes:
            if probe.item == missed[0].id:
                return f"prepare an answer to \u201c{probe.text}\u201d"
        return f"study and practise explaining: {missed[0].label}."
    return ""


def short(text: str | None, n: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "\u2026"


def combine_with_tests(result: Score, code_results: dict | None, policy: ScoringPolicy = POLICY) -> Score:
    """A coding question's score: the rubric score and the share of hidden tests passed, weighted here.

    Only a run of the hidden tests (a submission) counts; without one the tests part is zero.
    """
    if code_results and code_results.get("hidden") and code_results.get("total"):
        passed, total = code_results["passed"], code_results["total"]
    else:
        passed, total = 0, 0
    share = passed / total if total else 0.0
    value = int(round((1 - policy.tests_share) * result.score + policy.tests_share * 100 * share))
    tests = {"passed": passed, "total": total, "submitted": bool(total)}
    feedback = result.feedback
    if not total:
        feedback += " No solution was submitted against the hidden tests, so the tests part scores zero."
    else:
        feedback += f" Hidden tests passed: {passed} of {total}."
    return result.model_copy(update={"score": value, "band": band_for(value), "tests": tests, "feedback": feedback})
