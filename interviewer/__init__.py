"""interviewer: the mock-interview engine (no Streamlit in here)."""

__version__ = "0.1.0"
