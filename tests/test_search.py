"""Bank search finds what people type: acronyms, phrases, British spellings, typos; acronyms stay whole."""

from __future__ import annotations

import re

import pytest

from interviewer.bank import load_bank
from interviewer.search import SearchIndex, concepts, search


@pytest.fixture(scope="module")
def index():
    return SearchIndex(load_bank().questions.values())


def _text(q) -> str:
    return " ".join([q.title, q.subtitle or "", q.prompt, *q.topics, *(i.label for i in q.rubric)]).lower()


def _ids(index, query, **kw):
    return [h.question.id for h in index.search(query, **kw)]


@pytest.mark.parametrize("query, first", [
    ("knn", "knn-from-scratch"),
    ("KNN", "knn-from-scratch"),
    ("k nearest neighbours", "knn-from-scratch"),
    ("nearest neighbor", "knn-from-scratch"),
    ("regularisation", "regularization"),
    ("lstm", "rnn-lstm"),
    ("a/b test", "ab-test-design"),
    ("ab testing", "ab-test-design"),
    ("batchnorm", "batch-normalization"),
    ("ci/cd", "ci-cd-for-ml"),
    ("roc", "roc-auc"),
])
def test_search_puts_the_question_people_mean_first(index, query, first):
    assert _ids(index, query)[0] == first


def test_cold_start_is_a_phrase_and_finds_the_recommender_design(index):
    found = _ids(index, "cold start")
    assert "design-recommendation-system" in found
    assert "design-recommendation-system" in _ids(index, "cold-start problem")


def test_typos_still_find_the_question(index):
    assert "transformer-architecture" in _ids(index, "transfomer")
    assert "gradient-boosting" in _ids(index, "gradiant boosting")


def test_star_is_an_acronym_and_never_matches_start(index):
    bank = load_bank()
    star = _ids(index, "STAR")
    assert bank.get(star[0]).kind.value == "behavioral"
    for qid in star:  # the STAR method, or the word "star" ("north star metric"): never "start"
        q = bank.get(qid)
        assert re.search(r"\bstar\b|situation", _text(q)), qid
    only_star = [q.id for q in bank.questions.values()
                 if re.search(r"\bstar\b", _text(q)) and not re.search(r"\b(start|smart|stat)", _text(q))]
    assert only_star  # questions that say STAR but not "start"
    assert not set(only_star) & set(_ids(index, "start"))
    assert set(only_star) <= set(star)


def test_every_word_must_match_unless_partial(index):
    assert _ids(index, "knn zebra") == []
    assert _ids(index, "knn zebra", partial=True)[0] == "knn-from-scratch"


def test_search_is_limited_to_the_filtered_questions(index):
    assert _ids(index, "knn", among=["missing-data"]) == ["missing-data"]


def test_an_empty_query_lists_everything_in_order(index):
    assert len(_ids(index, "  ")) == len(load_bank().questions)


def test_rubric_labels_are_searched():
    bank = load_bank()
    q = bank.get("design-recommendation-system")
    label = q.rubric[-1].label
    assert q in search(bank.questions.values(), label)


def test_concepts_group_known_phrases():
    assert [c.text for c in concepts("cold start for knn")] == ["cold start", "for", "knn"]
