"""Voice out (optional, off by default): the browser's own speech synthesis reads the interviewer's
new turns aloud. No model and no server: the text goes to `window.speechSynthesis` in the page."""

from __future__ import annotations

import json

import streamlit as st

TOGGLE_KEY = "voice_out"
_SPOKEN_KEY = "_voice_spoken"  # (interview id, interviewer turns already read)


def voice_toggle() -> bool:
    return st.toggle("Read the interviewer aloud", key=TOGGLE_KEY, value=False,
                     help="Uses your browser's speech synthesis; nothing is sent anywhere.")


def to_speak(interview_id: str, turns: list[dict]) -> list[str]:
    """The interviewer turns not read aloud yet (and remember them as read). The first call for an
    interview reads only its latest turn, so switching voice on never reads a whole transcript."""
    spoken_id, spoken = st.session_state.get(_SPOKEN_KEY, (None, 0))
    said = [t["text"] for t in turns if t["role"] == "interviewer" and t["kind"] != "model_answer"]
    start = spoken if spoken_id == interview_id else max(0, len(said) - 1)
    st.session_state[_SPOKEN_KEY] = (interview_id, len(said))
    return said[start:]


def speak(texts: list[str]) -> None:
    """Queue `texts` in the browser's speech synthesis (a no-op where the browser has none)."""
    if not texts:
        return
    payload = json.dumps(texts)
    st.html(f"""<script>(() => {{
      const w = window.parent && window.parent.speechSynthesis ? window.parent : window;
      if (!w.speechSynthesis) return;
      for (const text of {payload}) {{
        const u = new w.SpeechSynthesisUtterance(text.replace(/[*_`#>]/g, ""));
        w.speechSynthesis.speak(u);
      }}
    }})();</script>""", unsafe_allow_javascript=True)
