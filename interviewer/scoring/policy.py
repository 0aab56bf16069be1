"""One policy for every judge: bands, weights, caps, shares. Change a number here and only here.

Nothing in this module knows about answers or questions; the judges read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScoringPolicy:
    # Bands: zero < weak_from <= weak < partial_from <= partial < strong_from <= strong.
    weak_from: int = 10
    partial_from: int = 40
    strong_from: int = 70

    # Credit per item, as a share of its weight.
    named_share: float = 0.2  # the item's concepts are named but no claim is asserted
    keyword_list_share: float = 0.25  # an asserted claim inside a bare keyword list

    # Evidence budget.
    items_per_sentence: int = 2  # one sentence credits at most this many items

    # Misconceptions: each asserted one deducts misconception_factor x its weight; and caps the score.
    misconception_factor: float = 1.0
    cap_one_misconception: int = 69  # one asserted wrong claim: never "strong"
    cap_two_misconceptions: int = 39  # two or more: below "partial"

    # Answer-level caps.
    too_short_cap: int = 35
    max_answer_chars: int = 12_000

    # Behavioral (STAR format): structure weighs this share, substance (competency items) the rest.
    star_share: float = 0.3

    # Coding: the hidden tests weigh this share; the rubric (approach, complexity, edge cases) the rest.
    tests_share: float = 0.5

    def band(self, score: float) -> str:
        if score < self.weak_from:
            return "zero"
        if score < self.partial_from:
            return "weak"
        if score < self.strong_from:
            return "partial"
        return "strong"


POLICY = ScoringPolicy()
