"""Every page through Streamlit's AppTest, with fake models injected through session state
(never by patching `openai`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from interviewer.bank import load_bank
from interviewer.errors import ModelError
from interviewer.fake import FunctionModel, ScriptedModel
from ui.state import MODEL_OVERRIDE_KEY

APP = str(Path(__file__).resolve().parent.parent / "app.py")
WEAK = "Regularization is a way to make a model better when you train it on data."


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def bank():
    return load_bank()


def _app(models=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if models is not None:
        at.session_state[MODEL_OVERRIDE_KEY] = models
    at.run()
    assert not at.exception, at.exception
    return at


def _start(at: AppTest, *, kind="Technical", title="What is regularization and why is it important?",
           practice=False) -> AppTest:
    at.selectbox(key="setup_kind").select(kind).run()
    question = next(x for x in load_bank().filter(kind=kind.lower().replace(" ", "_")) if x.title == title)
    at.selectbox(key="setup_question").set_value(question).run()
    if practice:
        at.radio(key="setup_mode").set_value("Practice: hints, live checklist, model answer").run()
    at.button(key="start").click().run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(e.value for e in at.error)


def test_offline_interview_end_to_end(bank):
    at = _start(_app())
    q = bank.get("regularization")
    assert any(q.prompt in m.value for m in at.markdown)
    at.chat_input(key="answer").set_value(WEAK).run()
    follow_up_texts = {p.text for p in q.probes}
    assert any(m.value in follow_up_texts for m in at.markdown)
    at.button(key="end_score").click().run()
    assert not at.exception, at.exception
    assert at.status, "scoring shows a status"
    text = _texts(at)
    assert "Offline estimate" in text
    assert "Your report" in [s.value for s in at.subheader]
    assert any(m.value.startswith("<div class=\"answer-box\">") for m in at.markdown)


def test_streamed_follow_up_and_llm_judge_with_fake_models(bank):
    q = bank.get("regularization")
    interviewer = FunctionModel(fn=lambda m, t: "<notes>secret plan</notes>How would you pick its strength?",
                                name="fake-interviewer")
    judge = FunctionModel(fn=lambda m, t: {"items": [
        {"id": i.id, "sentences": [1] if i.id == "definition" else [], "reason": "r"}
        for i in q.rubric]}, name="fake-judge")
    at = _start(_app(models=(interviewer, judge)))
    at.chat_input(key="answer").set_value(WEAK).run()
    text = _texts(at)
    assert "How would you pick its strength?" in text
    assert "secret plan" not in text
    at.button(key="end_score").click().run()
    text = _texts(at)
    assert "LLM judge" in text and "fake-judge" in text
    assert "Offline estimate" not in text


def test_a_model_failure_shows_one_sentence_and_retry_recovers(bank):
    interviewer = ScriptedModel(replies=[ModelError("rate_limited", "The model server is rate-limiting requests (HTTP 429). Wait a moment and retry."),
                                         "Which penalty gives sparse weights?"], name="fake")
    at = _start(_app(models=(interviewer, None)))
    at.chat_input(key="answer").set_value(WEAK).run()
    assert any("rate-limiting" in e.value for e in at.error)
    assert any(WEAK == m.value for m in at.markdown), "the answer is still on screen"
    at.button(key="retry").click().run()
    assert not at.error
    assert "Which penalty gives sparse weights?" in _texts(at)


def test_empty_answer_is_a_clear_error(bank):
    at = _start(_app())
    at.chat_input(key="answer").set_value("   ").run()
    assert any("empty" in e.value for e in at.error)


def test_practice_mode_hints_checklist_and_model_answer(bank):
    q = bank.get("regularization")
    at = _start(_app(), practice=True)
    assert at.button(key="model_answer").disabled
    at.button(key="hint_direction").click().run()
    assert any(q.hints.direction in i.value for i in at.info)
    at.chat_input(key="answer").set_value(
        "Regularization adds a penalty on the weights to the loss to reduce overfitting.").run()
    assert any(m.value.startswith("\u2611 ") and "overfitting" in m.value for m in at.markdown)
    at.button(key="model_answer").click().run()
    assert any(q.reference_answer in s.value for s in at.success)


def test_refresh_resumes_from_the_url(bank):
    at = _start(_app())
    at.chat_input(key="answer").set_value(WEAK).run()
    iid = at.session_state["iid"]
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.query_params["iid"] = iid
    fresh.run()
    assert not fresh.exception
    values = [m.value for m in fresh.markdown]
    assert WEAK in values
    assert bank.get("regularization").prompt in values


def test_coding_question_runs_code_in_the_sandbox(bank):
    at = _start(_app(), kind="Coding", title="Implement K-Nearest Neighbors from scratch")
    q = bank.get("knn-from-scratch")
    key = next(k for k in at.session_state if str(k).startswith("code_") and not str(k).endswith("_report"))
    at.text_area(key=key).input(q.coding.reference_solution).run()
    at.button(key="run_code").click().run()
    assert not at.exception, at.exception
    text = _texts(at)
    assert "Example tests: " in text and "passed" in text
    assert any("bubblewrap sandbox" in c.value for c in at.caption)
    at.button(key="submit_code").click().run()
    assert "Hidden tests: " in _texts(at)
    at.button(key="end_score").click().run()
    assert not at.exception, at.exception
    assert "Your report" in [s.value for s in at.subheader]


def test_coding_panel_fails_closed_without_the_sandbox(bank, monkeypatch, tmp_path):
    monkeypatch.setenv("INTERVIEWER_BWRAP", str(tmp_path / "no-bwrap"))
    monkeypatch.delenv("INTERVIEWER_SANDBOX", raising=False)
    at = _start(_app(), kind="Coding", title="Implement K-Nearest Neighbors from scratch")
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(e.startswith("Code can't be run: the sandbox (bubblewrap) could not start") for e in errors), errors
    assert not [b for b in at.button if b.key in ("run_code", "submit_code")]


def _finished_interview(at: AppTest) -> AppTest:
    at = _start(at)
    at.chat_input(key="answer").set_value(WEAK).run()
    at.button(key="end_score").click().run()
    return at


def test_review_page_lists_opens_exports_and_deletes(bank):
    at = _finished_interview(_app())
    at.switch_page("app_pages/review.py").run()
    assert not at.exception, at.exception
    assert at.dataframe
    assert len(at.get("download_button")) == 2
    assert "Report" in [s.value for s in at.subheader]
    at.button(key="delete").click().run()
    at.button(key="confirm_delete_yes").click().run()
    assert any("No saved interviews" in i.value for i in at.info)


def test_review_page_resumes_an_unfinished_interview(bank):
    at = _start(_app())
    at.chat_input(key="answer").set_value(WEAK).run()
    at.session_state["iid"] = None
    at.switch_page("app_pages/review.py").run()
    at.button(key="resume").click().run()
    at.switch_page("app_pages/interview.py").run()
    assert not at.exception, at.exception
    assert WEAK in [m.value for m in at.markdown]


def test_progress_page_chart_and_practice_this(bank):
    at = _finished_interview(_app())
    at.switch_page("app_pages/progress.py").run()
    assert not at.exception, at.exception
    assert "Most often missed" in [s.value for s in at.subheader]
    at.button(key="drill_0").click().run()
    assert not at.exception, at.exception
    assert any("Drill:" in s.value for s in at.success)
    at.switch_page("app_pages/interview.py")  # AppTest keeps its own page across runs; a browser follows the switch
    at.button(key="start_drill").click().run()
    assert at.session_state["session"].mode == "practice"


def test_settings_page_offline_and_budget():
    at = _app()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception, at.exception
    assert any("Offline" in i.value for i in at.info)
    at.number_input(key="budget_input").set_value(5000).run()
    assert at.session_state["budget_tokens"] == 5000


def test_settings_page_never_shows_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-123")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception, at.exception
    shown = "\n".join(x.value for x in at.success) + _texts(at)
    assert "API key set: yes" in shown
    assert "SECRET" not in shown


def test_bank_page_through_navigation():
    at = _app()
    at.switch_page("app_pages/question_bank.py").run()
    assert not at.exception
    assert len(at.expander) >= 34


def test_spoken_answer_transcript_is_editable_before_sending(bank):
    class VoiceModel(FunctionModel):
        def transcribe(self, audio: bytes, filename: str) -> str:  # the adapter's transcription call
            return "transcribed"

    at = _start(_app(models=(VoiceModel(fn=lambda m, t: "Which penalty gives sparse weights?"), None)))
    # What the page holds after a recording was transcribed (AppTest cannot record audio itself).
    at.session_state["draft"] = "Regularization adds a penalty to the loss."
    at.run()
    assert at.chat_input(key="answer").disabled
    at.text_area(key="draft_text").input("Regularization adds a penalty on the weights to the loss.").run()
    at.button(key="send_draft").click().run()
    assert not at.exception, at.exception
    values = [m.value for m in at.markdown]
    assert "Regularization adds a penalty on the weights to the loss." in values
    assert "Which penalty gives sparse weights?" in values


def test_login_is_required_when_auth_is_configured():
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.chat_input


def test_a_refused_huge_answer_comes_back_for_editing(bank):
    at = _start(_app())
    huge = "word " * 5000
    at.chat_input(key="answer").set_value(huge).run()
    assert any("limit" in e.value for e in at.error)
    assert at.text_area(key="draft_text").value == huge  # nothing typed is lost
    at.text_area(key="draft_text").input(WEAK).run()
    at.button(key="send_draft").click().run()
    assert WEAK in [m.value for m in at.markdown]
    assert not at.error


def test_a_database_that_stops_answering_is_one_plain_sentence(bank, tmp_path, monkeypatch):
    db = tmp_path / "app.db"
    monkeypatch.setenv("INTERVIEWER_DB_URL", f"sqlite:///{db}")
    at = _start(_app())
    at.chat_input(key="answer").set_value(WEAK).run()
    at.session_state["app"].store.engine.dispose()
    db.unlink()
    db.mkdir()  # the database is gone
    at.switch_page("app_pages/review.py").run()
    assert not at.exception, at.exception
    assert any("could not be opened" in e.value for e in at.error)
    assert [b.label for b in at.button] == ["Try again"]
