"""The Question bank page renders, filters, searches and starts practice (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "question_bank.py")
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture()
def at():
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def _titles(at) -> list[str]:
    return [e.label for e in at.expander if "\u00b7" in e.label]


def test_bank_page_lists_every_question(at):
    titles = _titles(at)
    assert any("Design a Recommendation System" in t for t in titles)
    assert len(titles) >= 34


def test_bank_page_filters_by_kind_and_topic(at):
    at.selectbox(key="bank_kind").select("System design").run()
    titles = _titles(at)
    assert titles and all("System design" in t for t in titles)
    topics = at.selectbox(key="bank_topic").options
    assert "recommendation" in topics


def test_bank_page_search_and_reveal(at):
    at.text_input(key="bank_search").input("drift").run()
    titles = _titles(at)
    assert any("model drift" in t.lower() for t in titles)
    toggle = at.toggle(key="reveal_model-drift")
    toggle.set_value(True).run()
    assert any("Reference answer" in m.value for m in at.markdown)


def test_bank_search_finds_knn_and_cold_start(at):
    at.text_input(key="bank_search").input("knn").run()
    assert _titles(at)[0].startswith("Implement K-Nearest Neighbors from scratch")
    at.text_input(key="bank_search").input("cold start").run()
    assert any("Design a Recommendation System" in t for t in _titles(at))


def test_bank_search_for_star_never_lists_start(at):
    at.text_input(key="bank_search").input("STAR").run()
    titles = _titles(at)
    assert titles and "\u00b7  Behavioral \u00b7" in titles[0]


def test_bank_search_with_no_full_match_shows_the_closest(at):
    at.text_input(key="bank_search").input("knn zebra").run()
    assert _titles(at)[0].startswith("Implement K-Nearest Neighbors")
    assert any("No question matches every word" in c.value for c in at.caption)


def test_tips_and_frameworks_have_their_own_tab(at):
    assert [t.label for t in at.tabs] == ["Questions", "Tips and frameworks"]
    guide = at.tabs[1]
    assert [s.value for s in guide.subheader] == ["Interview tips", "Behavioral frameworks"]
    assert not at.tabs[0].subheader


def test_practise_this_starts_a_practice_interview_on_that_question():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/question_bank.py").run()
    at.text_input(key="bank_search").input("knn").run()
    at.button(key="practise_knn-from-scratch").click().run()
    assert not at.exception, at.exception
    session = at.session_state["session"]
    assert session.mode == "practice"
    assert session.current.question.id == "knn-from-scratch"
    at.switch_page("app_pages/interview.py").run()  # where the browser lands
    assert not at.exception, at.exception
    assert any(session.current.question.prompt in m.value for m in at.markdown)
    assert at.button(key="hint_direction")
