"""The interview page builds its transcript rows from a record it already read
(`InterviewSession.transcript(record=...)`): the same rows as reading the store."""

from __future__ import annotations

from datetime import datetime, timezone

from interviewer.bank import load_bank
from interviewer.bootstrap import build_app
from interviewer.config import load_settings
from interviewer.store import CodeRunRecord, TurnRecord


def test_rows_match_the_sessions_transcript(tmp_path):
    bank = load_bank()
    app = build_app(load_settings(env={"INTERVIEWER_DB_URL": f"sqlite:///{tmp_path}/t.db"}), bank=bank,
                    use_configured_models=False)
    s = app.start([bank.get("regularization"), bank.get("regularization")], mode="practice")
    "".join(s.submit("Regularization adds a penalty on the weights to the loss."))
    s.hint("direction")
    "".join(s.submit("skip"))
    now = datetime.now(timezone.utc)
    qid = s.current.question.id
    app.store.add_turn(s.id, TurnRecord(seq=0, role="candidate", kind="code", question_id=qid, text="def f(): pass",
                                        created_at=now, code_run=CodeRunRecord(hidden=True, passed=2, total=3,
                                                                               failed=["t3"])))
    app.store.add_turn(s.id, TurnRecord(seq=0, role="candidate", kind="code", question_id=qid, text="def g(): pass",
                                        probe_item="1/4/example/a,b", created_at=now))  # a run saved before code_runs
    rows = s.transcript(record=app.store.get(s.id))
    assert rows == s.transcript()
    assert {r["kind"] for r in rows} >= {"question", "answer", "hint", "code"}
    assert any(r.get("move") for r in rows)
