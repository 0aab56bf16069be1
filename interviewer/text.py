"""Text analysis for the offline judge: sentences, tokens with offsets, phrase matching.

Everything here is deterministic and keeps character offsets into the original
answer, so every piece of evidence can be highlighted in the candidate's words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?|[%$<>]")
# "0.82" or "e.g." must not end a sentence: only split on punctuation followed by space/end.
# Matches "[.!?;]\s+|\n+", written to start with one character class so the regex engine can skip ahead
# to the next candidate (an alternation defeats that): four times faster on answers.
_SENTENCE_SPLIT_RE = re.compile(r"[.!?;\n](?:(?<=[.!?;])\s+|(?<=\n)\n*)")  # the mark stays with its sentence

NEGATIONS = frozenset({
    "not", "no", "never", "without", "dont", "doesnt", "isnt", "arent", "wasnt", "werent", "cant", "cannot",
    "wont", "didnt", "neither", "nor", "hardly", "havent", "hasnt", "shouldnt", "wouldnt",
})

STOPWORDS = frozenset("""
a an the and or but if then so because as of to in on at by for with from into onto about over under than that this
these those it its is are was were be been being do does did have has had i we you he she they them our my your their
me us him her which who whom whose what when where why how can could should would will may might must also not no
very just there here such each other more most some any all both either one two up out off then once
""".split())

NEGATION_WINDOW = 3
GAP_WORDS = 5
EXPLAINED_MIN_WORDS = 8


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


# British double-l forms, spelled the American way before stemming (both sides alike).
_BRITISH = {w: w.replace("ll", "l", 1) for w in (
    "labelled", "labelling", "modelled", "modelling", "travelled", "travelling", "cancelled", "cancelling",
    "levelled", "signalled", "channelled", "fuelled", "totalled", "tunnelling")}


_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_MAX = 200_000


def stem(word: str) -> str:
    """A light, consistent suffix stemmer (same function on answers and phrases), memoised."""
    hit = _STEM_CACHE.get(word)
    if hit is None:
        if len(_STEM_CACHE) >= _STEM_CACHE_MAX:
            _STEM_CACHE.clear()
        hit = _STEM_CACHE[word] = _stem(word)
    return hit


def _stem(word: str) -> str:
    w = word.lower().replace("'", "").replace("\u2019", "")
    if len(w) <= 3 or w.isdigit():
        return w
    w = _BRITISH.get(w, w)
    if len(w) > 6 and w.endswith(("isation", "isations")):  # regularisation -> regularization
        w = w.replace("isation", "ization")
    elif re.search(r"^\w{4,}is(e|es|ed|ing)$", w):  # optimise -> optimize (both sides alike)
        w = re.sub(r"is(e|es|ed|ing)$", r"iz\1", w)
    elif re.search(r"^\w{3,}lys(e|es|ed|ing)$", w):  # analyse -> analyze
        w = re.sub(r"lys(e|es|ed|ing)$", r"lyz\1", w)
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif re.search(r"(?:s|x|z|ch|sh)es$", w):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is", "as")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1].isalpha():
                w = w[:-1]
            break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


class Token(NamedTuple):
    stem: str
    start: int
    end: int
    sentence: int


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    n_words: int


@dataclass(slots=True)
class Analysed:
    """An answer split into sentences and stemmed tokens, with an index for fast phrase lookup."""

    text: str
    tokens: list[Token]
    sentences: list[Sentence]
    index: dict[str, list[int]]
    excluded: frozenset[int] = frozenset()  # sentence indexes that must not earn credit
    raw: list[str] | None = None  # per token, its lower-case word without apostrophes (see raw_words)
    words: list[str] | None = None  # per token, its text (ASCII: the token pattern matches nothing else)

    def sentence_text(self, i: int) -> str:
        s = self.sentences[i]
        return self.text[s.start:s.end]

    @property
    def n_words(self) -> int:
        return len(self.tokens)


def split_sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for m in _SENTENCE_SPLIT_RE.finditer(text):
        end = m.start()
        if text[end] in ".!?;":
            end += 1
        spans.append((pos, end))
        pos = m.end()
    spans.append((pos, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


_new_token = tuple.__new__  # Token(...) without the Python-level __new__: analyse is on the hot path


def analyse(text: str) -> Analysed:
    text = _fold(text)
    tokens: list[Token] = []
    sentences: list[Sentence] = []
    findall = _TOKEN_RE.findall
    find = text.find
    cache = _STEM_CACHE
    append = tokens.append
    index: dict[str, list[int]] = {}
    get = index.get
    n = 0
    words: list[str] = []
    for si, (a, b) in enumerate(split_sentences(text)):
        before = n
        pos = a
        found = findall(text, a, b)
        words += found
        for w in found:
            # the next occurrence of the word is the match: the text between two tokens has no token character
            pos = find(w, pos)
            end = pos + len(w)
            st = cache.get(w) or stem(w)
            append(_new_token(Token, (st, pos, end, si)))
            where = get(st)
            if where is None:
                index[st] = [n]
            else:
                where.append(n)
            n += 1
            pos = end
        sentences.append(Sentence(a, b, n - before))
    return Analysed(text, tokens, sentences, index, words=words)


@lru_cache(maxsize=16384)
def compile_phrase(phrase: str) -> tuple[tuple[str, ...], ...]:
    """A phrase as parts of stems; parts are separated by '...' (a gap of up to GAP_WORDS words)."""
    parts = []
    for part in re.split(r"\.\.\.|\u2026", _fold(phrase)):
        stems = tuple(stem(m.group()) for m in _TOKEN_RE.finditer(part))
        if stems:
            parts.append(stems)
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Match:
    first: int  # token index of the first matched token
    last: int  # token index of the last matched token
    sentence: int


def _seq_at(a: Analysed, i: int, stems: tuple[str, ...]) -> bool:
    toks = a.tokens
    if i + len(stems) > len(toks):
        return False
    sent = toks[i].sentence
    for k, s in enumerate(stems):
        t = toks[i + k]
        if t.stem != s or t.sentence != sent:
            return False
    return True


def _negated(a: Analysed, first: int, phrase_stems: frozenset[str] | set[str]) -> bool:
    if phrase_stems & NEGATIONS:
        return False
    sent = a.tokens[first].sentence
    for j in range(max(0, first - NEGATION_WINDOW), first):
        t = a.tokens[j]
        if t.sentence == sent and t.stem in NEGATIONS:
            return True
    return False


def find_phrase(a: Analysed, phrase: str, *, last: bool = False) -> Match | None:
    """The first (or `last`) non-negated occurrence of `phrase` in a non-excluded sentence, or None."""
    parts = compile_phrase(phrase)
    if not parts:
        return None
    return _find_compiled(a, parts, last)


def _find_compiled(a: Analysed, parts: tuple[tuple[str, ...], ...], last: bool) -> Match | None:
    starts = a.index.get(parts[0][0], ())
    first = parts[0]
    w1 = first[1] if len(first) > 1 else None
    toks = a.tokens
    n = len(toks)
    for start in (reversed(starts) if last else starts):
        if w1 is not None and (start + 1 >= n or toks[start + 1][0] != w1):
            continue  # the second word is not next: no match here
        m = _match_here(a, parts, start)
        if m is not None:
            return m
    return None


def _match_here(a: Analysed, parts: tuple[tuple[str, ...], ...], start: int) -> Match | None:
    """The phrase's match starting at token `start`, in a sentence that is not excluded and not negated."""
    toks = a.tokens
    first = parts[0]
    if toks[start][3] in a.excluded or not _seq_at(a, start, first):
        return None
    end = start + len(first) - 1
    for part in parts[1:]:
        found = None
        for j in range(end + 1, min(end + 2 + GAP_WORDS, len(toks))):
            if _seq_at(a, j, part) and toks[j][3] == toks[start][3]:
                found = j
                break
        if found is None:
            return None
        end = found + len(part) - 1
    if _negated(a, start, _phrase_stems(parts)):
        return None
    return Match(start, end, toks[start][3])


@lru_cache(maxsize=16384)
def _phrase_stems(parts: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    return frozenset(s for p in parts for s in p)


@lru_cache(maxsize=4096)
def _by_first_word(phrases: tuple[str, ...]) -> tuple:
    """The compiled phrases grouped by first word, in list order: (first word, ((phrase, second word), ...))."""
    groups: dict[str, list] = {}
    for p in phrases:
        parts = compile_phrase(p)
        if parts:
            groups.setdefault(parts[0][0], []).append((parts, parts[0][1] if len(parts[0]) > 1 else None))
    return tuple((w0, tuple(group)) for w0, group in groups.items())


def find_any(a: Analysed, phrases: list[str], *, last: bool = False) -> Match | None:
    """The earliest (or, with `last`, the latest) occurrence of any of `phrases`; of several phrases that
    occur there, the first in the list (as if each were looked up with find_phrase).

    Phrases are grouped by first word: each position of that word is visited once for the whole group.
    """
    best = None
    index = a.index
    toks = a.tokens
    n = len(toks)
    for w0, group in _by_first_word(tuple(phrases)):
        starts = index.get(w0)
        if not starts:
            continue
        for start in (reversed(starts) if last else starts):
            if best is not None and (start <= best.first if last else start >= best.first):
                break  # no better than what another word's phrases gave (two words never share a position)
            nxt = toks[start + 1][0] if start + 1 < n else None
            found = None
            for parts, w1 in group:
                if w1 is None or nxt == w1:
                    found = _match_here(a, parts, start)
                    if found is not None:
                        break
            if found is not None:
                best = found
                break  # this group's earliest (latest) match
    return best


def content_stems(a: Analysed) -> set[str]:
    return {s for s in a.index if s not in STOPWORDS and not s.isdigit() and len(s) > 2}  # index: every stem


def raw_words(a: Analysed) -> list[str]:
    """Per token, its lower-case word without apostrophes (computed once per analysis)."""
    if a.raw is None and a.words is not None:
        # Token texts are ASCII without spaces: lower-case them all at once (same as one by one).
        a.raw = " ".join(a.words).lower().replace("'", "").split(" ") if a.words else []
    if a.raw is None:
        low = a.text.lower()
        if len(low) != len(a.text):  # lower() changed the length (rare letters): lower each word alone
            a.raw = [a.text[t[1]:t[2]].lower().replace("'", "") for t in a.tokens]
        else:
            a.raw = [low[t[1]:t[2]] for t in a.tokens]
            if "'" in low:
                a.raw = [w.replace("'", "") for w in a.raw]
    return a.raw


def stopword_ratio(a: Analysed) -> float:
    if not a.tokens:
        return 0.0
    raw = raw_words(a)
    return sum(map(STOPWORDS.__contains__, raw)) / len(raw)

