"""The guard between the model and the candidate: a pure, streaming filter for model follow-ups.

In Interview mode a model follow-up must be one or two sentences ending in ONE question, with
no praise or verdict, no rubric or reference text (word n-grams shared with the private rubric
labels, `covered_when`, hints and reference answer that the candidate has not said and the
question does not contain), no repetition of an earlier interviewer turn, no formatting or
quoted script, and no chat-template junk. Practice mode keeps the shape, repetition and junk
rules (feedback and the checklist are part of practice).

The text is checked sentence by sentence as it streams; a sentence is shown only once it
passes, and the reply ends at its question (the model's stream is closed there). A reply that
fails is replaced by the scripted probe before anything of it is shown.

    result = GuardResult()
    for piece in guard_stream(chunks, context=GuardContext.for_question(q, ...), result=result):
        show(piece)
    result.replaced, result.reason
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .types import Question

GUARD_MARK = "[guard replaced the model's reply"  # starts the private note of a replaced follow-up

MAX_SENTENCES = 2
MAX_SENTENCE_WORDS = 45
MAX_WORDS = 70
NGRAM = 4  # words shared with private text, in a row, that count as revealing it
REPEAT_JACCARD = 0.75  # word-set overlap with an earlier interviewer sentence that counts as repeating it

TEMPLATE_JUNK = re.compile(
    r"<\|(?:im_start|im_end|eot_id|start_header_id|end_header_id|endoftext|system|user|assistant|end)\|>"
    r"|<s>|</s>|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>"
    r"|(?:^|\n)\s*(?:system|user|assistant)\s*\n",
    re.I,
)
TEMPLATE_ADVICE = (
    "The model server sent raw chat-template text: start it with the model's chat template "
    "(llama-cpp-python: `--chat_format chatml` or a GGUF that includes one; llama-server: `--jinja`)."
)

_PRAISE = re.compile(
    "|".join([
        r"^\W*(great|good|excellent|nice|perfect|exactly|correct|right|absolutely|precisely|spot on|well done|"
        r"awesome|fantastic|brilliant|wonderful|impressive|bingo|yes)\b\s*[!,.:;-]",
        r"\b(great|good|excellent|nice|perfect|impressive|solid|strong|wonderful|fantastic|brilliant|thorough|"
        r"clear|insightful|thoughtful)\s+(job|work|answer|point|points|explanation|start|grasp|understanding|"
        r"thinking|overview|summary|observation|response|insight|attempt)\b",
        r"\byou('re| are)\s+(absolutely\s+|exactly\s+|quite\s+)?(right|correct|wrong|incorrect|mistaken|"
        r"on the right track|spot on)\b",
        r"\b(that'?s|that is|this is|it'?s|which is)\s+(absolutely\s+|exactly\s+|partially\s+|not\s+|mostly\s+)?"
        r"(right|correct|wrong|incorrect|true|false|accurate|inaccurate|a good|a great|an excellent|spot on)\b",
        r"\byou\s+(have|show|demonstrate|clearly have|seem to have)\b.{0,25}\b(grasp|understanding|command|knowledge)\b",
        r"\b(not quite|well done|good job|nicely done|well explained|well put|you nailed|you got it|you missed|"
        r"you forgot|you didn'?t mention|you failed to|you left out)\b",
    ]),
    re.I,
)
_RUBRIC_WORDS = re.compile(
    r"\b(rubric|checklist|check-list|reference answer|model answer|marking scheme|grading|scoring guide|"
    r"private notes?|my notes|my instructions|system prompt|covered_when)\b",
    re.I,
)
_FORMATTING = re.compile(r"(^|\n)\s*([-*\u2022]\s|\d+[.)]\s|#{1,6}\s|\*\*|```)")
_LABEL = re.compile(r"^\W*(follow[- ]?up( question)?|question|interviewer|assistant|response|reply)\s*:", re.I)
_QUOTE_OPEN = "\"'\u201c\u2018\u00ab`"
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "cf", "dr", "mr", "ms", "mrs", "approx", "fig", "no", "eq"}
_STOPWORDS = set(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that "
    "these those you your we our they their i me my he she his her them do does did how what why when which who "
    "would could should can will may might must not no so than then there here about into over under more most "
    "some any each other such only also just very too up down out d ll s t re ve m".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _contentful(gram: tuple[str, ...]) -> bool:
    """At least 3 of the 4 words carry content: "l1 and l2 penalties" counts, "from the test set" does not."""
    return sum(w not in _STOPWORDS for w in gram) >= 3


@dataclass(frozen=True)
class GuardContext:
    """What a follow-up is checked against. `private` is text the candidate must not be shown; `public`
    is text that may be echoed (the question, the bank's probes, the candidate's own words)."""

    mode: str = "interview"
    fallback: str = ""  # the scripted probe that replaces a failing reply
    private: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # rubric labels: naming one whole counts as revealing it
    public: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()  # earlier interviewer turns of this interview

    @classmethod
    def for_question(cls, question: Question, *, mode: str, fallback: str, earlier: Iterable[str] = (),
                     answers: Iterable[str] = ()) -> "GuardContext":
        hints = question.hints
        private = [i.label for i in question.rubric] + [i.covered_when for i in question.rubric]
        private += [hints.direction, hints.approach, hints.detailed, question.reference_answer]
        public = [question.prompt, question.title, fallback, *(p.text for p in question.probes), *answers]
        return cls(mode=mode, fallback=fallback, private=tuple(private),
                   labels=tuple(i.label for i in question.rubric), public=tuple(public), earlier=tuple(earlier))

    def private_ngrams(self) -> set[tuple[str, ...]]:
        public: set[tuple[str, ...]] = set()
        for text in self.public:
            public |= _text_ngrams(text)
        return set(_private_grams(self.private)) - public


@lru_cache(maxsize=4096)
def _text_ngrams(text: str) -> frozenset:
    return frozenset(_ngrams(_words(text), NGRAM))


@lru_cache(maxsize=512)
def _private_grams(private: tuple[str, ...]) -> frozenset:
    """The contentful n-grams of a question's private texts (computed once per question)."""
    grams: set[tuple[str, ...]] = set()
    for text in private:
        grams |= {g for g in _text_ngrams(text) if _contentful(g)}
    return frozenset(grams)


@dataclass
class GuardResult:
    replaced: bool = False
    reason: str = ""  # why the model's reply was replaced ("" when it was not)
    text: str = ""  # what the candidate was shown
    original: str = ""  # the model's text that was read (for the private notes)
    advice: str = ""  # one sentence for the user when the server itself is misconfigured (template junk)
    trimmed: bool = False  # the model went on after its question; the rest was not read (nor shown)


def replacements_in(private_notes: list[str | None]) -> int:
    """How many turns the guard replaced, from the turns' private notes (the count survives a resume)."""
    return sum(1 for note in private_notes if GUARD_MARK in (note or ""))


class GuardFailure(Exception):
    def __init__(self, reason: str, advice: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.advice = advice


class ReplyGuard:
    """The checks, one sentence at a time. `check_sentence` raises GuardFailure; `finish` checks the whole."""

    def __init__(self, context: GuardContext) -> None:
        self.context = context
        self.strict = context.mode == "interview"
        self._private = context.private_ngrams() if self.strict else set()
        self._labels = [" ".join(_words(label)) for label in context.labels if len(_words(label)) >= 3]
        self._earlier = [set(_words(s)) for turn in context.earlier for s in split_sentences(turn)
                         if len(_words(s)) >= 5]
        self.sentences: list[str] = []

    def check_text(self, text: str) -> None:
        """Checks on raw text as it arrives (before any sentence is complete)."""
        if TEMPLATE_JUNK.search(text):
            raise GuardFailure("chat-template text in the reply", TEMPLATE_ADVICE)

    def check_sentence(self, sentence: str) -> None:
        s = sentence.strip()
        index = len(self.sentences)
        if index == 0 and s[:1] in _QUOTE_OPEN:
            raise GuardFailure("the reply is quoted text, not the interviewer speaking")
        if _LABEL.match(s):
            raise GuardFailure("the reply starts with a label")
        if _FORMATTING.search(sentence):
            raise GuardFailure("the reply has lists or formatting (a lecture, not a follow-up)")
        if not re.search(r"[.!?][\"'\u201d\u2019)\]]*$", s):
            raise GuardFailure("a sentence without an end (a heading or list, not a follow-up)")
        words = _words(s)
        if len(words) > MAX_SENTENCE_WORDS:
            raise GuardFailure(f"a sentence of {len(words)} words (a lecture, not a follow-up)")
        if index >= MAX_SENTENCES:
            raise GuardFailure(f"more than {MAX_SENTENCES} sentences")
        if sum(len(_words(x)) for x in self.sentences) + len(words) > MAX_WORDS:
            raise GuardFailure(f"more than {MAX_WORDS} words")
        if self.strict:
            if _PRAISE.search(s):
                raise GuardFailure("praise or a verdict on the answer")
            if _RUBRIC_WORDS.search(s):
                raise GuardFailure("it mentions the rubric or reference")
            joined = " ".join(words)
            for label in self._labels:
                if f" {label} " in f" {joined} ":
                    raise GuardFailure("it names a rubric item")
            shared = _ngrams(words, NGRAM) & self._private
            if shared:
                raise GuardFailure(f"it repeats private rubric or reference text (\u201c{' '.join(min(shared))}\u201d)")
        if s.endswith("?") or re.search(r"\?[\"'\u201d\u2019)\]]*$", s):
            mine = set(words)
            for earlier in self._earlier:
                if mine and len(mine & earlier) / len(mine | earlier) >= REPEAT_JACCARD:
                    raise GuardFailure("it repeats an earlier interviewer question")
        self.sentences.append(s)

    def finish(self) -> str:
        if not self.sentences:
            raise GuardFailure("an empty reply")
        text = " ".join(self.sentences)
        if not re.search(r"\?[\"'\u201d\u2019)\]]*$", self.sentences[-1]):
            raise GuardFailure("it does not end with a question")
        if text.count("?") > 1:
            raise GuardFailure("more than one question")
        return text


_BOUNDARY = re.compile(r"([.!?]+)([\"'\u201d\u2019)\]]*)(\s+)|\n\s*")


def _boundary(buf: str, *, final: bool = False) -> int | None:
    """End offset of the first complete sentence in `buf`, or None if none is complete yet."""
    for m in _BOUNDARY.finditer(buf):
        if m.group(1) is None:  # a newline: whatever came before is a unit of its own
            if buf[: m.start()].strip():
                return m.end()
            continue
        if m.end() == len(buf) and not final and m.group(1) != "?":
            return None  # "e.g. " at the end: wait for the next word to decide
        before = buf[: m.start()].rsplit(None, 1)[-1].lower() if buf[: m.start()].strip() else ""
        if m.group(1) == "." and (before.rstrip(".") in _ABBREVIATIONS or len(before) == 1 or before.isdigit()):
            continue
        rest = buf[m.end():]
        if m.group(1) == "." and rest[:1].islower():
            continue
        return m.end()
    return None


def split_sentences(text: str) -> list[str]:
    out, buf = [], text
    while buf.strip():
        end = _boundary(buf, final=True)
        if end is None:
            out.append(buf.strip())
            break
        out.append(buf[:end].strip())
        buf = buf[end:]
    return [s for s in out if s]


def guard_stream(chunks: Iterable[str], *, context: GuardContext, result: GuardResult | None = None) -> Iterator[str]:
    """Yield the passed sentences of a streamed follow-up, or the scripted probe instead of a failing reply.

    Stops reading (and closes `chunks` if it can) at the reply's question or at the first failure.
    `result` (if given) says what happened.
    """
    result = result if result is not None else GuardResult()
    guard = ReplyGuard(context)
    source = iter(chunks)
    seen: list[str] = []
    buf = ""
    done = False
    try:
        try:
            for chunk in source:
                seen.append(chunk)
                buf += chunk
                guard.check_text("".join(seen)[-200:] if len(seen) > 1 else chunk)
                while not done and (end := _boundary(buf.lstrip())) is not None:
                    buf = buf.lstrip()
                    sentence, buf = buf[:end], buf[end:]
                    guard.check_sentence(sentence)
                    if guard.sentences[-1].rstrip("\"'\u201d\u2019)] ").endswith("?"):
                        done = True
                if done:  # peek one more delta to tell whether the model went on after its question
                    result.trimmed = bool(buf.strip()) or bool((next(source, "") or "").strip())
                    break
            if not done and buf.strip():
                guard.check_sentence(buf)
            text = guard.finish()
        except GuardFailure as failure:
            result.replaced, result.reason, result.advice = True, failure.reason, failure.advice
            text = context.fallback
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    result.original = "".join(seen)
    result.text = text
    if text:
        yield text
