"""The offline judge: claim matching, deterministic, always labelled an estimate.

Also the answer-level checks both judges share (`inspect_answer`): injected instructions, repeated
sentences, text copied from what the candidate was shown, too short, keyword lists, off topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..text import STOPWORDS, Analysed, analyse, content_stems, raw_words, stem, stopword_ratio
from ..types import Flag, ItemVerdict, Kind, Question, RubricItem, Score
from .claims import _VAGUE, AnswerIndex, Hit, all_item_hits, index_answer, named_sentences, question_claims
from .policy import POLICY, ScoringPolicy
from .verdicts import finish, is_star_format

MIN_WORDS = {Kind.technical: 15, Kind.coding: 15, Kind.system_design: 40, Kind.behavioral: 40}
KEYWORD_LIST_STOPWORD_RATIO = 0.16
OFF_TOPIC_OVERLAP = 0.12
COPY_NGRAM = 4
COPY_SHARE = 0.5

_GRADER = "ai grader evaluator model assistant judge llm scorer"
# (pattern, word sets it needs, characters it needs): every pattern needs at least one word of each of its
# sets (lower-case \w+ words) and each of its characters, so the regex runs only where it could match.
_INJECTION_RULES = [
    (r"\bignore\b.{0,40}\b(instructions?|rubric|above|previous|prior)\b",
     ("ignore", "instruction instructions rubric above previous prior"), ""),
    (r"\bdisregard\b.{0,40}\b(instructions?|rubric|above|previous|prior)\b",
     ("disregard", "instruction instructions rubric above previous prior"), ""),
    (r"\b(note|message|instructions?)\s+(to|for)\s+(the\s+)?(ai|grader|evaluator|model|assistant|judge|llm|scorer)\b",
     ("note message instruction instructions", "to for", _GRADER), ""),
    (r"\b(dear|hey|hi)\s+(ai|grader|evaluator|model|assistant|judge)\b", ("dear hey hi", _GRADER), ""),
    (r"\b(grader|evaluator|judge|scorer)\s*[:,]", ("grader evaluator judge scorer",), ""),
    (r"\b(give|award|assign|mark|grade|score|rate)\b.{0,30}\b(full|maximum|max|perfect|100|10/10|strong|covered|all items)\b",
     ("give award assign mark grade score rate", "full maximum max perfect 100 10 strong covered all"), ""),
    (r"\byou are (now )?(a|an|the)\b.{0,30}\b(grader|evaluator|judge|assistant|ai)\b",
     ("you", "are", "grader evaluator judge assistant ai"), ""),
    (r"^\s*(system|assistant|user)\s*:", ("system assistant user",), ":"),
    (r"<\|?\s*/?\s*(system|im_start|im_end|assistant|user)\b", ("system im_start im_end assistant user",), "<"),
    (r"\[/?(inst|system)\]", ("inst system",), "["),
    (r"\"(covered|score|band|items|sentences)\"\s*:", ("covered score band items sentences",), '"'),
    (r"```\s*json", ("json",), "```"),
    (r"\b(all|every) (rubric )?items? (are|is|as) covered\b", ("all every", "covered"), ""),
    (r"\bnew instructions?\b", ("new", "instruction instructions"), ""),
    (r"\bend of (the )?(answer|response|candidate)\b", ("end", "answer response candidate"), ""),
]
_INJECTION_PATTERNS = [p for p, _, _ in _INJECTION_RULES]
INJECTION_RE = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.I | re.M)
_INJECTION_CHECKS = [(re.compile(p, re.I | re.M), tuple(frozenset(ws.split()) for ws in sets), chars)
                     for p, sets, chars in _INJECTION_RULES]
_WORD_RE = re.compile(r"\w+")


def addressed_to_grader(sentence: str, checks: list | None = None) -> bool:
    """True if the sentence speaks to the grader (same verdict as INJECTION_RE.search, run only where a
    pattern's words and characters are all present)."""
    low = sentence.lower()
    words = None
    for rx, sets, chars in _INJECTION_CHECKS if checks is None else checks:
        if chars and chars not in low:
            continue
        if words is None:
            words = set(_WORD_RE.findall(low))
        if all(not ws.isdisjoint(words) for ws in sets) and rx.search(sentence):
            return True
    return False

# Words with no content of their own: a sentence made only of these and the topic's vocabulary is filler.
_GENERIC = frozenset(stem(w) for w in """
think believe know understand say said talk discuss discussed explain explained describe approach way ways
really quite basically generally overall often usually always sometimes good great bad well important
question answer topic thing things something everything anything model models use used using need needs
make makes made help helps get gets look looks see seen different various several many lot lots kind kinds
type types case cases example examples also very much more most less least sure definitely certainly
""".split()) | _VAGUE


# Words every ML answer uses: they say nothing about which question an answer addresses.
_ML_GENERIC = frozenset(stem(w) for w in """
model models data dataset train training trained test testing set sets use used using weight weights cost costs
compare compared comparing look looking value values feature features loss error errors result results
example examples number numbers time times step steps first then also well good better best way work works
""".split()) | _GENERIC


@dataclass
class Inspected:
    """An answer prepared for judging: its text, analysis, index, flags and sentences that earn nothing."""

    text: str
    a: Analysed
    ix: AnswerIndex
    flags: list[Flag]
    excluded: frozenset[int]
    reasons: dict[int, str] = field(default_factory=dict)  # why a sentence earns nothing


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    if n == 4:
        return set(zip(words, words[1:], words[2:], words[3:]))
    return set(zip(*(words[k:] for k in range(n))))  # every run of n consecutive words


_ALNUM_RE = re.compile(r"[A-Za-z0-9]+")


def _words(text: str) -> list[str]:
    return [stem(w) for w in _ALNUM_RE.findall(text)]


def _sentence_words(a: Analysed) -> list[list[str]]:
    """Per sentence, `_words` of its text, from the analysis's tokens (no second pass over the text)."""
    out: list[list[str]] = []
    text = a.text
    k = 0
    if "'" not in text and not _SPECIAL.intersection(text):  # every token is one word: its stem
        stems = [t[0] for t in a.tokens]
        for s in a.sentences:
            out.append(stems[k:k + s.n_words])
            k += s.n_words
        return out
    for s in a.sentences:
        words: list[str] = []
        for t in a.tokens[k:k + s.n_words]:
            if t[2] - t[1] == 1 and text[t[1]] in "%$<>":
                continue
            if "'" in text[t[1]:t[2]]:
                words.extend(stem(w) for w in _ALNUM_RE.findall(text, t[1], t[2]))
            else:
                words.append(t[0])
        out.append(words)
        k += s.n_words
    return out


_SPECIAL = frozenset("%$<>")


def _grader_checks(a: Analysed) -> list:
    """The injection checks whose words and characters all occur somewhere in the answer."""
    low = a.text.lower()
    if low.isascii() and "_" not in low:
        words = set(raw_words(a))  # every \w+ word of the text is here (plus %$<> tokens)
        p = low.find("'")
        while p != -1:  # "don't" is one token ("dont") but two \w+ words: add both halves
            i, j = p, p + 1
            while i > 0 and low[i - 1].isalnum():
                i -= 1
            while j < len(low) and low[j].isalnum():
                j += 1
            words.update((low[i:p], low[p + 1:j]))
            p = low.find("'", j)
    else:
        words = set(_WORD_RE.findall(low))
    out = []
    for check in _INJECTION_CHECKS:
        if check[2] and check[2] not in low:
            continue
        for ws in check[1]:
            if ws.isdisjoint(words):
                break
        else:
            out.append(check)
    return out


def copied_from(sentence: str, sources: list[set[tuple[str, ...]]], words: list[str] | None = None) -> bool:
    if words is None:
        words = _words(sentence)
    if len(words) < COPY_NGRAM + 1:
        return False
    grams = _ngrams(words, COPY_NGRAM)
    return any(len(grams & src) / len(grams) >= COPY_SHARE for src in sources)


_QGRAMS: dict[int, tuple[Question, set]] = {}


def _question_grams(q: Question) -> set[tuple[str, ...]]:
    hit = _QGRAMS.get(id(q))
    if hit is None or hit[0] is not q:
        hit = (q, _ngrams(_words(q.prompt + " " + q.title), COPY_NGRAM))
        _QGRAMS[id(q)] = hit
    return hit[1]


def inspect_answer(q: Question, answer: str, *, shown: tuple[str, ...] = (),
                   policy: ScoringPolicy = POLICY) -> Inspected:
    """Flags and sentences that earn nothing; `shown` is text the candidate was shown (hints, model answer)."""
    flags: list[Flag] = []
    text = answer or ""
    if len(text) > policy.max_answer_chars:
        text = text[:policy.max_answer_chars]
        flags.append("truncated")
    a = analyse(text)
    excluded: set[int] = set()
    reasons: dict[int, str] = {}
    seen: set[str] = set()
    shown_grams = [_ngrams(_words(s), COPY_NGRAM) for s in shown if s]
    question_grams = [_question_grams(q)]
    checks = _grader_checks(a)
    for i, sent_words in enumerate(_sentence_words(a)):
        sentence = a.sentence_text(i)
        key = " ".join(sent_words)
        if checks and addressed_to_grader(sentence, checks):
            excluded.add(i)
            reasons[i] = "text addressed to the grader earns nothing"
            if "instructions_to_grader" not in flags:
                flags.append("instructions_to_grader")
        elif key in seen:
            excluded.add(i)
            reasons[i] = "a repeated sentence counts once"
        elif shown_grams and copied_from(sentence, shown_grams, sent_words):
            excluded.add(i)
            reasons[i] = "text copied from what you were shown earns nothing"
            if "copied_reference" not in flags:
                flags.append("copied_reference")
        elif copied_from(sentence, question_grams, sent_words):
            excluded.add(i)
            reasons[i] = "a sentence that repeats the question earns nothing"
        seen.add(key)
    a.excluded = frozenset(excluded)
    words = sum(s.n_words for i, s in enumerate(a.sentences) if i not in excluded)
    if words < MIN_WORDS[q.kind]:
        flags.append("too_short")
    if words >= 5 and stopword_ratio(a) < KEYWORD_LIST_STOPWORD_RATIO:
        flags.append("keyword_list")
    stems = content_stems(a)
    stems = stems - _ML_GENERIC
    if stems and words >= 5:
        if len(stems & _topic_vocab(q)) / len(stems) < OFF_TOPIC_OVERLAP:
            flags.append("off_topic")
    return Inspected(text, a, index_answer(a), flags, frozenset(excluded), reasons)


_VOCABS: dict[int, tuple[Question, frozenset[str], frozenset[str]]] = {}


def _vocabs(q: Question) -> tuple[frozenset[str], frozenset[str]]:
    """(the question's topic vocabulary for the off-topic check, its claim vocabulary for the filler check)."""
    hit = _VOCABS.get(id(q))
    if hit is None or hit[0] is not q:
        qc = question_claims(q)
        topic = frozenset(qc.vocab | content_stems(analyse(q.title + " " + q.prompt + " " + q.reference_answer)))
        filler = frozenset(qc.vocab | content_stems(analyse(q.title)))
        hit = (q, topic, filler)
        _VOCABS[id(q)] = hit
    return hit[1], hit[2]


def _topic_vocab(q: Question) -> frozenset[str]:
    return _vocabs(q)[0]


def filler_sentences(q: Question, ins: Inspected, asserting: set[int]) -> set[int]:
    """Sentences that assert nothing and whose content is only the topic's vocabulary and generic words."""
    topic = _vocabs(q)[1]
    out = set()
    a = ins.a
    k = 0
    for i, s in enumerate(a.sentences):
        toks = a.tokens[k:k + s.n_words]
        k += s.n_words
        if i in asserting or i in ins.excluded:
            continue
        content = {t[0] for t in toks if len(t[0]) > 2 and not t[0].isdigit()} - _STOP_AND_GENERIC
        if content and content <= topic:
            out.add(i)
    return out


_STOP_AND_GENERIC = STOPWORDS | _GENERIC


def assign_sentences(candidates: dict[str, list[int]], weights: dict[str, float], per_sentence: int) -> dict[str, int]:
    """Give each item one sentence so that no sentence credits more than `per_sentence` items.

    Items with the fewest candidate sentences choose first (then heavier items), each the earliest
    sentence with room left.
    """
    load: dict[int, int] = {}
    chosen: dict[str, int] = {}
    for item_id in sorted(candidates, key=lambda k: (len(candidates[k]), -weights[k], k)):
        for s in sorted(candidates[item_id]):
            if load.get(s, 0) < per_sentence:
                chosen[item_id] = s
                load[s] = load.get(s, 0) + 1
                break
    return chosen


_ITEMS: dict[int, tuple] = {}


def _items_of(q: Question) -> tuple[list[RubricItem], list[RubricItem], list[RubricItem], dict[str, float]]:
    """(scorable items, those the claim matcher scores (not STAR parts of a STAR story), misconceptions,
    weights of the matcher's items), computed once per question."""
    hit = _ITEMS.get(id(q))
    if hit is None or hit[0] is not q:
        star = is_star_format(q)
        matched = [i for i in q.scorable_items if not (i.kind == "star" and star)]
        hit = _ITEMS[id(q)] = (q, (q.scorable_items, matched, q.misconceptions, {i.id: i.weight for i in matched}))
    return hit[1]


class OfflineJudge:
    """Claim matching over the answer's sentences: an estimate, always labelled as such."""

    name = "offline"

    def __init__(self, policy: ScoringPolicy = POLICY):
        self.policy = policy

    def score(self, question: Question, answer: str, *, shown: tuple[str, ...] = (),
              contexts: tuple[tuple[str, int, int], ...] = (), clarified: tuple[str, ...] = ()) -> Score:
        """Score `answer`. `shown`: text the candidate was shown (copies earn nothing); `contexts`:
        (item id, start, end) spans of the answer that reply to a probe on that item; `clarified`: the
        candidate's clarifying questions that the interviewer's facts answered."""
        ins = inspect_answer(question, answer, shown=shown, policy=self.policy)
        return self.score_inspected(question, ins, contexts=contexts, clarified=clarified)

    def item_hits(self, question: Question, ins: Inspected,
                  contexts: tuple[tuple[str, int, int], ...] = ()) -> dict[str, list[Hit]]:
        return all_item_hits(ins.ix, question, excluded=ins.excluded, contexts=contexts)

    def score_inspected(self, question: Question, ins: Inspected, *,
                        contexts: tuple[tuple[str, int, int], ...] = (), clarified: tuple[str, ...] = ()) -> Score:
        policy = self.policy
        a = ins.a
        hits = self.item_hits(question, ins, contexts)
        asserting = {h.sentence for hs in hits.values() for h in hs}
        filler = filler_sentences(question, ins, asserting)
        flags = list(ins.flags)
        if filler and len(filler) * 2 >= max(1, len(a.sentences) - len(ins.excluded)):
            flags.append("filler")
        all_scorable, scorable, misconception_items, weights = _items_of(question)
        candidates = {}
        for i in scorable:
            found = hits.get(i.id)
            if found and (asserted := sorted({h.sentence for h in found if not h.negated and not h.refuted})):
                candidates[i.id] = asserted
        chosen = assign_sentences(candidates, weights, policy.items_per_sentence)
        keyword_list = "keyword_list" in flags
        items: list[ItemVerdict] = []
        star_format = len(scorable) != len(all_scorable)
        for item in all_scorable:
            if star_format and item.kind == "star":
                items.append(ItemVerdict(id=item.id, label=item.label, kind=item.kind, weight=item.weight,
                                         covered=False))  # filled in from the STAR analysis
                continue
            items.append(self._verdict(question, item, ins, hits.get(item.id, []), chosen.get(item.id),
                                       candidates.get(item.id), filler, keyword_list))
        misconceptions = [self._misconception(item, ins, hits.get(item.id, [])) for item in misconception_items]
        return finish(question, ins.text, items, misconceptions, flags, a, judge="offline", policy=policy,
                      clarified=clarified)

    def _verdict(self, q: Question, item: RubricItem, ins: Inspected, hits: list[Hit], sentence: int | None,
                 candidates: list[int] | None, filler: set[int], keyword_list: bool) -> ItemVerdict:
        a = ins.a
        base: dict[str, Any] = dict(id=item.id, label=item.label, kind=item.kind, weight=item.weight)
        if sentence is not None:
            hit = next(h for h in hits if h.sentence == sentence and not h.negated and not h.refuted)
            s = a.sentences[sentence]
            share = self.policy.keyword_list_share if keyword_list else 1.0
            return ItemVerdict(**base, covered=True, evidence=a.text[s.start:s.end], start=s.start, end=s.end,
                               depth="explained", credit=item.weight * share,
                               mark_start=a.tokens[hit.first].start, mark_end=a.tokens[hit.last].end,
                               reason="this sentence asserts the point")
        negated = [h for h in hits if h.negated and not h.refuted]
        named = [s for s in named_sentences(ins.ix, q, item) if s not in ins.excluded and s not in filler]
        if candidates:
            reason = "the sentence that makes this point already credits two other items"
        elif negated:
            reason = "the answer says the opposite of this point"
        elif named:
            reason = "the terms are named, but the answer doesn't say how they relate"
        else:
            reason = "not stated in the answer"
        if named and not negated:
            s = a.sentences[named[0]]
            return ItemVerdict(**base, covered=False, evidence=a.text[s.start:s.end], start=s.start, end=s.end,
                               depth="named", credit=item.weight * self.policy.named_share, reason=reason)
        if negated:
            s = a.sentences[negated[0].sentence]
            return ItemVerdict(**base, covered=False, evidence=a.text[s.start:s.end], start=s.start, end=s.end,
                               depth="missing", credit=0.0, reason=reason,
                               note="this sentence contradicts the point")
        return ItemVerdict(**base, covered=False, reason=reason)

    def _misconception(self, item: RubricItem, ins: Inspected, hits: list[Hit]) -> ItemVerdict:
        a = ins.a
        base: dict[str, Any] = dict(id=item.id, label=item.label, kind=item.kind, weight=item.weight)
        asserted = [h for h in hits if h.asserted]
        if not asserted:
            reason = "named only to be rejected" if hits else "not asserted"
            return ItemVerdict(**base, covered=False, reason=reason)
        h = asserted[0]
        s = a.sentences[h.sentence]
        return ItemVerdict(**base, covered=True, evidence=a.text[s.start:s.end], start=s.start, end=s.end,
                           depth="named", credit=-item.weight * self.policy.misconception_factor,
                           mark_start=a.tokens[h.first].start, mark_end=a.tokens[h.last].end,
                           reason="the answer asserts this wrong claim")
