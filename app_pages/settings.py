"""Settings: model status (never the key), test connection, the session budget."""

from __future__ import annotations

import streamlit as st

from ui.state import current_user, get_app

user = current_user()
app = get_app()
settings = app.settings

st.title("Settings")
st.subheader("Model")
if app.offline:
    st.info("Offline: no model server is configured. The interviewer uses the bank's scripted follow-ups and "
            "scores are an offline estimate.", icon=":material/wifi_off:")
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
st.caption("Configure with environment variables or `.streamlit/secrets.toml`: OPENAI_API_KEY, OPENAI_BASE_URL "
           "(Ollama, vLLM, LM Studio, llama.cpp), INTERVIEWER_MODEL, INTERVIEWER_JUDGE_MODEL. The key's value is "
           "never shown or stored.")

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
