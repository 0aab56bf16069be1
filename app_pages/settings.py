"""Settings: connect a model for this browser session (never stored, never shown back), model status
and test connection, the session budget."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from interviewer.config import Settings
from ui.state import current_user, get_app

user = current_user()
app = get_app()
settings = app.settings

st.title("Settings")
st.subheader("Model")
if app.offline:
    st.info("Offline: no model server is configured. The interviewer uses the bank's scripted follow-ups and "
            "scores are an offline estimate. Connect a model below for a live interviewer and an LLM judge.",
            icon=":material/wifi_off:")
else:
    st.success(settings.describe(), icon=":material/cloud_done:")
    if st.button("Test connection", key="test_connection"):
        with st.spinner("Contacting the model server\u2026"):
            checker = app.interviewer_model
            if hasattr(checker, "check_capabilities"):  # server, chat, structured output, transcription
                lines = list(checker.check_capabilities().values())
            else:
                lines = [checker.check_connection() if hasattr(checker, "check_connection") else "Model ready."]
        for line in lines:
            st.write(line)


def _apply(new: Settings | None) -> None:
    """Use `new` for this browser session (None: back to the environment's defaults); the open interview
    continues with the new models."""
    if new is None:
        st.session_state.pop("settings", None)
    else:
        st.session_state.settings = new
    for k in ("app", "session"):
        st.session_state.pop(k, None)


session_only = st.session_state.get("session_model", False)
with st.expander("Connect a model for this browser session", expanded=app.offline or session_only,
                 icon=":material/link:"):
    st.caption("Any OpenAI-compatible server: OpenAI, Ollama, vLLM, LM Studio, llama.cpp. What you enter here lasts "
               "until this tab is closed: it is kept in this session's memory only, never written to disk, "
               "logged or shown again.")
    with st.form("connect_model", clear_on_submit=True, border=False):
        url = st.text_input("Server URL", value=settings.base_url or "", placeholder="http://127.0.0.1:8080/v1",
                            help="Empty: OpenAI's own API (needs a key).", key="cfg_url")
        c1, c2 = st.columns(2)
        model = c1.text_input("Interviewer model", value=settings.model, key="cfg_model")
        judge = c2.text_input("Judge model", value="" if settings.judge_model == settings.model
                              else settings.judge_model, placeholder="same as the interviewer", key="cfg_judge")
        key = st.text_input("API key", type="password", key="cfg_key",
                            placeholder="set" if settings.api_key is not None else "not needed for most local servers",
                            help="Leave empty to keep the current key (or none, for a local server).")
        connect = st.form_submit_button("Use for this session", type="primary")
    if connect:
        raw = settings.model_dump() | {
            "base_url": url.strip() or None,
            "model": model.strip() or settings.model,
            "judge_model": judge.strip() or model.strip() or settings.model,
            "api_key": key.strip() or settings.api_key,
        }
        if raw["base_url"] is None and raw["api_key"] is None:
            st.error("Enter a server URL, an API key, or both.")
        else:
            try:
                new = Settings.model_validate(raw)
            except ValidationError as exc:
                st.error("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
            else:
                _apply(new)
                st.session_state.pop("cfg_key", None)  # the key lives on only inside this session's Settings
                st.session_state.session_model = True
                st.toast("Model connected for this browser session.")
                st.rerun()
    if session_only and st.button("Forget it: back to the defaults", key="cfg_reset"):
        _apply(None)
        st.session_state.session_model = False
        st.rerun()
st.caption("Defaults for everyone come from environment variables or `.streamlit/secrets.toml`: OPENAI_API_KEY, "
           "OPENAI_BASE_URL, INTERVIEWER_MODEL, INTERVIEWER_JUDGE_MODEL. The key's value is never shown or stored.")

if not app.offline:  # offline, no tokens are spent: a budget would mean nothing
    st.subheader("Session budget")
    current = st.session_state.get("budget_tokens", settings.session_budget_tokens)
    value = st.number_input("Tokens per interview (0 = no limit)", min_value=0, step=10_000, value=int(current),
                            key="budget_input")
    if value != current:
        st.session_state.budget_tokens = int(value)
        st.toast(f"Budget set to {int(value):,} tokens for new interviews.")

st.subheader("Account")
st.write(f"Signed in as **{user}**." if user != "local" else "Single local user (no login configured).")
st.caption(f"Transcripts are stored in {app.store.safe_url}.")
