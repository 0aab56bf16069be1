"""The transcript rows the pages draw, built from an interview record the page has already read.

`InterviewSession.transcript()` reads the interview from the store itself; the interview page reads the
record once per script run (title, token totals, turns) and builds the same rows from it here.
tests/test_transcript_rows.py keeps the two identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from interviewer.store import InterviewRecord


class Reply(NamedTuple):
    """A sent answer: its transcript row (saved already) and the interviewer's reply to stream.
    (Defined here, not in the page script, which runs again on every rerun: a NamedTuple class is slow to build.)"""

    answer: dict
    stream: Iterator[str]

_MOVES = {"follow_up": "probe", "notice": "wrap_up"}


def transcript_rows(rec: InterviewRecord) -> list[dict]:
    """The rows of `InterviewSession.transcript()` (without private notes) for `rec`."""
    from interviewer.session import _parse_code_meta

    out = []
    for t in rec.turns:
        kind = _MOVES.get(t.kind, t.kind)
        row = {"role": t.role, "kind": t.kind, "question_id": t.question_id, "text": t.text}
        if t.role == "interviewer":
            row["move"] = kind
            if kind in ("probe", "challenge", "hint", "clarify") and t.probe_item:
                row["target"] = t.probe_item
        if t.kind == "code":
            row["run"] = t.code_run.model_dump() if t.code_run else _parse_code_meta(t.probe_item)
        out.append(row)
    return out
