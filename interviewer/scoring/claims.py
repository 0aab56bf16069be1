"""Claim matching: does a sentence ASSERT what a rubric item needs, or only name its words?

A claim is two to four concepts (each a set of alternative phrases) that must appear together in one
clause of one sentence, related rather than listed. Four rules make that precise:

1. Same clause: sentences are cut at contrast and coordination markers ("; but whereas while unlike
   , and"), so "high bias underfits, while high variance overfits" is two clauses.
2. Related, not listed: between consecutive concepts there must be something other than list glue
   ("and", ",", "or") and vague filler ("is important", "is related to").
3. Nearest subject: each concept pairs with the nearest subject (the first concept of any claim of the
   question), so in "high bias means overfitting and high variance means underfitting" overfitting
   belongs to bias, which asserts the swapped (wrong) claim, not the right one.
4. Polarity: a negation just before or between the concepts negates the claim ("label delay is not an
   issue"); a refutation frame ("a common myth is that...", "unlike...", "...; it does not", "is NP-hard")
   marks it as named in order to be rejected.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from ..text import NEGATIONS, STOPWORDS, Analysed, _fold, compile_phrase, raw_words, stem
from ..types import Question, RubricItem, parse_claim

WINDOW_TOKENS = 20  # a claim's concepts lie within this many tokens
NEGATION_BEFORE = 3  # a negation this close before a concept negates it

# Clause boundaries inside a sentence (the match ends a clause; the marker word starts the next one).
_CLAUSE_PATTERN = (
    r"[;\u2014]|,\s*(?=(?:and|but|or|so that|whereas|while|although|though|yet|unlike|which is|instead|rather)\b)"
    r"|\s(?:(?<=[A-Za-z]\s)[-\u2013]\s(?=[A-Za-z])|(?=(?:but|whereas|while|however|although|though|unlike|"
    r"instead of|rather than|as opposed to|contrary to|versus|vs)\b))"
)  # every branch starts with a character from a small set, so the regex engine skips ahead quickly
_CLAUSE_RE = re.compile(_CLAUSE_PATTERN, re.I)
# The same cuts, found faster on lower-cased text (see _cuts): the punctuation branches, led by one
# character class so the regex engine skips ahead, and the marker words found with str.find.
_PUNCT_CUT_RE = re.compile(
    r"[;\u2014,\-\u2013](?:(?<=[;\u2014])|(?<=,)\s*(?=(?:and|but|or|so that|whereas|while|although|though|yet|"
    r"unlike|which is|instead|rather)\b)|(?<=[a-z]\s[-\u2013])\s(?=[a-z]))")
_MARKERS = ("but", "whereas", "while", "however", "although", "though", "unlike", "instead of", "rather than",
            "as opposed to", "contrary to", "versus", "vs")


def _cuts(low: str) -> list[int]:
    """Clause cuts of a whole lower-cased text, sorted. A cut may sit elsewhere than _CLAUSE_RE would
    put it (at a dash, not the space before it; before a marker also after a comma cut), but always
    between the same two tokens, so the clauses are the same."""
    cuts = [m.start() for m in _PUNCT_CUT_RE.finditer(low)]
    n = len(low)
    for marker in _MARKERS:
        p = low.find(marker)
        while p != -1:
            q = p + len(marker)
            # whitespace before, and a word boundary after (what \s(?=marker\b) asks)
            if p > 0 and low[p - 1].isspace() and (q == n or not (low[q].isalnum() or low[q] == "_")):
                cuts.append(p - 1)
            p = low.find(marker, p + 1)
    cuts.sort()
    return cuts

# Words that add nothing between two concepts: a list, or a vague "is related to".
_ARTICLES = frozenset({"the", "a", "an"})
_LINKING = frozenset(stem(w) for w in """
is are was were be been means mean causes cause gives give makes make has have does do can will should would
lowers raises reduces increases needs uses becomes so because which that then thus therefore since""".split())
_GLUE = frozenset(stem(w) for w in """
and or nor plus both also as well the a an etc like such including eg ie vs versus
""".split())
_VAGUE = frozenset(stem(w) for w in """
important importance key crucial critical relevant relevance related relate relates relation relationship
associated association connected connection link linked linking aspect aspects concept concepts topic topics
factor factors consideration considerations discuss discussing discussion mention
mentioning talk talking regarding role roles play plays part parts matter matters interesting central
fundamental essential involve involved involves concern concerns tie tied together thing things stuff area
areas idea ideas term terms notion notions worth noting note point points tradeoff tradeoffs
""".split())

# Refutation frames: the words after them (in the same clause) are named to be rejected.
_FRAME_STEMS = frozenset(stem(w) for w in """
myth myths mistake mistakes misconception misconceptions fallacy fallacies wrong wrongly false falsely
incorrect incorrectly untrue naively mistaken mistakenly misleading tempting misbelief erroneous
erroneously unlike contrary
""".split())
_FRAME_PHRASES = [compile_phrase(p) for p in (
    "people think", "people believe", "people assume", "some think", "some believe", "often assumed",
    "commonly assumed", "is assumed", "it is assumed",
    "not the case", "not true", "np hard", "np complete", "intractable", "impossible", "infeasible",
    "used to think", "one might think", "you might think", "might assume", "common belief", "widely believed",
)]
# A short clause right after a claim that rejects it: "; it does not", "- but that's wrong".
_FALSITY = frozenset(stem(w) for w in "false wrong untrue incorrect myth".split())
_REJECT_STEMS = frozenset(stem(w) for w in "not no never false wrong untrue incorrect myth".split()) | NEGATIONS
_REJECT_MAX_TOKENS = 7
_CONTRAST = frozenset(stem(w) for w in "unlike contrary".split())
_CONTRAST_PHRASES = [compile_phrase(p) for p in ("instead of", "rather than", "as opposed to")]
_WHO = frozenset(stem(w) for w in "people many some folks candidates others everyone newcomers beginners juniors".split())
_BELIEVE = frozenset(stem(w) for w in "assume think believe say claim read expect treat suppose imagine".split())
_REJECT_FILLER = frozenset(stem(w) for w in """
it its it's that that's this this's which is isn't does doesn't do don't did didn't was wasn't are aren't
but and so actually in fact true the case right correct at all really quite simply just of course a an
""".split()) | STOPWORDS


class Hit(NamedTuple):
    """Where a claim occurs, and whether it is asserted."""

    sentence: int
    first: int  # token index of the first matched token
    last: int  # token index of the last matched token
    negated: bool
    refuted: bool

    @property
    def asserted(self) -> bool:
        return not self.negated and not self.refuted


@dataclass
class Clauses:
    """Per token, the clause id (unique across the answer) and the clause spans."""

    of_token: list[int]
    spans: list[tuple[int, int]]  # (first token, last token) per clause
    sentence_of_clause: list[int]
    first_of_sentence: list[int]  # per sentence, its first clause (-1 if the sentence has no token)


def clauses(a: Analysed) -> Clauses:
    tokens = a.tokens
    of_token = [0] * len(tokens)
    spans: list[tuple[int, int]] = []
    sent_of: list[int] = []
    first_of: list[int] = []
    ti = 0
    starts: list[int] | None = None
    low = a.text.lower()
    all_cuts = _cuts(low) if len(low) == len(a.text) else None  # else per sentence, with re.I
    for si, s in enumerate(a.sentences):
        end = ti + s.n_words
        if end == ti:
            first_of.append(-1)
            continue
        first_of.append(len(spans))
        if all_cuts is None:
            cuts = [m.start() for m in _CLAUSE_RE.finditer(a.text, s.start, s.end)]
        else:
            cuts = all_cuts[bisect.bisect_left(all_cuts, s.start):bisect.bisect_left(all_cuts, s.end)]
        if not cuts:  # one clause: the whole sentence
            of_token[ti:end] = [len(spans)] * (end - ti)
            spans.append((ti, end - 1))
            sent_of.append(si)
            ti = end
            continue
        # A cut starts a new clause at the first token at or after it (not at the sentence's first token).
        if starts is None:
            starts = [t[1] for t in tokens]
        bounds = sorted({j for c in cuts if ti < (j := bisect.bisect_left(starts, c, ti, end)) < end})
        bounds.append(end)
        for j in bounds:
            of_token[ti:j] = [len(spans)] * (j - ti)
            spans.append((ti, j - 1))
            sent_of.append(si)
            ti = j
    return Clauses(of_token, spans, sent_of, first_of)


_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?\*?|[%$<>]")


@lru_cache(maxsize=16384)
def compile_concept_phrase(phrase: str) -> tuple[tuple[str, ...], ...]:
    """Like text.compile_phrase, but a word ending in '*' stays a prefix ('regulari*')."""
    parts = []
    for part in re.split(r"\.\.\.|\u2026", _fold(phrase)):
        words = []
        for m in _WORD_RE.finditer(part):
            w = m.group()
            words.append(w.lower() if w.endswith("*") else stem(w))
        if words:
            parts.append(tuple(words))
    return tuple(parts)


@lru_cache(maxsize=8192)
def compiled_claim(text: str) -> tuple[tuple[tuple[tuple[str, ...], ...], ...], ...]:
    """A claim as concepts, each a tuple of compiled phrases."""
    return tuple(tuple(compile_concept_phrase(p) for p in concept) for concept in parse_claim(text))


def _match_at(ix: "AnswerIndex", start: int, parts: tuple[tuple[str, ...], ...]) -> int | None:
    """Last token index if `parts` (with gaps of up to 5 words between parts) match from `start`."""
    n = len(ix.stems)
    sent = ix.sents[start]
    end = _seq_from(ix, start, parts[0], sent)
    if end is None:
        return None
    for part in parts[1:]:
        found = None
        for j in range(end + 1, min(end + 7, n)):
            found = _seq_from(ix, j, part, sent)
            if found is not None:
                break
        if found is None:
            return None
        end = found
    return end


_SKIPPABLE = frozenset({"the", "a", "an"})


def _seq_from(ix: "AnswerIndex", j: int, part: tuple[str, ...], sent: int) -> int | None:
    """Last token index if `part` matches from token j; articles in the answer between words are skipped."""
    stems = ix.stems
    sents = ix.sents
    n = len(stems)
    i = j
    for k, w in enumerate(part):
        if k > 0 and w not in _SKIPPABLE:
            while i < n and stems[i] in _SKIPPABLE:
                i += 1
        if i >= n or sents[i] != sent:
            return None
        if w[-1:] == "*":
            if not ix.raw[i].startswith(w[:-1]):
                return None
        elif stems[i] != w:
            return None
        i += 1
    return i - 1


@dataclass
class AnswerIndex:
    """Per analysed answer: clauses and a cache of phrase occurrences."""

    a: Analysed
    cl: Clauses
    stems: list[str] = field(default_factory=list)
    sents: list[int] = field(default_factory=list)
    _occ: dict = field(default_factory=dict)
    _sorted: list[str] = field(default_factory=list)  # the answer's distinct raw words, sorted
    _refuted: dict = field(default_factory=dict)
    _concepts: dict = field(default_factory=dict)
    _prefix: dict = field(default_factory=dict)
    _subjects_by_clause: dict = field(default_factory=dict)
    negations: list[int] = field(default_factory=list)  # token indexes of negation words (NEGATIONS)

    def subject_occurrences(self, subjects) -> list:
        """(phrase, occurrences) for every subject phrase that occurs (cached per answer)."""
        cached = self._occ.get(("subjects", id(subjects)))
        if cached is None:
            index = self.a.index
            cached = [(parts, occ) for parts in subjects
                      if parts and (parts[0][0][-1] == "*" or parts[0][0] in index) and (occ := self.occurrences(parts))]
            self._occ[("subjects", id(subjects))] = cached
        return cached

    @property
    def raw(self) -> list[str]:
        return raw_words(self.a)

    def subjects_by_clause(self, subjects) -> dict[int, list]:
        """Clause -> [(occurrence, phrase)] of every subject phrase that occurs (cached per answer)."""
        cached = self._subjects_by_clause.get(id(subjects))
        if cached is None or cached[0] is not subjects:
            by_clause: dict[int, list] = {}
            of_token = self.cl.of_token
            for parts, occ in self.subject_occurrences(subjects):
                for m in occ:
                    by_clause.setdefault(of_token[m[0]], []).append((m, parts))
            cached = (subjects, by_clause)
            self._subjects_by_clause[id(subjects)] = cached
        return cached[1]

    def prefix_starts(self, prefix: str) -> list[int]:
        """Token indexes whose raw word starts with `prefix` (bisect over the sorted words)."""
        hit = self._prefix.get(prefix)
        if hit is not None:
            return hit
        raw = self.raw
        if not self._sorted:
            self._sorted = sorted(set(raw))
        words = self._sorted
        k = bisect.bisect_left(words, prefix)
        n = len(words)
        out: list[int] = []
        index = self.a.index
        while k < n and words[k].startswith(prefix):
            w = words[k]
            # a token's stem is the stem of its raw word, so the index narrows down where it occurs
            out.extend(i for i in index[stem(w)] if raw[i] == w)
            k += 1
        out.sort()
        self._prefix[prefix] = out
        return out

    def occurrences(self, parts: tuple[tuple[str, ...], ...]) -> list[tuple[int, int]]:
        if not parts:
            return []
        hit = self._occ.get(parts)
        if hit is not None:
            return hit
        # every whole word of the phrase must occur somewhere in the answer
        out = self._find(parts) if self.a.index.keys() >= _required_words(parts) else []
        self._occ[parts] = out
        return out

    def _find(self, parts: tuple[tuple[str, ...], ...]) -> list[tuple[int, int]]:
        """Occurrences of a phrase whose whole words all occur in the answer (not cached)."""
        first = parts[0]
        w0 = first[0]
        starts = self.prefix_starts(w0[:-1]) if w0[-1] == "*" else self.a.index.get(w0, [])
        if len(parts) == 1 and len(first) == 1:
            return [(i, i) for i in starts]  # one word: every start is a match
        out: list[tuple[int, int]] = []
        of_token = self.cl.of_token
        stems = self.stems
        n = len(stems)
        # Quick reject: the token after the first must be the phrase's second word, or an article
        # (which _seq_from skips); most starts of a multi-word phrase fail right there.
        w1 = first[1] if len(first) > 1 else None
        quick = w1 is not None and w1[-1] != "*" and w1 not in _SKIPPABLE
        for start in starts:
            if quick and (start + 1 >= n or (stems[start + 1] != w1 and stems[start + 1] not in _SKIPPABLE)):
                continue
            end = _match_at(self, start, parts)
            if end is not None and of_token[start] == of_token[end]:
                out.append((start, end))
        return out

    def concept_occurrences(self, concept: tuple[tuple[tuple[str, ...], ...], ...]) -> list[tuple[int, int]]:
        key = id(concept)
        hit = self._concepts.get(key)
        if hit is not None and hit[0] is concept:
            return hit[1]
        found: list[tuple[int, int]] = []
        keys = self.a.index.keys()
        occ = self._occ
        for parts, req in _concept_info(concept):
            if keys >= req:
                hit = occ.get(parts)
                if hit is None:
                    hit = occ[parts] = self._find(parts)
                found.extend(hit)
        # The longest match wins: "roc" inside "roc auc" is not a second mention (a match that starts
        # with an article does not hide another).
        if len(found) <= 1:
            out = found
        else:
            out = []
            max_end = -1
            stems = self.stems
            for start, neg_end in sorted({(f, -la) for f, la in found}):  # by start, the longest first
                end = -neg_end
                if end > max_end:
                    out.append((start, end))
                    if stems[start] not in _ARTICLES:
                        max_end = end
        self._concepts[key] = (concept, out)
        return out


_REQUIRED: dict[int, tuple] = {}


def _required_words(parts: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    """The whole (non-prefix) words of a phrase: each must occur in the answer for the phrase to match."""
    hit = _REQUIRED.get(id(parts))
    if hit is None or hit[0] is not parts:
        hit = _REQUIRED[id(parts)] = (parts, frozenset(w for part in parts for w in part if w[-1:] != "*"))
    return hit[1]


_CONCEPT_INFO: dict[int, tuple] = {}


def _concept_info(concept) -> tuple:
    """A concept's non-empty phrases, each with its required words (computed once per compiled concept)."""
    hit = _CONCEPT_INFO.get(id(concept))
    if hit is None or hit[0] is not concept:
        hit = _CONCEPT_INFO[id(concept)] = (concept, tuple((p, _required_words(p)) for p in concept if p))
    return hit[1]


def index_answer(a: Analysed) -> AnswerIndex:
    stems = [t[0] for t in a.tokens]
    negations = sorted(i for w in NEGATIONS.intersection(a.index) for i in a.index[w])
    return AnswerIndex(a, clauses(a), stems, [t[3] for t in a.tokens], negations=negations)


@dataclass(frozen=True)
class QuestionClaims:
    """A question's claims, compiled once: per item its claims, and the question's subjects."""

    by_item: dict[str, tuple]
    subjects: tuple  # compiled phrases of every claim's first concept
    claims_of_subject: dict  # subject phrase -> the claims it is the subject of
    vocab: frozenset[str]  # stems of every concept phrase and label
    gated: dict[str, tuple]  # per item: (claim, its _claim_firsts) for each of its claims


_QC_CACHE: dict[int, tuple[Question, QuestionClaims]] = {}


def question_claims(q: Question) -> QuestionClaims:
    hit = _QC_CACHE.get(id(q))
    if hit is not None and hit[0] is q:
        return hit[1]
    by_item = {}
    subjects: list = []
    claims_of_subject: dict = {}
    vocab: set[str] = set()
    for item in q.rubric:
        compiled = tuple(compiled_claim(c) for c in item.claims)
        by_item[item.id] = compiled
        for claim in compiled:
            subjects.extend(claim[0])
            for parts in claim[0]:
                claims_of_subject.setdefault(parts, []).append(claim)
            for concept in claim:
                for parts in concept:
                    vocab.update(w.rstrip("*") for p in parts for w in p)
        for w in re.findall(r"[A-Za-z0-9]+", item.label):
            vocab.add(stem(w))
    gated = {item_id: tuple((claim, _claim_firsts(claim)) for claim in compiled) for item_id, compiled in by_item.items()}
    qc = QuestionClaims(by_item, tuple(dict.fromkeys(subjects)), claims_of_subject, frozenset(vocab - STOPWORDS),
                        gated)
    _QC_CACHE[id(q)] = (q, qc)
    return qc


def _related(a: Analysed, matches: list[tuple[int, int]], stems: list[str]) -> bool:
    """Between consecutive concepts there is more than list glue and vague filler (`stems`: per token)."""
    ordered = sorted(matches)
    for x, y in zip(ordered, ordered[1:]):
        if y[0] <= x[1]:
            continue  # overlapping concepts ("lowers bias" inside "more complexity lowers bias")
        gap = [g for g in stems[x[1] + 1:y[0]] if g not in _ARTICLES]  # "subtract the max": adjacent
        if not gap:
            if not _adjacent_relation(a, x, y):
                return False
            continue
        if any(g in _VAGUE for g in gap):
            return False
        if all(g in _GLUE for g in gap):
            return False
        between = a.text[a.tokens[x[1]].end:a.tokens[y[0]].start]
        if "," in between and gap[-1] in ("and", "or"):
            return False  # "A, B, C and D": the last items of a list
        content = [g for g in gap if g not in _GLUE]
        if "," in between and len(content) <= 1 and not (set(content) & _LINKING):
            return False  # "A, B C, ...": items of a list, one word apart ("A, ..., is B" is a claim)
    return True


def _adjacent_relation(a: Analysed, x: tuple[int, int], y: tuple[int, int]) -> bool:
    """Two concepts with no word between them are related only if no punctuation separates them."""
    between = a.text[a.tokens[x[1]].end:a.tokens[y[0]].start]
    return not re.search(r"[,/&]", between)


def _negated(a: Analysed, ix: AnswerIndex, matches: list[tuple[int, int]]) -> bool:
    negs = ix.negations
    if not negs:
        return False
    lo = min(f for f, _ in matches)
    hi = max(la for _, la in matches)
    k = bisect.bisect_left(negs, lo - NEGATION_BEFORE)
    if k == len(negs) or negs[k] > hi:
        return False  # no negation anywhere near the claim
    covered: set[int] = set()
    for f, la in matches:
        covered.update(range(f, la + 1))
    clause = ix.cl.of_token[matches[0][0]]
    for f, _ in matches:
        for j in range(max(0, f - NEGATION_BEFORE), f):
            if j not in covered and ix.cl.of_token[j] == clause and a.tokens[j].stem in NEGATIONS:
                return True
    for j in range(lo, hi + 1):
        if j not in covered and a.tokens[j].stem in _VERBAL_NEGATIONS:
            return True
    return False


# Between two concepts only a verbal negation negates the claim: "more data does not reduce bias" does;
# "for new listings with no sessions, the embedding is an average" does not.
_VERBAL_NEGATIONS = NEGATIONS - {"no", "without"}


def _refuted(a: Analysed, ix: AnswerIndex, matches: list[tuple[int, int]]) -> bool:
    clause = ix.cl.of_token[matches[0][0]]
    lo = min(f for f, _ in matches)
    key = ("at", clause, lo)  # the verdict depends only on the clause and where the claim starts in it
    hit = ix._refuted.get(key)
    if hit is None:
        hit = ix._refuted[key] = _refuted_at(a, ix, clause, lo)
    return hit


_CONTRAST_FIRST = frozenset(p[0][0] for p in _CONTRAST_PHRASES)
_FRAME_FIRSTS = frozenset(p[0][0] for p in _FRAME_PHRASES if p)
_FRAME_WORDS = [(p, frozenset(w for part in p for w in part)) for p in _FRAME_PHRASES if p]


def _refuted_at(a: Analysed, ix: AnswerIndex, clause: int, lo: int) -> bool:
    c_first, c_last = ix.cl.spans[clause]
    stems_before = ix.stems[c_first:lo]
    if not _FRAME_STEMS.isdisjoint(stems_before):
        for j in range(c_first, lo):
            if a.tokens[j].stem in _FRAME_STEMS:
                # "unlike X, Y ...": the contrast frame covers X only, up to the next comma
                if a.tokens[j].stem in _CONTRAST and "," in a.text[a.tokens[j].end:a.tokens[lo].start]:
                    continue
                return True
    # "People (also, often) assume / read it as / think ..." before the claim reports a belief to reject.
    if not _WHO.isdisjoint(stems_before):
        for k, st in enumerate(stems_before):
            if st in _WHO and any(x in _BELIEVE for x in stems_before[k + 1:k + 4]):
                return True
    # "instead of X, Y": the contrast covers what follows it up to the next comma, not the rest of the clause
    raw_before = stems_before
    for parts in (_CONTRAST_PHRASES if not _CONTRAST_FIRST.isdisjoint(stems_before) else ()):
        first = parts[0]
        for j in range(len(raw_before) - len(first) + 1):
            if tuple(raw_before[j:j + len(first)]) == first:
                k = c_first + j + len(first) - 1
                if "," not in a.text[a.tokens[k].end:a.tokens[lo].start]:
                    return True
    framed = ix._refuted.get(clause)
    if framed is None:
        clause_stems = ix.stems[c_first:c_last + 1]
        present = set(clause_stems)
        framed = not _FRAME_FIRSTS.isdisjoint(present) and any(
            present >= words and _contains(clause_stems, parts) for parts, words in _FRAME_WORDS)
        ix._refuted[clause] = framed
    if framed:
        return True
    # The sentence names a myth before this clause ("A common myth is that X").
    sent = a.tokens[lo].sentence
    s_first = ix.cl.first_of_sentence[sent]
    for k in range(s_first, clause):
        f, la = ix.cl.spans[k]
        prior = ix.stems[f:la + 1]
        if any(s in _FRAME_STEMS for s in prior) and ("that" in prior or prior[-1:] in (["is"], ["be"])):
            return True
    # A short rejecting clause right after, in the same sentence ("...; it does not", "- but that is wrong"):
    # nothing in it but a rejection ("the time split did not catch that" is a claim of its own, not one).
    nxt = clause + 1
    if nxt < len(ix.cl.spans) and ix.cl.sentence_of_clause[nxt] == sent:
        f, la = ix.cl.spans[nxt]
        if la >= f:
            # the whole clause, or its first words, are a pure rejection ("but that is wrong once ...")
            stems = [a.tokens[j].stem for j in range(f, min(la, f + _REJECT_MAX_TOKENS - 1) + 1)]
            for n in range(len(stems), 0, -1):
                head = stems[:n]
                whole = n == la - f + 1
                if not (whole or (n <= 4 and set(head) & _FALSITY)):
                    continue  # "but doesn't direct it anywhere" is a claim of its own, not a rejection
                if set(head) & _REJECT_STEMS and all(x in _REJECT_FILLER or x in _REJECT_STEMS for x in head):
                    return True
    return False


def _contains(stems: list[str], parts: tuple[tuple[str, ...], ...]) -> bool:
    if not parts:
        return False
    first = parts[0]
    n = len(first)
    for i in range(len(stems) - n + 1):
        if tuple(stems[i:i + n]) == first:
            if len(parts) == 1:
                return True
            rest = stems[i + n:i + n + 6 + sum(len(p) for p in parts[1:])]
            if _contains(rest, parts[1:]):
                return True
    return False


def _overlaps(x: tuple[int, int], y: tuple[int, int]) -> bool:
    return x[0] <= y[1] and y[0] <= x[1]


_FIRSTS: dict[int, tuple] = {}


def _claim_firsts(claim) -> tuple:
    """Per concept of a compiled claim: (its phrases' first words, whether any of them is a prefix)."""
    hit = _FIRSTS.get(id(claim))
    if hit is not None and hit[0] is claim:
        return hit[1]
    out = tuple((frozenset(p[0][0] for p in concept if p and p[0][0][-1] != "*"),
                 any(p and p[0][0][-1] == "*" for p in concept)) for concept in claim)
    _FIRSTS[id(claim)] = (claim, out)
    return out


def find_claim_hits(ix: AnswerIndex, claim, qc: "QuestionClaims", *,
                    excluded: frozenset[int] = frozenset(), gate: tuple | None = None) -> list[Hit]:
    """Every occurrence of `claim` (compiled) in the answer, one per subject occurrence, with polarity.
    `gate`: the claim's _claim_firsts, if the caller has it."""
    a = ix.a
    keys = a.index.keys()
    for firsts, has_prefix in gate or _claim_firsts(claim):  # cheap test first: every concept needs a first word
        if not has_prefix and keys.isdisjoint(firsts):
            return []
    occ = []
    for concept in claim:
        o = ix.concept_occurrences(concept)
        if not o:
            return []
        occ.append(o)
    subject_occ = None
    hits: list[Hit] = []
    seen: set[tuple[int, int]] = set()
    of_token = ix.cl.of_token
    tokens = a.tokens
    rest = occ[1:]
    for m1 in occ[0]:
        s1, e1 = m1
        if excluded and tokens[s1][3] in excluded:
            continue
        clause = of_token[s1]
        chosen = [m1]
        lo, hi = m1
        for others in rest:
            # the nearest occurrence in the clause that doesn't overlap the subject, preferring one after
            # it (what is said of a subject usually follows it)
            after = before = None
            d_after = d_before = 1 << 30
            for m in others:
                f, la = m
                if of_token[f] != clause or (f <= e1 and s1 <= la):
                    continue
                d = f - s1 if f >= s1 else s1 - f
                if f > e1:
                    if d < d_after:
                        after, d_after = m, d
                elif d < d_before:
                    before, d_before = m, d
            pick = after or before
            if pick is None:
                break
            chosen.append(pick)
            if pick[0] < lo:
                lo = pick[0]
            if pick[1] > hi:
                hi = pick[1]
        if len(chosen) != len(occ) or hi - lo + 1 > WINDOW_TOKENS or (lo, hi) in seen:
            continue
        if not _related(a, chosen, ix.stems):
            continue
        if subject_occ is None:
            subject_occ = ix.subjects_by_clause(qc.subjects)
            own = _own_phrases(claim)
        if _closer_subject(ix, chosen, subject_occ.get(clause, ()), own, qc):
            continue
        seen.add((lo, hi))
        hits.append(Hit(tokens[lo][3], lo, hi, _negated(a, ix, chosen), _refuted(a, ix, chosen)))
    return hits


_OWN: dict[int, tuple] = {}


def _own_phrases(claim) -> frozenset:
    hit = _OWN.get(id(claim))
    if hit is None or hit[0] is not claim:
        hit = _OWN[id(claim)] = (claim, frozenset(parts for concept in claim for parts in concept))
    return hit[1]


def _closer_subject(ix: AnswerIndex, chosen: list[tuple[int, int]], in_clause, own: frozenset,
                    qc: "QuestionClaims") -> bool:
    """Another subject in the clause, one that some claim pairs with this very concept occurrence, sits
    nearer to it than the claim's own subject ("high bias means overfitting": overfitting goes to bias)."""
    if not in_clause:
        return False
    m1 = chosen[0]
    rivals = []
    for r, parts in in_clause:
        if parts in own:
            continue
        r0, r1 = r
        for c in chosen:
            if r0 <= c[1] and c[0] <= r1:
                break
        else:
            rivals.append((r, parts))
    if not rivals:
        return False
    for m in chosen[1:]:
        near = _distance(m, m1)
        for r, parts in rivals:
            if _distance(m, r) < near and _takes(ix, qc.claims_of_subject.get(parts, ()), m):
                return True
    return False


def _takes(ix: AnswerIndex, claims, m: tuple[int, int]) -> bool:
    """True if one of `claims` has a (non-subject) concept that occurs at `m`."""
    for claim in claims:
        for concept in claim[1:]:
            if any(_overlaps(m, o) for o in ix.concept_occurrences(concept)):
                return True
    return False


def _distance(x: tuple[int, int], y: tuple[int, int]) -> int:
    if _overlaps(x, y):
        return 0
    return y[0] - x[1] if x[1] < y[0] else x[0] - y[1]


def context_hits(ix: AnswerIndex, claim, span: tuple[int, int], *,
                 excluded: frozenset[int] = frozenset()) -> list[Hit]:
    """Hits in an answer to a probe about this claim's item: the probe supplies the subject.

    In each clause of the answer's `span` (character offsets), the claim's other concepts must be
    present (and related, if more than one), not negated and not refuted.
    """
    a = ix.a
    rest = claim[1:]
    hits: list[Hit] = []
    for c, (f, la) in enumerate(ix.cl.spans):
        if a.tokens[f].start < span[0] or a.tokens[la].end > span[1] or a.tokens[f].sentence in excluded:
            continue
        chosen = []
        for concept in rest:
            cands = [m for m in ix.concept_occurrences(concept) if ix.cl.of_token[m[0]] == c]
            if not cands:
                break
            chosen.append(cands[0])
        if len(chosen) != len(rest):
            continue
        if len(chosen) > 1 and not _related(a, chosen, ix.stems):
            continue
        lo = min(m[0] for m in chosen)
        hi = max(m[1] for m in chosen)
        hits.append(Hit(a.tokens[lo].sentence, lo, hi, _negated(a, ix, chosen), _refuted(a, ix, chosen)))
    return hits


def _hits_of(ix: AnswerIndex, qc: QuestionClaims, gated: tuple, excluded: frozenset[int],
             contexts: tuple[tuple[int, int], ...]) -> list[Hit]:
    hits: list[Hit] = []
    for claim, gate in gated:
        found = find_claim_hits(ix, claim, qc, excluded=excluded, gate=gate)
        if found:
            hits.extend(found)
        for span in contexts:
            hits.extend(context_hits(ix, claim, span, excluded=excluded))
    return hits


def all_item_hits(ix: AnswerIndex, q: Question, *, excluded: frozenset[int] = frozenset(),
                  contexts: tuple[tuple[str, int, int], ...] = ()) -> dict[str, list[Hit]]:
    """Every hit of every item with claims (per item id); `contexts`: (item id, start, end) spans replying to a probe."""
    qc = question_claims(q)
    out = {}
    for item_id, gated in qc.gated.items():
        if gated:
            spans = tuple((s, e) for i, s, e in contexts if i == item_id) if contexts else ()
            out[item_id] = _hits_of(ix, qc, gated, excluded, spans)
    return out


def mentions(ix: AnswerIndex, q: Question, item: RubricItem, sentence: int) -> bool:
    """True if the sentence names any concept of any of the item's claims."""
    qc = question_claims(q)
    for claim in qc.by_item.get(item.id, ()):
        for concept in claim:
            for parts in concept:
                if any(ix.a.tokens[f].sentence == sentence for f, _ in ix.occurrences(parts)):
                    return True
    return False


def named_sentences(ix: AnswerIndex, q: Question, item: RubricItem) -> list[int]:
    """Sentences that name the subject (first concept) of one of the item's claims, asserted or not."""
    qc = question_claims(q)
    out = set()
    keys = ix.a.index.keys()
    for claim, gate in qc.gated[item.id]:
        firsts, has_prefix = gate[0]
        if not has_prefix and keys.isdisjoint(firsts):
            continue  # no phrase of the subject can start anywhere in the answer
        for f, _ in ix.concept_occurrences(claim[0]):
            out.add(ix.sents[f])
    return sorted(out)
