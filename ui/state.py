"""Shared resources and per-user state for the pages.

Shared across all users (st.cache_resource): the bank and the transcript store.
Per browser session (st.session_state): the model clients and the open interview.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import streamlit as st

from interviewer.bank import Bank, load_bank
from interviewer.config import Settings, load_settings
from interviewer.errors import BankError, InterviewerError
from interviewer.search import SearchIndex

if TYPE_CHECKING:  # imported when first needed: the setup page paints without them
    from interviewer.bootstrap import App
    from interviewer.store import Store

# Tests (AppTest) may put fake models here before the first run; the app never does.
MODEL_OVERRIDE_KEY = "_model_override"


@st.cache_resource(show_spinner=False)
def _bank() -> Bank:
    return load_bank()


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    from interviewer.store import Store

    return Store(url)


_warm_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Import the engine, the database layer and the model client in a background thread, once per
    process, after the first page is drawn: by the time Start is clicked they are loaded."""
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        _warmed = True

    def work() -> None:
        try:
            import interviewer.bootstrap  # noqa: F401 - session, scoring, store, sqlalchemy
            import interviewer.llm
            import ui.code_panel  # noqa: F401 - the sandbox runner
            import ui.report  # noqa: F401

            interviewer.llm.warm_up()  # last: only the first answer needs it, Start needs the rest
        except Exception:  # noqa: BLE001 - a warm-up only: the real import reports any problem
            pass

    threading.Thread(target=work, name="interviewer-warm-up", daemon=True).start()


def is_offline() -> bool:
    """True when this browser session has no model (without building the app to find out)."""
    if "app" in st.session_state:
        return st.session_state.app.offline
    if st.session_state.get(MODEL_OVERRIDE_KEY) is not None:
        return False
    return settings_or_stop().offline


@st.cache_resource(show_spinner=False)
def _search_index() -> SearchIndex:
    return SearchIndex(_bank().questions.values())


def search_index() -> SearchIndex:
    """The bank's search index, built once per process."""
    bank_or_stop()
    return _search_index()


def bank_or_stop() -> Bank:
    """The validated bank, or a clear error on the page (and the page stops)."""
    try:
        return _bank()
    except BankError as exc:
        st.error("The question bank could not be loaded. Fix these problems and reload the page:")
        st.code("\n".join(exc.problems), language=None)
        st.stop()
        raise


def settings_or_stop() -> Settings:
    if "settings" not in st.session_state:
        try:
            st.session_state.settings = load_settings()
        except InterviewerError as exc:
            st.error(f"The configuration is invalid: {exc}")
            st.stop()
    return st.session_state.settings


def current_user() -> str:
    """The signed-in user's id when login is configured, else the configured local user."""
    settings = settings_or_stop()
    try:
        auth = "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        auth = False
    if not auth:
        return settings.user
    user = st.user
    if not user.get("is_logged_in", False):
        st.title("Interviewer")
        st.write("Sign in to practise and to see your saved interviews.")
        st.button("Sign in", on_click=st.login, type="primary")
        st.stop()
    return str(user.get("email") or user.get("sub"))


@st.cache_resource(show_spinner=False, max_entries=32)
def _model_server(base_url: str | None, api_key: str, transcribe_model: str, _settings: Settings) -> tuple:
    """One OpenAI client (one connection pool) and what was learned about the server, per server and key,
    shared by every browser session: building a client costs ~40 ms of CPU, and a new session would probe the
    server's transcription endpoint again."""
    from interviewer.llm import ServerCapabilities, make_client

    return make_client(_settings), ServerCapabilities()


def _session_models(settings: Settings) -> tuple:
    """This session's own (interviewer, judge) models (each keeps its own last call's usage), on the shared
    client."""
    from interviewer.llm import build_models

    if settings.offline:
        return None, None
    client, caps = _model_server(settings.base_url, settings.client_api_key, settings.transcribe_model,
                                 _settings=settings)
    return build_models(settings, client=client, capabilities=caps)


def get_app() -> App:
    """This browser session's App: shared bank and store, its own model clients."""
    settings = settings_or_stop()
    bank = bank_or_stop()
    if "app" not in st.session_state:
        from interviewer.bootstrap import build_app

        try:
            store = _store(settings.db_url)
        except InterviewerError as exc:
            st.error(f"{exc} Check INTERVIEWER_DB_URL and reload the page.")
            st.stop()
        override = st.session_state.get(MODEL_OVERRIDE_KEY)
        if override is not None:
            interviewer, judge = override
        else:
            interviewer, judge = _session_models(settings)
        app = build_app(settings, bank=bank, store=store, interviewer_model=interviewer, judge_model=judge,
                        use_configured_models=False)
        st.session_state.app = app
    app: App = st.session_state.app
    budget = st.session_state.get("budget_tokens")
    if budget is not None:
        app.settings = app.settings.model_copy(update={"session_budget_tokens": int(budget)})
    return app


KIND_LABELS = {
    "technical": "Technical",
    "coding": "Coding",
    "system_design": "System design",
    "behavioral": "Behavioral",
}


INTERVIEW_PAGE = "app_pages/interview.py"


def start_and_open(question_ids: list[str], *, mode: str = "practice", title: str | None = None) -> None:
    """Start an interview on these questions and go straight to it (no setup page in between)."""
    app = get_app()
    user = current_user()
    plan = [app.bank.get(qid) for qid in question_ids]
    try:
        session = app.start(plan, mode=mode, user_id=user, title=title)
    except InterviewerError as exc:
        st.error(str(exc))
        return
    for k in ("draft", "draft_note", "error", "drill"):
        st.session_state.pop(k, None)
    st.session_state.iid = session.id
    st.session_state.session = session
    st.session_state.focus_answer = True
    st.switch_page(INTERVIEW_PAGE, query_params={"iid": session.id})
