"""Streamlit entry point: navigation over thin pages. The engine lives in `interviewer/`."""

from __future__ import annotations

import streamlit as st

from interviewer.errors import InterviewerError

st.set_page_config(page_title="Interviewer: ML/AI mock interviews", page_icon=":material/record_voice_over:",
                   layout="wide")

pages = [
    st.Page("app_pages/interview.py", title="Interview", icon=":material/record_voice_over:", default=True),
    st.Page("app_pages/review.py", title="Review", icon=":material/history:", url_path="review"),
    st.Page("app_pages/progress.py", title="Progress", icon=":material/trending_up:", url_path="progress"),
    st.Page("app_pages/question_bank.py", title="Question bank", icon=":material/menu_book:", url_path="question_bank"),
    st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
]
try:
    st.navigation(pages).run()
except InterviewerError as exc:  # e.g. the database did not respond: one plain sentence, and a way to retry
    st.error(str(exc), icon=":material/error:")
    st.button("Try again", key="try_again")
