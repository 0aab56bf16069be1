"""Streamlit entry point: navigation over thin pages. The engine lives in `interviewer/`."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Interviewer: ML/AI mock interviews", page_icon=":material/record_voice_over:",
                   layout="wide")

pages = [
    st.Page("pages/question_bank.py", title="Question bank", icon=":material/menu_book:", url_path="bank"),
]
st.navigation(pages).run()
