"""interviewer: the mock-interview engine (no Streamlit in here)."""

from . import native

__version__ = "0.1.0"

native.activate()  # before any compiled module is imported: serve the mypyc build if it matches the sources
