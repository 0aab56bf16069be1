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


def _keys(elements) -> list[str]:
    return [e.key for e in elements]


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
    assert any(m.value.startswith("<div class=\"answer-box\"") for m in at.markdown)


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
    label = at.markdown[[i for i, m in enumerate(at.markdown) if "missed 1 time" in m.value][0]].value
    at.button(key="drill_0").click().run()
    assert not at.exception, at.exception
    session = at.session_state["session"]  # the drill started at once: no setup page, no other Start
    assert session.mode == "practice"
    assert session.record.title.startswith("Drill: ") and session.record.title[7:] in label
    at.switch_page("app_pages/interview.py").run()  # where the browser lands
    assert not at.exception, at.exception
    assert "start" not in _keys(at.button)
    assert at.chat_input(key="answer")
    assert any(session.current.question.prompt in m.value for m in at.markdown)


def test_progress_time_axis_never_repeats_a_day():
    import pandas as pd

    from ui.charts import time_axis

    one_day = pd.Series(pd.to_datetime(["2026-11-27 10:00", "2026-11-27 10:20", "2026-11-27 11:05"]))
    assert time_axis(one_day).format == "%H:%M"
    weeks = pd.Series(pd.to_datetime(["2026-11-01", "2026-11-27"]))
    axis = time_axis(weeks)
    assert axis.format == "%b %d" and axis.tickCount["interval"] == "day" and axis.tickCount["step"] >= 1


def test_design_coverage_chart_draws_every_item_on_integer_steps():
    from interviewer.types import DesignCoverage
    from ui.charts import design_coverage_chart

    design = [DesignCoverage(label=label, kind="component", depth=depth)
              for label, depth in [("Data Collection", "explained"), ("Cold start problem", "missing"),
                                   ("Relevance vs Diversity trade-offs at serving time", "named")]]
    spec = design_coverage_chart(design).to_dict()
    bars, names = spec["layer"]
    values = spec["datasets"][spec["data"]["name"]] if "datasets" in spec else spec["data"]["values"]
    assert [v["level"] for v in values] == [3, 1, 2]  # "missing" still has a bar of one step
    assert bars["encoding"]["x"]["axis"]["values"] == [1, 2, 3]
    assert bars["encoding"]["color"]["legend"]["orient"] == "bottom"
    assert names["mark"]["type"] == "text"  # names above the bars, not cut axis labels


def test_settings_page_offline_shows_no_token_budget():
    at = _app()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception, at.exception
    assert any("Offline" in i.value for i in at.info)
    assert "budget_input" not in _keys(at.number_input)


def _everything_shown(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "success", "error", "warning", "toast", "code", "json"):
        parts += [str(getattr(e, "value", "")) for e in at.get(kind)]
    return "\n".join(parts)


def test_settings_connects_a_model_for_this_browser_session_only(openai_server, monkeypatch):
    openai_server.set_handler(lambda body: "Which penalty gives sparse weights?")
    at = _app()
    at.switch_page("app_pages/settings.py").run()
    at.text_input(key="cfg_url").input(openai_server.base_url)
    at.text_input(key="cfg_model").input("local-model")
    at.text_input(key="cfg_key").input("sk-SESSION-secret-42")
    next(b for b in at.button if b.label == "Use for this session").click().run()
    assert not at.exception, at.exception
    assert not at.session_state["app"].offline
    assert "local-model" in "\n".join(s.value for s in at.success)
    assert "sk-SESSION" not in _everything_shown(at)
    assert at.text_input(key="cfg_key").value == ""  # not kept in the form either
    assert at.number_input(key="budget_input")  # with a model, the budget applies
    assert "SESSION" not in repr(at.session_state["settings"])
    # a new browser session starts from the defaults again: offline here
    other = _app()
    assert any("Offline mode" in i.value for i in other.info)
    # the interview now talks to that server
    at.switch_page("app_pages/interview.py").run()
    at = _start(at)
    at.chat_input(key="answer").set_value(WEAK).run()
    assert "Which penalty gives sparse weights?" in _texts(at)
    assert openai_server.chat_requests
    at.switch_page("app_pages/settings.py").run()
    at.button(key="cfg_reset").click().run()
    assert at.session_state["app"].offline


def test_settings_rejects_a_bad_server_url():
    at = _app()
    at.switch_page("app_pages/settings.py").run()
    at.text_input(key="cfg_url").input("ftp://example")
    next(b for b in at.button if b.label == "Use for this session").click().run()
    assert any("base_url" in e.value for e in at.error)
    assert at.session_state["app"].offline


def test_the_offline_banner_links_to_settings():
    at = _app()
    links = [p.proto.page for p in at.get("page_link")]
    assert any("settings" in link for link in links)


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


# --------------------------------------------------------------------------- issue 16: what a new user meets

def _leave(at: AppTest) -> None:
    """The user walks away from the open interview (a new tab on the setup page)."""
    at.session_state["iid"] = None
    at.session_state["session"] = None
    at.query_params.clear()
    at.run()


def _review(at: AppTest) -> AppTest:
    at.switch_page("app_pages/review.py").run()
    assert not at.exception, at.exception
    return at


def test_review_lists_unfinished_not_none_and_hides_unanswered(bank):
    at = _start(_app())  # started, never answered
    _leave(at)
    at = _start(at, title="Explain bias-variance tradeoff")
    at.chat_input(key="answer").set_value(WEAK).run()
    _review(at)
    table = at.dataframe[0].value
    assert list(table.columns) == ["When", "Title", "Kind", "Score"]
    assert list(table["Title"]) == ["Explain bias-variance tradeoff"]  # the unanswered one is not listed
    assert list(table["Score"]) == ["unfinished"] and list(table["Kind"]) == ["Technical"]
    assert "None" not in table.to_string()
    assert any("1 started interview(s) with no answer" in c.value for c in at.caption)
    at.button(key="discard_unanswered").click().run()
    assert at.session_state["app"].store.count_unanswered(user_id="local") == 0
    assert "discard_unanswered" not in _keys(at.button)


def test_review_rows_open_the_interview_they_show(bank):
    at = _finished_interview(_app())
    at.button(key="new_interview").click().run()
    at = _start(at, title="Explain bias-variance tradeoff")
    at.chat_input(key="answer").set_value(WEAK).run()
    _review(at)
    titles = list(at.dataframe[0].value["Title"])
    assert titles == ["Explain bias-variance tradeoff", "What is regularization and why is it important?"]
    assert at.subheader[0].value == titles[0]  # the newest is open until a row is clicked
    at.session_state["rev_table"] = {"selection": {"rows": [1], "columns": []}}  # a click on the second row
    at.run()
    assert at.subheader[0].value == titles[1]
    assert "Report" in [s.value for s in at.subheader]
    at.button(key="rev_pick_0").click().run()  # a phone's card for the first row
    assert at.subheader[0].value == titles[0]
    assert at.button(key="rev_pick_0").label == "unfinished" and at.button(key="rev_pick_1").label.isdigit()


def test_review_delete_asks_in_a_dialog_and_cancel_keeps_it(bank):
    at = _review(_finished_interview(_app()))
    at.button(key="delete").click().run()
    assert any("deleted for good" in m.value for m in at.markdown)
    at.button(key="confirm_delete_no").click().run()
    assert "confirm_delete_yes" not in _keys(at.button)
    assert len(at.dataframe[0].value) == 1


def test_new_interview_drops_an_unanswered_interview(bank):
    at = _start(_app())
    at.button(key="new_interview").click().run()
    assert at.button(key="start")
    assert at.session_state["app"].store.list(user_id="local") == []


def test_end_and_score_before_any_answer_says_there_is_nothing_to_score(bank):
    at = _start(_app())
    at.button(key="end_score").click().run()
    assert any("Nothing to score yet" in i.value for i in at.info)
    assert at.session_state["session"].status != "scored"
    assert at.chat_input(key="answer")  # the interview goes on


def test_new_interview_after_an_answer_keeps_it(bank):
    at = _start(_app())
    at.chat_input(key="answer").set_value(WEAK).run()
    at.button(key="new_interview").click().run()
    assert len(at.session_state["app"].store.list(user_id="local")) == 1


def test_hint_buttons_have_short_labels(bank):
    at = _start(_app(), practice=True)
    labels = [at.button(key=f"hint_{level}").label for level in ("direction", "approach", "detailed")]
    assert labels == ["Nudge", "Approach", "Walkthrough"]


def test_a_refused_answer_comes_back_in_an_answer_box_not_a_transcript(bank):
    at = _start(_app())
    at.chat_input(key="answer").set_value("word " * 5000).run()
    assert at.text_area(key="draft_text").label == "Your answer"


def test_a_single_question_report_shows_its_score_once(bank):
    at = _finished_interview(_app())
    assert [m.label for m in at.metric] == ["Score"]


def test_start_puts_the_cursor_in_the_answer_box(bank):
    at = _start(_app())
    scripts = [h.proto.body for h in at.get("html")]
    assert any("stChatInputTextArea" in b and "focus()" in b for b in scripts)
    at.chat_input(key="answer").set_value(WEAK).run()
    assert not any("focus()" in h.proto.body for h in at.get("html"))  # only right after Start


def test_voice_out_is_off_by_default_and_reads_new_interviewer_turns(bank):
    at = _start(_app())
    assert at.toggle(key="voice_out").value is False
    assert not any("speechSynthesis" in h.proto.body for h in at.get("html"))
    at.toggle(key="voice_out").set_value(True).run()
    spoken = [h.proto.body for h in at.get("html") if "speechSynthesis" in h.proto.body]
    assert len(spoken) == 1 and "regularization" in spoken[0]
    at.chat_input(key="answer").set_value(WEAK).run()
    spoken = [h.proto.body for h in at.get("html") if "speechSynthesis" in h.proto.body]
    follow_up = next(p.text for p in bank.get("regularization").probes if p.text[:30] in spoken[0])
    assert follow_up and "important?" not in spoken[0]  # only the new turn


def test_a_loop_folds_earlier_questions_and_shows_a_loop_clock(bank):
    at = _app()
    at.radio(key="setup_what").set_value("A full loop").run()
    at.button(key="start").click().run()
    assert any("Loop clock" in p.proto.text for p in at.get("progress"))
    assert not any(e.label.startswith("Earlier in this loop") for e in at.expander)
    for _ in range(4):
        if at.session_state["session"].progress()[0] > 1:
            break
        at.chat_input(key="answer").set_value("skip").run()
    session = at.session_state["session"]
    assert session.progress()[0] == 2
    assert any(e.label.startswith("Earlier in this loop: 1 question") for e in at.expander)
    assert any(session.current.question.prompt in m.value for m in at.markdown)


def test_coding_panel_shows_best_and_last_submission_and_restores_the_best(bank):
    at = _start(_app(), kind="Coding", title="Implement K-Nearest Neighbors from scratch")
    q = bank.get("knn-from-scratch")
    key = next(k for k in at.session_state if str(k).startswith("code_") and not str(k).endswith("_report"))
    at.text_area(key=key).input(q.coding.reference_solution).run()
    at.button(key="submit_code").click().run()
    total = len(q.coding.hidden_tests)
    assert [(m.label, m.value) for m in at.metric] == [("Last submission", f"{total}/{total}"),
                                                        ("Best submission", f"{total}/{total}")]
    broken = q.coding.reference_solution + "\n\n" + q.coding.signature.rstrip(":") + ":\n    return []\n"
    at.text_area(key=key).input(broken).run()
    at.button(key="submit_code").click().run()
    last = at.metric[0].value
    assert last != f"{total}/{total}" and at.metric[1].value == f"{total}/{total}"
    assert any("counts your **best** run" in w.value for w in at.info)
    at.button(key="restore_best").click().run()
    assert at.text_area(key=key).value == q.coding.reference_solution
    at.button(key="end_score").click().run()
    result = at.session_state["session"].store.get(at.session_state["session"].id).results[0]
    assert result["tests"]["passed"] == total  # the best submission counts


def test_only_the_code_editor_is_monospace_without_soft_wrap(bank):
    at = _start(_app(), kind="Coding", title="Implement K-Nearest Neighbors from scratch")
    css = next(m.value for m in at.markdown if ".st-key-code_editor textarea" in m.value)
    assert "white-space: pre" in css and "monospace" in css and "svg" in css
    app_css = at.markdown[0].value
    assert ".stTextArea textarea" not in app_css  # other text areas (a refused answer) keep the normal font


def test_the_setup_page_paints_without_the_database_or_the_engine(monkeypatch):
    """Cold start: the first page needs the bank only; the store is opened when an interview starts."""
    at = _app()
    assert "app" not in at.session_state
    assert at.button(key="start")
    at.button(key="start").click().run()
    assert "app" in at.session_state and at.chat_input(key="answer")


def test_a_loop_report_opens_with_a_summary_table(bank):
    at = _app()
    at.radio(key="setup_what").set_value("A full loop").run()
    at.button(key="start").click().run()
    at.chat_input(key="answer").set_value(WEAK).run()
    at.chat_input(key="answer").set_value("skip").run()
    at.button(key="end_score").click().run()
    assert not at.exception, at.exception
    asked = at.session_state["session"].progress()[0]
    table = at.dataframe[0].value
    assert list(table.columns)[:5] == ["#", "Question", "Kind", "Score", "Band"] and len(table) == asked
    assert [m.label for m in at.metric][0] == "Overall"



def test_the_background_warm_up_also_loads_the_model_clients_lazy_parts(monkeypatch):
    """ui.state.warm_up (after the first page) ends with interviewer.llm.warm_up, so the first answer doesn't
    import the client's audio types with the GIL held (tests/test_llm.py checks what llm.warm_up loads)."""
    import threading

    import interviewer.llm
    import ui.state

    called = threading.Event()
    monkeypatch.setattr(interviewer.llm, "warm_up", called.set)
    monkeypatch.setattr(ui.state, "_warmed", False)
    ui.state.warm_up()
    assert called.wait(60)
