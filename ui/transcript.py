"""Small types the interview page needs across reruns (defined here: the page script runs again on every
rerun, and a NamedTuple class is slow to build)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple


class Reply(NamedTuple):
    """A sent answer: its transcript row (saved already) and the interviewer's reply to stream."""

    answer: dict
    stream: Iterator[str]
