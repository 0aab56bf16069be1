"""The Question bank page renders and filters (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "question_bank.py")


@pytest.fixture()
def at():
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.run()
    assert not app.exception, app.exception
    return app


def test_bank_page_lists_every_question(at):
    titles = [e.label for e in at.expander]
    assert any("Design a Recommendation System" in t for t in titles)
    assert len([t for t in titles if "\u00b7" in t]) >= 34


def test_bank_page_filters_by_kind_and_topic(at):
    at.selectbox(key="bank_kind").select("System design").run()
    titles = [e.label for e in at.expander if "\u00b7" in e.label]
    assert titles and all("System design" in t for t in titles)
    topics = at.selectbox(key="bank_topic").options
    assert "recommendation" in topics


def test_bank_page_search_and_reveal(at):
    at.text_input(key="bank_search").input("drift").run()
    titles = [e.label for e in at.expander if "\u00b7" in e.label]
    assert any("model drift" in t.lower() for t in titles)
    toggle = at.toggle(key="reveal_model-drift")
    toggle.set_value(True).run()
    assert any("Reference answer" in m.value for m in at.markdown)
