"""Cached, shared resources for the pages."""

from __future__ import annotations

import streamlit as st

from interviewer.bank import Bank, load_bank
from interviewer.errors import BankError


@st.cache_resource(show_spinner=False)
def _bank() -> Bank:
    return load_bank()


def bank_or_stop() -> Bank:
    """The validated bank, or a clear error on the page (and the page stops)."""
    try:
        return _bank()
    except BankError as exc:
        st.error("The question bank could not be loaded. Fix these problems and reload the page:")
        st.code("\n".join(exc.problems), language=None)
        st.stop()
        raise
