"""Shared helpers for the Streamlit pages (the only Streamlit code besides app.py and app_pages/)."""
