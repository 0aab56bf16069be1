"""Find bank questions the way people type: synonyms, acronyms, phrases, prefixes and small typos.

    >>> index = SearchIndex(bank.questions.values())
    >>> [hit.question.id for hit in index.search("knn")][:1]
    ['knn-from-scratch']

A query is split into *concepts*: a known phrase or acronym ("cold start", "knn", "a/b test") or a
single word. A question matches when every concept matches one of its fields (title, subtitle, prompt,
topics, rubric labels, behavioral competency and principles); matches in the title and topics rank
higher than matches in the prompt. A concept matches a field when one of its spellings appears there
as consecutive words, each word equal (after a light plural fold), a prefix (for words of four letters
or more that are not acronyms), or within one or two typos (for longer words). Acronyms match only as
whole words, so "STAR" never matches "start".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .types import Question

# Each key (a word or a phrase, lower case) also finds each of its spellings; every spelling finds the key back.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "knn": ("k nearest neighbors", "k nearest neighbor", "nearest neighbor", "k-nn"),
    "ann": ("approximate nearest neighbor",),
    "cold start": ("new user", "new item", "no history"),
    "ab": ("ab test", "a b test", "online experiment", "controlled experiment", "split test"),
    "cnn": ("convolutional neural network", "convolutional", "convnet"),
    "rnn": ("recurrent neural network", "recurrent"),
    "lstm": ("long short term memory",),
    "gan": ("generative adversarial network", "generative adversarial"),
    "vae": ("variational autoencoder",),
    "rag": ("retrieval augmented generation", "retrieval augmented"),
    "llm": ("large language model", "language model"),
    "nlp": ("natural language processing", "language"),
    "pca": ("principal component analysis", "principal component"),
    "svm": ("support vector machine", "support vector"),
    "roc": ("receiver operating characteristic", "roc auc"),
    "auc": ("area under the curve", "roc auc", "pr auc"),
    "ctr": ("click through rate", "click prediction", "click-through"),
    "eta": ("estimated time of arrival", "arrival time"),
    "bn": ("batch normalization", "batch norm", "batchnorm"),
    "batchnorm": ("batch normalization", "batch norm"),
    "layernorm": ("layer normalization", "layer norm"),
    "sgd": ("stochastic gradient descent",),
    "gd": ("gradient descent",),
    "mle": ("maximum likelihood",),
    "kl": ("kullback leibler",),
    "ci/cd": ("continuous integration", "continuous delivery", "ci cd"),
    "mlops": ("ml operations", "deployment", "monitoring"),
    "gbdt": ("gradient boosting", "gradient boosted"),
    "gbm": ("gradient boosting",),
    "xgboost": ("gradient boosting", "boosting"),
    "lightgbm": ("gradient boosting",),
    "nn": ("neural network",),
    "dnn": ("deep neural network", "neural network"),
    "mlp": ("multilayer perceptron", "multi layer perceptron", "feed forward"),
    "relu": ("rectified linear unit",),
    "vit": ("vision transformer",),
    "bpe": ("byte pair encoding",),
    "lora": ("low rank adaptation", "parameter efficient"),
    "peft": ("parameter efficient",),
    "rlhf": ("reinforcement learning from human feedback", "human feedback"),
    "dpo": ("direct preference optimization",),
    "kv cache": ("key value cache",),
    "shap": ("shapley",),
    "dp": ("differential privacy",),
    "iou": ("intersection over union",),
    "map": ("mean average precision",),
    "ood": ("out of distribution",),
    "eda": ("exploratory data analysis",),
    "tf-idf": ("tfidf", "term frequency"),
    "recsys": ("recommendation", "recommender"),
    "recommender": ("recommendation",),
    "star": ("situation task action result", "star method"),
    "lp": ("leadership principle",),
    "f1": ("f1 score", "precision recall"),
    "overfit": ("overfitting", "regularization", "generalize"),
    "drift": ("distribution shift", "data drift", "concept drift"),
    "imbalance": ("imbalanced", "class imbalance", "rare class"),
    "hallucination": ("hallucinate",),
    "p value": ("p-value", "significance"),
    "transformer": ("attention",),
    "genai": ("generative", "llm"),
}

# Words matched only whole (never as a prefix, never with a typo): acronyms and very short words.
ACRONYMS = frozenset({
    "knn", "ann", "cnn", "rnn", "lstm", "gan", "vae", "rag", "llm", "nlp", "pca", "svm", "roc", "auc", "ctr",
    "eta", "bn", "sgd", "gd", "mle", "kl", "gbdt", "gbm", "nn", "dnn", "mlp", "vit", "bpe", "lora", "peft",
    "rlhf", "dpo", "kv", "dp", "iou", "map", "ood", "eda", "star", "lp", "f1", "ci", "cd", "ab", "gpu", "gpus",
    "ml", "ai", "bert", "gpt", "clip", "mae", "mse", "rmse", "ndcg", "mrr", "tpu",
})

FIELD_WEIGHTS = {"title": 3.0, "topics": 2.5, "rubric": 2.0, "subtitle": 1.5, "prompt": 1.2, "behavioral": 1.0}

_WORD = re.compile(r"[a-z0-9]+(?:/[a-z0-9]+)?")


def _fold(word: str) -> str:
    """A light plural and British-spelling fold: 'neighbours' -> 'neighbor', 'queries' -> 'query'."""
    w = word
    if len(w) > 6 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("our"):
        w = w[:-3] + "or"
    w = re.sub(r"is(e|ed|ing|ation)$", r"iz\1", w) if len(w) > 6 else w
    return w


def words(text: str) -> list[str]:
    """Lower-case words of `text`, folded; 'a/b' and 'ci/cd' stay one word, hyphens split words."""
    out: list[str] = []
    for raw in _WORD.findall(text.lower().replace("-", " ")):
        out.append(("ab" if raw == "a/b" else raw) if "/" in raw else _fold(raw))
    return out


@lru_cache(maxsize=4096)
def _typos_allowed(word: str) -> int:
    if word in ACRONYMS or len(word) < 5:
        return 0
    return 1 if len(word) < 8 else 2


def _within(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of `a` and `b` is at most `limit` (banded, early exit)."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def _word_match(query_word: str, doc_word: str) -> float:
    """How well one query word matches one word of a question: 1 exact, 0.8 prefix, 0.6 typo, 0 not at all."""
    if query_word == doc_word:
        return 1.0
    if query_word in ACRONYMS or doc_word in ACRONYMS:
        return 0.0
    if len(query_word) >= 4 and doc_word.startswith(query_word):
        return 0.8
    limit = _typos_allowed(query_word)
    if limit and _within(query_word, doc_word, limit):
        return 0.6
    return 0.0


@dataclass(frozen=True)
class Concept:
    """One thing the user asked for, with every spelling that finds it (each a sequence of words)."""

    text: str
    spellings: tuple[tuple[str, ...], ...]


def _synonym_table() -> dict[tuple[str, ...], set[tuple[str, ...]]]:
    table: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for key, alts in SYNONYMS.items():
        group = {tuple(words(key))} | {tuple(words(a)) for a in alts}
        k = tuple(words(key))
        table.setdefault(k, set()).update(group)
        for a in alts:  # a spelling finds its key back (and the key's other spellings only through the key)
            table.setdefault(tuple(words(a)), set()).update({tuple(words(a)), k})
    return table


_TABLE = _synonym_table()
_LONGEST = max(len(k) for k in _TABLE)


def concepts(query: str) -> list[Concept]:
    """The query as concepts: the longest known phrase first, then single words."""
    ws = words(query)
    out: list[Concept] = []
    i = 0
    while i < len(ws):
        for n in range(min(_LONGEST, len(ws) - i), 0, -1):
            key = tuple(ws[i:i + n])
            if key in _TABLE or n == 1:
                spellings = _TABLE.get(key, {key}) | {key}
                if n == 1 and "/" in key[0]:  # 'ci/cd' also as two words
                    spellings = spellings | {tuple(key[0].split("/"))}
                out.append(Concept(" ".join(key), tuple(sorted(spellings, key=len))))
                i += n
                break
    return out


@dataclass
class _Doc:
    question: Question
    fields: dict[str, list[list[str]]] = field(default_factory=dict)  # field -> its passages' words


def _doc(q: Question) -> _Doc:
    fields: dict[str, list[list[str]]] = {
        "title": [words(q.title)],
        "subtitle": [words(q.subtitle or "")],
        "prompt": [words(q.prompt)],
        "topics": [words(t) for t in q.topics],
        "rubric": [words(i.label) for i in q.rubric],
    }
    if q.behavioral is not None:
        fields["behavioral"] = [words(q.behavioral.competency)] + [words(p) for p in q.behavioral.principles]
    return _Doc(q, fields)


def _sequence_score(spelling: tuple[dict[str, float], ...], passage: list[str]) -> float:
    """The best match of a spelling (one {word: score} per position) as consecutive words of `passage`."""
    n = len(spelling)
    best = 0.0
    for start in range(len(passage) - n + 1):
        total = 0.0
        for k, scores in enumerate(spelling):
            s = scores.get(passage[start + k], 0.0)
            if s == 0.0:
                break
            total += s
        else:
            best = max(best, total / n)
            if best == 1.0:
                break
    return best


@dataclass(frozen=True)
class Hit:
    question: Question
    score: float
    matched: tuple[str, ...]  # the fields that matched, best first


class SearchIndex:
    """A search over a fixed set of questions (build it once per bank)."""

    def __init__(self, questions: Iterable[Question]):
        self._docs = [_doc(q) for q in questions]
        self._vocab = sorted({w for d in self._docs for ps in d.fields.values() for p in ps for w in p})
        self._matches: dict[str, dict[str, float]] = {}

    def _scores(self, query_word: str) -> dict[str, float]:
        """Every word of the bank that `query_word` matches, with how well (computed once per word)."""
        found = self._matches.get(query_word)
        if found is None:
            found = {w: s for w in self._vocab if (s := _word_match(query_word, w))}
            if len(self._matches) > 5000:
                self._matches.clear()
            self._matches[query_word] = found
        return found

    def search(self, query: str, *, among: Iterable[str] | None = None, partial: bool = False) -> list[Hit]:
        """Questions matching every concept of `query`, best first (title, then topics, ...).

        `among` limits the search to those question ids (e.g. after a kind filter). With `partial`,
        questions matching only some concepts are returned too, ranked by how many they match.
        """
        wanted = concepts(query)
        allowed = set(among) if among is not None else None
        docs = [d for d in self._docs if allowed is None or d.question.id in allowed]
        if not wanted:
            return [Hit(d.question, 0.0, ()) for d in docs]
        compiled = [[tuple(self._scores(w) for w in spelling) for spelling in c.spellings] for c in wanted]
        hits: list[Hit] = []
        for d in docs:
            total, found, fields_hit = 0.0, 0, []
            for spellings in compiled:
                best, best_field = 0.0, None
                for name, passages in d.fields.items():
                    weight = FIELD_WEIGHTS[name]
                    if weight <= best:
                        continue
                    for passage in passages:
                        for spelling in spellings:
                            s = _sequence_score(spelling, passage) * weight
                            if s > best:
                                best, best_field = s, name
                if best_field is not None:
                    found += 1
                    total += best
                    if best_field not in fields_hit:
                        fields_hit.append(best_field)
            if found == len(wanted) or (partial and found):
                hits.append(Hit(d.question, total + 100.0 * found, tuple(fields_hit)))
        hits.sort(key=lambda h: (-h.score, h.question.id))
        return hits


def search(questions: Iterable[Question], query: str) -> list[Question]:
    """Every question matching `query`, best first (a one-off index; keep a `SearchIndex` to search often)."""
    return [h.question for h in SearchIndex(questions).search(query)]
